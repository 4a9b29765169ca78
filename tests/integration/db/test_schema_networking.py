"""Migrations 0007 (network provider attributes), 0008 (ports) and 0009 (vip_port_id NOT NULL) on
real servers: existing networks keep their rows, a load balancer without a VIP port id gets one,
and all go down and up again cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database


def test_provider_columns_and_ports_upgrade_and_downgrade(db_url: str) -> None:
    database = Database(db_url)
    cfg = schema._config()
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        network = sa.table("network", *map(sa.column, (
            "id", "project_id", "name", "admin_state_up", "shared", "external", "mtu")))
        conn.execute(network.insert().values(id="net-old", project_id="p", name="old",
                                             admin_state_up=True, shared=False, external=False,
                                             mtu=1500))
        partition = sa.table("partition", *map(sa.column, (
            "id", "environment", "project_id", "desired_generation", "applied_generation")))
        conn.execute(partition.insert().values(
            environment="E", project_id="p", desired_generation=0, applied_generation=0))
        pid = conn.execute(sa.select(partition.c.id)).scalar_one()
        lbs = sa.table("load_balancer", sa.column("tags", sa.JSON), *map(sa.column, (
            "id", "project_id", "provisioning_status", "operating_status", "enabled",
            "partition_id", "provider", "vip_port_id")))
        for lb_id, port in (("lb-none", None), ("lb-port", "port-kept")):
            conn.execute(lbs.insert().values(
                id=lb_id, project_id="p", provisioning_status="ACTIVE",
                operating_status="ONLINE", enabled=True, tags=[], partition_id=pid,
                provider="f5", vip_port_id=port))
    schema.upgrade(database)
    assert schema.current(database) == schema.head()
    with database.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, network_type, segmentation_id, segment_key "
                                    "FROM network"))
        assert [tuple(r) for r in rows] == [("net-old", None, None, None)]
        assert {"port", "port_ip"} <= set(sa.inspect(conn).get_table_names())
        ports = dict(conn.execute(sa.text("SELECT id, vip_port_id FROM load_balancer")).all())
        assert ports["lb-port"] == "port-kept" and len(ports["lb-none"]) == 36
        column = next(c for c in sa.inspect(conn).get_columns("load_balancer")
                      if c["name"] == "vip_port_id")
        assert column["nullable"] is False
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    with database.engine.connect() as conn:
        assert "port" not in sa.inspect(conn).get_table_names()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("network")}
        assert "segment_key" not in columns
    schema.upgrade(database)
    assert schema.current(database) == schema.head()
    database.dispose()
