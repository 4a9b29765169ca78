"""load_balancer.vip_port_id NOT NULL: every load balancer has a VIP port (a row without one, from
before the API always chose one, gets a new uuid)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    lbs = sa.table("load_balancer", sa.column("id", sa.String(36)),
                   sa.column("vip_port_id", sa.String(36)))
    missing = conn.execute(sa.select(lbs.c.id).where(lbs.c.vip_port_id.is_(None))).scalars()
    for lb_id in list(missing):
        conn.execute(sa.update(lbs).where(lbs.c.id == lb_id)
                     .values(vip_port_id=str(uuid.uuid4())))
    with op.batch_alter_table("load_balancer", schema=None) as batch_op:
        batch_op.alter_column("vip_port_id", existing_type=sa.String(length=36), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("load_balancer", schema=None) as batch_op:
        batch_op.alter_column("vip_port_id", existing_type=sa.String(length=36), nullable=True)
