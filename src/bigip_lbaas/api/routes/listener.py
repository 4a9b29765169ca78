"""Listeners: CRUD and per-listener stats."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import create, quotas, statuses, tls, validate
from bigip_lbaas.api.errors import ValidationFailure
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
from bigip_lbaas.api.resources import L7POLICY, L7RULE, LISTENER, wire_one
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.listener import (
    ListenerRootPOST,
    ListenerRootPUT,
    ListenerRootResponse,
    ListenersRootResponse,
)
from bigip_lbaas.api.schemas.loadbalancer import StatsRootResponse
from bigip_lbaas.db import models as m

router = APIRouter(tags=["listeners"])
ONE = "/listeners/{listener_id}"
PUT_NULL_DEFAULTS: dict[str, Any] = {"connection_limit": -1, "client_authentication": "NONE",
                                     "hsts_include_subdomains": False, "hsts_preload": False}


@router.get("/listeners", response_model=ListenersRootResponse,
            responses=fault_responses(400, 401, 403))
def list_listeners(request: Request) -> JSONResponse:
    return list_resource(request, LISTENER)


@router.get(ONE, response_model=ListenerRootResponse, responses=fault_responses(401, 403, 404))
def show_listener(request: Request, listener_id: str) -> JSONResponse:
    return show_resource(request, LISTENER, listener_id)


@router.post("/listeners", status_code=201, response_model=ListenerRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409, 501))
def create_listener(request: Request, body: ListenerRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.listener
    tls_checks = tls.checks(request)

    def fn(session: Session) -> dict[str, Any]:
        lb = lock_lb(session, spec.loadbalancer_id, ctx)
        change_child(session, lb)
        quotas.check(session, st.conf, lb.project_id, {LISTENER: 1})
        if spec.default_pool:
            raise ValidationFailure(detail="default_pool is only valid in a fully populated "
                                           "load balancer create; use default_pool_id.")
        data = spec.model_dump(exclude={"loadbalancer_id", "default_pool", "l7policies"})
        row = create.insert_listener(session, lb, data, tls_checks=tls_checks)
        session.flush()
        return wire_one(session, LISTENER, row)

    return respond(201, {"listener": st.write(fn)})


def apply_changes(session: Session, row: m.Listener, changes: dict[str, Any],
                  tls_checks: tls.Checks | None = None) -> None:
    lb = session.get(m.LoadBalancer, row.load_balancer_id)
    validate.listener(create.provider_of(lb), row.protocol, changes, stored=row,
                      vips=create.vip_addresses(lb) if lb is not None else ())
    if tls_checks is not None:
        tls_checks.listener_update(create.provider_of(lb), row, changes)
    pool_id = changes.get("default_pool_id")
    if pool_id:
        pool = session.get(m.Pool, pool_id)
        if pool is None or pool.load_balancer_id != row.load_balancer_id:
            raise ValidationFailure(detail=f"Pool {pool_id} is not on load balancer "
                                           f"{row.load_balancer_id}")
        create.check_pool_protocol(row.protocol, pool.protocol)
    for key in ("sni_container_refs", "allowed_cidrs", "tls_versions", "alpn_protocols"):
        if key in changes and changes[key] is None:
            changes[key] = []
    # null resets to the default, as Octavia's _set_default_on_none does (these columns are NOT
    # NULL: `openstack loadbalancer listener unset --client-authentication` was a 500).
    for key, default in PUT_NULL_DEFAULTS.items():
        if key in changes and changes[key] is None:
            changes[key] = default
    if "insert_headers" in changes and changes["insert_headers"] is None:
        changes["insert_headers"] = {}
    set_columns(LISTENER, row, changes)


@router.put(ONE, response_model=ListenerRootResponse,
            responses=fault_responses(400, 401, 403, 404, 409, 501))
def update_listener(request: Request, listener_id: str, body: ListenerRootPUT) -> JSONResponse:
    tls_checks = tls.checks(request)
    return update_child(request, LISTENER, listener_id,
                        body.listener.model_dump(exclude_unset=True),
                        lambda session, row, changes: apply_changes(session, row, changes, tls_checks))


def cascade(session: Session, row: m.Listener) -> None:
    for policy_id in [p.id for p in session.query(m.L7Policy).filter_by(listener_id=row.id)]:
        mark_deleting(session, L7RULE, "l7policy_id", policy_id)
    mark_deleting(session, L7POLICY, "listener_id", row.id)


@router.delete(ONE, status_code=204, responses=fault_responses(401, 403, 404, 409))
def delete_listener(request: Request, listener_id: str) -> Response:
    return delete_child(request, LISTENER, listener_id, cascade)


@router.get(ONE + "/stats", response_model=StatsRootResponse,
            responses=fault_responses(401, 403, 404))
def listener_stats(request: Request, listener_id: str) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, int]:
        find(session, LISTENER, listener_id, ctx)
        return statuses.sum_stats(session, m.ListenerStats.listener_id == listener_id)

    return respond(200, {"stats": st.read(fn)})
