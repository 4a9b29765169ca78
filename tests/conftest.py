"""Fixtures shared by every test layer: a fresh database of each kind, migrated or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import KINDS, fresh_database


@pytest.fixture(params=KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database, one per test, on each of SQLite, PostgreSQL and MariaDB."""
    with fresh_database(db_kind, tmp_path) as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database, ready for the application."""
    database = Database(db_url)
    schema.upgrade(database)
    yield database
    database.dispose()
