"""Migrations 0007 (network provider attributes) and 0008 (ports) on real servers: existing
networks keep their rows, and both go down and up again cleanly."""

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
    schema.upgrade(database)
    assert schema.current(database) == schema.head()
    with database.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, network_type, segmentation_id, segment_key "
                                    "FROM network"))
        assert [tuple(r) for r in rows] == [("net-old", None, None, None)]
        assert {"port", "port_ip"} <= set(sa.inspect(conn).get_table_names())
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
