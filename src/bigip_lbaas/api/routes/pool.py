"""Pools."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import create, quotas, tls, validate
from bigip_lbaas.api.errors import (
    DuplicatePoolOnListener,
    PoolInUseByL7Policy,
    ValidationFailure,
)
from bigip_lbaas.api.handlers import (
    delete_child,
    env,
    list_resource,
    mark_deleting,
    respond,
    set_columns,
    show_resource,
    update_child,
)
from bigip_lbaas.api.lock import change_child, find, lock_lb
from bigip_lbaas.api.resources import HEALTHMONITOR, LISTENER, MEMBER, POOL, wire_one
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.pool import (
    PoolRootPOST,
    PoolRootPUT,
    PoolRootResponse,
    PoolsRootResponse,
)
from bigip_lbaas.core.status import Prov
from bigip_lbaas.db import models as m

router = APIRouter(tags=["pools"])
ONE = "/pools/{pool_id}"


@router.get("/pools", response_model=PoolsRootResponse, responses=fault_responses(400, 401, 403))
def list_pools(request: Request) -> JSONResponse:
    return list_resource(request, POOL)


@router.get(ONE, response_model=PoolRootResponse, responses=fault_responses(401, 403, 404))
def show_pool(request: Request, pool_id: str) -> JSONResponse:
    return show_resource(request, POOL, pool_id)


@router.post("/pools", status_code=201, response_model=PoolRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409, 501))
def create_pool(request: Request, body: PoolRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.pool
    tls_checks = tls.checks(request)
    if not (spec.listener_id or spec.loadbalancer_id):
        raise ValidationFailure(detail="Must provide at least one of: loadbalancer_id, "
                                       "listener_id")

    def fn(session: Session) -> dict[str, Any]:
        listener: m.Listener | None = None
        lb_id = spec.loadbalancer_id
        if spec.listener_id:
            listener = find(session, LISTENER, spec.listener_id, ctx)
            if lb_id and lb_id != listener.load_balancer_id:
                raise ValidationFailure(detail=f"Listener {listener.id} is not on load "
                                               f"balancer {lb_id}.")
            lb_id = listener.load_balancer_id
        assert lb_id is not None
        lb = lock_lb(session, lb_id, ctx)
        change_child(session, lb, (LISTENER, listener))
        if listener is not None:
            if listener.default_pool_id:
                raise DuplicatePoolOnListener(listener=listener.id)
            create.check_pool_protocol(listener.protocol, spec.protocol)
        adding = {POOL: 1, MEMBER: len(spec.members or []),
                  HEALTHMONITOR: 1 if spec.healthmonitor else 0}
        quotas.check(session, st.conf, lb.project_id, adding)
        data = spec.model_dump(exclude={"listener_id", "loadbalancer_id", "members",
                                        "healthmonitor"})
        row = create.insert_pool(session, lb, data, tls_checks=tls_checks)
        session.flush()
        if spec.healthmonitor is not None:
            create.insert_healthmonitor(session, row, spec.healthmonitor.model_dump())
            session.flush()
        for member in spec.members or []:
            create.insert_member(session, row, member.model_dump())
        if listener is not None:
            listener.default_pool_id = row.id
            listener.provisioning_status = Prov.PENDING_UPDATE
        session.flush()
        return wire_one(session, POOL, row)

    return respond(201, {"pool": st.write(fn)})


def apply_changes(session: Session, row: m.Pool, changes: dict[str, Any],
                  tls_checks: tls.Checks | None = None) -> None:
    validate.pool(create.provider_of_lb(session, row.load_balancer_id), row.protocol, changes,
                  stored=row)
    if tls_checks is not None:
        tls_checks.pool_update(create.provider_of_lb(session, row.load_balancer_id), row, changes)
    if "tls_enabled" in changes and changes["tls_enabled"] is None:
        changes["tls_enabled"] = False
    if "session_persistence" in changes and changes["session_persistence"] is not None:
        changes["session_persistence"] = {k: v for k, v in changes["session_persistence"].items()
                                          if v is not None}
    for key in ("tls_versions", "alpn_protocols"):
        if key in changes and changes[key] is None:
            changes[key] = []
    set_columns(POOL, row, changes)


@router.put(ONE, response_model=PoolRootResponse,
            responses=fault_responses(400, 401, 403, 404, 409, 501))
def update_pool(request: Request, pool_id: str, body: PoolRootPUT) -> JSONResponse:
    tls_checks = tls.checks(request)
    return update_child(request, POOL, pool_id, body.pool.model_dump(exclude_unset=True),
                        lambda session, row, changes: apply_changes(session, row, changes, tls_checks))


def cascade(session: Session, row: m.Pool) -> None:
    policy = session.scalar(sa.select(m.L7Policy.id).where(
        m.L7Policy.redirect_pool_id == row.id, m.L7Policy.provisioning_status != Prov.DELETED))
    if policy is not None:
        raise PoolInUseByL7Policy(id=row.id, l7policy=policy)
    session.execute(sa.update(m.Listener).where(m.Listener.default_pool_id == row.id)
                    .values(default_pool_id=None)
                    .execution_options(synchronize_session=False))
    mark_deleting(session, MEMBER, "pool_id", row.id)
    mark_deleting(session, HEALTHMONITOR, "pool_id", row.id)


@router.delete(ONE, status_code=204, responses=fault_responses(401, 403, 404, 409))
def delete_pool(request: Request, pool_id: str) -> Response:
    return delete_child(request, POOL, pool_id, cascade)
