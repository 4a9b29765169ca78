"""Frozen L2/L3 types: what a partition's networking should be on the devices when
``f5_global_routed_mode = False`` (F5's L2/L3 mode). Pure data, no I/O.

The agent builds a ``PartitionNetwork`` before it renders (``network.prepare``: route-domain ids
from the shared database, subnet and network facts from the network source, self-IP and SNAT
addresses booked as ports), and ``engine.network`` renders it into ``net/*`` and ``ltm/snat*``
objects. ``NetworkSettings`` is the operator's F5 options, parsed once from the ini.

What differs per device (a non-floating self IP's address, a tunnel's local VTEP address) is
keyed by the device's name as the agent knows it (``agent.fleet``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

NETWORK_TYPES = ("flat", "vlan", "vxlan", "gre")
TUNNEL_TYPES = ("vxlan", "gre")


@dataclass(frozen=True)
class PhysicalMapping:
    """One entry of ``f5_external_physical_mappings`` (``physnet:interface:tagged``)."""

    physical_network: str  # "default" matches any physical network without an entry
    interface: str  # a device interface ("1.1") or trunk name
    tagged: bool


@dataclass(frozen=True)
class NetworkSettings:
    """F5's L2/L3 options, parsed (``config``); defaults are F5's code defaults."""

    global_routed_mode: bool = True
    use_namespaces: bool = True
    route_domain_strictness: bool = False
    max_namespaces_per_tenant: int = 1
    snat_mode: bool = True
    snat_addresses_per_subnet: int = 1
    common_networks: bool = False  # every network is common (route domain 0, /Common)
    common_external_networks: bool = True  # router:external networks are common
    common_network_ids: Mapping[str, str] = field(default_factory=dict)  # network id -> /Common VLAN
    physical_mappings: tuple[PhysicalMapping, ...] = (
        PhysicalMapping("default", "1.1", True),
    )
    vtep_folder: str = "Common"
    vtep_selfip_name: str | None = None
    advertised_tunnel_types: tuple[str, ...] = ("vxlan",)

    def mapping_for(self, physical_network: str | None) -> PhysicalMapping | None:
        """The interface a VLAN or flat network on ``physical_network`` uses: its own entry,
        else the ``default`` one, else None."""
        by_name = {m.physical_network: m for m in self.physical_mappings}
        return by_name.get(physical_network or "default") or by_name.get("default")


@dataclass(frozen=True)
class Segment:
    """A network's one segment, with Neutron's provider attributes."""

    network_id: str
    network_type: str  # flat | vlan | vxlan | gre
    physical_network: str | None = None
    segmentation_id: int | None = None
    mtu: int = 1500
    shared: bool = False
    external: bool = False


@dataclass(frozen=True)
class SubnetPlan:
    """One subnet the partition's load balancers or members use, and what the devices need on it.

    ``common``: the subnet's network is a common one (F5's rules: shared, ``f5_common_networks``,
    listed in ``common_network_ids``, or external with ``f5_common_external_networks``); it lives
    in route domain 0 and ``/Common``, which is the operator's: nothing of ours is created for it.
    """

    subnet_id: str
    network_id: str
    cidr: str
    ip_version: int = 4
    gateway_ip: str | None = None
    route_domain: int = 0
    common: bool = False
    self_ips: Mapping[str, str] = field(default_factory=dict)  # device name -> address
    floating_ip: str | None = None  # pair and scale-N: the traffic group's self IP
    snat_addresses: tuple[str, ...] = ()  # empty with snat_addresses_per_subnet = 0: automap


@dataclass(frozen=True)
class FdbRecord:
    """A member port's MAC behind a host VTEP on a tunnel network (from the network source)."""

    network_id: str
    mac: str
    vtep: str


@dataclass(frozen=True)
class PartitionNetwork:
    """Everything L2/L3 one partition needs on its devices, at one desired generation.

    ``route_domains``: the partition's route-domain ids, the first its default (more than one
    only with ``max_namespaces_per_tenant > 1`` and overlapping subnets). ``vteps``: each
    device's local VTEP address (from its ``/<f5_vtep_folder>/<f5_vtep_selfip_name>`` self IP),
    for tunnels. ``failures``: subnet or network problems found while preparing (a subnet gone
    from the network source, a network without a segment), keyed by the Octavia object that
    uses it, for render to report as that object's ERROR."""

    route_domains: tuple[int, ...] = ()
    segments: tuple[Segment, ...] = ()
    subnets: tuple[SubnetPlan, ...] = ()
    fdb: tuple[FdbRecord, ...] = ()
    vteps: Mapping[str, str] = field(default_factory=dict)
    failures: Mapping[str, str] = field(default_factory=dict)  # Octavia object id -> reason

    def subnet(self, subnet_id: str | None) -> SubnetPlan | None:
        return next((s for s in self.subnets if s.subnet_id == subnet_id), None)

    def segment(self, network_id: str) -> Segment | None:
        return next((s for s in self.segments if s.network_id == network_id), None)
