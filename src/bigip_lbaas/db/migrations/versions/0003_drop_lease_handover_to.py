"""partition_lease.handover_to dropped: nothing ever set or read it (hand-over is a release)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partition_lease", schema=None) as batch_op:
        batch_op.drop_column("handover_to")


def downgrade() -> None:
    with op.batch_alter_table("partition_lease", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handover_to", sa.String(length=64), nullable=True))
