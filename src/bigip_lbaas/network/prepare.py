"""Before a partition is rendered in L2/L3 mode: gather its networking into a PartitionNetwork.

For each load balancer's VIP subnet (and additional VIP subnets) and each member's subnet (a
member without one is on its load balancer's VIP subnet): the subnet and its network's segment
from the network source; common or tenant (F5's rules, ``is_common``); route domains from the
shared database (``db.networking.bind``: the same ids for every device); and, on every tenant
subnet, a self-IP port per device (``local-<device>-<subnet>``), a floating one on pair and
scale-N (``floating-<subnet>``) and the SNAT ports (``snat-<partition>-<subnet>_<i>``), booked
by name so that repeating this (a new owner after a crash) books nothing twice.

A subnet or network the source does not have is that object's ERROR (``failures``), not a
retry; a source that cannot be reached raises ``NetworkSourceError`` (retried, the objects stay
PENDING). Blocking: the agent runs this in a thread. Never talks to a device.

``book=False`` (``bigip-lbaas diff``) writes nothing, in the database or the source: the route
domains and port names come from what the agents recorded (``db.networking``'s bindings) and
the addresses from the ports found in the source by name; a subnet no agent has prepared yet
(no binding, a port name not recorded, or a recorded port the source no longer has) is that
subnet's objects' failure ("not prepared yet"), never booked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.model import PartitionState
from bigip_lbaas.core.network import (
    TUNNEL_TYPES,
    NetworkSettings,
    PartitionNetwork,
    Segment,
    SubnetPlan,
)
from bigip_lbaas.db import models as m
from bigip_lbaas.db import networking
from bigip_lbaas.db.session import Database
from bigip_lbaas.network.source import NetworkSource, NetworkSourceError, NotFound, SubnetFacts


def is_common(segment: Segment, settings: NetworkSettings) -> bool:
    """F5's rules: every network with ``f5_common_networks``; one listed in
    ``common_network_ids``; a shared one; an external one with ``f5_common_external_networks``."""
    return (settings.common_networks or segment.network_id in settings.common_network_ids
            or segment.shared or (segment.external and settings.common_external_networks))


def local_port(device: str, subnet_id: str) -> str:
    return f"local-{device}-{subnet_id}"


def floating_port(subnet_id: str) -> str:
    return f"floating-{subnet_id}"


def snat_port(partition: str, subnet_id: str, i: int) -> str:
    return f"snat-{partition}-{subnet_id}_{i}"


@dataclass(frozen=True)
class Context:
    """What prepare needs besides the partition's state."""

    db: Database
    source: NetworkSource
    settings: NetworkSettings
    devices: tuple[str, ...]  # device names as the agent's fleet knows them
    source_name: str = "the network source"
    vteps: Mapping[str, str] | None = None


def users(state: PartitionState) -> dict[str, list[str]]:
    """subnet id -> the ids of the load balancers and members on it; objects without any subnet
    are under the empty key."""
    found: dict[str, list[str]] = defaultdict(list)
    for lb in state.load_balancers:
        found[lb.vip_subnet_id or ""].append(lb.id)
        for _address, subnet in lb.additional_vip_subnets:
            found[subnet].append(lb.id)
        for pool in lb.pools:
            for member in pool.members:
                found[member.subnet_id or lb.vip_subnet_id or ""].append(member.id)
    return found


def prepare(ctx: Context, partition_id: int, partition: str, project_id: str,
            state: PartitionState, *, book: bool = True) -> PartitionNetwork:
    failures: dict[str, str] = {}
    by_subnet = users(state)
    for obj in by_subnet.pop("", []):
        failures[obj] = "no subnet: L2/L3 mode needs the VIP's (or the member's) subnet"
    facts: dict[str, SubnetFacts] = {}
    segments: dict[str, Segment] = {}
    # A source that can (the built-in registry) answers for every subnet and network at once.
    many = getattr(ctx.source, "subnets_and_segments", None)
    known: tuple[dict[str, SubnetFacts], dict[str, Segment]] | None = (
        many(sorted(by_subnet)) if many is not None else None)
    for subnet_id in sorted(by_subnet):
        try:
            if known is not None:
                sub = known[0].get(subnet_id) or _missing(subnet_id)
                segment = known[1].get(sub.network_id)
                if segment is not None:
                    segments[sub.network_id] = segment
            else:
                sub = ctx.source.subnet(subnet_id)
        except NotFound:
            reason = f"subnet {subnet_id} not found in {ctx.source_name}"
            failures.update({o: reason for o in by_subnet[subnet_id]})
            continue
        if sub.network_id not in segments:
            try:
                segments[sub.network_id] = ctx.source.segment(sub.network_id)
            except NotFound:
                reason = f"network {sub.network_id} not found in {ctx.source_name}"
                failures.update({o: reason for o in by_subnet[subnet_id]})
                continue
        facts[subnet_id] = sub
    common = {s for s, f in facts.items() if is_common(segments[f.network_id], ctx.settings)}
    for subnet_id, f in list(facts.items()):
        seg = segments[f.network_id]
        if subnet_id in common:
            continue
        problem = _segment_problem(seg, ctx.settings)
        if problem:
            failures.update({o: problem for o in by_subnet[subnet_id]})
            del facts[subnet_id]
    tenant = {s: f.cidr for s, f in facts.items() if s not in common}
    wanted = {s: _port_names(ctx, partition, s) for s in tenant}
    booking = [(name, facts[s].network_id, s, project_id, device)
               for s in sorted(wanted) for name, device in wanted[s]]
    # The built-in registry lives in this database: its ports are booked in the binding's
    # transaction (one write turn, not two, for a partition's first reconcile).
    in_tx = getattr(ctx.source, "ensure_ports_in", None)
    if getattr(ctx.source, "db", None) is not ctx.db:
        in_tx = None

    def book_too(session: Session, bound: networking.Bound) -> dict[str, str]:
        assert in_tx is not None
        mine = [w for w in booking if w[2] not in bound.refused]
        return {p.name: p.ip_address for p in in_tx(session, mine)}

    booked: dict[str, str] | None
    if book:
        bound, booked = networking.bind(
            ctx.db, partition_id, tenant, common & set(facts),
            max_slots=ctx.settings.max_namespaces_per_tenant,
            use_namespaces=ctx.settings.use_namespaces,
            ports={s: [n for n, _ in names] for s, names in wanted.items()},
            then=book_too if in_tx is not None else None)
    else:
        bound, booked = _recorded(ctx, partition_id, facts, common, wanted)
    for subnet_id, reason in bound.refused.items():
        failures.update({o: reason for o in by_subnet[subnet_id]})
    # The port names are recorded (by bind, in its transaction) before or as they are booked,
    # so a crash in between leaves nothing that release would not find.
    booking = [w for w in booking if w[2] not in bound.refused]
    address = booked if booked is not None else _ensure_ports(ctx.source, booking)
    plans: list[SubnetPlan] = []
    for subnet_id in sorted(facts):
        if subnet_id in bound.refused:
            continue
        f = facts[subnet_id]
        if subnet_id in common:
            plans.append(SubnetPlan(subnet_id, f.network_id, f.cidr, f.ip_version,
                                    f.gateway_ip, 0, True))
            continue
        plans.append(_plan(ctx, partition, f, bound.subnet_rd.get(subnet_id, 0), address))
    used_nets = sorted({p.network_id for p in plans})
    fdb = []
    for net in used_nets:
        seg = segments[net]
        if seg.network_type in TUNNEL_TYPES and not any(
                p.common for p in plans if p.network_id == net):
            fdb += ctx.source.fdb_records(net, _member_addresses(state, plans, net))
    return PartitionNetwork(
        route_domains=bound.route_domains,
        segments=tuple(segments[n] for n in used_nets),
        subnets=tuple(plans),
        fdb=tuple(fdb),
        vteps=dict(ctx.vteps or {}),
        failures=failures,
    )


def _recorded(ctx: Context, partition_id: int, facts: Mapping[str, SubnetFacts],
              common: set[str], wanted: Mapping[str, list[tuple[str, str]]],
              ) -> tuple[networking.Bound, dict[str, str]]:
    """Read only: the binding and port addresses the agents recorded for these subnets; a
    subnet without them is refused as not prepared yet."""
    def read(session: Session) -> tuple[dict[int, int], dict[str, tuple[int, set[str]]]]:
        rds = {r.id: r.slot for r in session.scalars(
            sa.select(m.RouteDomain).where(m.RouteDomain.partition_id == partition_id))}
        rows = {b.subnet_id: (b.route_domain_id or 0, set(b.ports or ())) for b in
                session.scalars(sa.select(m.SubnetBinding).where(
                    m.SubnetBinding.partition_id == partition_id))}
        return rds, rows

    rds, rows = ctx.db.query(read)
    refused: dict[str, str] = {}
    subnet_rd: dict[str, int] = {}
    names: list[str] = []
    for subnet_id in sorted(facts):
        row = rows.get(subnet_id)
        need = [n for n, _ in wanted.get(subnet_id, [])]
        if row is None or not set(need) <= row[1]:
            refused[subnet_id] = (f"subnet {subnet_id} not prepared yet: no agent has bound it "
                                  "and booked its ports")
            continue
        subnet_rd[subnet_id] = 0 if subnet_id in common else row[0]
        names += need
    address = booked_addresses(ctx.source, names) if names else {}
    for subnet_id in sorted(subnet_rd):
        lost = [n for n, _ in wanted.get(subnet_id, []) if (n, subnet_id) not in address]
        if lost:
            refused[subnet_id] = (f"subnet {subnet_id}: port(s) {', '.join(lost)} not found in "
                                  f"{ctx.source_name}")
            del subnet_rd[subnet_id]
    used = sorted({rd for rd in subnet_rd.values() if rd}, key=lambda rd: rds.get(rd, 0))
    return (networking.Bound(tuple(used), subnet_rd, refused),
            {name: ip for (name, _sub), ip in address.items()})


def booked_addresses(source: NetworkSource, names: list[str]) -> dict[tuple[str, str], str]:
    """Read only: (port name, subnet id) -> address of the ports of ours with these names that
    the source has."""
    find = getattr(source, "booked", None)
    if find is None:
        raise NetworkSourceError(f"{type(source).__name__} cannot list booked ports")
    return {(p.name, p.subnet_id): p.ip_address for p in find(names)}


def _missing(subnet_id: str) -> SubnetFacts:
    raise NotFound(subnet_id)


def _segment_problem(seg: Segment, settings: NetworkSettings) -> str | None:
    net = seg.network_id
    if not seg.network_type:
        return f"network {net} has no segment (provider:network_type): nothing to attach to"
    if seg.network_type in ("vlan", "vxlan", "gre") and seg.segmentation_id is None:
        return f"network {net} ({seg.network_type}) has no segmentation id"
    if seg.network_type in TUNNEL_TYPES:
        if seg.network_type not in settings.advertised_tunnel_types:
            return (f"network {net} is {seg.network_type}, not in advertised_tunnel_types "
                    f"({', '.join(settings.advertised_tunnel_types) or 'empty'})")
        if not settings.vtep_selfip_name:
            return (f"network {net} is {seg.network_type}: f5_vtep_selfip_name is not set, "
                    "so the tunnel has no local address")
    elif settings.mapping_for(seg.physical_network) is None:
        return (f"network {net}: physical network {seg.physical_network} has no entry in "
                "f5_external_physical_mappings and there is no default entry")
    return None


def _port_names(ctx: Context, partition: str, subnet_id: str) -> list[tuple[str, str]]:
    """(port name, device id) of every port the subnet needs: a self IP per device, a floating
    one on pair and scale-N, the SNAT addresses."""
    names = [(local_port(d, subnet_id), d) for d in ctx.devices]
    if len(ctx.devices) > 1:
        names.append((floating_port(subnet_id), partition))
    if ctx.settings.snat_mode:
        names += [(snat_port(partition, subnet_id, i), partition)
                  for i in range(ctx.settings.snat_addresses_per_subnet)]
    return names


def _ensure_ports(source: NetworkSource,
                  wanted: list[tuple[str, str, str, str, str]]) -> dict[str, str]:
    """Port name -> address, booking what is missing: in one go where the source can (the
    built-in registry: one read, and one write transaction only if something is missing),
    else port by port."""
    batch = getattr(source, "ensure_ports", None)
    if batch is not None:
        return {p.name: p.ip_address for p in batch(wanted)}
    return {name: source.ensure_port(name=name, network_id=net, subnet_id=sub,
                                     project_id=project, device_id=device).ip_address
            for name, net, sub, project, device in wanted}


def _plan(ctx: Context, partition: str, f: SubnetFacts, rd: int,
          address: Mapping[str, str]) -> SubnetPlan:
    floating = address[floating_port(f.id)] if len(ctx.devices) > 1 else None
    snats = tuple(address[snat_port(partition, f.id, i)]
                  for i in range(ctx.settings.snat_addresses_per_subnet)
                  if ctx.settings.snat_mode)
    return SubnetPlan(f.id, f.network_id, f.cidr, f.ip_version, f.gateway_ip, rd, False,
                      {d: address[local_port(d, f.id)] for d in ctx.devices}, floating, snats)


def _member_addresses(state: PartitionState, plans: Sequence[SubnetPlan], net: str) -> list[str]:
    on_net = {p.subnet_id for p in plans if p.network_id == net}
    return sorted({m.address for lb in state.load_balancers for pool in lb.pools
                   for m in pool.members if (m.subnet_id or lb.vip_subnet_id) in on_net})

