"""Render a partition's L2/L3 networking (``core.network.PartitionNetwork``) into BIG-IP objects
of its partition. Pure.

``f5_global_routed_mode = False`` (F5's L2/L3 mode). What is made, all inside the partition
``<prefix>_<project>`` and all named with the prefix (ownership is by name, see ``diff``):

- per network segment: a VLAN ``<prefix>_vlan-<segid>`` (interface and tagging from
  ``f5_external_physical_mappings``; ``tagged`` a real bool), an untagged
  ``<prefix>_flat-<interface>`` for a flat network, or a tunnel ``<prefix>_tunnel-<type>-<segid>``
  (key = segid, profile ``/Common/vxlan`` (built in) or ``/Common/gre_ovs`` (the operator's),
  local address = that device's VTEP: per device);
- the route domains (the first named after the partition, others ``<partition>_aux_<id>``), each
  listing its VLANs and tunnels, strict or with parent ``/Common/0``; the partition's default
  route domain set to the first one;
- per subnet: a non-floating self IP per device ``<prefix>_local-<device>-<subnet>`` (per device)
  and, on a pair or scale-N, a floating ``<prefix>_floating-<subnet>`` in the traffic group;
- SNAT: ``f5_snat_addresses_per_subnet`` translations per subnet ``<prefix>_snat-<subnet>_<i>``
  and one pool ``<prefix>_snatpool`` listing all of them (virtuals: ``snat`` with that pool);
  none booked: automap; ``f5_snat_mode = False``: no SNAT at all (``none``) and, so that the
  members' answers come back through the device, a self IP ``<prefix>_gw-<subnet>`` at each
  tenant subnet's gateway address (floating in the traffic group on a pair or scale-N), as F5
  documents; that subnet's gateway then gives no default route (it is the device itself), and
  F5's forwarding virtual for the members' own outbound traffic is not made (docs/networking.md);
- per route domain and IP version: a default route via the gateway of a VIP subnet (else any
  subnet) of that route domain;
- tunnel FDB records (``PartitionNetwork.fdb``).

Common subnets (``SubnetPlan.common``) are in route domain 0 and ``/Common``, the operator's:
nothing is made for them but SNAT translations (in the partition, never in /Common).

A problem with a network (no segment, no interface mapping, no VTEP, an unknown type) or one the
agent found (``PartitionNetwork.failures``) fails every Octavia object that uses it; what exists
of that network on the devices is held as it is.

Must not: do I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bigip_lbaas.core.model import PartitionState
from bigip_lbaas.core.network import NetworkSettings, PartitionNetwork, Segment, SubnetPlan
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceObject, Kind, ObjKey

LOCAL_ONLY = "/Common/traffic-group-local-only"
# Tunnel profiles. VXLAN: the built-in profile is what Open vSwitch speaks (multipoint flooding,
# port 4789). GRE: OVS needs transparent Ethernet bridging, which the built-in /Common/gre does
# not do, so the operator's /Common/gre_ovs (F5's documented profile) must exist.
TUNNEL_PROFILES = {"vxlan": "/Common/vxlan", "gre": "/Common/gre_ovs"}
ALLOW_SERVICE = "none"  # port lockdown: a tenant self IP answers nothing but ICMP


@dataclass(frozen=True)
class NetRender:
    objects: tuple[DeviceObject, ...] = ()
    per_device: Mapping[str, tuple[DeviceObject, ...]] = field(default_factory=dict)
    failures: Mapping[str, str] = field(default_factory=dict)  # Octavia object id -> reason
    hold: frozenset[ObjKey] = frozenset()
    rd_of: Mapping[str, int] = field(default_factory=dict)  # subnet id -> route domain
    default_rd: int = 0  # the partition's default route domain as rendered
    snat: Mapping[str, Any] = field(default_factory=lambda: {"type": "automap"})

    def address(self, address: str, subnet_id: str | None) -> str:
        """An Octavia address on ``subnet_id`` as the device must be given it: with ``%rd``
        (``%0`` too when the partition's default is another route domain)."""
        rd = self.rd_of.get(subnet_id or "", self.default_rd)
        return names.with_rd(address, rd, explicit=self.default_rd != 0)


@dataclass
class _Out:
    prefix: str
    part: str
    objects: list[DeviceObject] = field(default_factory=list)
    per_device: dict[str, list[DeviceObject]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    hold: set[ObjKey] = field(default_factory=set)

    def add(self, kind: Kind, name: str, body: dict[str, Any]) -> None:
        self.objects.append(DeviceObject(kind, name, body))

    def add_for(self, device: str, kind: Kind, name: str, body: dict[str, Any]) -> None:
        self.per_device.setdefault(device, []).append(DeviceObject(kind, name, body))

    def path(self, name: str) -> str:
        return names.full_path(self.part, name)


def _users(state: PartitionState, subnet_ids: set[str]) -> list[str]:
    """The Octavia objects on these subnets: load balancers (VIP or an additional VIP) and
    members (their own subnet)."""
    out: list[str] = []
    for lb in state.load_balancers:
        if lb.vip_subnet_id in subnet_ids or any(s in subnet_ids
                                                 for _, s in lb.additional_vip_subnets):
            out.append(lb.id)
        for pool in lb.pools:
            out += [m.id for m in pool.members if m.subnet_id in subnet_ids]
    return sorted(set(out))


def _segment_problem(seg: Segment | None, settings: NetworkSettings, devices: tuple[str, ...],
                     network: PartitionNetwork, network_id: str) -> str | None:
    if seg is None:
        return f"network {network_id} has no segment known to the network source"
    if seg.network_type in ("vlan", "vxlan", "gre") and seg.segmentation_id is None:
        return f"network {network_id} ({seg.network_type}) has no segmentation id"
    if seg.network_type in ("vlan", "flat"):
        if settings.mapping_for(seg.physical_network) is None:
            return (f"f5_external_physical_mappings has no entry for physical network "
                    f"{seg.physical_network!r} and no 'default' entry")
        return None
    if seg.network_type in ("vxlan", "gre"):
        if seg.network_type not in settings.advertised_tunnel_types:
            return (f"network {network_id} is {seg.network_type}, which is not in "
                    f"advertised_tunnel_types")
        if not devices:
            return "a tunnel needs the devices' VTEP addresses, and no device was given"
        missing = [d for d in devices if not network.vteps.get(d)]
        if missing:
            return (f"no VTEP address for device {', '.join(missing)}: f5_vtep_selfip_name must "
                    f"name a self IP in /{settings.vtep_folder} on every device")
        return None
    return f"network type {seg.network_type} is not supported"


def _l2_name(prefix: str, seg: Segment, settings: NetworkSettings) -> str:
    if seg.network_type == "flat":
        mapping = settings.mapping_for(seg.physical_network)
        return names.flat_vlan(prefix, mapping.interface if mapping else "none")
    if seg.network_type == "vlan":
        return names.vlan(prefix, seg.segmentation_id or 0)
    return names.tunnel(prefix, seg.network_type, seg.segmentation_id or 0)


def _l2(out: _Out, seg: Segment, settings: NetworkSettings, network: PartitionNetwork,
        devices: tuple[str, ...]) -> str:
    """Emit the segment's VLAN or tunnel; its name."""
    name = _l2_name(out.prefix, seg, settings)
    if seg.network_type in ("vlan", "flat"):
        mapping = settings.mapping_for(seg.physical_network)
        assert mapping is not None
        tagged = seg.network_type == "vlan" and mapping.tagged is True
        iface: dict[str, Any] = {"name": mapping.interface}
        iface["tagged" if tagged else "untagged"] = True
        body: dict[str, Any] = {"interfaces": [iface], "mtu": seg.mtu}
        if seg.network_type == "vlan":
            body["tag"] = seg.segmentation_id
        out.add(Kind.VLAN, name, body)
        return name
    for device in devices:
        vtep = network.vteps[device]
        local = vtep if "%" in vtep else f"{vtep}%0"  # the VTEP is the operator's, in /Common
        out.add_for(device, Kind.TUNNEL, name, {
            "profile": TUNNEL_PROFILES[seg.network_type],
            "key": seg.segmentation_id,
            "localAddress": local,
            "remoteAddress": "any6" if ":" in vtep.split("%")[0] else "any",
        })
    return name


def _prefixlen(cidr: str) -> int:
    return ipaddress.ip_network(cidr, strict=False).prefixlen


def _held_subnet(out: _Out, sub: SubnetPlan, devices: tuple[str, ...]) -> None:
    """What a failed subnet may have on the devices, left as it is: self IPs, SNAT
    translations, and its route domain's default route (its gateway may be this subnet's)."""
    out.hold.update((Kind.SELF_IP, names.local_self_ip(out.prefix, d, sub.subnet_id))
                    for d in devices)
    if sub.route_domain:
        out.hold.add((Kind.ROUTE, names.default_route(out.prefix, sub.route_domain,
                                                      sub.ip_version)))
    out.hold.add((Kind.SELF_IP, names.floating_self_ip(out.prefix, sub.subnet_id)))
    out.hold.add((Kind.SNAT_TRANSLATION, names.snat_translations(out.prefix, sub.subnet_id)))


def render_network(
    state: PartitionState,
    network: PartitionNetwork,
    settings: NetworkSettings,
    prefix: str,
    partition: str,
    *,
    traffic_group: str,
    devices: tuple[str, ...] = (),
) -> NetRender:
    out = _Out(prefix, partition)
    ha = len(devices) > 1
    for object_id, reason in network.failures.items():
        out.failures[object_id] = reason
    default_rd = network.route_domains[0] if network.route_domains else 0
    vip_subnets = {lb.vip_subnet_id for lb in state.load_balancers if lb.vip_subnet_id}
    vip_subnets |= {s for lb in state.load_balancers for _, s in lb.additional_vip_subnets}

    tenant = [s for s in network.subnets if not s.common]
    by_network: dict[str, list[SubnetPlan]] = {}
    for sub in sorted(tenant, key=lambda s: s.subnet_id):
        by_network.setdefault(sub.network_id, []).append(sub)

    rd_vlans: dict[int, set[str]] = {}
    live: list[SubnetPlan] = []  # tenant subnets whose networking renders
    for network_id, subs in sorted(by_network.items()):
        seg = network.segment(network_id)
        problem = _segment_problem(seg, settings, devices, network, network_id)
        rd = subs[0].route_domain
        if problem is None and not devices:
            problem = "the devices' names were not given (render(devices=...)): no self IPs"
        if problem is None and rd == 0:
            problem = f"network {network_id} is not common but has no route domain"
        if problem is None:
            other = [s.subnet_id for s in subs if s.route_domain != rd]
            if other:
                problem = (f"subnets {', '.join(other)} of network {network_id} are in another "
                           f"route domain than its VLAN ({rd})")
        if problem is not None:
            for user in _users(state, {s.subnet_id for s in subs}):
                out.failures.setdefault(user, problem)
            if seg is not None and seg.network_type in ("vlan", "flat", "vxlan", "gre"):
                l2 = _l2_name(prefix, seg, settings)
                kind = Kind.TUNNEL if seg.network_type in ("vxlan", "gre") else Kind.VLAN
                out.hold.update({(kind, l2), (Kind.FDB_TUNNEL, l2)})
                if rd:
                    rd_vlans.setdefault(rd, set()).add(out.path(l2))  # held: stays listed
            for sub in subs:
                _held_subnet(out, sub, devices)
            continue
        assert seg is not None
        l2 = _l2(out, seg, settings, network, devices)
        rd_vlans.setdefault(rd, set()).add(out.path(l2))
        if seg.network_type in ("vxlan", "gre"):
            records = sorted({(r.mac, r.vtep) for r in network.fdb if r.network_id == network_id})
            if records:
                out.add(Kind.FDB_TUNNEL, l2, {
                    "records": [{"name": mac, "endpoint": vtep} for mac, vtep in records]})
        for sub in subs:
            missing = [d for d in devices if not sub.self_ips.get(d)]
            if missing:
                reason = (f"subnet {sub.subnet_id} has no self IP address for device "
                          f"{', '.join(missing)}")
                for user in _users(state, {sub.subnet_id}):
                    out.failures.setdefault(user, reason)
                _held_subnet(out, sub, devices)
                continue
            live.append(sub)
            plen = _prefixlen(sub.cidr)
            for device in devices:
                out.add_for(device, Kind.SELF_IP,
                            names.local_self_ip(prefix, device, sub.subnet_id), {
                                "address": f"{sub.self_ips[device]}%{rd}/{plen}",
                                "vlan": out.path(l2),
                                "trafficGroup": LOCAL_ONLY,
                                "allowService": ALLOW_SERVICE,
                            })
            if ha and sub.floating_ip:
                out.add(Kind.SELF_IP, names.floating_self_ip(prefix, sub.subnet_id), {
                    "address": f"{sub.floating_ip}%{rd}/{plen}",
                    "vlan": out.path(l2),
                    "trafficGroup": traffic_group,
                    "allowService": ALLOW_SERVICE,
                })
            if not settings.snat_mode and sub.gateway_ip:
                out.add(Kind.SELF_IP, names.gateway_self_ip(prefix, sub.subnet_id), {
                    "address": f"{sub.gateway_ip}%{rd}/{plen}",
                    "vlan": out.path(l2),
                    "trafficGroup": traffic_group if ha else LOCAL_ONLY,
                    "allowService": ALLOW_SERVICE,
                })

    # Route domains: those a rendered (or held) network is in.
    rendered_rds = sorted(rd for rd in rd_vlans if rd)
    partition_default = default_rd if default_rd in rendered_rds else 0
    for rd in rendered_rds:
        body: dict[str, Any] = {"id": rd, "vlans": sorted(rd_vlans[rd])}
        if settings.route_domain_strictness:
            body["strict"] = "enabled"
        else:
            body.update(strict="disabled", parent="/Common/0")
        out.add(Kind.ROUTE_DOMAIN, names.route_domain(partition, rd, rd == default_rd), body)
    if partition_default:
        out.add(Kind.PARTITION_DEFAULT_RD, partition, {"defaultRouteDomain": partition_default})

    # A default route per route domain and IP version, via a VIP subnet's gateway if one has.
    for rd in rendered_rds:
        for version in (4, 6):
            candidates = sorted(
                (s for s in live if s.route_domain == rd and s.ip_version == version
                 and s.gateway_ip and settings.snat_mode),
                key=lambda s: (s.subnet_id not in vip_subnets, s.subnet_id))
            if candidates:
                gw = candidates[0].gateway_ip
                out.add(Kind.ROUTE, names.default_route(prefix, rd, version), {
                    "network": f"{'default' if version == 4 else 'default-inet6'}%{rd}",
                    "gw": f"{gw}%{rd}",
                })

    # SNAT: translations of every subnet with booked addresses, one pool.
    explicit = partition_default != 0
    rd_of = {s.subnet_id: (0 if s.common else s.route_domain) for s in network.subnets}
    members: list[str] = []
    if settings.snat_mode:
        snat_subnets = [s for s in network.subnets if s.common or s in live]
        for sub in sorted(snat_subnets, key=lambda s: s.subnet_id):
            rd = rd_of[sub.subnet_id]
            for i, address in enumerate(sub.snat_addresses):
                name = names.snat_translation(prefix, sub.subnet_id, i)
                out.add(Kind.SNAT_TRANSLATION, name, {
                    "address": names.with_rd(address, rd, explicit),
                    "trafficGroup": traffic_group if ha else LOCAL_ONLY,
                })
                members.append(out.path(name))
    snat: dict[str, Any]
    if not settings.snat_mode:
        snat = {"type": "none"}
    elif members:
        pool = names.snatpool(prefix)
        out.add(Kind.SNATPOOL, pool, {"members": sorted(members)})
        snat = {"type": "snat", "pool": out.path(pool)}
    else:
        snat = {"type": "automap"}

    return NetRender(
        tuple(out.objects),
        {d: tuple(objs) for d, objs in sorted(out.per_device.items())},
        dict(sorted(out.failures.items())),
        frozenset(out.hold),
        rd_of,
        partition_default,
        snat,
    )
