"""db/session.py's idle ping: a pooled connection is checked before reuse only when it sat in
the pool longer than PING_AFTER_IDLE_SECONDS. One that died after sitting that long is replaced
without the caller seeing anything; one handed back a moment ago is reused unchecked, so its
death reaches the caller as a transient error, and the retried unit of work succeeds on a new
connection. The server really kills the connection (PostgreSQL's pg_terminate_backend,
MariaDB's KILL)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from bigip_lbaas.core.errors import DatabaseUnavailable
from bigip_lbaas.db import session as db_session
from bigip_lbaas.db.session import Database

IDLE = 0.3  # the threshold a test waits out

WHO_AM_I = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


def _backend(db: Database) -> int:
    """The server's id of the connection a unit of work gets (the pool has just one)."""
    return int(db.query(lambda s: s.execute(sa.text(WHO_AM_I[db.engine.dialect.name]))
                        .scalar_one()))


def _kill(db: Database, backend: int) -> None:
    """Kill the server side of `backend` from a connection outside the pool."""
    other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    try:
        with other.connect() as conn:
            conn.exec_driver_sql(KILL[db.engine.dialect.name].format(backend))
            conn.commit()
    finally:
        other.dispose()


@pytest.fixture
def one_connection(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Database:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite is a file: there is no connection to lose")
    monkeypatch.setattr(db_session, "PING_AFTER_IDLE_SECONDS", IDLE)
    return Database(db_url, pool_size=1, max_overflow=0)


def test_a_connection_that_died_idle_is_replaced_unseen(one_connection: Database) -> None:
    db = one_connection
    try:
        first = _backend(db)
        _kill(db, first)
        time.sleep(IDLE * 2)
        # No retry allowed: the checkout's ping found it dead and the pool replaced it.
        second = int(db.query(lambda s: s.execute(
            sa.text(WHO_AM_I[db.engine.dialect.name])).scalar_one(), attempts=1))
        assert second != first
    finally:
        db.dispose()


def test_a_connection_handed_back_a_moment_ago_is_reused_unchecked(
        one_connection: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # A window far longer than the kill below can take on a loaded machine.
    monkeypatch.setattr(db_session, "PING_AFTER_IDLE_SECONDS", 60.0)
    db = one_connection
    try:
        first = _backend(db)
        _kill(db, first)
        # Within the idle window: no ping, so the dead connection reaches the statement...
        with pytest.raises(DatabaseUnavailable):
            db.query(lambda s: s.execute(sa.text("SELECT 1")).scalar_one(), attempts=1)
        # ...and the retried unit of work runs on a new one.
        assert _backend(db) != first
    finally:
        db.dispose()
