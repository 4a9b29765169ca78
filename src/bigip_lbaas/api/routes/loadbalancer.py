"""Load balancers: CRUD, the fully populated create, cascade delete, status tree, stats, failover."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import create, quotas, validate, vip
from bigip_lbaas.api.errors import (
    HasChildren,
    LBPendingState,
    NotFound,
    ProviderFlavorMismatch,
    ProviderUnsupportedOption,
    UnknownProvider,
    ValidationFailure,
    VipInUse,
)
from bigip_lbaas.api.lock import change_lb, find, lock_lb
from bigip_lbaas.api.pagination import parse_bool
from bigip_lbaas.api.providers import Provider
from bigip_lbaas.api.resources import (
    CHILDREN_DEEPEST_FIRST,
    HEALTHMONITOR,
    L7POLICY,
    L7RULE,
    LISTENER,
    LOADBALANCER,
    MEMBER,
    POOL,
    Resource,
    created_order,
    wire_known,
    wire_one,
)
from bigip_lbaas.api.routes.common import env, list_resource, no_content, respond, show_resource
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.loadbalancer import (
    LoadBalancerPOST,
    LoadBalancerRootPOST,
    LoadBalancerRootPUT,
    LoadBalancerRootResponse,
    LoadBalancersRootResponse,
    StatsRootResponse,
    StatusesRootResponse,
)
from bigip_lbaas.api.state import AppState
from bigip_lbaas.core.errors import DuplicateRow
from bigip_lbaas.core.status import Prov
from bigip_lbaas.db import models as m
from bigip_lbaas.db.partitions import ensure_partition, mark_changed

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


def resolve_provider(session: Session, st: AppState, spec: LoadBalancerPOST) -> Provider:
    """The provider (and so the environment) from `provider`, the flavor, or the default."""
    flavor_env: str | None = None
    flavor_provider: str | None = None
    if spec.flavor_id:
        flavor = session.get(m.Flavor, spec.flavor_id)
        if flavor is None:
            raise ValidationFailure(detail=f"Flavor {spec.flavor_id} not found.")
        if not flavor.enabled:
            raise ValidationFailure(detail=f"Flavor {spec.flavor_id} is disabled.")
        profile = session.get(m.FlavorProfile, flavor.flavor_profile_id)
        if profile is not None:
            flavor_provider = profile.provider_name
            try:
                data = json.loads(profile.flavor_data or "{}")
            except ValueError:
                data = {}
            if isinstance(data, dict) and data.get("environment"):
                flavor_env = str(data["environment"])
    name = spec.provider or flavor_provider
    if spec.provider and flavor_provider and spec.provider != flavor_provider:
        raise ProviderFlavorMismatch(flavor=spec.flavor_id, provider=spec.provider)
    provider = st.providers.get(name)
    if provider is None:
        raise UnknownProvider(name=name, known=", ".join(st.providers.names()))
    if flavor_env:
        provider = Provider(provider.name, provider.description, flavor_env)
    return provider


def resolve_vip(session: Session, spec: LoadBalancerPOST) -> dict[str, Any]:
    subnet: m.Subnet | None = None
    if spec.vip_subnet_id:
        # The subnet row lock queues concurrent allocations on one subnet, so each sees the
        # addresses the previous one committed (the unique constraint stays the real guard).
        subnet = session.get(m.Subnet, spec.vip_subnet_id, with_for_update=True)
        if subnet is None:
            raise ValidationFailure(detail=f"Subnet {spec.vip_subnet_id} not found.")
        if spec.vip_network_id and subnet.network_id != spec.vip_network_id:
            raise ValidationFailure(detail=f"Subnet {subnet.id} is not on network "
                                           f"{spec.vip_network_id}.")
    elif spec.vip_network_id:
        if session.get(m.Network, spec.vip_network_id) is None:
            raise ValidationFailure(detail=f"Network {spec.vip_network_id} not found.")
        subnet = session.scalars(sa.select(m.Subnet)
                                 .where(m.Subnet.network_id == spec.vip_network_id)
                                 .order_by(m.Subnet.created_at, m.Subnet.id)
                                 .limit(1).with_for_update()).first()
        if subnet is None:
            raise ValidationFailure(detail=f"Network {spec.vip_network_id} has no subnets.")
    else:
        return {"vip_port_id": spec.vip_port_id, "vip_address": spec.vip_address}
    return {"vip_subnet_id": subnet.id, "vip_network_id": subnet.network_id,
            "vip_port_id": spec.vip_port_id,
            "vip_address": vip.allocate(session, subnet, spec.vip_address)}


def more_vips(session: Session, spec: LoadBalancerPOST,
              vip_cols: dict[str, Any]) -> dict[str, Any]:
    """`additional_vips` validated and allocated (see vip.additional)."""
    extra = [a.model_dump() for a in spec.additional_vips or []]
    return {"additional_vips": vip.additional(session, extra, vip_cols.get("vip_subnet_id"),
                                              vip_cols.get("vip_network_id"),
                                              vip_cols.get("vip_port_id"))}


def refuse_vip_sg_ids(provider: str, vip_sg_ids: list[str] | None) -> None:
    """VIP security groups cannot be enforced: there is no port-level firewall on the devices
    (nor in front of them) that this provider configures. Octavia answers a provider's
    UnsupportedOptionError with 501; an empty list or null asks for nothing."""
    if vip_sg_ids:
        raise ProviderUnsupportedOption(
            prov=provider,
            detail="VIP security groups (vip_sg_ids) cannot be enforced on the BIG-IP devices "
                   "this provider configures: they have no port-level firewall.")


def _named_pools(spec: LoadBalancerPOST) -> None:
    names = [p.name for p in spec.pools]
    referenced = any(lst.default_pool for lst in spec.listeners) or any(
        pol.redirect_pool for lst in spec.listeners for pol in (lst.l7policies or []))
    if spec.pools and (not all(names) or len(set(names)) != len(names)) and referenced:
        raise ValidationFailure(detail="Pools must be named when creating a fully "
                                       "populated loadbalancer.")


def _graph_counts(spec: LoadBalancerPOST) -> dict[Resource, int]:
    pools = list(spec.pools)
    pools += [lst.default_pool for lst in spec.listeners  # type: ignore[misc]
              if lst.default_pool and "protocol" in lst.default_pool]
    members = sum(len(p.members or []) for p in spec.pools)
    hms = sum(1 for p in spec.pools if p.healthmonitor)
    policies = [pol for lst in spec.listeners for pol in (lst.l7policies or [])]
    return {LOADBALANCER: 1, LISTENER: len(spec.listeners), POOL: len(pools), MEMBER: members,
            HEALTHMONITOR: hms, L7POLICY: len(policies),
            L7RULE: sum(len(p.rules or []) for p in policies)}


def create_graph(session: Session, lb: m.LoadBalancer, spec: LoadBalancerPOST) -> list[Any]:
    """The single-call create: pools (with members and monitor), then listeners and policies.
    Returns every row it added. The load balancer is new, so what it already holds is known
    without asking the database."""
    by_name: dict[str, m.Pool] = {}
    added: list[Any] = []
    listeners: list[m.Listener] = []

    def add_pool(pool_spec: dict[str, Any]) -> m.Pool:
        body = {k: v for k, v in pool_spec.items() if k not in ("members", "healthmonitor")}
        pool = create.insert_pool(session, lb, body)
        session.flush()
        added.append(pool)
        has_hm = bool(pool_spec.get("healthmonitor"))
        if has_hm:
            added.append(create.insert_healthmonitor(session, pool, pool_spec["healthmonitor"],
                                                     new_pool=True))
        for member in pool_spec.get("members") or []:
            added.append(create.insert_member(session, pool, member, has_hm=has_hm))
        if pool.name:
            by_name[pool.name] = pool
        return pool

    for pool_spec in spec.pools:
        add_pool(pool_spec.model_dump())

    def pool_ref(ref: dict[str, Any] | None) -> m.Pool | None:
        if not ref:
            return None
        name = ref.get("name")
        if isinstance(name, str) and name in by_name:
            return by_name[name]
        if "protocol" in ref and "lb_algorithm" in ref:
            from bigip_lbaas.api.schemas.pool import PoolSingleCreate
            return add_pool(PoolSingleCreate.model_validate(ref).model_dump())
        raise ValidationFailure(detail=f"Pool {name!r} is not among the load balancer's pools.")

    for lst_spec in spec.listeners:
        body = lst_spec.model_dump(exclude={"default_pool", "l7policies"})
        pool = pool_ref(lst_spec.default_pool)
        if pool is not None:
            create.check_pool_protocol(lst_spec.protocol, pool.protocol)
            body["default_pool_id"] = pool.id
        listener = create.insert_listener(session, lb, body, siblings=listeners)
        listeners.append(listener)
        added.append(listener)
        session.flush()
        for pol_spec in lst_spec.l7policies or []:
            pol_body = pol_spec.model_dump(exclude={"redirect_pool"})
            redirect = pool_ref(pol_spec.redirect_pool)
            if redirect is not None:
                pol_body["redirect_pool_id"] = redirect.id
            policy = create.insert_l7policy(session, listener, pol_body)
            added.append(policy)
            session.flush()
            for rule in pol_spec.rules or []:
                added.append(create.insert_l7rule(session, policy, rule.model_dump()))
    return added


def full_graph(lb: m.LoadBalancer, added: list[Any]) -> dict[str, Any]:
    """LoadBalancerFullResponse: listeners and pools as full objects, nested all the way down.
    Rendered from the rows the create added (all of the new load balancer's children, and all
    that refers to them), in the order the database would list them."""
    known = [lb, *added]

    def children(res: Resource, column: str, value: str) -> list[dict[str, Any]]:
        rows = sorted((r for r in added if type(r) is res.model and getattr(r, column) == value),
                      key=created_order)
        return wire_known(res, rows, known)

    body = wire_known(LOADBALANCER, [lb], known)[0]
    listeners = children(LISTENER, "load_balancer_id", lb.id)
    for lst in listeners:
        lst["l7policies"] = children(L7POLICY, "listener_id", lst["id"])
        for pol in lst["l7policies"]:
            pol["rules"] = children(L7RULE, "l7policy_id", pol["id"])
    pools = children(POOL, "load_balancer_id", lb.id)
    for pool in pools:
        pool["members"] = children(MEMBER, "pool_id", pool["id"])
        hms = children(HEALTHMONITOR, "pool_id", pool["id"])
        pool["healthmonitor"] = hms[0] if hms else None
    body["listeners"], body["pools"] = listeners, pools
    return body


@router.post("/loadbalancers", status_code=201, response_model=LoadBalancerRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409, 501))
def create_loadbalancer(request: Request, body: LoadBalancerRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.loadbalancer
    project = ctx.project_for_create(spec.project_id or spec.tenant_id)
    if not (spec.vip_port_id or spec.vip_network_id or spec.vip_subnet_id):
        raise ValidationFailure(detail="VIP must contain one of: vip_port_id, vip_network_id, "
                                       "vip_subnet_id.")
    _named_pools(spec)

    def fn(session: Session) -> dict[str, Any]:
        provider = resolve_provider(session, st, spec)
        validate.availability_zone(spec.availability_zone)
        quotas.check(session, st.conf, project, _graph_counts(spec))
        vip_cols = resolve_vip(session, spec)
        vip_cols.update(more_vips(session, spec, vip_cols))
        # Last, as Octavia calls the driver (the graph's children are checked as they are added).
        refuse_vip_sg_ids(provider.name, spec.vip_sg_ids)
        validate.vip_qos_policy(provider.name, spec.vip_qos_policy_id)
        partition = ensure_partition(session, provider.environment, project)
        lb = m.LoadBalancer(
            id=create.new_id(), project_id=project, name=spec.name,
            description=spec.description, enabled=spec.admin_state_up,
            provisioning_status=Prov.PENDING_CREATE, operating_status="OFFLINE",
            tags=spec.tags or [], partition_id=partition, provider=provider.name,
            vip_qos_policy_id=spec.vip_qos_policy_id, flavor_id=spec.flavor_id,
            availability_zone=spec.availability_zone, **vip_cols)
        session.add(lb)
        session.flush()
        vip.book_additional(session, lb)
        added = create_graph(session, lb, spec)
        mark_changed(session, partition)
        session.flush()
        return full_graph(lb, added)

    for attempt in range(6):
        try:
            return respond(201, {"loadbalancer": st.write(fn)})
        except DuplicateRow as err:
            # Another request took the same VIP address first.
            if spec.vip_address or attempt == 5:
                raise VipInUse(address=spec.vip_address or "?",
                               subnet=spec.vip_subnet_id or spec.vip_network_id) from err
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
        refuse_vip_sg_ids(provider, changes.get("vip_sg_ids"))
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

    def fn(session: Session) -> None:
        lb = lock_lb(session, loadbalancer_id, ctx)
        if not cascading:
            for res in (LISTENER, POOL):
                if session.scalar(sa.select(res.model.id)
                                  .where(res.model.load_balancer_id == lb.id).limit(1)):
                    if lb.provisioning_status not in (Prov.ACTIVE, Prov.ERROR):
                        raise LBPendingState(state=lb.provisioning_status, id=lb.id)
                    raise HasChildren(id=lb.id)
        change_lb(session, lb, deleting=True)
        for res in CHILDREN_DEEPEST_FIRST:
            session.execute(sa.update(res.model)
                            .where(res.model.load_balancer_id == lb.id)
                            .values(provisioning_status=Prov.PENDING_DELETE)
                            .execution_options(synchronize_session=False))

    st.write(fn)
    return no_content()


@router.get(ONE + "/stats", response_model=StatsRootResponse,
            responses=fault_responses(401, 403, 404))
def loadbalancer_stats(request: Request, loadbalancer_id: str) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, int]:
        find(session, LOADBALANCER, loadbalancer_id, ctx)
        return sum_stats(session, m.ListenerStats.load_balancer_id == loadbalancer_id)

    return respond(200, {"stats": st.read(fn)})


STAT_COLUMNS = ("bytes_in", "bytes_out", "active_connections", "total_connections",
                "request_errors")


def sum_stats(session: Session, where: sa.ColumnElement[bool]) -> dict[str, int]:
    row = session.execute(sa.select(*[sa.func.coalesce(sa.func.sum(
        getattr(m.ListenerStats, c)), 0) for c in STAT_COLUMNS]).where(where)).one()
    return {c: int(v) for c, v in zip(STAT_COLUMNS, row, strict=True)}


def status_tree(session: Session, lb: m.LoadBalancer) -> dict[str, Any]:
    """Octavia's LoadBalancerStatusResponse (the code's shape: key `health_monitor`)."""
    def st(row: Any) -> dict[str, Any]:
        return {"id": row.id, "name": row.name or "",
                "provisioning_status": row.provisioning_status,
                "operating_status": row.operating_status}

    def rows(model: Any, **where: Any) -> list[Any]:
        stmt = sa.select(model)
        for col, value in where.items():
            stmt = stmt.where(getattr(model, col) == value)
        return list(session.scalars(stmt.order_by(model.created_at, model.id)))

    pools = {p.id: p for p in rows(m.Pool, load_balancer_id=lb.id)}
    hms = {h.pool_id: h for h in rows(m.HealthMonitor, load_balancer_id=lb.id)}
    members: dict[str, list[Any]] = {}
    for mem in rows(m.Member, load_balancer_id=lb.id):
        members.setdefault(mem.pool_id, []).append(mem)

    def pool_tree(pool: m.Pool) -> dict[str, Any]:
        out = st(pool)
        if pool.id in hms:
            hm = hms[pool.id]
            out["health_monitor"] = {**st(hm), "type": hm.type}
        out["members"] = [{**st(x), "address": x.address, "protocol_port": x.protocol_port}
                          for x in members.get(pool.id, [])]
        return out

    listeners = []
    used: set[str] = set()
    policies = rows(m.L7Policy, load_balancer_id=lb.id)
    for lst in rows(m.Listener, load_balancer_id=lb.id):
        pool_ids = [lst.default_pool_id] if lst.default_pool_id else []
        pool_ids += [p.redirect_pool_id for p in policies
                     if p.listener_id == lst.id and p.redirect_pool_id]
        lst_pools = [pool_tree(pools[i]) for i in dict.fromkeys(pool_ids) if i in pools]
        used.update(p["id"] for p in lst_pools)
        listeners.append({**st(lst), "pools": lst_pools})
    return {"loadbalancer": {**st(lb), "listeners": listeners,
                             "pools": [pool_tree(p) for i, p in pools.items() if i not in used]}}


def _status(request: Request, loadbalancer_id: str) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, Any]:
        return status_tree(session, find(session, LOADBALANCER, loadbalancer_id, ctx))

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
    """Failover means "push it again": PENDING_UPDATE and a new desired generation."""
    st, ctx = env(request)

    def fn(session: Session) -> None:
        ctx.require_admin()
        lb = lock_lb(session, loadbalancer_id, ctx)
        if lb.provisioning_status not in (Prov.ACTIVE, Prov.ERROR):
            raise LBPendingState(state=lb.provisioning_status, id=lb.id)
        lb.provisioning_status = Prov.PENDING_UPDATE
        mark_changed(session, lb.partition_id)

    st.write(fn)
    return no_content(202)


__all__ = ["NotFound", "router", "status_tree", "sum_stats"]
