"""The status rule on one row: lock the load balancer, check its status, mark it pending.

Every mutating request on a load balancer or any of its children goes through here, in the same
transaction as its desired-state writes; `mark_changed` bumps the partition's generation so the
owning agent reconciles it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.api.auth import Context
from bigip_lbaas.api.errors import Immutable, LBPendingState, NotFound
from bigip_lbaas.api.resources import LOADBALANCER, Kind
from bigip_lbaas.core.status import Prov, may_change
from bigip_lbaas.db import models as m
from bigip_lbaas.db.partitions import mark_changed


def find(session: Session, kind: Kind, obj_id: str, ctx: Context, *, lock: bool = False) -> Any:
    """The row of `kind` with `obj_id` that `ctx` may see, else 404 (never 403: no leak)."""
    stmt = sa.select(kind.model).where(kind.model.id == obj_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None or row.provisioning_status == Prov.DELETED or not ctx.visible(row.project_id):
        raise NotFound(resource=kind.label, id=obj_id)
    return row


def lock_lb(session: Session, lb_id: str, ctx: Context) -> m.LoadBalancer:
    lb: m.LoadBalancer = find(session, LOADBALANCER, lb_id, ctx, lock=True)
    return lb


def change_lb(session: Session, lb: m.LoadBalancer, *, deleting: bool = False) -> None:
    """A change to the load balancer itself: 409 LBPendingState unless its status allows it."""
    if not may_change(lb.provisioning_status, deleting=deleting):
        raise LBPendingState(state=lb.provisioning_status, id=lb.id)
    lb.provisioning_status = Prov.PENDING_DELETE if deleting else Prov.PENDING_UPDATE
    mark_changed(session, lb.partition_id)


def change_child(session: Session, lb: m.LoadBalancer, *objects: tuple[Kind, Any]) -> None:
    """A change below the load balancer: it and every object touched must be unlocked."""
    if not may_change(lb.provisioning_status, deleting=False):
        raise Immutable(resource=LOADBALANCER.label, id=lb.id)
    for kind, row in objects:
        if row is not None and Prov(row.provisioning_status) not in (Prov.ACTIVE, Prov.ERROR):
            raise Immutable(resource=kind.label, id=row.id)
    lb.provisioning_status = Prov.PENDING_UPDATE
    mark_changed(session, lb.partition_id)
