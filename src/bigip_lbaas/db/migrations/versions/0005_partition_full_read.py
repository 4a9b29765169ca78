"""partition.full_read_generation: a failover asks the owner to re-read every device

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "full_read_generation", sa.BigInteger(), server_default="0", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("partition", schema=None) as batch_op:
        batch_op.drop_column("full_read_generation")
