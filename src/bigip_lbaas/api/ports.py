"""Ports of the built-in network registry: Neutron's wire shape, who sees and changes them, and
fixed-IP allocation from the same addresses VIPs use (api/vip.py), under the same subnet row lock.

Messages are neutron-lib's (neutron_lib/exceptions/__init__.py); the policy is Neutron's
default, simplified: a project creates ports on its own or shared networks; `binding:host_id` is
admin-only; a fixed `ip_address`, a `mac_address` or a `network:*` device owner need the
network's owner (or an admin); a port is seen by its project, the network's owner and admins.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.api import segments
from bigip_lbaas.api.auth import Context
from bigip_lbaas.core.errors import ApiError
from bigip_lbaas.db import addresses
from bigip_lbaas.db import models as m


class NetworkNotFound(ApiError):
    status = 404
    template = "Network %(net_id)s could not be found."


class PortNotFound(ApiError):
    status = 404
    template = "Port %(port_id)s could not be found."


class SubnetNotFound(ApiError):
    status = 404
    template = "Subnet %(subnet_id)s could not be found."


class InvalidIpForSubnet(ApiError):
    status = 400
    template = "IP address %(ip_address)s is not a valid IP for the specified subnet."


class InvalidIpForNetwork(ApiError):
    status = 400
    template = ("IP address %(ip_address)s is not a valid IP for any of the subnets on the "
                "specified network.")


class IpAddressInUse(ApiError):
    status = 409
    template = ("Unable to complete operation for network %(net_id)s. The IP address "
                "%(ip_address)s is in use.")


class IpAddressGenerationFailure(ApiError):
    status = 409
    template = "No more IP addresses available on network %(net_id)s."


class MacAddressInUse(ApiError):
    status = 409
    template = ("Unable to complete operation for network %(net_id)s. The mac address %(mac)s "
                "is in use.")


class NetworkInUse(ApiError):
    status = 409
    template = ("Unable to complete operation on network %(net_id)s. There are one or more "
                "ports still in use on the network.")


class SubnetInUse(ApiError):
    status = 409
    template = ("Unable to complete operation on subnet %(subnet_id)s: One or more ports have "
                "an IP allocation from this subnet.")


class ServicePortInUse(ApiError):
    status = 409
    template = "Port %(port_id)s cannot be deleted directly via the port API: %(reason)s."


MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat() + "Z"


def wire(port: m.Port, ips: list[m.PortIp], ctx: Context) -> dict[str, Any]:
    """A port as Neutron shows it; the `binding:*` attributes to admins only."""
    body: dict[str, Any] = {
        "id": port.id, "name": port.name or "", "description": port.description or "",
        "network_id": port.network_id, "tenant_id": port.project_id,
        "project_id": port.project_id, "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up, "status": status(port),
        "device_owner": port.device_owner, "device_id": port.used_by or port.device_id,
        "fixed_ips": [{"subnet_id": ip.subnet_id, "ip_address": ip.ip_address} for ip in ips],
        "allowed_address_pairs": [], "extra_dhcp_opts": [], "security_groups": [],
        "binding:vnic_type": "normal", "port_security_enabled": False,
        "tags": [], "revision_number": 0,
        "created_at": _ts(port.created_at), "updated_at": _ts(port.updated_at)}
    if ctx.is_admin:
        body.update({"binding:host_id": port.binding_host_id, "binding:profile": {},
                     "binding:vif_type": "unbound", "binding:vif_details": {}})
    return body


def status(port: m.Port) -> str:
    """ACTIVE for a port a device holds (device_id set, admin up), DOWN otherwise: nothing here
    binds ports to hosts as Neutron's agents do."""
    return "ACTIVE" if (port.used_by or port.device_id) and port.admin_state_up else "DOWN"


def visible(ctx: Context) -> sa.ColumnElement[bool]:
    if ctx.is_admin:
        return sa.true()
    owned = sa.select(m.Network.id).where(m.Network.project_id == ctx.project_id)
    return sa.or_(m.Port.project_id == ctx.project_id, m.Port.network_id.in_(owned))


def fixed_ips_of(session: Session, port_ids: list[str]) -> dict[str, list[m.PortIp]]:
    out: dict[str, list[m.PortIp]] = {}
    rows = session.scalars(sa.select(m.PortIp).where(m.PortIp.port_id.in_(port_ids))
                           .order_by(m.PortIp.subnet_id, m.PortIp.ip_address))
    for row in rows:
        out.setdefault(row.port_id, []).append(row)
    return out


def check_policy(ctx: Context, network: m.Network, spec: dict[str, Any]) -> None:
    """Neutron's create_port rules for what a non-admin sets (see the module's docstring)."""
    if ctx.is_admin:
        return
    owner = network.project_id == ctx.project_id
    touched = []
    if spec.get("device_owner", "").startswith("network:") and not owner:
        touched.append("device_owner")
    if spec.get("mac_address") and not owner:
        touched.append("mac_address")
    if any(ip.get("ip_address") for ip in spec.get("fixed_ips") or []) and not owner:
        touched.append("fixed_ips:ip_address")
    if spec.get("binding:host_id"):
        touched.append("binding:host_id")
    if touched:
        raise segments.disallowed("create_port", touched)


def _subnets_of(session: Session, network_id: str) -> list[m.Subnet]:
    return list(session.scalars(sa.select(m.Subnet).where(m.Subnet.network_id == network_id)
                                .order_by(m.Subnet.created_at, m.Subnet.id)))


def allocate(session: Session, network: m.Network,
             requested: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """The port's fixed IPs as (subnet_id, ip_address). Without `fixed_ips`, as Neutron: one
    address from the first IPv4 subnet with one free and one from the first such IPv6 subnet.
    Each subnet row involved is locked (in id order), as a load balancer's VIP allocation locks
    it, so ports and VIPs queue on one subnet and see each other's addresses."""
    subnets = _subnets_of(session, network.id)
    by_id = {s.id: s for s in subnets}
    wanted: list[tuple[m.Subnet, str | None]] = []
    for item in requested or []:
        subnet_id, address = item.get("subnet_id"), item.get("ip_address")
        if address is not None:
            try:
                address = str(ipaddress.ip_address(address))
            except ValueError as err:
                raise segments.InvalidInput(
                    error_message=f"'{address}' is not a valid IP address") from err
        if subnet_id:
            if subnet_id not in by_id:
                raise segments.InvalidInput(
                    error_message=f"Failed to create port on network {network.id}, because "
                                  f"fixed_ips included invalid subnet {subnet_id}")
            subnet = by_id[subnet_id]
            if address and ipaddress.ip_address(address) not in ipaddress.ip_network(
                    subnet.cidr):
                raise InvalidIpForSubnet(ip_address=address)
        elif address:
            found = [s for s in subnets
                     if ipaddress.ip_address(address) in ipaddress.ip_network(s.cidr)]
            if not found:
                raise InvalidIpForNetwork(ip_address=address)
            subnet = found[0]
        else:
            raise segments.InvalidInput(error_message="IP allocation requires subnet_id or "
                                                      "ip_address")
        wanted.append((subnet, address))
    if requested is None:
        wanted = [(s, None) for s in subnets]  # narrowed to one per IP version below
    for subnet_id in sorted({s.id for s, _ in wanted}):
        session.get(m.Subnet, subnet_id, with_for_update=True)  # always a SELECT ... FOR UPDATE
    chosen: dict[str, set[str]] = {}  # per subnet, by this request (not yet flushed)
    out: list[tuple[str, str]] = []
    versions_done: set[int] = set()
    for subnet, given in wanted:
        taken = chosen.setdefault(subnet.id, set())
        if requested is None and subnet.ip_version in versions_done:
            continue
        address = given or addresses.next_free(session, subnet, taken)
        if address is None:
            if requested is None:
                continue
            raise IpAddressGenerationFailure(net_id=network.id)
        if given and (given in taken or not addresses.is_free(session, subnet.id, given)):
            raise IpAddressInUse(net_id=network.id, ip_address=given)
        versions_done.add(subnet.ip_version)
        taken.add(address)
        out.append((subnet.id, address))
    if requested is None and subnets and not out:
        raise IpAddressGenerationFailure(net_id=network.id)
    return out


def refuse_network_in_use(session: Session, network_id: str) -> None:
    if session.scalars(sa.select(m.Port.id).where(m.Port.network_id == network_id)).first():
        raise NetworkInUse(net_id=network_id)


def refuse_subnet_in_use(session: Session, subnet_id: str) -> None:
    if session.scalars(sa.select(m.PortIp.port_id)
                       .where(m.PortIp.subnet_id == subnet_id)).first():
        raise SubnetInUse(subnet_id=subnet_id)


def refuse_service_port(port: m.Port) -> None:
    """A load balancer's VIP port goes with its load balancer, not through the port API."""
    lb = port.vip_of or port.used_by
    if lb:
        raise ServicePortInUse(port_id=port.id, reason=f"it is the VIP port of load balancer "
                                                       f"{lb}")
