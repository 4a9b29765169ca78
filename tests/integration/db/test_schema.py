"""Migrations against real servers: head equals the models, upgrade is idempotent, clocks agree."""

from __future__ import annotations

import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bigip_lbaas.core.errors import DatabaseError, SchemaOutOfDate
from bigip_lbaas.db import schema
from bigip_lbaas.db.models import Base
from bigip_lbaas.db.session import Database


def test_upgrade_creates_every_table_and_matches_models(db_url: str) -> None:
    database = Database(db_url)
    before, after = schema.upgrade(database)
    assert before is None and after == schema.head()
    assert set(Base.metadata.tables) <= schema.table_names(database)
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
    database.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    database = Database(db_url)
    schema.upgrade(database)
    before, after = schema.upgrade(database)
    assert before == after == schema.head()
    schema.require_current(database)
    database.dispose()


def test_out_of_date_schema_is_refused_with_instructions(db_url: str) -> None:
    database = Database(db_url)
    with pytest.raises(SchemaOutOfDate, match="bigip-lbaas db upgrade"):
        schema.require_current(database)
    database.dispose()


def test_server_clock_is_epoch_seconds(db: Database) -> None:
    assert abs(db.clock() - time.time()) < 5.0


def test_unreachable_database_names_scheme_and_host_not_password() -> None:
    database = Database("postgresql://admin:s3cret@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseError) as err:
        schema.current(database)
    assert "postgresql://127.0.0.1:1" in str(err.value)
    assert "s3cret" not in str(err.value)
