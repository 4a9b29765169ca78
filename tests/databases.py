"""Throw-away databases on the three supported backends, for tests and benchmarks.

Each call makes a fresh, uniquely named database (PostgreSQL, MariaDB) or file (SQLite), so tests
can run side by side without seeing each other's rows. With CI=true an unreachable server is a
failure; elsewhere the test is skipped with the reason shown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

KINDS = ("sqlite", "postgresql", "mariadb")

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "BIGIP_LBAAS_TEST_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "BIGIP_LBAAS_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test"
    ),
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(kind: str, why: str) -> None:
    message = f"{kind} server not reachable ({why})"
    if in_ci():
        pytest.fail(f"{message}; CI requires every database", pytrace=False)
    pytest.skip(message)


@contextmanager
def fresh_database(kind: str, tmp_dir: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database of `kind`; drop it afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / f'db-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    admin_url = ADMIN_URLS[kind]
    name = f"bl_test_{uuid.uuid4().hex[:12]}"
    # pre-ping: the server may have been restarted meanwhile (tests/multihost/test_db_restart.py)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as err:
        admin.dispose()
        unavailable(kind, str(err.orig).strip().splitlines()[0])
    url = sa.engine.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()
