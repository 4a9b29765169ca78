"""Load balancer routes: CRUD, the fully populated create, cascade delete, status tree, stats,
failover. The work is elsewhere: providers.resolve, vip, graph, statuses."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import create, graph, providers, quotas, statuses, tls, validate, vip
from bigip_lbaas.api.auth import Context
from bigip_lbaas.api.errors import (
    HasChildren,
    LBPendingState,
    ValidationFailure,
    VipInUse,
)
from bigip_lbaas.api.handlers import env, list_resource, no_content, respond, show_resource
from bigip_lbaas.api.lock import change_lb, find, lock_lb
from bigip_lbaas.api.pagination import parse_bool
from bigip_lbaas.api.resources import (
    CHILDREN_DEEPEST_FIRST,
    LISTENER,
    LOADBALANCER,
    POOL,
    wire_one,
)
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.loadbalancer import (
    LoadBalancerFullRootResponse,
    LoadBalancerRootPOST,
    LoadBalancerRootPUT,
    LoadBalancerRootResponse,
    LoadBalancersRootResponse,
    StatsRootResponse,
    StatusesRootResponse,
)
from bigip_lbaas.core.errors import DuplicateRow
from bigip_lbaas.core.status import Prov, may_change, may_fail_over
from bigip_lbaas.db import addresses
from bigip_lbaas.db import models as m
from bigip_lbaas.db.partitions import mark_changed_by_key, request_full_read

router = APIRouter(tags=["loadbalancers"])
ONE = "/loadbalancers/{loadbalancer_id}"


@router.get("/loadbalancers", response_model=LoadBalancersRootResponse,
            responses=fault_responses(400, 401, 403))
def list_loadbalancers(request: Request) -> JSONResponse:
    return list_resource(request, LOADBALANCER)


@router.get(ONE, response_model=LoadBalancerRootResponse,
            responses=fault_responses(400, 401, 403, 404))
def show_loadbalancer(request: Request, loadbalancer_id: str) -> JSONResponse:
    return show_resource(request, LOADBALANCER, loadbalancer_id)


@router.post("/loadbalancers", status_code=201, response_model=LoadBalancerFullRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409, 501))
def create_loadbalancer(request: Request, body: LoadBalancerRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.loadbalancer
    project = ctx.project_for_create(spec.project_id or spec.tenant_id)
    if not (spec.vip_port_id or spec.vip_network_id or spec.vip_subnet_id):
        raise ValidationFailure(detail="VIP must contain one of: vip_port_id, vip_network_id, "
                                       "vip_subnet_id.")
    graph.check_named_pools(spec)
    tls_checks = tls.checks(request)
    # [networking] source = neutron: the VIP port is made in Neutron first (api/vip.py).
    neutron = vip.neutron_source(request)
    nvip = vip.neutron_vip(neutron, spec, project) if neutron is not None else None
    allocated_on: set[str] = set()  # the subnets this create took addresses from

    def fn(session: Session) -> dict[str, Any]:
        provider = providers.resolve(session, st.providers, spec)
        validate.availability_zone(spec.availability_zone)
        quotas.check(session, st.conf, project, graph.counts(spec))
        partition = mark_changed_by_key(session, provider.environment, project)
        if nvip is not None:
            vip_cols = dict(nvip.cols)
        else:
            vip_cols = vip.resolve(session, spec)
            vip_cols.update(vip.resolve_additional(session, spec, vip_cols))
            allocated_on.update(vip.subnets_of(vip_cols))
        # Last, as Octavia calls the driver (the graph's children are checked as they are added).
        vip.refuse_sg_ids(provider.name, spec.vip_sg_ids)
        validate.vip_qos_policy(provider.name, spec.vip_qos_policy_id)
        st.require_served(session, provider.environment)
        lb = create.insert_loadbalancer(session, dict(
            id=nvip.lb_id if nvip else create.new_id(), project_id=project, name=spec.name,
            description=spec.description, enabled=spec.admin_state_up,
            provisioning_status=Prov.PENDING_CREATE, operating_status="OFFLINE",
            tags=spec.tags or [], partition_id=partition, provider=provider.name,
            vip_qos_policy_id=spec.vip_qos_policy_id, flavor_id=spec.flavor_id,
            availability_zone=spec.availability_zone, **vip_cols))
        vip.book_additional(session, lb)
        if nvip is None:
            vip.book_port(session, lb)
        added = graph.insert(session, lb, spec, tls_checks=tls_checks)
        session.flush()
        return graph.full_body(lb, added)

    try:
        for attempt in range(6):
            try:
                return respond(201, {"loadbalancer": st.write(fn)})
            except DuplicateRow as err:
                # Another API process took the same VIP address first (api/vip.py): retry,
                # probing from elsewhere than that process.
                if spec.vip_address or attempt == 5 or nvip is not None:
                    raise VipInUse(address=spec.vip_address or "?",
                                   subnet=spec.vip_subnet_id or spec.vip_network_id) from err
                addresses.scatter(allocated_on)
    except BaseException:
        if nvip is not None:
            nvip.release()  # nothing leaked in Neutron
        raise
    raise AssertionError("unreachable")


@router.put(ONE, response_model=LoadBalancerRootResponse,
            responses=fault_responses(400, 401, 403, 404, 409, 501))
def update_loadbalancer(request: Request, loadbalancer_id: str,
                        body: LoadBalancerRootPUT) -> JSONResponse:
    st, ctx = env(request)
    changes = body.loadbalancer.model_dump(exclude_unset=True)

    def fn(session: Session) -> dict[str, Any]:
        lb = lock_lb(session, loadbalancer_id, ctx)
        change_lb(session, lb)
        provider = create.provider_of(lb)
        vip.refuse_sg_ids(provider, changes.get("vip_sg_ids"))
        validate.vip_qos_policy(provider, changes.get("vip_qos_policy_id"))
        for attr, value in changes.items():
            if attr == "admin_state_up":
                if value is not None:
                    lb.enabled = value
            elif attr == "tags":
                lb.tags = value or []
            elif attr != "vip_sg_ids":  # null or [] (anything else was refused above)
                setattr(lb, attr, value)
        session.flush()
        return wire_one(session, LOADBALANCER, lb)

    return respond(200, {"loadbalancer": st.write(fn)})


@router.delete(ONE, status_code=204, responses=fault_responses(400, 401, 403, 404, 409))
def delete_loadbalancer(request: Request, loadbalancer_id: str,
                        cascade: str = "false") -> Response:
    st, ctx = env(request)
    cascading = parse_bool(cascade)
    st.write(lambda session: write_delete(session, loadbalancer_id, ctx, cascading=cascading))
    return no_content()


def write_delete(session: Session, loadbalancer_id: str, ctx: Context, *,
                 cascading: bool) -> m.LoadBalancer:
    """The write of a load balancer's delete (with `cascading`, of everything below it), in
    the caller's transaction; the Octavia provider driver shares it."""
    lb = lock_lb(session, loadbalancer_id, ctx)
    if not cascading:
        for res in (LISTENER, POOL):
            if session.scalar(sa.select(res.model.id)
                              .where(res.model.load_balancer_id == lb.id).limit(1)):
                if not may_change(lb.provisioning_status, deleting=True):
                    raise LBPendingState(state=lb.provisioning_status, id=lb.id)
                raise HasChildren(id=lb.id)
    change_lb(session, lb, deleting=True)
    for res in CHILDREN_DEEPEST_FIRST:
        session.execute(sa.update(res.model)
                        .where(res.model.load_balancer_id == lb.id)
                        .values(provisioning_status=Prov.PENDING_DELETE)
                        .execution_options(synchronize_session=False))
    return lb


@router.get(ONE + "/stats", response_model=StatsRootResponse,
            responses=fault_responses(401, 403, 404))
def loadbalancer_stats(request: Request, loadbalancer_id: str) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, int]:
        find(session, LOADBALANCER, loadbalancer_id, ctx)
        return statuses.sum_stats(session, m.ListenerStats.load_balancer_id == loadbalancer_id)

    return respond(200, {"stats": st.read(fn)})


def _status(request: Request, loadbalancer_id: str) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, Any]:
        return statuses.tree(session, find(session, LOADBALANCER, loadbalancer_id, ctx))

    return respond(200, {"statuses": st.read(fn)})


@router.get(ONE + "/status", response_model=StatusesRootResponse,
            responses=fault_responses(401, 403, 404))
def loadbalancer_status(request: Request, loadbalancer_id: str) -> JSONResponse:
    return _status(request, loadbalancer_id)


@router.get(ONE + "/statuses", response_model=StatusesRootResponse,
            responses=fault_responses(401, 403, 404), include_in_schema=False)
def loadbalancer_statuses(request: Request, loadbalancer_id: str) -> JSONResponse:
    return _status(request, loadbalancer_id)


@router.put(ONE + "/failover", status_code=202, response_class=Response,
            responses=fault_responses(401, 403, 404, 409))
def failover_loadbalancer(request: Request, loadbalancer_id: str) -> Response:
    """Failover means "read every device afresh and push it again": PENDING_UPDATE, a new
    desired generation, and a full read requested of the owner."""
    st, ctx = env(request)
    ctx.require_admin()
    st.write(lambda session: write_failover(session, loadbalancer_id, ctx))
    return no_content(202)


def write_failover(session: Session, loadbalancer_id: str, ctx: Context) -> m.LoadBalancer:
    """The write of a failover, in the caller's transaction (shared with the provider driver)."""
    lb = lock_lb(session, loadbalancer_id, ctx)
    if not may_fail_over(lb.provisioning_status):
        raise LBPendingState(state=lb.provisioning_status, id=lb.id)
    lb.provisioning_status = Prov.PENDING_UPDATE
    request_full_read(session, lb.partition_id)
    return lb
