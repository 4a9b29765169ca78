"""The built-in network source: the Neutron-shaped registry tables of the shared database
(``network``, ``subnet``, ``port``, ``port_ip``), as the agent's L2/L3 mode asks for them.

Ports are booked as the API books VIPs and ports: under the subnet's row lock, an address from
``db.addresses`` (every address of a subnet held once: ports, VIPs, additional VIPs). A port is
found by name first, so booking is idempotent: a new owner repeating a dead one's prepare finds
its ports. Two agents booking the same name at once cannot both win: the name is looked up
again under the subnet lock before inserting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.errors import DatabaseError
from bigip_lbaas.core.network import FdbRecord, Segment
from bigip_lbaas.db import models as m
from bigip_lbaas.db.addresses import is_free, new_mac, next_free
from bigip_lbaas.db.session import Database
from bigip_lbaas.network.source import (
    DEVICE_OWNER,
    BookedPort,
    NetworkSourceError,
    NotFound,
    SubnetFacts,
)

NAME = "the built-in network registry"
T = TypeVar("T")
# Names of the ports this product books: VIPs (api/vip.py) and the agent's (network/prepare.py).
OUR_NAMES = ("loadbalancer-", "local-", "floating-", "snat-")


class NoFreeAddress(NetworkSourceError):
    """The subnet has no address left for a self IP or SNAT port."""


class BuiltinSource:
    """``NetworkSource`` over the shared database."""

    name = NAME

    def __init__(self, db: Database) -> None:
        self.db = db

    def _query(self, fn: Callable[[Session], T]) -> T:
        try:
            return self.db.query(fn)
        except DatabaseError as err:
            raise NetworkSourceError(str(err)) from err

    def _run(self, fn: Callable[[Session], T]) -> T:
        try:
            return self.db.run(fn)
        except DatabaseError as err:
            raise NetworkSourceError(str(err)) from err

    def subnet(self, subnet_id: str) -> SubnetFacts:
        def read(session: Session) -> SubnetFacts | None:
            row = session.get(m.Subnet, subnet_id)
            if row is None:
                return None
            return SubnetFacts(row.id, row.network_id, row.cidr, row.ip_version,
                               row.gateway_ip, row.project_id)

        found = self._query(read)
        if found is None:
            raise NotFound(f"subnet {subnet_id} not found in {NAME}")
        return found

    def segment(self, network_id: str) -> Segment:
        def read(session: Session) -> Segment | None:
            row = session.get(m.Network, network_id)
            if row is None:
                return None
            return _segment(row)

        found = self._query(read)
        if found is None:
            raise NotFound(f"network {network_id} not found in {NAME}")
        return found

    def subnets_and_segments(
        self, subnet_ids: list[str]
    ) -> tuple[dict[str, SubnetFacts], dict[str, Segment]]:
        """``subnet`` and ``segment`` for many subnets in one read: those found, and the
        segments of their networks (a subnet or network missing is simply left out)."""

        def read(session: Session) -> tuple[dict[str, SubnetFacts], dict[str, Segment]]:
            subs = {r.id: SubnetFacts(r.id, r.network_id, r.cidr, r.ip_version, r.gateway_ip,
                                      r.project_id)
                    for r in session.scalars(sa.select(m.Subnet).where(
                        m.Subnet.id.in_(subnet_ids)))} if subnet_ids else {}
            nets = sorted({f.network_id for f in subs.values()})
            segs = {r.id: _segment(r) for r in session.scalars(
                sa.select(m.Network).where(m.Network.id.in_(nets)))} if nets else {}
            return subs, segs

        return self._query(read)

    def ensure_port(
        self, *, name: str, network_id: str, subnet_id: str, project_id: str, device_id: str,
        ip_address: str | None = None,
    ) -> BookedPort:
        # Read first: a port booked already (every reconcile after the first) costs no write.
        found = self._query(lambda s: _find(s, name, subnet_id))
        if found is not None:
            return found
        return self._run(lambda s: _ensure(s, name, network_id, subnet_id, project_id,
                                           device_id, ip_address))

    def ensure_ports(self, wanted: list[tuple[str, str, str, str, str]]) -> list[BookedPort]:
        """``ensure_port`` for many: (name, network id, subnet id, project id, device id)
        each; one read, and one write transaction only when some are missing."""
        if not wanted:
            return []
        names = [w[0] for w in wanted]
        found = self._query(lambda s: _find_many(s, names))
        if all((w[0], w[2]) in found for w in wanted):
            return [found[(w[0], w[2])] for w in wanted]

        return self._run(lambda session: self.ensure_ports_in(session, wanted))

    @staticmethod
    def ensure_ports_in(session: Session,
                        wanted: list[tuple[str, str, str, str, str]]) -> list[BookedPort]:
        """``ensure_ports`` inside the caller's transaction on this source's database (the
        agent books a partition's ports in the transaction that binds its subnets)."""
        if not wanted:
            return []
        found = _find_many(session, [w[0] for w in wanted])
        missing = [w for w in wanted if (w[0], w[2]) not in found]
        for subnet_id in sorted({w[2] for w in missing}):  # subnet row locks in id order
            mine = [w for w in missing if w[2] == subnet_id]
            found.update(_book_on(session, subnet_id, mine))
        return [found[(w[0], w[2])] for w in wanted]

    def booked(self, names: list[str]) -> list[BookedPort]:
        """Read only: the ports of ours with these names (one per name and subnet)."""
        return list(self._query(lambda session: _find_many(session, names)).values())

    def delete_ports(self, names: list[str], *, device_id: str | None = None) -> int:
        if not names:
            return 0

        def write(session: Session) -> int:
            query = sa.select(m.Port).where(m.Port.name.in_(names),
                                            m.Port.device_owner == DEVICE_OWNER,
                                            m.Port.vip_of.is_(None))
            if device_id is not None:
                query = query.where(m.Port.device_id == device_id)
            rows = list(session.scalars(query))
            for row in rows:
                session.execute(sa.delete(m.PortIp).where(m.PortIp.port_id == row.id))
                session.delete(row)
            return len(rows)

        return self._run(write)

    def delete_port(self, port_id: str) -> None:
        """Delete one port of ours (``DEVICE_OWNER``, no load balancer using it); a load
        balancer's VIP port goes with its row (``vip_of``) and a port the project made and
        named as ``vip_port_id`` stays, as Octavia leaves it."""

        def write(session: Session) -> None:
            row = session.get(m.Port, port_id)
            if (row is None or row.device_owner != DEVICE_OWNER or row.used_by or row.vip_of
                    or not (row.name or "").startswith(OUR_NAMES)):
                return
            session.execute(sa.delete(m.PortIp).where(m.PortIp.port_id == port_id))
            session.delete(row)

        self._run(write)

    def fdb_records(self, network_id: str, addresses: list[str]) -> list[FdbRecord]:
        """The registry binds no port to a host and knows no VTEP: nothing to say."""
        return []



def _find(session: Session, name: str, subnet_id: str) -> BookedPort | None:
    row = session.execute(
        sa.select(m.Port, m.PortIp.ip_address)
        .join(m.PortIp, m.PortIp.port_id == m.Port.id)
        .where(m.Port.name == name, m.PortIp.subnet_id == subnet_id,
               m.Port.device_owner == DEVICE_OWNER)
        .order_by(m.Port.created_at, m.Port.id).limit(1)
    ).first()
    if row is None:
        return None
    port, address = row
    return BookedPort(port.id, name, port.network_id, subnet_id, address, port.mac_address)


def _segment(row: m.Network) -> Segment:
    return Segment(row.id, row.network_type or "", row.physical_network, row.segmentation_id,
                   row.mtu, bool(row.shared), bool(row.external))


def _find_many(session: Session, names: list[str]) -> dict[tuple[str, str], BookedPort]:
    found: dict[tuple[str, str], BookedPort] = {}
    for port, subnet_id, address in session.execute(
        sa.select(m.Port, m.PortIp.subnet_id, m.PortIp.ip_address)
        .join(m.PortIp, m.PortIp.port_id == m.Port.id)
        .where(m.Port.name.in_(names), m.Port.device_owner == DEVICE_OWNER)
        .order_by(m.Port.created_at.desc(), m.Port.id.desc())
    ):
        found[(str(port.name), subnet_id)] = BookedPort(
            port.id, str(port.name), port.network_id, subnet_id, address, port.mac_address)
    return found


def _book_on(session: Session, subnet_id: str, wanted: list[tuple[str, str, str, str, str]]
             ) -> dict[tuple[str, str], BookedPort]:
    """Book ``wanted`` ports on one subnet under its row lock: one lock, one read of the
    addresses in use, two flushes, however many ports."""
    subnet = session.get(m.Subnet, subnet_id, with_for_update=True)
    if subnet is None or any(w[1] != subnet.network_id for w in wanted):
        raise NotFound(f"subnet {subnet_id} not found in {NAME}")
    booked = _find_many(session, [w[0] for w in wanted])  # booked meanwhile by another agent
    used: set[str] = set()  # chosen here, not yet flushed
    rows: list[tuple[m.Port, str]] = []
    for name, network_id, _sub, project_id, device_id in wanted:
        if (name, subnet_id) in booked:
            continue
        address = next_free(session, subnet, used)
        if address is None:
            raise NoFreeAddress(f"no free address in subnet {subnet_id} for port {name}")
        used.add(address)
        port = m.Port(id=str(uuid.uuid4()), project_id=project_id, network_id=network_id,
                      name=name, description="", device_owner=DEVICE_OWNER,
                      device_id=device_id, mac_address=new_mac(), admin_state_up=True,
                      binding_host_id="")
        session.add(port)
        rows.append((port, address))
    session.flush()
    for port, address in rows:
        session.add(m.PortIp(port_id=port.id, subnet_id=subnet_id, ip_address=address))
        booked[(str(port.name), subnet_id)] = BookedPort(
            port.id, str(port.name), port.network_id, subnet_id, address, port.mac_address)
    session.flush()
    return booked


def _ensure(session: Session, name: str, network_id: str, subnet_id: str, project_id: str,
            device_id: str, ip_address: str | None) -> BookedPort:
    found = _find(session, name, subnet_id)
    if found is not None:
        return found
    subnet = session.get(m.Subnet, subnet_id, with_for_update=True)
    if subnet is None or subnet.network_id != network_id:
        raise NotFound(f"subnet {subnet_id} not found in {NAME}")
    found = _find(session, name, subnet_id)  # booked meanwhile by another agent
    if found is not None:
        return found
    address = (ip_address if ip_address and is_free(session, subnet_id, ip_address)
               else next_free(session, subnet))
    if address is None:
        raise NoFreeAddress(f"no free address in subnet {subnet_id} for port {name}")
    port = m.Port(id=str(uuid.uuid4()), project_id=project_id, network_id=network_id,
                  name=name, description="", device_owner=DEVICE_OWNER, device_id=device_id,
                  mac_address=new_mac(), admin_state_up=True, binding_host_id="")
    session.add(port)
    session.flush()
    session.add(m.PortIp(port_id=port.id, subnet_id=subnet_id, ip_address=address))
    session.flush()
    return BookedPort(port.id, name, network_id, subnet_id, address, port.mac_address)
