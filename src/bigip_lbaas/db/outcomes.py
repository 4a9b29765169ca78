"""Write what a reconcile achieved: terminal statuses, generations, device progress, stats.

Every function here takes the lease it acts under and calls `leases.fence` (or `fence_many`)
first in the same transaction, so a partition's former owner can never overwrite its successor's
results. Status updates are compare-and-set on the status the snapshot saw. Several partitions'
outcomes go in one transaction (`record`): an agent catching up on a thousand partitions does
not commit a thousand times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.errors import LeaseLost
from bigip_lbaas.core.status import Oper, Prov, operating_at_active
from bigip_lbaas.db import models as m
from bigip_lbaas.db.desired import MODELS, PendingObject, Snapshot
from bigip_lbaas.db.leases import Held, fence_many
from bigip_lbaas.db.session import Database, chunks, session_now
from bigip_lbaas.engine.config import ObjectFailure
from bigip_lbaas.engine.health import ListenerStats, PartitionStatus


@dataclass(frozen=True)
class DeviceProgress:
    device: str
    in_step: bool
    error: str | None = None


@dataclass(frozen=True)
class Finished:
    """What one reconcile decided, to be written under ``held``: applied (``error`` None, less
    ``failures``), or failed with ``error`` (every pending object ERROR when ``give_up``)."""

    held: Held
    snap: Snapshot
    devices: tuple[DeviceProgress, ...] = ()
    failures: tuple[ObjectFailure, ...] = ()
    error: str | None = None
    give_up: bool = False


def record(db: Database, me: str, finished: Sequence[Finished]) -> set[int]:
    """Write several partitions' outcomes in one transaction. Those whose lease is lost are
    skipped (nothing of theirs is written); their partition ids are returned."""
    if not finished:
        return set()

    def work(session: Session) -> set[int]:
        owned = fence_many(session, [f.held for f in finished], me)
        kept = [f for f in finished if f.held.partition_id in owned]
        now = float(session.scalar(sa.select(session_now(session))) or 0.0)
        groups: dict[tuple[str, str, str | None], list[str]] = {}
        for f in kept:
            failed: dict[str, str] | None
            if f.error is None:
                failed = {x.object_id: x.reason for x in f.failures}
            else:
                failed = {p.id: f.error for p in f.snap.pending} if f.give_up else None
            if failed is not None:
                for group, ids in _terminal_groups(f.snap.pending, failed).items():
                    groups.setdefault(group, []).extend(ids)
        _finish(session, groups)
        # One UPDATE per (generation, error) for the partitions that advance (a cold rebuild's
        # are all at one generation), one per partition that only records its error.
        advancing: dict[tuple[int, str | None], list[int]] = {}
        for f in kept:
            if f.error is None or f.give_up:
                advancing.setdefault((f.snap.generation, f.error), []).append(f.snap.partition_id)
            else:
                session.execute(
                    sa.update(m.Partition)
                    .where(m.Partition.id == f.snap.partition_id)
                    .values(last_error=f.error)
                )
        for (generation, error), pids in advancing.items():
            _advance(session, pids, generation, error)
        _record_devices(session, [
            (f.snap.partition_id, f.snap.generation if f.error is None else None, f.devices)
            for f in kept
        ], now)
        return {f.held.partition_id for f in finished} - owned

    return db.run(work)


def record_applied(
    db: Database,
    held: Held,
    me: str,
    snap: Snapshot,
    devices: Iterable[DeviceProgress],
    failures: Iterable[ObjectFailure] = (),
) -> None:
    """The snapshot is on the devices (less `failures`): finish its pending objects."""
    _record_or_raise(db, me, Finished(held, snap, tuple(devices), tuple(failures)))


def record_failed(
    db: Database,
    held: Held,
    me: str,
    snap: Snapshot,
    reason: str,
    *,
    give_up: bool,
    devices: Iterable[DeviceProgress] = (),
) -> None:
    """A reconcile failed. With `give_up`, every pending object ends in ERROR with `reason`."""
    _record_or_raise(db, me, Finished(held, snap, tuple(devices), error=reason, give_up=give_up))


def _record_or_raise(db: Database, me: str, finished: Finished) -> None:
    if record(db, me, [finished]):
        raise LeaseLost(str(finished.held.key), finished.held.epoch)


def _terminal_groups(
    pending: Iterable[PendingObject], failed: Mapping[str, str]
) -> dict[tuple[str, str, str | None], list[str]]:
    """Each pending object's terminal change, grouped by (kind, status seen, ERROR reason or
    None): ERROR with its reason, deleted (PENDING_DELETE), or ACTIVE."""
    pending = list(pending)
    # A load balancer that is pending only because a child changed goes back to ACTIVE even
    # when that child failed (Octavia's revert semantics); its own failure makes it ERROR.
    child_pending = {p.load_balancer_id for p in pending if p.kind != "load_balancer"}
    groups: dict[tuple[str, str, str | None], list[str]] = {}  # (kind, status, reason) -> ids
    for obj in pending:
        reason = failed.get(obj.id)
        if (
            obj.kind == "load_balancer"
            and reason
            and obj.id in child_pending
            and obj.status == Prov.PENDING_UPDATE
        ):
            reason = None
        groups.setdefault((obj.kind, obj.status, reason), []).append(obj.id)
    return groups


def _finish(session: Session, groups: Mapping[tuple[str, str, str | None], list[str]]) -> None:
    """Each group of pending objects to its terminal state, compare-and-set on the status the
    snapshot saw. One statement per kind, status and outcome (IN lists), not one per object: a
    cold partition of 10 load balancers has 60 pending objects, and a batch has many such."""
    order = list(MODELS)  # children first, so deletes never trip a foreign key
    for (kind, status, reason), ids in sorted(groups.items(), key=lambda g: order.index(g[0][0])):
        table = MODELS[kind]
        stmt: sa.Update | sa.Delete
        if reason is not None:
            stmt = sa.update(table).values(
                provisioning_status=Prov.ERROR, status_reason=reason[:2000]
            )
        elif status == Prov.PENDING_DELETE:
            stmt = sa.delete(table)
        else:
            values: dict[str, object] = {
                "provisioning_status": Prov.ACTIVE,
                "status_reason": None,
            }
            oper = _operating_at_active(kind, table)
            if oper is not None:
                values["operating_status"] = oper  # refined by status collection
            stmt = sa.update(table).values(**values)
        for chunk in chunks(ids):
            session.execute(
                stmt.where(table.id.in_(chunk), table.provisioning_status == status),
                execution_options={"synchronize_session": False},
            )


def _operating_at_active(
    kind: str, table: type[m.OctaviaObject]
) -> sa.ColumnElement[str] | None:
    """``core.status.operating_at_active`` as a SQL expression over the row being updated (its
    enabled flag, its load balancer's for a listener, whether a listener uses a pool), or None
    when the rule leaves the status to the device for every row of this kind."""
    enabled: sa.ColumnElement[bool] = table.enabled.is_(True)
    if kind == "listener":
        lb = m.LoadBalancer
        enabled = sa.and_(enabled, sa.exists().where(
            lb.id == m.Listener.load_balancer_id, lb.enabled.is_(True)))
    if kind == "member":
        enabled = sa.and_(enabled, sa.exists().where(
            m.Pool.id == m.Member.pool_id, m.Pool.enabled.is_(True)))
    in_use: sa.ColumnElement[bool] = sa.true()
    if kind == "pool":
        lst, pol = m.Listener, m.L7Policy
        in_use = sa.or_(
            sa.exists().where(lst.default_pool_id == m.Pool.id,
                              lst.provisioning_status != Prov.PENDING_DELETE),
            sa.exists().where(pol.redirect_pool_id == m.Pool.id,
                              pol.provisioning_status != Prov.PENDING_DELETE))
    whens = []
    for e in (True, False):
        for u in (True, False):
            oper = operating_at_active(kind, enabled=e, in_use=u)
            if oper is not None:
                whens.append((sa.and_(enabled if e else sa.not_(enabled),
                                      in_use if u else sa.not_(in_use)), sa.literal(str(oper))))
    if not whens:
        return None
    return sa.case(*whens, else_=table.operating_status)


def _advance(session: Session, pids: list[int], generation: int, error: str | None) -> None:
    """These partitions have applied ``generation`` (or given up on it, with ``error``)."""
    p = m.Partition
    caught_up = p.desired_generation <= generation
    for chunk in chunks(pids):
        session.execute(
            sa.update(p)
            .where(p.id.in_(chunk))
            .values(
                applied_generation=sa.case(
                    (p.applied_generation < generation, generation),
                    else_=p.applied_generation,
                ),
                pending_since=sa.case((caught_up, None), else_=p.pending_since),
                last_error=error,
            ),
            execution_options={"synchronize_session": False},
        )


def _record_devices(
    session: Session,
    progress: Sequence[tuple[int, int | None, Sequence[DeviceProgress]]],
    now: float,
) -> None:
    """Each device's progress with each partition: (partition id, generation applied on the
    devices in step or None, devices). One read of the existing rows for all of them."""
    pids = [pid for pid, _, devices in progress if devices]
    rows: dict[tuple[int, str], m.DeviceState] = {}
    for chunk in chunks(pids):
        rows.update(
            ((r.partition_id, r.device), r)
            for r in session.scalars(
                sa.select(m.DeviceState).where(m.DeviceState.partition_id.in_(chunk))
            )
        )
    for pid, generation, devices in progress:
        for d in devices:
            row = rows.get((pid, d.device))
            if row is None:
                row = m.DeviceState(partition_id=pid, device=d.device, applied_generation=0)
                session.add(row)
                rows[(pid, d.device)] = row
            row.in_step = d.in_step
            row.last_error = d.error
            row.updated_at = now
            if d.in_step and generation is not None:
                row.applied_generation = max(row.applied_generation or 0, generation)


def record_observed(
    db: Database, me: str, observed: Sequence[tuple[Held, PartitionStatus]]
) -> set[int]:
    """Store operating statuses and listener counters read from the devices, for several
    partitions in one transaction; those whose lease is lost are skipped, and their ids returned.
    """

    def work(session: Session) -> set[int]:
        owned = fence_many(session, [held for held, _ in observed], me)
        kept = [status for held, status in observed if held.partition_id in owned]
        # One UPDATE per (kind, status), not per object.
        groups: dict[tuple[str, Oper], list[str]] = {}
        for status in kept:
            for (kind, obj_id), oper in status.operating.items():
                groups.setdefault((kind, oper), []).append(obj_id)
        for (kind, oper), ids in groups.items():
            table = MODELS[kind]
            for chunk in chunks(ids):
                session.execute(
                    sa.update(table)
                    .where(table.id.in_(chunk), table.operating_status != oper)
                    .values(operating_status=oper)
                )
        counters = {lid: item for status in kept for lid, item in status.listeners.items()}
        if counters:
            _write_stats(session, counters)
        return {held.partition_id for held, _ in observed} - owned

    return db.run(work)


def _write_stats(session: Session, counters: Mapping[str, tuple[str, ListenerStats]]) -> None:
    now = float(session.scalar(sa.select(session_now(session))) or 0.0)
    ids = list(counters)
    live: set[str] = set()
    rows: dict[str, m.ListenerStats] = {}
    for chunk in chunks(ids):
        live |= set(session.scalars(sa.select(m.Listener.id).where(m.Listener.id.in_(chunk))))
        rows.update(
            (r.listener_id, r)
            for r in session.scalars(
                sa.select(m.ListenerStats).where(m.ListenerStats.listener_id.in_(chunk))
            )
        )
    for listener_id, (lb_id, stats) in counters.items():
        if listener_id not in live:
            continue
        row = rows.get(listener_id)
        if row is None:
            row = m.ListenerStats(listener_id=listener_id, load_balancer_id=lb_id)
            session.add(row)
        row.bytes_in = stats.bytes_in
        row.bytes_out = stats.bytes_out
        row.active_connections = stats.active_connections
        row.total_connections = stats.total_connections
        row.request_errors = stats.request_errors
        row.updated_at = now
