"""octavia_status: the statuses owed to Octavia for objects created through the bigip provider

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "octavia_status",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claim_expires", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "object_id", name=op.f("pk_octavia_status")),
    )
    op.create_index(op.f("ix_octavia_status_load_balancer_id"), "octavia_status",
                    ["load_balancer_id"], unique=False)
    op.create_index(op.f("ix_octavia_status_provisioning_status"), "octavia_status",
                    ["provisioning_status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_octavia_status_provisioning_status"), table_name="octavia_status")
    op.drop_index(op.f("ix_octavia_status_load_balancer_id"), table_name="octavia_status")
    op.drop_table("octavia_status")
