"""The API process's periodic task: end work no agent can finish (`db.unserved.sweep`).

It runs in the API because nothing else can: an agent may touch only its own environment's
partitions, and the environment in question has no live agent. Every API replica runs one; the
sweep is idempotent. It ticks once per lease period (more often for a shorter timeout), so work
ends in ERROR at most one lease period after `[bigip_lbaas] unserved_timeout`.
"""

from __future__ import annotations

import logging
import threading

from oslo_config import cfg

from bigip_lbaas.core.errors import DatabaseError
from bigip_lbaas.db.session import Database
from bigip_lbaas.db.unserved import Ended, sweep

LOG = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, db: Database, lease_seconds: float, timeout: float,
                 interval: float | None = None) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self.timeout = timeout
        # Once per lease period, or four times per timeout when that is shorter.
        self.interval = interval if interval is not None else max(0.5, min(lease_seconds,
                                                                           timeout / 4))
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, db: Database) -> Sweeper | None:
        """The sweeper `conf` asks for; None when `unserved_timeout` is 0 (wait forever)."""
        timeout = float(conf.bigip_lbaas.unserved_timeout)
        if timeout <= 0:
            return None
        return cls(db, float(conf.bigip_lbaas.lease_seconds), timeout)

    def once(self) -> list[Ended]:
        """One sweep; each partition it ends is logged once, by name, with its reason."""
        try:
            ended = sweep(self.db, self.lease_seconds, self.timeout)
        except DatabaseError:
            LOG.warning("unserved-work sweep failed: database unavailable; next period retries",
                        extra={"action": "unserved_sweep_failed"})
            return []
        for item in ended:
            LOG.warning("work ended in ERROR: no live agent of its environment",
                        extra={"action": "unserved_ended", "environment": item.environment,
                               "project": item.project_id, "objects": item.objects})
        return ended

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.once()

    def start(self) -> Sweeper:
        self.thread = threading.Thread(target=self._run, name="unserved-sweeper", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
