"""route domains: ids held by partitions (unique in the database) and subnet bindings (L2/L3)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "route_domain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("partition_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["partition_id"], ["partition.id"],
                                name=op.f("fk_route_domain_partition_id_partition"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_domain")),
        sa.UniqueConstraint("partition_id", "slot",
                            name=op.f("uq_route_domain_partition_id_slot")),
    )
    op.create_index(op.f("ix_route_domain_partition_id"), "route_domain", ["partition_id"],
                    unique=False)
    op.create_table(
        "subnet_binding",
        sa.Column("partition_id", sa.Integer(), nullable=False),
        sa.Column("subnet_id", sa.String(length=64), nullable=False),
        sa.Column("route_domain_id", sa.Integer(), nullable=True),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["partition_id"], ["partition.id"],
                                name=op.f("fk_subnet_binding_partition_id_partition"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["route_domain_id"], ["route_domain.id"],
                                name=op.f("fk_subnet_binding_route_domain_id_route_domain")),
        sa.PrimaryKeyConstraint("partition_id", "subnet_id", name=op.f("pk_subnet_binding")),
    )
    op.create_index(op.f("ix_subnet_binding_route_domain_id"), "subnet_binding",
                    ["route_domain_id"], unique=False)


def downgrade() -> None:
    op.drop_table("subnet_binding")
    op.drop_table("route_domain")
