"""L2/L3 mode's shared state: route-domain ids held by partitions and the subnets each partition
has networking on (``subnet_binding``), all the SQL of it.

Route-domain ids are allocated here, once, and every device of the cluster is written the same
id (F5's agent picked the lowest id free on each device, so a pair could disagree: PR #1388).
The id is ``route_domain``'s primary key: two agents allocating at once for two partitions can
pick the same lowest free id, and one insert then fails (``DuplicateRow`` in a savepoint) and
that allocator takes the next id. A partition's own allocation runs with its partition row
locked, so an old owner finishing late and the new owner never book two ids for one slot.

A binding is stable: a subnet keeps its route domain as long as the partition uses it. Release
(``release``) happens only after every device applied the removal, so an id is never reused
while a device may still hold the old route domain.

Must not: talk to a device or a network source.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.errors import DuplicateRow
from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database, savepoint
from bigip_lbaas.engine.route_domains import assign, lowest_free

T = TypeVar("T")
# Inserts tried per new route domain before giving up (each loses only to a concurrent winner).
ALLOCATE_ATTEMPTS = 64


class AllocationFailed(Exception):
    """No route-domain id could be taken after ALLOCATE_ATTEMPTS tries (retried later)."""


@dataclass(frozen=True)
class Bound:
    """What one partition's subnets got: route domains in slot order (the first the default),
    each wanted subnet's route domain (0: none of ours), those refused (subnet -> reason), and
    the port names already recorded per subnet."""

    route_domains: tuple[int, ...] = ()
    subnet_rd: Mapping[str, int] = field(default_factory=dict)
    refused: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def bind(
    db: Database,
    partition_id: int,
    tenant: Mapping[str, str],
    common: Iterable[str] = (),
    *,
    max_slots: int = 1,
    use_namespaces: bool = True,
    ports: Mapping[str, Iterable[str]] | None = None,
    then: Callable[[Session, Bound], T] | None = None,
) -> tuple[Bound, T | None]:
    """Bind the partition's subnets: ``tenant`` (subnet id -> CIDR) to route domains of the
    partition (allocated when missing; all in route domain 0 without ``use_namespaces``), and
    ``common`` ones to route domain 0; record ``ports`` (subnet id -> port names to be booked
    for it). One transaction, none when all of it is already so. ``then``: more work for that
    transaction when there is one (the built-in source books its ports in it); its result is
    returned with the binding (None when no transaction was needed)."""
    tenant, common = dict(tenant), set(common)
    names = {s: set(n) for s, n in (ports or {}).items()}
    known = db.query(lambda s: _already_bound(s, partition_id, tenant, common, use_namespaces,
                                              names))
    if known is not None:  # every reconcile after the first: no write transaction
        return known, None

    def write(session: Session) -> tuple[Bound, T | None]:
        bound = bind_in(session, partition_id, tenant, common, max_slots=max_slots,
                        use_namespaces=use_namespaces, ports=names)
        return bound, then(session, bound) if then is not None else None

    return db.run(write)


def _already_bound(session: Session, partition_id: int, tenant: dict[str, str],
                   common: set[str], use_namespaces: bool,
                   ports: Mapping[str, set[str]]) -> Bound | None:
    """The partition's bindings when every subnet wanted is bound as it should be (tenant ones
    in a route domain of the partition with namespaces, else none; common ones in none);
    None when ``bind_in`` has work to do."""
    rds = {r.slot: r.id for r in session.scalars(
        sa.select(m.RouteDomain).where(m.RouteDomain.partition_id == partition_id))}
    rows = {b.subnet_id: b for b in session.scalars(
        sa.select(m.SubnetBinding).where(m.SubnetBinding.partition_id == partition_id))}
    subnet_rd: dict[str, int] = {}
    for subnet in set(tenant) | common:
        row = rows.get(subnet)
        if row is None or not ports.get(subnet, set()) <= set(row.ports or ()):
            return None
        rd = row.route_domain_id or 0
        if subnet in common or not use_namespaces:
            if rd:
                return None
        elif rd not in rds.values():
            return None
        subnet_rd[subnet] = rd
    if use_namespaces and tenant and any(
            _overlap(tenant[a], tenant[b]) for a in tenant for b in tenant
            if a < b and subnet_rd[a] == subnet_rd[b]):
        return None  # cannot be as bound: let bind_in sort it out (and refuse)
    used = sorted({rd for rd in subnet_rd.values() if rd}, key=lambda rd: slot_of(rds, rd))
    return Bound(tuple(used), subnet_rd, {}, {s: tuple(rows[s].ports or ()) for s in subnet_rd})


def _overlap(a: str, b: str) -> bool:
    x, y = ipaddress.ip_network(a, strict=False), ipaddress.ip_network(b, strict=False)
    return x.version == y.version and x.overlaps(y)


def bind_in(
    session: Session,
    partition_id: int,
    tenant: dict[str, str],
    common: set[str],
    *,
    max_slots: int,
    use_namespaces: bool,
    ports: Mapping[str, set[str]] | None = None,
) -> Bound:
    # One allocator per partition at a time: the old and the new owner queue here.
    session.execute(sa.select(m.Partition.id).where(m.Partition.id == partition_id)
                    .with_for_update())
    rds = {r.slot: r.id for r in session.scalars(
        sa.select(m.RouteDomain).where(m.RouteDomain.partition_id == partition_id)
        .with_for_update())}
    rows = {b.subnet_id: b for b in session.scalars(
        sa.select(m.SubnetBinding).where(m.SubnetBinding.partition_id == partition_id)
        .with_for_update())}
    slot_of_rd = {rd: slot for slot, rd in rds.items()}
    refused: dict[str, str] = {}
    subnet_rd: dict[str, int] = {s: 0 for s in common}
    if use_namespaces and tenant:
        bound = {s: slot_of_rd[b.route_domain_id] for s, b in rows.items()
                 if b.route_domain_id in slot_of_rd and s in tenant}
        plan = assign(bound, tenant, list(tenant), max_slots)
        refused.update(plan.refused)
        for slot in sorted(set(plan.slots.values())):
            if slot not in rds:
                rds[slot] = _new_route_domain(session, partition_id, slot)
        subnet_rd.update({s: rds[slot] for s, slot in plan.slots.items()})
    else:
        subnet_rd.update({s: 0 for s in tenant})
    for subnet, rd in subnet_rd.items():
        wanted_rd = rd or None
        row = rows.get(subnet)
        if row is None:
            row = m.SubnetBinding(partition_id=partition_id, subnet_id=subnet,
                                  route_domain_id=wanted_rd, ports=[])
            session.add(row)
            rows[subnet] = row
        elif row.route_domain_id != wanted_rd:
            # The mode or the subnet's network changed: its networking moves (its old objects
            # are removed from the devices by this very reconcile).
            row.route_domain_id = wanted_rd
        merged = sorted(set(row.ports or ()) | (ports or {}).get(subnet, set()))
        if merged != sorted(row.ports or ()):
            row.ports = merged
    session.flush()
    used = sorted({rd for rd in subnet_rd.values() if rd}, key=lambda rd: slot_of(rds, rd))
    return Bound(tuple(used), subnet_rd, refused,
                 {s: tuple(rows[s].ports or ()) for s in subnet_rd})


def slot_of(rds: Mapping[int, int], rd: int) -> int:
    return next(slot for slot, i in rds.items() if i == rd)


def _new_route_domain(session: Session, partition_id: int, slot: int) -> int:
    """The lowest id >= 1 no partition holds, inserted; a concurrent winner of that id makes
    the insert fail and the next id is tried (ids tried are remembered, since a REPEATABLE READ
    snapshot, as MariaDB's, does not show the winner's row)."""
    tried: set[int] = set()
    for _ in range(ALLOCATE_ATTEMPTS):
        taken = set(session.scalars(sa.select(m.RouteDomain.id)))
        rd = lowest_free(taken | tried)
        try:
            with savepoint(session):
                session.add(m.RouteDomain(id=rd, partition_id=partition_id, slot=slot))
                session.flush()
        except DuplicateRow:
            tried.add(rd)
            continue
        return rd
    raise AllocationFailed(f"no route-domain id after {ALLOCATE_ATTEMPTS} attempts")


@dataclass(frozen=True)
class Released:
    subnets: tuple[str, ...] = ()
    route_domains: tuple[int, ...] = ()
    ports: tuple[str, ...] = ()  # names of the ports booked for the released subnets


def unused(db: Database, partition_id: int, keep: Iterable[str]) -> Released:
    """What ``release`` would release (read only): bindings not in ``keep`` and their ports."""
    keep = set(keep)

    def read(session: Session) -> Released:
        rows = [b for b in session.scalars(sa.select(m.SubnetBinding).where(
            m.SubnetBinding.partition_id == partition_id)) if b.subnet_id not in keep]
        return Released(tuple(sorted(b.subnet_id for b in rows)), (),
                        tuple(sorted(p for b in rows for p in b.ports or ())))

    return db.query(read)


def release(db: Database, partition_id: int, keep: Iterable[str]) -> Released:
    """Forget the bindings of subnets not in ``keep`` and every route domain of the partition
    no binding uses any more (all of them once it has no subnet left). Call only once every
    device has removed their objects. Returns what went (the ports are the caller's to
    delete)."""
    keep = set(keep)

    def write(session: Session) -> Released:
        rows = list(session.scalars(sa.select(m.SubnetBinding).where(
            m.SubnetBinding.partition_id == partition_id)))
        gone = [b for b in rows if b.subnet_id not in keep]
        for b in gone:
            session.delete(b)
        session.flush()
        still = {b.route_domain_id for b in rows if b.subnet_id in keep}
        rds = list(session.scalars(sa.select(m.RouteDomain).where(
            m.RouteDomain.partition_id == partition_id)))
        freed = [r for r in rds if r.id not in still]
        for r in freed:
            session.delete(r)
        return Released(tuple(sorted(b.subnet_id for b in gone)),
                        tuple(sorted(r.id for r in freed)),
                        tuple(sorted(p for b in gone for p in b.ports or ())))

    return db.run(write)


def route_domains(db: Database) -> dict[int, tuple[int, int]]:
    """Every route-domain id held: id -> (partition id, slot)."""
    return db.query(lambda s: {r.id: (r.partition_id, r.slot) for r in s.scalars(
        sa.select(m.RouteDomain))})
