"""A minimal Neutron registry: networks and subnets under /v2 and /v2.0.

Who may write follows Neutron's default policy: a project member creates and deletes networks of
its own project (`shared`, `router:external` and the `provider:*` and `segments` attributes are
admin-only), and subnets on its own networks (not on another project's, shared or not); an admin
does anything.

Enough for `openstack network create`, `openstack subnet create` and the CLI's subnet lookups
(`GET /v2/subnets?id=X`), and for VIP allocation from the subnet's pools.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import ports, segments
from bigip_lbaas.api.auth import Context
from bigip_lbaas.api.errors import InUse, NotAuthorized, NotFound, ValidationFailure
from bigip_lbaas.api.handlers import env, no_content, respond
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.network import (
    NetworkRootPOST,
    NetworkRootResponse,
    NetworksRootResponse,
    SubnetRootPOST,
    SubnetRootResponse,
    SubnetsRootResponse,
)
from bigip_lbaas.core.errors import DuplicateRow
from bigip_lbaas.db import models as m
from bigip_lbaas.db.addresses import default_pools
from bigip_lbaas.db.session import savepoint

router = APIRouter(tags=["networks"])
FILTERS = {"id", "name", "project_id", "tenant_id", "network_id", "cidr", "shared",
           "ip_version", "description"}


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def network_wire(row: m.Network, subnets: list[str]) -> dict[str, Any]:
    return {"id": row.id, "name": row.name or "", "description": row.description or "",
            "tenant_id": row.project_id, "project_id": row.project_id,
            "admin_state_up": row.admin_state_up, "status": "ACTIVE", "subnets": subnets,
            "shared": row.shared, "router:external": row.external, "mtu": row.mtu,
            "availability_zone_hints": [], "availability_zones": [],
            "port_security_enabled": True, "is_default": False, "revision_number": 0,
            "ipv4_address_scope": None, "ipv6_address_scope": None, "tags": [],
            "created_at": _ts(row.created_at), "updated_at": _ts(row.updated_at)}


def subnet_wire(row: m.Subnet) -> dict[str, Any]:
    return {"id": row.id, "name": row.name or "", "description": row.description or "",
            "network_id": row.network_id, "tenant_id": row.project_id,
            "project_id": row.project_id, "cidr": row.cidr, "ip_version": row.ip_version,
            "gateway_ip": row.gateway_ip, "allocation_pools": row.allocation_pools,
            "enable_dhcp": row.enable_dhcp, "dns_nameservers": row.dns_nameservers,
            "host_routes": row.host_routes, "ipv6_ra_mode": None, "ipv6_address_mode": None,
            "subnetpool_id": None, "segment_id": None, "service_types": [], "tags": [],
            "revision_number": 0, "created_at": _ts(row.created_at),
            "updated_at": _ts(row.updated_at)}


def _provider_wire(row: m.Network, ctx: Context) -> dict[str, Any]:
    return segments.wire(row.network_type, row.physical_network, row.segmentation_id,
                         ctx.is_admin)


def _provider_filtered(stmt: sa.Select[Any], request: Request, ctx: Context) -> sa.Select[Any]:
    """Neutron's `provider:*` filters, for admins (who alone see the attributes)."""
    if not ctx.is_admin:
        return stmt
    columns = {segments.NETWORK_TYPE: m.Network.network_type,
               segments.PHYSICAL_NETWORK: m.Network.physical_network}
    for name, column in columns.items():
        if name in request.query_params:
            stmt = stmt.where(column.in_(request.query_params.getlist(name)))
    if segments.SEGMENTATION_ID in request.query_params:
        wanted = [int(v) for v in request.query_params.getlist(segments.SEGMENTATION_ID)
                  if v.isdigit()]
        stmt = stmt.where(m.Network.segmentation_id.in_(wanted))
    return stmt


def _new_segment(session: Session, row: m.Network, segment: segments.Segment | None) -> None:
    """Store the network's provider segment; one a network already has is Neutron's 409 (the
    unique segment_key also stops two concurrent creates: the loser's flush fails)."""
    if segment is None:
        return
    taken = session.scalars(sa.select(m.Network.id)
                            .where(m.Network.segment_key == segment.key)).first()
    if taken is not None:
        raise segment.in_use()
    row.network_type = segment.network_type
    row.physical_network = segment.physical_network
    row.segmentation_id = segment.segmentation_id
    row.segment_key = segment.key
    try:
        with savepoint(session):
            session.add(row)
            session.flush()
    except DuplicateRow as err:
        raise segment.in_use() from err


def _visible(model: Any, ctx: Context) -> sa.ColumnElement[bool]:
    if ctx.is_admin:
        return sa.true()
    if model is m.Network:
        return sa.or_(m.Network.project_id == ctx.project_id, m.Network.shared.is_(True))
    shared = sa.select(m.Network.id).where(m.Network.shared.is_(True))
    return sa.or_(m.Subnet.project_id == ctx.project_id, m.Subnet.network_id.in_(shared))


def _filtered(model: Any, request: Request) -> sa.Select[Any]:
    stmt = sa.select(model)
    for name, value in request.query_params.multi_items():
        if name not in FILTERS:
            continue  # Neutron ignores what it does not filter on (fields, limit, ...)
        col = "project_id" if name == "tenant_id" else name
        if col not in model.__table__.c:
            continue
        column = getattr(model, col)
        py = model.__table__.c[col].type.python_type
        if py is bool:
            stmt = stmt.where(column.is_(value.lower() == "true"))
        elif py is int:
            stmt = stmt.where(column == (int(value) if value.isdigit() else -1))
        else:
            values = request.query_params.getlist(name)
            stmt = stmt.where(column.in_(values))
    return stmt.order_by(model.created_at, model.id)


def _subnet_ids(session: Session, network_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    rows = session.execute(sa.select(m.Subnet.network_id, m.Subnet.id)
                           .where(m.Subnet.network_id.in_(network_ids))
                           .order_by(m.Subnet.created_at, m.Subnet.id)).all()
    for net, sub in rows:
        out.setdefault(net, []).append(sub)
    return out


@router.get("/networks", response_model=NetworksRootResponse, responses=fault_responses(401))
def list_networks(request: Request) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> list[dict[str, Any]]:
        rows = session.scalars(_provider_filtered(_filtered(m.Network, request), request, ctx)
                               .where(_visible(m.Network, ctx))).all()
        subs = _subnet_ids(session, [r.id for r in rows])
        return [{**network_wire(r, subs.get(r.id, [])), **_provider_wire(r, ctx)}
                for r in rows]

    return respond(200, {"networks": st.read(fn), "networks_links": []})


def _require_owner(ctx: Context, project_id: str | None) -> None:
    """Neutron's owner rule: an admin, or a member of the object's project (a shared network
    is visible to every project but changed only by its own)."""
    if not ctx.is_admin and project_id != ctx.project_id:
        raise NotAuthorized()


def _network(session: Session, network_id: str, ctx: Context) -> m.Network:
    row = session.scalars(sa.select(m.Network).where(m.Network.id == network_id,
                                                      _visible(m.Network, ctx))).one_or_none()
    if row is None:
        raise NotFound(resource="Network", id=network_id)
    return row


def _subnet(session: Session, subnet_id: str, ctx: Context) -> m.Subnet:
    row = session.scalars(sa.select(m.Subnet).where(m.Subnet.id == subnet_id,
                                                     _visible(m.Subnet, ctx))).one_or_none()
    if row is None:
        raise NotFound(resource="Subnet", id=subnet_id)
    return row


@router.get("/networks/{network_id}", response_model=NetworkRootResponse,
            responses=fault_responses(401, 404))
def show_network(request: Request, network_id: str) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, Any]:
        row = _network(session, network_id, ctx)
        return {**network_wire(row, _subnet_ids(session, [row.id]).get(row.id, [])),
                **_provider_wire(row, ctx)}

    return respond(200, {"network": st.read(fn)})


@router.post("/networks", status_code=201, response_model=NetworkRootResponse,
             responses=fault_responses(400, 401, 403))
def create_network(request: Request, body: NetworkRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.network
    segments.require_admin(ctx.is_admin, spec.model_extra or {}, spec.shared, spec.external)
    segment = segments.parse(spec.model_extra or {}) if ctx.is_admin else None
    if not ctx.is_admin and (spec.shared or spec.external or any(
            key.startswith("provider:") or key == "segments" for key in spec.model_extra or {})):
        raise NotAuthorized()
    project = ctx.project_for_create(spec.project_id or spec.tenant_id)

    def fn(session: Session) -> dict[str, Any]:
        row = m.Network(id=str(uuid.uuid4()), project_id=project, name=spec.name,
                        description=spec.description, admin_state_up=spec.admin_state_up,
                        shared=spec.shared, external=spec.external, mtu=spec.mtu)
        _new_segment(session, row, segment)
        session.add(row)
        session.flush()
        return {**network_wire(row, []), **_provider_wire(row, ctx)}

    return respond(201, {"network": st.write(fn)})


def _vip_users(session: Session, subnet_ids: list[str]) -> list[str]:
    """Load balancers with a VIP (primary or additional) on one of these subnets."""
    return list(session.scalars(
        sa.select(m.LoadBalancer.id).where(m.LoadBalancer.vip_subnet_id.in_(subnet_ids))
        .union_all(sa.select(m.AdditionalVip.load_balancer_id)
                   .where(m.AdditionalVip.subnet_id.in_(subnet_ids)))))


@router.delete("/networks/{network_id}", status_code=204,
               responses=fault_responses(401, 403, 404, 409))
def delete_network(request: Request, network_id: str) -> Response:
    st, ctx = env(request)

    def fn(session: Session) -> None:
        row = _network(session, network_id, ctx)
        _require_owner(ctx, row.project_id)
        subnets = list(session.scalars(sa.select(m.Subnet.id)
                                       .where(m.Subnet.network_id == row.id)))
        users = _vip_users(session, subnets)
        if users:
            raise InUse(resource="Network", id=row.id,
                        detail=f"load balancer {users[0]} has its VIP on it")
        ports.refuse_network_in_use(session, row.id)
        session.execute(sa.delete(m.Subnet).where(m.Subnet.network_id == row.id))
        session.delete(row)

    st.write(fn)
    return no_content()


@router.get("/subnets", response_model=SubnetsRootResponse, responses=fault_responses(401))
def list_subnets(request: Request) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> list[dict[str, Any]]:
        rows = session.scalars(_filtered(m.Subnet, request).where(_visible(m.Subnet, ctx)))
        return [subnet_wire(r) for r in rows]

    return respond(200, {"subnets": st.read(fn), "subnets_links": []})


@router.get("/subnets/{subnet_id}", response_model=SubnetRootResponse,
            responses=fault_responses(401, 404))
def show_subnet(request: Request, subnet_id: str) -> JSONResponse:
    st, ctx = env(request)
    return respond(200, {"subnet": st.read(lambda s: subnet_wire(_subnet(s, subnet_id, ctx)))})


def _gateway(net: ipaddress.IPv4Network | ipaddress.IPv6Network, wanted: str | None) -> str | None:
    if wanted == "auto":
        return str(net[1]) if net.num_addresses > 2 else None
    if wanted is None:
        return None
    try:
        return str(ipaddress.ip_address(wanted))
    except ValueError as err:
        raise ValidationFailure(detail=f"Invalid gateway_ip {wanted}") from err


@router.post("/subnets", status_code=201, response_model=SubnetRootResponse,
             responses=fault_responses(400, 401, 403, 404))
def create_subnet(request: Request, body: SubnetRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.subnet
    try:
        net = ipaddress.ip_network(spec.cidr, strict=False)
    except ValueError as err:
        raise ValidationFailure(detail=f"Invalid cidr {spec.cidr}") from err
    gateway = _gateway(net, spec.gateway_ip)
    pools = ([p.model_dump() for p in spec.allocation_pools] if spec.allocation_pools
             else default_pools(str(net), gateway))
    for pool in pools:
        try:
            ok = all(ipaddress.ip_address(pool[k]) in net for k in ("start", "end"))
        except ValueError:
            ok = False
        if not ok:
            raise ValidationFailure(detail=f"Allocation pool {pool} is not within {net}")

    def fn(session: Session) -> dict[str, Any]:
        network = _network(session, spec.network_id, ctx)
        _require_owner(ctx, network.project_id)
        project = (spec.project_id or spec.tenant_id or network.project_id if ctx.is_admin
                   else ctx.project_for_create(spec.project_id or spec.tenant_id))
        row = m.Subnet(id=str(uuid.uuid4()), network_id=network.id, project_id=project,
                       name=spec.name, description=spec.description, cidr=str(net),
                       ip_version=net.version, gateway_ip=gateway, allocation_pools=pools,
                       enable_dhcp=spec.enable_dhcp, dns_nameservers=spec.dns_nameservers or [],
                       host_routes=[])
        session.add(row)
        session.flush()
        return subnet_wire(row)

    return respond(201, {"subnet": st.write(fn)})


@router.delete("/subnets/{subnet_id}", status_code=204,
               responses=fault_responses(401, 403, 404, 409))
def delete_subnet(request: Request, subnet_id: str) -> Response:
    st, ctx = env(request)

    def fn(session: Session) -> None:
        row = _subnet(session, subnet_id, ctx)
        if not ctx.visible(row.project_id):
            network = session.get(m.Network, row.network_id)
            _require_owner(ctx, network.project_id if network is not None else None)
        users = _vip_users(session, [row.id])
        if users:
            raise InUse(resource="Subnet", id=row.id,
                        detail=f"load balancer {users[0]} has its VIP on it")
        ports.refuse_subnet_in_use(session, row.id)
        session.delete(row)

    st.write(fn)
    return no_content()
