"""Wake-up channel: PostgreSQL LISTEN/NOTIFY, so a change starts reconciling at once.

It carries no state. A notification only sets the agent's wake event; the agent then re-reads
the database as it does on every poll. If the listener connection fails, the agent keeps
working on its poll interval and this thread reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Protocol

from sqlalchemy.engine import make_url

from bigip_lbaas.db.partitions import CHANNEL
from bigip_lbaas.db.session import normalise_url

LOG = logging.getLogger(__name__)


def conninfo(url: str) -> dict[str, object]:
    parsed = normalise_url(url)
    params: dict[str, object] = {
        "host": parsed.host, "port": parsed.port, "user": parsed.username,
        "password": parsed.password, "dbname": parsed.database,
    }
    return {k: v for k, v in params.items() if v is not None}


class Settable(Protocol):
    """An asyncio.Event, or anything else a notification can ``set()``."""

    def set(self) -> None: ...


class ChangeNotifications:
    """A daemon thread that LISTENs and sets `event` on `loop` for every notification."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop, event: Settable) -> None:
        assert make_url(url).get_backend_name() == "postgresql"
        self._url = url
        self._loop = loop
        self._event = event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg  # only PostgreSQL has notifications; other databases never load it

        delay = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(**conninfo(self._url), autocommit=True,  # type: ignore[arg-type]
                                     connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    delay = 0.5
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=64):
                            self._loop.call_soon_threadsafe(self._event.set)
            except psycopg.Error as err:
                LOG.info("wake-up listener reconnecting", extra={
                    "action": "listen", "error": type(err).__name__})
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
