"""VIP addresses: taken from the subnet's allocation pools, never twice in one subnet.

No subnet lock is taken: the unique keys are the guard (db/addresses.py). Within one process
no two open transactions are handed the same address; two API processes racing for one free
address make one insert fail, and that create retries with the next address
(api/routes/loadbalancer.py).

Ports (api/ports.py) draw from the same addresses, and a VIP is a port: a load balancer's VIP
address (and its additional ones) are the fixed IPs of its VIP port (device_owner
network:f5lbaasv2, device_id the load balancer), whose key (subnet_id, ip_address) makes a
port's address and a VIP's collide in no database.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request

from bigip_lbaas import network
from bigip_lbaas.api.errors import (
    InvalidSubresource,
    NoFreeAddress,
    ProviderUnsupportedOption,
    ValidationFailure,
    VipInUse,
)
from bigip_lbaas.api.schemas.loadbalancer import LoadBalancerPOST
from bigip_lbaas.core.errors import ApiError
from bigip_lbaas.db import models as m
from bigip_lbaas.db.addresses import F5_DEVICE_OWNER, is_free, new_mac, next_free
from bigip_lbaas.network.source import NetworkSourceError, NotFound, SubnetFacts

if TYPE_CHECKING:
    from bigip_lbaas.network.neutron import NeutronSource

LOG = logging.getLogger(__name__)
_FRESH_PORTS = "bigip_lbaas.vip.fresh_ports"  # session.info: VIP port ids `resolve` made up



def allocate(session: Session, subnet: m.Subnet, wanted: str | None) -> str:
    """The requested address if it is in the subnet and free, else a free pool address (probed
    from a per-process hint, db/addresses.py next_free: one small query however many are held)."""
    if wanted:
        try:
            addr = ipaddress.ip_address(wanted)
        except ValueError as err:
            raise ValidationFailure(detail=f"{wanted} is not a valid IP address") from err
        if addr not in ipaddress.ip_network(subnet.cidr, strict=False):
            raise ValidationFailure(
                detail=f"VIP address {wanted} is not in subnet {subnet.id} ({subnet.cidr})")
        if not is_free(session, subnet.id, str(addr)):
            raise VipInUse(address=str(addr), subnet=subnet.id)
        return str(addr)
    found = next_free(session, subnet)
    if found is None:
        raise NoFreeAddress(subnet=subnet.id)
    return found


def additional(session: Session, wanted: list[dict[str, Any]], primary_subnet: str | None,
               primary_network: str | None,
               port_id: str | None) -> list[dict[str, str | None]]:
    """Octavia's `additional_vips`: one address in each further subnet of the VIP's network,
    allocated as the primary one is (or taken when given, if free). Returns them as the API
    shows them: `subnet_id`, `ip_address`, `port_id` (the VIP port unless one is given).

    Allocated as the primary one is, without a subnet lock (the module docstring)."""
    subnets = [primary_subnet] if primary_subnet else []
    for item in wanted:
        if item["subnet_id"] in subnets:
            raise ValidationFailure(detail="Duplicate VIP subnet(s) specified. Only one IP can "
                                           "be bound per subnet.")
        subnets.append(item["subnet_id"])
    rows: list[m.Subnet] = []
    for item in wanted:
        row = session.get(m.Subnet, item["subnet_id"])
        if row is None:
            raise ValidationFailure(detail=f"Subnet {item['subnet_id']} not found.")
        rows.append(row)
    networks = {r.network_id for r in rows} | ({primary_network} if primary_network else set())
    if len(networks) > 1:
        raise ValidationFailure(detail="All VIP subnets must belong to the same network.")
    return [{"subnet_id": row.id, "ip_address": allocate(session, row, item.get("ip_address")),
             "port_id": item.get("port_id") or port_id}
            for item, row in zip(wanted, rows, strict=True)]


def book_additional(session: Session, lb: m.LoadBalancer) -> None:
    """Book the new load balancer's additional VIP addresses (after its row is flushed)."""
    for item in lb.additional_vips or []:
        subnet_id, address = item["subnet_id"], item["ip_address"]
        assert subnet_id is not None and address is not None
        subnet = session.get(m.Subnet, subnet_id)
        session.add(m.AdditionalVip(load_balancer_id=lb.id, subnet_id=subnet_id,
                                    network_id=subnet.network_id if subnet else None,
                                    ip_address=address, port_id=item.get("port_id")))


def book_port(session: Session, lb: m.LoadBalancer) -> None:
    """The VIP of a load balancer created through this API as a port of the registry (the
    Octavia provider's load balancers have theirs in Neutron). A port the project named as `vip_port_id` is marked used by the load
    balancer (`used_by`, shown as its device_id until the load balancer goes; the port itself
    stays, as Octavia leaves a port it did not create); otherwise a new port, owned by F5's device owner, holding
    the VIP and additional VIP addresses, deleted with the load balancer's row."""
    if lb.vip_network_id is None or lb.vip_port_id is None:
        return
    # An id `resolve` just made up names no port: no lookup for it.
    given = (None if lb.vip_port_id in session.info.get(_FRESH_PORTS, ())
             else session.get(m.Port, lb.vip_port_id))
    if given is not None:
        if given.project_id != lb.project_id:
            raise ValidationFailure(detail=f"Port {given.id} does not belong to project "
                                           f"{lb.project_id}.")
        given.used_by = lb.id  # shown as its device_id (api/ports.py wire)
        return
    # Core INSERTs (statements built once), as for the load balancer's row: nothing in the
    # create reads these rows back, and a unit-of-work flush cost more CPU than the two
    # statements. The port first: its fixed IPs refer to it.
    session.execute(_PORT_INSERT, {
        "id": lb.vip_port_id, "project_id": lb.project_id, "network_id": lb.vip_network_id,
        "name": f"loadbalancer-{lb.id}", "description": "", "device_owner": F5_DEVICE_OWNER,
        "device_id": lb.id, "mac_address": new_mac(), "admin_state_up": True,
        "binding_host_id": "", "vip_of": lb.id, "used_by": None})
    addresses = [(lb.vip_subnet_id, lb.vip_address)] + [
        (a["subnet_id"], a["ip_address"]) for a in lb.additional_vips or []]
    fixed_ips = [{"port_id": lb.vip_port_id, "subnet_id": subnet_id, "ip_address": address}
                 for subnet_id, address in addresses if subnet_id and address]
    if fixed_ips:
        session.execute(_PORT_IP_INSERT, fixed_ips)


_PORT_INSERT = sa.insert(cast(sa.Table, m.Port.__table__))
_PORT_IP_INSERT = sa.insert(cast(sa.Table, m.PortIp.__table__))


def _given_port(session: Session, spec: LoadBalancerPOST) -> dict[str, Any]:
    """Octavia's `vip_port_id`: the VIP takes the port's network and address (the one on
    `vip_subnet_id`, or `vip_address`, when given; else its first). The port must exist and be
    used by no device (octavia/common/validate.py port_exists, check_port_in_use)."""
    port = session.get(m.Port, spec.vip_port_id, with_for_update=True)
    if port is None:
        raise InvalidSubresource(resource="Port", id=spec.vip_port_id)
    device = port.used_by or port.device_id
    if device:
        raise ValidationFailure(detail=f"Port {port.id} is already used by device {device} ")
    if spec.vip_network_id and spec.vip_network_id != port.network_id:
        raise ValidationFailure(detail=f"Port {port.id} is not on network "
                                       f"{spec.vip_network_id}.")
    ips = list(session.scalars(sa.select(m.PortIp).where(m.PortIp.port_id == port.id)
                               .order_by(m.PortIp.subnet_id, m.PortIp.ip_address)))
    if spec.vip_subnet_id:
        ips = [ip for ip in ips if ip.subnet_id == spec.vip_subnet_id]
    if spec.vip_address:
        try:
            wanted = str(ipaddress.ip_address(spec.vip_address))
        except ValueError as err:
            raise ValidationFailure(detail=f"{spec.vip_address} is not a valid IP "
                                           "address") from err
        ips = [ip for ip in ips if ip.ip_address == wanted]
    if not ips:
        where = " and ".join(x for x in (spec.vip_subnet_id and f"subnet {spec.vip_subnet_id}",
                                         spec.vip_address) if x)
        raise ValidationFailure(detail=f"Port {port.id} has no fixed IP"
                                       + (f" matching {where}." if where else "."))
    return {"vip_subnet_id": ips[0].subnet_id, "vip_network_id": port.network_id,
            "vip_port_id": port.id, "vip_address": ips[0].ip_address}


def resolve(session: Session, spec: LoadBalancerPOST) -> dict[str, Any]:
    """The VIP columns of a new load balancer: its subnet (from the subnet or the network's first),
    network, port and an address allocated there.

    With `vip_port_id` the VIP is that port's (`_given_port`); otherwise the load balancer gets
    a new port (its id chosen here, the port booked by `book_port`)."""
    if spec.vip_port_id:
        return _given_port(session, spec)
    port_id = str(uuid.uuid4())
    session.info.setdefault(_FRESH_PORTS, set()).add(port_id)
    subnet: m.Subnet | None = None
    if spec.vip_subnet_id:
        # No row lock: creates on one subnet must not queue behind each other's transactions
        # (the module docstring says what guards the address instead).
        subnet = session.get(m.Subnet, spec.vip_subnet_id)
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
                                 .limit(1)).first()
        if subnet is None:
            raise ValidationFailure(detail=f"Network {spec.vip_network_id} has no subnets.")
    else:
        return {"vip_port_id": port_id, "vip_address": spec.vip_address}
    return {"vip_subnet_id": subnet.id, "vip_network_id": subnet.network_id,
            "vip_port_id": port_id,
            "vip_address": allocate(session, subnet, spec.vip_address)}


def resolve_additional(session: Session, spec: LoadBalancerPOST,
              vip_cols: dict[str, Any]) -> dict[str, Any]:
    """`additional_vips` validated and allocated (see `additional`)."""
    extra = [a.model_dump() for a in spec.additional_vips or []]
    return {"additional_vips": additional(session, extra, vip_cols.get("vip_subnet_id"),
                                              vip_cols.get("vip_network_id"),
                                              vip_cols.get("vip_port_id"))}


def subnets_of(vip_cols: dict[str, Any]) -> set[str]:
    """The subnets of a new load balancer's VIP columns (`resolve`, `resolve_additional`)."""
    found = {vip_cols.get("vip_subnet_id")}
    found.update(item.get("subnet_id") for item in vip_cols.get("additional_vips") or [])
    return {subnet for subnet in found if subnet}


def refuse_sg_ids(provider: str, vip_sg_ids: list[str] | None) -> None:
    """VIP security groups cannot be enforced: there is no port-level firewall on the devices
    (nor in front of them) that this provider configures. Octavia answers a provider's
    UnsupportedOptionError with 501; an empty list or null asks for nothing."""
    if vip_sg_ids:
        raise ProviderUnsupportedOption(
            prov=provider,
            detail="VIP security groups (vip_sg_ids) cannot be enforced on the BIG-IP devices "
                   "this provider configures: they have no port-level firewall.")


# --- [networking] source = neutron ----------------------------------------------------------
# The VIP's subnet, network and port live in a real Neutron (network/neutron.py), not in the
# registry: they are looked up there and the VIP port is created there, before the create's
# transaction (no HTTP call holds a database lock); a create whose transaction then fails
# deletes the port it made. The port goes on delete once the devices no longer hold the VIP:
# the agent's release step calls `source.delete_port(vip_port_id)` when the load balancer's row
# is purged (a project's own `vip_port_id` is not ours and stays, network/neutron.py).


class NetworkUnavailable(ApiError):
    status = 503
    template = "The network service is unavailable; retry later. (%(reason)s)"


def neutron_source(request: Request) -> NeutronSource | None:
    """The app's Neutron source when `[networking] source = neutron` (made on first use and
    kept for the app's life); None with the built-in registry."""
    app_state = request.app.state
    if not network.is_neutron(app_state.api.conf):
        return None
    cached: NeutronSource | None = getattr(app_state, "neutron_source", None)
    if cached is None:
        try:
            cached = network.neutron_source(app_state.api.conf)
        except NetworkSourceError as err:
            raise NetworkUnavailable(reason=str(err)) from None
        app_state.neutron_source = cached
    return cached


def vip_port_name(lb_id: str) -> str:
    """Octavia's name for a load balancer's VIP port."""
    return f"octavia-lb-{lb_id}"


@dataclass
class NeutronVip:
    """A new load balancer's VIP in Neutron: its id (chosen before the port is made), the VIP
    columns, and the port this create made (None: the project's own `vip_port_id`)."""

    lb_id: str
    cols: dict[str, Any]
    source: NeutronSource
    created_port: str | None = None

    def release(self) -> None:
        """Delete the port this create made (the create failed after it)."""
        if self.created_port is not None:
            try:
                self.source.delete_port(self.created_port)
            except NetworkSourceError:
                LOG.warning("could not delete Neutron port %s of a failed create; it is "
                            "named %s", self.created_port, vip_port_name(self.lb_id))


def _visible(source: NeutronSource, subnet: SubnetFacts, project: str) -> bool:
    """A project sees its own subnets and those of shared networks (as Octavia, acting with
    the caller's token, would)."""
    return subnet.project_id == project or source.segment(subnet.network_id).shared


def neutron_vip(source: NeutronSource, spec: LoadBalancerPOST, project: str) -> NeutronVip:
    """Look the VIP's subnet, network or port up in Neutron and create the VIP port there
    (owner F5's, named `octavia-lb-<id>`, the requested address if any). Octavia's 400s for
    what is missing; 409 for an address taken or none free; 503 when Neutron cannot answer."""
    from bigip_lbaas.network.neutron import NeutronRefused  # the source's module, loaded

    if spec.additional_vips:
        raise ValidationFailure(detail="additional_vips are not supported with "
                                       "[networking] source = neutron.")
    lb_id = str(uuid.uuid4())
    try:
        if spec.vip_port_id:
            return NeutronVip(lb_id, _neutron_given_port(source, spec, project), source)
        subnet = _neutron_subnet(source, spec, project)
        try:
            port = source.ensure_port(name=vip_port_name(lb_id), network_id=subnet.network_id,
                                      subnet_id=subnet.id, project_id=project, device_id=lb_id,
                                      ip_address=spec.vip_address)
        except NeutronRefused as err:
            if err.kind == "IpAddressAlreadyAllocated":
                raise VipInUse(address=spec.vip_address or "?", subnet=subnet.id) from None
            if err.kind == "IpAddressGenerationFailure":
                raise NoFreeAddress(subnet=subnet.id) from None
            raise ValidationFailure(detail=err.message or str(err)) from None
        except NotFound:
            raise ValidationFailure(detail=f"Subnet {subnet.id} not found.") from None
    except NotFound as err:
        raise ValidationFailure(detail=str(err)) from None
    except NeutronRefused as err:
        raise ValidationFailure(detail=err.message or str(err)) from None
    except NetworkSourceError as err:
        raise NetworkUnavailable(reason=str(err)) from None
    cols = {"vip_subnet_id": subnet.id, "vip_network_id": subnet.network_id,
            "vip_port_id": port.id, "vip_address": port.ip_address, "additional_vips": []}
    return NeutronVip(lb_id, cols, source, created_port=port.id)


def _neutron_subnet(source: NeutronSource, spec: LoadBalancerPOST, project: str) -> SubnetFacts:
    if spec.vip_subnet_id:
        subnet = source.subnet(spec.vip_subnet_id)
        if not _visible(source, subnet, project):
            raise NotFound(f"Subnet {spec.vip_subnet_id} not found.")
        if spec.vip_network_id and subnet.network_id != spec.vip_network_id:
            raise ValidationFailure(detail=f"Subnet {subnet.id} is not on network "
                                           f"{spec.vip_network_id}.")
        return subnet
    assert spec.vip_network_id
    subnets = [s for s in source.network_subnets(spec.vip_network_id)
               if _visible(source, s, project)]
    if not subnets:
        raise ValidationFailure(detail=f"Network {spec.vip_network_id} has no subnets.")
    return subnets[0]


def _neutron_given_port(source: NeutronSource, spec: LoadBalancerPOST,
                        project: str) -> dict[str, Any]:
    """`vip_port_id` in Neutron: as `_given_port` (the project's port, used by no device)."""
    assert spec.vip_port_id
    try:
        port = source.port(spec.vip_port_id)
    except NotFound:
        raise InvalidSubresource(resource="Port", id=spec.vip_port_id) from None
    if port.project_id != project:
        raise InvalidSubresource(resource="Port", id=spec.vip_port_id)
    if port.device_id:
        raise ValidationFailure(detail=f"Port {port.id} is already used by device "
                                       f"{port.device_id} ")
    if spec.vip_network_id and spec.vip_network_id != port.network_id:
        raise ValidationFailure(detail=f"Port {port.id} is not on network "
                                       f"{spec.vip_network_id}.")
    ips = [(sub, ip) for sub, ip in port.fixed_ips
           if not spec.vip_subnet_id or sub == spec.vip_subnet_id]
    if spec.vip_address:
        ips = [(sub, ip) for sub, ip in ips if ip == spec.vip_address]
    if not ips:
        raise ValidationFailure(detail=f"Port {port.id} has no fixed IP matching the request.")
    return {"vip_subnet_id": ips[0][0], "vip_network_id": port.network_id,
            "vip_port_id": port.id, "vip_address": ips[0][1], "additional_vips": []}
