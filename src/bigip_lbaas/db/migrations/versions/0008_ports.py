"""ports: Neutron-shaped ports and their fixed IPs (one address per subnet, ports and VIPs alike)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "port",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("device_owner", sa.String(length=255), nullable=False),
        sa.Column("device_id", sa.String(length=255), nullable=False),
        sa.Column("mac_address", sa.String(length=32), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("binding_host_id", sa.String(length=255), nullable=False),
        sa.Column("vip_of", sa.String(length=36), nullable=True),
        sa.Column("used_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["network_id"], ["network.id"],
                                name=op.f("fk_port_network_id_network")),
        sa.ForeignKeyConstraint(["vip_of"], ["load_balancer.id"],
                                name=op.f("fk_port_vip_of_load_balancer"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["used_by"], ["load_balancer.id"],
                                name=op.f("fk_port_used_by_load_balancer"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_port")),
        sa.UniqueConstraint("network_id", "mac_address",
                            name=op.f("uq_port_network_id_mac_address")),
    )
    for column in ("project_id", "network_id", "device_owner", "device_id", "vip_of",
                   "used_by"):
        op.create_index(op.f(f"ix_port_{column}"), "port", [column], unique=False)
    op.create_table(
        "port_ip",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["port_id"], ["port.id"], name=op.f("fk_port_ip_port_id_port"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subnet_id", "ip_address", name=op.f("pk_port_ip")),
    )
    op.create_index(op.f("ix_port_ip_port_id"), "port_ip", ["port_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes (MariaDB refuses to drop first an index a foreign key
    # needs).
    op.drop_table("port_ip")
    op.drop_table("port")
