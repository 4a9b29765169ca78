"""network provider attributes: provider:network_type, :physical_network, :segmentation_id and
the unique segment key that keeps a segment on one network only

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("network", schema=None) as batch_op:
        batch_op.add_column(sa.Column("network_type", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("physical_network", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("segmentation_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("segment_key", sa.String(length=96), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_network_segment_key"), ["segment_key"])


def downgrade() -> None:
    with op.batch_alter_table("network", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_network_segment_key"), type_="unique")
        batch_op.drop_column("segment_key")
        batch_op.drop_column("segmentation_id")
        batch_op.drop_column("physical_network")
        batch_op.drop_column("network_type")
