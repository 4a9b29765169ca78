"""Addresses of the built-in network registry: what a subnet has free and who holds what, for
VIPs (api/vip.py), ports (api/ports.py) and the agent's self-IP and SNAT ports
(network/builtin.py), all under the same subnet row lock (the callers take it).

Every address in a subnet is held once: ports' fixed IPs (``port_ip``'s key), primary VIPs and
additional VIPs (their unique constraints).
"""

from __future__ import annotations

import ipaddress
import random
import socket
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.db import models as m


def default_pools(cidr: str, gateway: str | None) -> list[dict[str, str]]:
    """Neutron's default allocation pool: the whole subnet minus network, broadcast, gateway."""
    net = ipaddress.ip_network(cidr, strict=False)
    if net.num_addresses <= 2:
        return [{"start": str(net[0]), "end": str(net[-1])}]
    first, last = net[1], net[-2] if net.version == 4 else net[-1]
    if gateway and ipaddress.ip_address(gateway) == first:
        first = net[2]
    return [{"start": str(first), "end": str(last)}]


def _candidates(subnet: m.Subnet) -> Iterator[str]:
    """The subnet's addresses in allocation-pool order, as `str(ip_address(...))` spells them.

    Every create scans these from the start, under the subnet's row lock, past each address in
    use: IPv4 ones are spelt by `inet_ntoa`, several times faster than building `IPv4Address`
    objects, which cost ~2 ms of that lock per create with 700 load balancers on the subnet."""
    pools = subnet.allocation_pools or default_pools(subnet.cidr, subnet.gateway_ip)
    for pool in pools:
        start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        if start.version == 4:
            for cur in range(int(start), int(end) + 1):
                yield socket.inet_ntoa(cur.to_bytes(4, "big"))
        else:
            for cur in range(int(start), int(end) + 1):
                yield str(ipaddress.IPv6Address(cur))


def in_use(session: Session, subnet_id: str) -> set[str]:
    """Every address taken in the subnet: ports' fixed IPs (VIP ports included), primary VIPs
    and additional VIPs (load balancers from before ports have no port)."""
    return set(session.scalars(sa.union_all(
        sa.select(m.LoadBalancer.vip_address).where(m.LoadBalancer.vip_subnet_id == subnet_id),
        sa.select(m.AdditionalVip.ip_address).where(m.AdditionalVip.subnet_id == subnet_id),
        sa.select(m.PortIp.ip_address).where(m.PortIp.subnet_id == subnet_id))))


def first_free(subnet: m.Subnet, used: set[str]) -> str | None:
    """The subnet's first pool address not in `used` (nor the gateway)."""
    for candidate in _candidates(subnet):
        if candidate not in used and candidate != subnet.gateway_ip:
            return candidate
    return None


F5_DEVICE_OWNER = "network:f5lbaasv2"  # F5's agent's VIP port owner (f5-openstack-agent)


def new_mac() -> str:
    """Neutron's default: base_mac fa:16:3e:00:00:00 with the last three octets random (unique
    per network: `port`'s unique key; a collision fails the insert, which is retried)."""
    tail = random.getrandbits(24).to_bytes(3, "big")
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in tail)
