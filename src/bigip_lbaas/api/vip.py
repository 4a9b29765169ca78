"""VIP addresses: taken from the subnet's allocation pools, never twice in one subnet.

The unique constraint (vip_subnet_id, vip_address) is the real guard; two API replicas racing
for the same free address make one insert fail, and that request retries with the next address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.api.errors import NoFreeAddress, ValidationFailure, VipInUse
from bigip_lbaas.db import models as m

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def default_pools(cidr: str, gateway: str | None) -> list[dict[str, str]]:
    """Neutron's default allocation pool: the whole subnet minus network, broadcast, gateway."""
    net = ipaddress.ip_network(cidr, strict=False)
    if net.num_addresses <= 2:
        return [{"start": str(net[0]), "end": str(net[-1])}]
    first, last = net[1], net[-2] if net.version == 4 else net[-1]
    if gateway and ipaddress.ip_address(gateway) == first:
        first = net[2]
    return [{"start": str(first), "end": str(last)}]


def _candidates(subnet: m.Subnet) -> Iterator[Address]:
    pools = subnet.allocation_pools or default_pools(subnet.cidr, subnet.gateway_ip)
    for pool in pools:
        start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        cur = int(start)
        while cur <= int(end):
            yield ipaddress.ip_address(cur)
            cur += 1


def in_use(session: Session, subnet_id: str) -> set[str]:
    return set(session.scalars(sa.select(m.LoadBalancer.vip_address)
                               .where(m.LoadBalancer.vip_subnet_id == subnet_id)))


def allocate(session: Session, subnet: m.Subnet, wanted: str | None) -> str:
    used = in_use(session, subnet.id)
    if wanted:
        try:
            addr = ipaddress.ip_address(wanted)
        except ValueError as err:
            raise ValidationFailure(detail=f"{wanted} is not a valid IP address") from err
        if addr not in ipaddress.ip_network(subnet.cidr, strict=False):
            raise ValidationFailure(
                detail=f"VIP address {wanted} is not in subnet {subnet.id} ({subnet.cidr})")
        if str(addr) in used:
            raise VipInUse(address=str(addr), subnet=subnet.id)
        return str(addr)
    for addr in _candidates(subnet):
        if str(addr) not in used and str(addr) != subnet.gateway_ip:
            return str(addr)
    raise NoFreeAddress(subnet=subnet.id)
