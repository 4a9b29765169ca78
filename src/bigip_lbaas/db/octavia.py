"""The statuses owed to Octavia (`octavia_status`): marked by the provider driver, delivered by
`bigip-lbaas octavia-bridge`, level-based.

The driver marks, in the transaction of each desired-state change, every object Octavia shows
as pending for it (the object and the parents Octavia locked) with the status Octavia shows
and a new `version`. A bridge claims load balancers (the claim columns of the load balancer's
row, a conditional UPDATE judged by the database clock, as `db/leases.py` does for partitions),
and for each one whose objects are all settled in this product's tables (none pending) computes
what Octavia shows differently from them: a status, or DELETED for an object that is gone. Once
Octavia's driver agent acknowledged the delivery, `acknowledge` records it, compare-and-set on
the versions read, so a newer mark is never overwritten; DELETED rows are removed. Nothing is
delivered from memory: a bridge that dies leaves the rows as they were, and the next one (or
the same, restarted) computes the same delivery again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.status import PENDING, Prov
from bigip_lbaas.db import models as m
from bigip_lbaas.db.desired import MODELS
from bigip_lbaas.db.session import Database, chunks, session_now

S = m.OctaviaStatus
# This product's kinds (db/desired.MODELS) -> the keys of Octavia's status update.
OCTAVIA_KEYS = {"load_balancer": "loadbalancers", "listener": "listeners", "pool": "pools",
                "member": "members", "health_monitor": "healthmonitors",
                "l7policy": "l7policies", "l7rule": "l7rules"}
PENDING_NAMES = tuple(str(p) for p in PENDING)


@dataclass(frozen=True)
class Owed:
    """One object's statuses to deliver: DELETED when it is gone here."""

    kind: str
    object_id: str
    provisioning_status: str
    operating_status: str | None
    version: int
    shown: str = ""  # what Octavia showed before this delivery


@dataclass
class Delivery:
    """What one load balancer's tree owes Octavia (possibly nothing)."""

    load_balancer_id: str
    owed: list[Owed] = field(default_factory=list)

    def created(self) -> Owed | None:
        """One object this delivery reports on that Octavia shows PENDING_CREATE (the load
        balancer if it is one): every object of one change is committed by Octavia in one
        transaction, so if this one is visible to Octavia's driver agent, all are."""
        news = [o for o in self.owed if o.shown == Prov.PENDING_CREATE]
        return next((o for o in news if o.kind == "load_balancer"), news[0] if news else None)

    def status_update(self) -> dict[str, list[dict[str, str]]]:
        """The dictionary octavia-lib's `update_loadbalancer_status` takes."""
        out: dict[str, list[dict[str, str]]] = {}
        for o in self.owed:
            item = {"id": o.object_id, "provisioning_status": o.provisioning_status}
            if o.operating_status and o.provisioning_status != Prov.DELETED:
                item["operating_status"] = o.operating_status
            out.setdefault(OCTAVIA_KEYS[o.kind], []).append(item)
        return out


def mark(session: Session, load_balancer_id: str,
         marks: Iterable[tuple[str, str, str]]) -> None:
    """Record, in the caller's transaction, that Octavia now shows each (kind, id) with the
    given provisioning status; bumps each row's version (inserting rows for new objects)."""
    wanted: dict[tuple[str, str], str] = {(kind, oid): status for kind, oid, status in marks}
    if not wanted:
        return
    ids = sorted({oid for _, oid in wanted})
    found: set[tuple[str, str]] = set()
    for chunk in chunks(ids):
        found |= {(k, i) for k, i in session.execute(
            sa.select(S.kind, S.object_id).where(S.object_id.in_(chunk)))}
    for (kind, oid), status in wanted.items():
        if (kind, oid) in found:
            session.execute(sa.update(S).where(S.kind == kind, S.object_id == oid)
                            .values(provisioning_status=status, version=S.version + 1)
                            .execution_options(synchronize_session=False))
        else:
            session.add(S(kind=kind, object_id=oid, load_balancer_id=load_balancer_id,
                          provisioning_status=status, operating_status=None, version=1,
                          claimed_by=None, claim_expires=0.0))


def candidates(db: Database, *, limit: int, everything: bool = False,
               after: str = "") -> list[str]:
    """Load balancers with something pending in Octavia (oldest ids first), or, with
    `everything`, every tracked load balancer after `after` (a sweep for operating statuses)."""

    def work(session: Session) -> list[str]:
        if everything:
            stmt = (sa.select(S.object_id).where(S.kind == "load_balancer", S.object_id > after)
                    .order_by(S.object_id).limit(limit))
        else:
            stmt = (sa.select(S.load_balancer_id)
                    .where(S.provisioning_status.in_(PENDING_NAMES))
                    .group_by(S.load_balancer_id).order_by(S.load_balancer_id).limit(limit))
        return list(session.scalars(stmt))

    return db.query(work)


def claim(db: Database, me: str, lb_ids: Sequence[str], ttl: float) -> list[str]:
    """Claim the listed load balancers' deliveries for `ttl` seconds: those free, expired or
    already mine. Returns the ids now claimed by `me`."""
    if not lb_ids:
        return []
    now = db.now()

    def work(session: Session) -> list[str]:
        session.execute(
            sa.update(S)
            .where(S.kind == "load_balancer", S.object_id.in_(lb_ids),
                   sa.or_(S.claimed_by.is_(None), S.claimed_by == me, S.claim_expires <= now))
            .values(claimed_by=me, claim_expires=now + ttl)
            .execution_options(synchronize_session=False))
        return list(session.scalars(sa.select(S.object_id).where(
            S.kind == "load_balancer", S.object_id.in_(lb_ids), S.claimed_by == me)))

    return db.run(work)


def release(db: Database, me: str, lb_ids: Sequence[str]) -> None:
    if not lb_ids:
        return
    db.run(lambda session: session.execute(
        sa.update(S).where(S.kind == "load_balancer", S.object_id.in_(lb_ids),
                           S.claimed_by == me)
        .values(claimed_by=None, claim_expires=0.0)
        .execution_options(synchronize_session=False)))


def owed(db: Database, lb_ids: Sequence[str]) -> list[Delivery]:
    """For each settled load balancer among `lb_ids` (none of its tracked objects pending
    here), what Octavia shows differently from this product's tables. Unsettled ones are left
    out: Octavia hears about a change once, when all of it is done."""
    if not lb_ids:
        return []

    def work(session: Session) -> list[Delivery]:
        tracked: dict[str, list[m.OctaviaStatus]] = {}
        for chunk in chunks(list(lb_ids)):
            for row in session.scalars(sa.select(S).where(S.load_balancer_id.in_(chunk))):
                tracked.setdefault(row.load_balancer_id, []).append(row)
        by_kind: dict[str, list[str]] = {}
        for rows in tracked.values():
            for row in rows:
                by_kind.setdefault(row.kind, []).append(row.object_id)
        current: dict[tuple[str, str], tuple[str, str]] = {}
        for kind, ids in by_kind.items():
            table = MODELS[kind]
            for chunk in chunks(ids):
                for oid, p_status, o_status in session.execute(
                        sa.select(table.id, table.provisioning_status, table.operating_status)
                        .where(table.id.in_(chunk))):
                    current[(kind, oid)] = (p_status, o_status)
        out: list[Delivery] = []
        for lb_id, rows in tracked.items():
            now = {(r.kind, r.object_id): current.get((r.kind, r.object_id)) for r in rows}
            if any(c is not None and c[0] in PENDING_NAMES for c in now.values()):
                continue
            delivery = Delivery(lb_id)
            for r in rows:
                c = now[(r.kind, r.object_id)]
                prov = str(Prov.DELETED) if c is None else c[0]
                oper = None if c is None else c[1]
                if prov == Prov.DELETED or (prov, oper) != (r.provisioning_status,
                                                            r.operating_status):
                    delivery.owed.append(Owed(r.kind, r.object_id, prov, oper, r.version,
                                              r.provisioning_status))
            out.append(delivery)
        return out

    return db.query(work)


def acknowledge(db: Database, me: str, delivery: Delivery) -> bool:
    """Octavia took `delivery`: record it (compare-and-set on each row's version), and drop the
    rows it took as DELETED. False, and nothing written, when the claim is no longer ours."""

    def work(session: Session) -> bool:
        held = session.scalar(sa.select(S.object_id).where(
            S.kind == "load_balancer", S.object_id == delivery.load_balancer_id,
            S.claimed_by == me, S.claim_expires > session_now(session)).with_for_update())
        if held is None:
            return False
        for o in delivery.owed:
            where = (S.kind == o.kind, S.object_id == o.object_id, S.version == o.version)
            stmt: sa.Update | sa.Delete
            if o.provisioning_status == Prov.DELETED:
                stmt = sa.delete(S).where(*where)
            else:
                stmt = sa.update(S).where(*where).values(
                    provisioning_status=o.provisioning_status,
                    operating_status=o.operating_status)
            session.execute(stmt.execution_options(synchronize_session=False))
        return True

    return db.run(work)


def listener_stats(db: Database, *, limit: int, after: str = "") -> list[dict[str, object]]:
    """The counters of tracked listeners (after `after`, by id), as octavia-lib's
    `update_listener_statistics` takes them."""

    def work(session: Session) -> list[dict[str, object]]:
        st = m.ListenerStats
        rows = session.execute(
            sa.select(st.listener_id, st.active_connections, st.bytes_in, st.bytes_out,
                      st.request_errors, st.total_connections)
            .join(S, sa.and_(S.kind == "listener", S.object_id == st.listener_id))
            .where(st.listener_id > after).order_by(st.listener_id).limit(limit))
        return [{"id": lid, "active_connections": int(a), "bytes_in": int(bi),
                 "bytes_out": int(bo), "request_errors": int(re_), "total_connections": int(t)}
                for lid, a, bi, bo, re_, t in rows]

    return db.query(work)
