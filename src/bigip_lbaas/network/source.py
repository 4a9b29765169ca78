"""The network source's contract: what the agent (L2/L3 mode) and the API (VIP ports) ask of it.

Two implementations, chosen by ``[networking] source``: ``builtin`` (``network/builtin.py``, the
registry tables in the shared database, served at ``/v2.0``) and ``neutron``
(``network/neutron.py``, a real Neutron reached through Keystone with ``[service_auth]``).
Calls are synchronous and may block (the agent runs them in a thread). Every port call is
idempotent by name, so a new owner that repeats an interrupted prepare finds what the dead one
booked instead of booking twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bigip_lbaas.core.network import FdbRecord, Segment

DEVICE_OWNER = "network:f5lbaasv2"  # F5's device owner for every port it books


class NetworkSourceError(Exception):
    """The source cannot be reached or refused a call; retried later (the work stays PENDING)."""


class NotFound(NetworkSourceError):
    """A subnet, network or port named by id does not exist (any more): an ERROR, not a retry."""


@dataclass(frozen=True)
class SubnetFacts:
    id: str
    network_id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    project_id: str


@dataclass(frozen=True)
class BookedPort:
    id: str
    name: str
    network_id: str
    subnet_id: str
    ip_address: str
    mac_address: str | None = None


class NetworkSource(Protocol):
    def subnet(self, subnet_id: str) -> SubnetFacts:
        """The subnet; NotFound if it does not exist."""

    def segment(self, network_id: str) -> Segment:
        """The network's segment with its shared/external flags; NotFound if it does not exist."""

    def ensure_port(
        self, *, name: str, network_id: str, subnet_id: str, project_id: str, device_id: str,
        ip_address: str | None = None,
    ) -> BookedPort:
        """The port called ``name`` on ``subnet_id``, created (owner ``DEVICE_OWNER``, an
        address from the subnet, or ``ip_address``) if there is none."""

    def delete_ports(self, names: list[str], *, device_id: str | None = None) -> int:
        """Delete the ports with these names (of ours, ``DEVICE_OWNER``); how many went."""

    def delete_port(self, port_id: str) -> None:
        """Delete one port by id; gone already is fine."""

    def fdb_records(self, network_id: str, addresses: list[str]) -> list[FdbRecord]:
        """MAC and host VTEP of the ports holding ``addresses`` on a tunnel network, where the
        source knows them (empty where it cannot)."""
