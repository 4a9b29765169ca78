"""`bigip-lbaas octavia-bridge`: statuses and listener statistics back to Octavia.

Runs on a host with Octavia's driver agent (its sockets are in `[bigip_lbaas_octavia]`). Every
`poll_interval` it claims load balancers with something pending in Octavia, and for each whose
change is done here (db/octavia.owed) sends the statuses through octavia-lib's DriverLibrary;
only once the driver agent answered OK is the delivery recorded (db/octavia.acknowledge). Every
`sweep_interval` it does the same for every tracked load balancer (operating statuses change
without a change request), and every `stats_interval` it sends the listeners' counters.

Any number of bridges may run: a load balancer's delivery is claimed in the database first.
A bridge killed at any point loses nothing: what was not acknowledged is delivered again.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import uuid
from typing import Any

from oslo_config import cfg

from bigip_lbaas.core.errors import BigipLbaasError, DatabaseUnavailable
from bigip_lbaas.db import octavia as owed
from bigip_lbaas.db.session import Database
from bigip_lbaas.octavia import writes

LOG = logging.getLogger(__name__)
GROUP = "bigip_lbaas_octavia"
OPTS = [
    cfg.StrOpt("status_socket", default="/var/run/octavia/status.sock",
               help="Octavia's [driver_agent] status_socket_path."),
    cfg.StrOpt("stats_socket", default="/var/run/octavia/stats.sock",
               help="Octavia's [driver_agent] stats_socket_path."),
    cfg.StrOpt("get_socket", default="/var/run/octavia/get.sock",
               help="Octavia's [driver_agent] get_socket_path."),
    cfg.FloatOpt("poll_interval", default=0.2, min=0.01,
                 help="Seconds between looks for finished changes to report."),
    cfg.FloatOpt("sweep_interval", default=10.0, min=0.1,
                 help="Seconds between passes over every load balancer (operating statuses)."),
    cfg.FloatOpt("stats_interval", default=10.0, min=0.1,
                 help="Seconds between listener statistics reports."),
    cfg.FloatOpt("claim_seconds", default=30.0, min=1.0,
                 help="How long a bridge's claim on a load balancer's delivery lasts."),
    cfg.IntOpt("batch", default=100, min=1, help="Load balancers per claim."),
    cfg.BoolOpt("confirm_creates", default=False,
                help="Before reporting a change that created objects, ask Octavia's driver "
                     "agent whether it sees them (one more driver-agent request, a few hundred "
                     "ms). Needed when Octavia's own database is PostgreSQL: there a status "
                     "update for a row Octavia has not committed yet is silently lost. On "
                     "MariaDB/MySQL the update waits for Octavia's commit by itself."),
]


# octavia-lib's DriverLibrary getter of each kind.
GETTERS = {"load_balancer": "get_loadbalancer", "listener": "get_listener", "pool": "get_pool",
           "member": "get_member", "health_monitor": "get_healthmonitor",
           "l7policy": "get_l7policy", "l7rule": "get_l7rule"}


def _plain(obj: Any) -> dict[str, Any]:
    """An octavia-lib object or the dictionary one was made from (its `from_dict` leaves
    nested objects as dictionaries) as a dictionary."""
    if hasattr(obj, "to_dict"):
        return dict(obj.to_dict(recurse=True, render_unsets=False))
    return dict(obj or {})


def register(conf: cfg.ConfigOpts) -> None:
    with contextlib.suppress(cfg.DuplicateOptError):
        conf.register_opts(OPTS, group=GROUP)


class Bridge:
    def __init__(self, db: Database, library: Any, *, me: str, claim_seconds: float = 30.0,
                 batch: int = 100, confirm_creates: bool = False) -> None:
        self.db = db
        self.confirm_creates = confirm_creates
        self.lib = library
        self.me = me
        self.claim_seconds = claim_seconds
        self.batch = batch
        self.delivered = 0
        self.failed = 0

    def deliver(self, lb_ids: list[str]) -> int:
        """Claim, compute and deliver these load balancers' statuses; returns how many were
        delivered and acknowledged. The ready ones go to Octavia in one request (each
        driver-agent request costs a process fork and a database session on Octavia's side);
        if Octavia refuses it, each load balancer is sent on its own, so one bad one holds
        back no other."""
        claimed = owed.claim(self.db, self.me, lb_ids, self.claim_seconds)
        done = 0
        try:
            ready = [d for d in owed.owed(self.db, claimed)
                     if d.owed and self._checked(d) and self._complete(d)]
            if not ready:
                return 0
            t0 = time.monotonic()
            if len(ready) > 1 and self._send(ready):
                sent = ready
            else:
                sent = [d for d in ready if self._send([d])]
            LOG.debug("octavia-bridge: %d load balancers' statuses delivered in %.0f ms",
                      len(sent), (time.monotonic() - t0) * 1000)
            done = sum(1 for d in sent if owed.acknowledge(self.db, self.me, d))
        finally:
            owed.release(self.db, self.me, claimed)
        self.delivered += done
        return done

    def _checked(self, delivery: owed.Delivery) -> bool:
        try:
            return self.committed(delivery)
        except Exception as err:
            LOG.warning("octavia-bridge: cannot ask Octavia about load balancer %s (will "
                        "retry): %s", delivery.load_balancer_id, err)
            return False

    def _complete(self, delivery: owed.Delivery) -> bool:
        """A fully populated create (a new load balancer with listeners): Octavia 19 hands the
        driver its listeners without their L7 policies. Read them back from Octavia and add
        what is missing here; the delivery then waits for that change (False)."""
        kinds = {o.kind for o in delivery.owed if o.shown == "PENDING_CREATE"}
        if not {"load_balancer", "listener"} <= kinds:
            return True
        try:
            lb = self.lib.get_loadbalancer(delivery.load_balancer_id)
            if lb is None:
                return False  # not committed by Octavia yet
            policies = [{**_plain(p), "rules": [_plain(r) for r in _plain(p).get("rules") or []]}
                        for listener in _plain(lb).get("listeners") or []
                        for p in _plain(listener).get("l7policies") or []]
            added = self.db.run(lambda s: writes.adopt_l7policies(
                s, delivery.load_balancer_id, policies)) if policies else 0
        except Exception as err:
            LOG.warning("octavia-bridge: cannot complete load balancer %s from Octavia (will "
                        "retry): %s", delivery.load_balancer_id, err)
            return False
        if added:
            LOG.info("octavia-bridge: load balancer %s: %d L7 objects Octavia did not pass to "
                     "the driver added", delivery.load_balancer_id, added)
        return not added

    def _send(self, deliveries: list[owed.Delivery]) -> bool:
        update: dict[str, list[dict[str, str]]] = {}
        for d in deliveries:
            for key, items in d.status_update().items():
                update.setdefault(key, []).extend(items)
        try:
            self.lib.update_loadbalancer_status(update)
            return True
        except Exception as err:
            self.failed += 1
            LOG.warning("octavia-bridge: Octavia did not take the statuses of load balancer(s) "
                        "%s (will retry): %s", ", ".join(d.load_balancer_id for d in deliveries),
                        getattr(err, "fault_string", None) or err)
            return False

    def committed(self, delivery: owed.Delivery) -> bool:
        """Whether Octavia has committed the objects this delivery creates (`confirm_creates`).
        The driver returns before Octavia commits its own rows; on PostgreSQL Octavia's driver
        agent would silently update no row, so such a delivery waits for the next poll."""
        new = delivery.created() if self.confirm_creates else None
        if new is None or new.provisioning_status == "DELETED":
            return True
        getter = getattr(self.lib, GETTERS[new.kind])
        return getter(new.object_id) is not None

    def poll(self) -> int:
        return self.deliver(owed.candidates(self.db, limit=self.batch))

    def sweep(self) -> int:
        after, total = "", 0
        for _ in range(100_000):
            lbs = owed.candidates(self.db, limit=self.batch, everything=True, after=after)
            if not lbs:
                break
            total += self.deliver(lbs)
            after = lbs[-1]
        return total

    def stats(self) -> int:
        after, sent = "", 0
        for _ in range(100_000):
            items = owed.listener_stats(self.db, limit=500, after=after)
            if not items:
                break
            try:
                self.lib.update_listener_statistics({"listeners": items})
            except Exception as err:
                LOG.warning("octavia-bridge: Octavia did not take listener statistics: %s",
                            getattr(err, "fault_string", None) or err)
                break
            sent += len(items)
            after = str(items[-1]["id"])
        return sent


def run(conf: cfg.ConfigOpts) -> int:
    from octavia_lib.api.drivers import driver_lib

    register(conf)
    o = conf[GROUP]
    db = Database(str(conf.database.connection))
    me = f"{conf.host}:{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    LOG.info("octavia-bridge %s: waiting for Octavia's driver agent (%s)", me, o.status_socket)
    library = driver_lib.DriverLibrary(status_socket=o.status_socket,
                                       stats_socket=o.stats_socket, get_socket=o.get_socket)
    bridge = Bridge(db, library, me=me, claim_seconds=o.claim_seconds, batch=o.batch,
                    confirm_creates=o.confirm_creates)
    LOG.info("octavia-bridge %s: delivering statuses to Octavia", me)
    next_sweep = next_stats = 0.0
    while not stop.is_set():
        try:
            bridge.poll()
            now = time.monotonic()
            if now >= next_sweep:
                bridge.sweep()
                next_sweep = now + o.sweep_interval
            if now >= next_stats:
                bridge.stats()
                next_stats = now + o.stats_interval
        except DatabaseUnavailable as err:
            LOG.warning("octavia-bridge: database unavailable (will retry): %s", err)
        except BigipLbaasError as err:
            LOG.error("octavia-bridge: %s", err)
        stop.wait(o.poll_interval)
    db.dispose()
    LOG.info("octavia-bridge %s: stopped (%d deliveries)", me, bridge.delivered)
    return 0
