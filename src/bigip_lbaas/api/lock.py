"""The status rule on one row: lock the load balancer, check its status, mark it pending.

Every mutating request on a load balancer or any of its children goes through here, in the same
transaction as its desired-state writes; `mark_changed` bumps the partition's generation so the
owning agent reconciles it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.api.auth import Context
from bigip_lbaas.api.errors import Immutable, LBPendingState, NotFound, Unserved
from bigip_lbaas.api.resources import (
    HEALTHMONITOR,
    L7POLICY,
    L7RULE,
    LISTENER,
    LOADBALANCER,
    MEMBER,
    POOL,
    Resource,
)
from bigip_lbaas.core.status import Prov, may_change
from bigip_lbaas.db import models as m
from bigip_lbaas.db import unserved
from bigip_lbaas.db.partitions import mark_changed


def find(session: Session, res: Resource, obj_id: str, ctx: Context, *, lock: bool = False) -> Any:
    """The row of `res` with `obj_id`: 404 when there is none, 403 when the request's action is
    not allowed on its project (Octavia loads the object, then checks the policy with the
    object's project)."""
    stmt = sa.select(res.model).where(res.model.id == obj_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).one_or_none()
    if row is None or row.provisioning_status == Prov.DELETED:
        raise NotFound(resource=res.label, id=obj_id)
    ctx.authorize(row.project_id)
    return row


def lock_lb(session: Session, lb_id: str, ctx: Context) -> m.LoadBalancer:
    """The load balancer a change goes to, locked; 503 when no live agent serves its
    environment (M11: nothing would carry the change out)."""
    lb: m.LoadBalancer = find(session, LOADBALANCER, lb_id, ctx, lock=True)
    if ctx.agent_lease is not None:
        environment = unserved.is_partition_served(session, lb.partition_id, ctx.agent_lease)
        if environment is not None:
            raise Unserved(environment=environment)
    return lb


def find_locked(session: Session, res: Resource, obj_id: str, ctx: Context,
                parent: Callable[[Any], bool] | None = None) -> tuple[Any, m.LoadBalancer]:
    """An object below a load balancer (404 unless `ctx` may see it and `parent` accepts it),
    with that load balancer locked and the object re-read under the lock."""
    row = find(session, res, obj_id, ctx)
    if parent is not None and not parent(row):
        raise NotFound(resource=res.label, id=obj_id)
    lb = lock_lb(session, row.load_balancer_id, ctx)
    session.refresh(row)
    return row, lb


def change_lb(session: Session, lb: m.LoadBalancer, *, deleting: bool = False) -> None:
    """A change to the load balancer itself: 409 LBPendingState unless its status allows it."""
    if not may_change(lb.provisioning_status, deleting=deleting):
        raise LBPendingState(state=lb.provisioning_status, id=lb.id)
    lb.provisioning_status = Prov.PENDING_DELETE if deleting else Prov.PENDING_UPDATE
    mark_changed(session, lb.partition_id)


def change_child(session: Session, lb: m.LoadBalancer, *objects: tuple[Resource, Any],
                 deleting: bool = False) -> None:
    """A change below the load balancer. The load balancer takes an update, so it must be
    MUTABLE; so must every object touched (the one updated, or the parent a new object goes
    under), except the object a delete removes, which must be DELETABLE (core/status.py)."""
    if not may_change(lb.provisioning_status, deleting=False):
        raise Immutable(resource=LOADBALANCER.label, id=lb.id)
    for res, row in objects:
        if row is not None and not may_change(row.provisioning_status, deleting=deleting):
            raise Immutable(resource=res.label, id=row.id)
    lb.provisioning_status = Prov.PENDING_UPDATE
    _mark_parents(session, lb.id, objects)
    mark_changed(session, lb.partition_id)


def _mark_parents(session: Session, lb_id: str, objects: tuple[tuple[Resource, Any], ...]) -> None:
    """Octavia also shows the change on the objects above it: the pool of a member or health
    monitor, and every listener that sends traffic to an affected pool or owns the policy.
    They return to ACTIVE with the change."""
    pool_ids: set[str] = set()
    listener_ids: set[str] = set()
    for res, row in objects:
        if row is None:
            continue
        if res in (MEMBER, HEALTHMONITOR):
            pool_ids.add(row.pool_id)
        elif res is POOL:
            pool_ids.add(row.id)
        elif res is L7POLICY:
            listener_ids.add(row.listener_id)
        elif res is L7RULE:
            listener_ids.update(session.scalars(
                sa.select(m.L7Policy.listener_id).where(m.L7Policy.id == row.l7policy_id)))
        elif res is LISTENER:
            listener_ids.add(row.id)
    if pool_ids:
        listener_ids.update(session.scalars(sa.select(m.Listener.id).where(
            m.Listener.load_balancer_id == lb_id, m.Listener.default_pool_id.in_(pool_ids))))
        listener_ids.update(session.scalars(sa.select(m.L7Policy.listener_id).where(
            m.L7Policy.load_balancer_id == lb_id, m.L7Policy.redirect_pool_id.in_(pool_ids))))
    for table, ids in ((m.Pool, pool_ids), (m.Listener, listener_ids)):
        if ids:
            session.execute(sa.update(table).where(
                table.id.in_(ids), table.provisioning_status == Prov.ACTIVE,
            ).values(provisioning_status=Prov.PENDING_UPDATE))
