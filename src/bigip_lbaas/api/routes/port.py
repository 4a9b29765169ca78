"""Ports of the built-in Neutron registry under /v2 and /v2.0: create, show, list (Neutron's
filters, `fixed_ips=ip_address=...` and `fixed_ips=subnet_id=...` included), delete.

Addresses come from the pool VIPs use (api/ports.py `allocate`, api/vip.py): a port's address and
a load balancer's VIP address never collide. A load balancer's VIP port (device owner
network:f5lbaasv2) is created and deleted with the load balancer; the port API does not delete
it (409).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import ports, segments
from bigip_lbaas.api.handlers import env, no_content, respond
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.port import PortRootPOST, PortRootResponse, PortsRootResponse
from bigip_lbaas.core.errors import DuplicateRow
from bigip_lbaas.db import models as m
from bigip_lbaas.db.addresses import new_mac, scatter

router = APIRouter(tags=["ports"])
COLUMNS = {"id": m.Port.id, "name": m.Port.name, "network_id": m.Port.network_id,
           "device_owner": m.Port.device_owner, "device_id": m.Port.device_id,
           "project_id": m.Port.project_id, "tenant_id": m.Port.project_id,
           "mac_address": m.Port.mac_address, "description": m.Port.description}


def _filtered(request: Request, is_admin: bool) -> sa.Select[Any]:
    """Neutron's list filters; others (fields, limit, ...) are ignored, as Neutron does."""
    stmt = sa.select(m.Port)
    params = request.query_params
    for name, column in COLUMNS.items():
        if name in params:
            stmt = stmt.where(column.in_(params.getlist(name)))
    if "admin_state_up" in params:
        stmt = stmt.where(m.Port.admin_state_up.is_(params["admin_state_up"].lower() == "true"))
    if is_admin and "binding:host_id" in params:
        stmt = stmt.where(m.Port.binding_host_id.in_(params.getlist("binding:host_id")))
    for item in params.getlist("fixed_ips"):
        key, _, value = item.partition("=")
        if key not in ("ip_address", "subnet_id"):
            continue
        column = m.PortIp.ip_address if key == "ip_address" else m.PortIp.subnet_id
        stmt = stmt.where(m.Port.id.in_(sa.select(m.PortIp.port_id).where(column == value)))
    return stmt.order_by(m.Port.created_at, m.Port.id)


@router.get("/ports", response_model=PortsRootResponse, responses=fault_responses(401))
def list_ports(request: Request) -> JSONResponse:
    st, ctx = env(request)
    wanted_status = request.query_params.getlist("status")

    def fn(session: Session) -> list[dict[str, Any]]:
        rows = [r for r in session.scalars(_filtered(request, ctx.is_admin)
                                           .where(ports.visible(ctx)))
                if not wanted_status or ports.status(r) in wanted_status]
        ips = ports.fixed_ips_of(session, [r.id for r in rows])
        return [ports.wire(r, ips.get(r.id, []), ctx) for r in rows]

    return respond(200, {"ports": st.read(fn), "ports_links": []})


def _port(session: Session, port_id: str, ctx: Any, lock: bool = False) -> m.Port:
    stmt = sa.select(m.Port).where(m.Port.id == port_id, ports.visible(ctx))
    row = session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if row is None:
        raise ports.PortNotFound(port_id=port_id)
    return row


@router.get("/ports/{port_id}", response_model=PortRootResponse,
            responses=fault_responses(401, 404))
def show_port(request: Request, port_id: str) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, Any]:
        row = _port(session, port_id, ctx)
        return ports.wire(row, ports.fixed_ips_of(session, [row.id]).get(row.id, []), ctx)

    return respond(200, {"port": st.read(fn)})


@router.post("/ports", status_code=201, response_model=PortRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409))
def create_port(request: Request, body: PortRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.port
    project = ctx.project_for_create(spec.project_id or spec.tenant_id)
    raw = body.model_dump(by_alias=True)["port"]
    mac = spec.mac_address.lower() if spec.mac_address else None
    if mac is not None and not ports.MAC.match(mac):
        raise segments.InvalidInput(error_message=f"'{spec.mac_address}' is not a valid "
                                                        "MAC address")
    allocated_on: set[str] = set()  # the subnets this create took addresses from

    def fn(session: Session) -> dict[str, Any]:
        network = session.scalars(sa.select(m.Network).where(
            m.Network.id == spec.network_id,
            sa.or_(sa.true() if ctx.is_admin else m.Network.project_id == ctx.project_id,
                   m.Network.shared.is_(True)))).one_or_none()
        if network is None:
            raise ports.NetworkNotFound(net_id=spec.network_id)
        ports.check_policy(ctx, network, raw)
        requested = (None if spec.fixed_ips is None
                     else [ip.model_dump() for ip in spec.fixed_ips])
        addresses = ports.allocate(session, network, requested)
        allocated_on.update(subnet for subnet, _ in addresses)
        row = m.Port(id=str(uuid.uuid4()), project_id=project, network_id=network.id,
                     name=spec.name, description=spec.description,
                     device_owner=spec.device_owner, device_id=spec.device_id,
                     mac_address=mac or new_mac(), admin_state_up=spec.admin_state_up,
                     binding_host_id=spec.binding_host_id or "")
        session.add(row)
        session.flush()
        ips = [m.PortIp(port_id=row.id, subnet_id=s, ip_address=a) for s, a in addresses]
        session.add_all(ips)
        session.flush()
        return ports.wire(row, ips, ctx)

    for attempt in range(4):
        try:
            return respond(201, {"port": st.write(fn)})
        except DuplicateRow as err:
            # A VIP create in another API process took the same address (VIPs take no subnet
            # lock, api/vip.py) or, by chance, the same random MAC: a given one is in use, a
            # chosen one is redrawn.
            if mac is not None:
                raise ports.MacAddressInUse(net_id=spec.network_id, mac=mac) from err
            if attempt == 3:
                raise ports.IpAddressGenerationFailure(net_id=spec.network_id) from err
            scatter(allocated_on)
    raise AssertionError("unreachable")


@router.delete("/ports/{port_id}", status_code=204, responses=fault_responses(401, 403, 404, 409))
def delete_port(request: Request, port_id: str) -> Response:
    st, ctx = env(request)

    def fn(session: Session) -> None:
        row = _port(session, port_id, ctx, lock=True)
        network = session.get(m.Network, row.network_id)
        if not (ctx.is_admin or row.project_id == ctx.project_id
                or (network is not None and network.project_id == ctx.project_id)):
            raise segments.disallowed("delete_port", [])
        ports.refuse_service_port(row)
        session.delete(row)

    st.write(fn)
    return no_content()
