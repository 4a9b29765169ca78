"""load balancer additional_vips (vip_sg_ids is not stored: a non-empty one is refused)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("load_balancer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("additional_vips", sa.JSON(), nullable=True))

    op.create_table(
        "additional_vip",
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_balancer_id"],
            ["load_balancer.id"],
            name=op.f("fk_additional_vip_load_balancer_id_load_balancer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "load_balancer_id", "subnet_id", name=op.f("pk_additional_vip")
        ),
        sa.UniqueConstraint(
            "subnet_id", "ip_address", name=op.f("uq_additional_vip_subnet_id_ip_address")
        ),
    )


def downgrade() -> None:
    op.drop_table("additional_vip")
    with op.batch_alter_table("load_balancer", schema=None) as batch_op:
        batch_op.drop_column("additional_vips")
