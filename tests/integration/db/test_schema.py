"""Migrations against real servers: head equals the models, upgrade is idempotent, clocks agree."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from alembic import command
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


def test_upgrade_from_0001_keeps_load_balancers(db_url: str) -> None:
    """0002 adds additional_vips (NULL on existing rows) and table additional_vip."""
    database = Database(db_url)
    cfg = schema._config()
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        # Tables as 0001 made them (only the columns it had; quoted as each dialect needs).
        partition = sa.table("partition", *map(sa.column, (
            "id", "environment", "project_id", "desired_generation", "applied_generation")))
        conn.execute(partition.insert().values(
            environment="E", project_id="p", desired_generation=0, applied_generation=0))
        pid = conn.execute(sa.select(partition.c.id)).scalar_one()
        lbs = sa.table("load_balancer", sa.column("tags", sa.JSON), *map(sa.column, (
            "id", "project_id", "provisioning_status", "operating_status", "enabled",
            "partition_id", "provider")))
        conn.execute(lbs.insert().values(
            id="lb-old", project_id="p", provisioning_status="ACTIVE", operating_status="ONLINE",
            enabled=True, tags=[], partition_id=pid, provider="f5"))
    assert schema.current(database) == "0001"
    schema.upgrade(database)
    with database.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT id, additional_vips FROM load_balancer"))
        assert [tuple(r) for r in row] == [("lb-old", None)]
        assert "additional_vip" in sa.inspect(conn).get_table_names()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("load_balancer")}
        assert "vip_sg_ids" not in columns  # refused, never stored
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


def test_upgrade_from_0002_drops_the_handover_column_and_keeps_leases(db_url: str) -> None:
    """0003 drops partition_lease.handover_to, which nothing ever set; owners and epochs stay."""
    database = Database(db_url)
    cfg = schema._config()
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        partition = sa.table("partition", *map(sa.column, (
            "id", "environment", "project_id", "desired_generation", "applied_generation")))
        conn.execute(partition.insert().values(
            environment="E", project_id="p", desired_generation=0, applied_generation=0))
        pid = conn.execute(sa.select(partition.c.id)).scalar_one()
        lease = sa.table("partition_lease", *map(sa.column, (
            "partition_id", "owner", "epoch", "expires_at", "handover_to")))
        conn.execute(lease.insert().values(partition_id=pid, owner="agent-a", epoch=7,
                                           expires_at=12.5, handover_to=None))
    schema.upgrade(database)
    assert schema.current(database) == schema.head()
    with database.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("partition_lease")}
        assert "handover_to" not in columns
        rows = conn.execute(sa.text("SELECT owner, epoch, expires_at FROM partition_lease"))
        assert [tuple(r) for r in rows] == [("agent-a", 7, 12.5)]
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
        columns = {c["name"] for c in sa.inspect(conn).get_columns("partition_lease")}
        assert "handover_to" in columns
    database.dispose()
