"""Write what a reconcile achieved: terminal statuses, generations, device progress, stats.

Every function here takes the lease it acts under and calls `leases.fence` first in the same
transaction, so a partition's former owner can never overwrite its successor's results. Status
updates are compare-and-set on the status the snapshot saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.status import Oper, Prov
from bigip_lbaas.db import models as m
from bigip_lbaas.db.desired import KINDS, PendingObject, Snapshot
from bigip_lbaas.db.leases import Held, fence, fence_many
from bigip_lbaas.db.session import Database, chunks, server_now
from bigip_lbaas.engine.health import ListenerStats, PartitionStatus


@dataclass(frozen=True)
class ObjectFailure:
    """One Octavia object the devices could not take, and why (operator-readable)."""

    id: str
    reason: str


@dataclass(frozen=True)
class DeviceProgress:
    device: str
    in_step: bool
    error: str | None = None


def record_applied(
    db: Database,
    held: Held,
    me: str,
    snap: Snapshot,
    devices: Iterable[DeviceProgress],
    failures: Iterable[ObjectFailure] = (),
) -> None:
    """The snapshot is on the devices (less `failures`): finish its pending objects."""
    failed = {f.id: f.reason for f in failures}
    device_list = list(devices)

    def work(session: Session) -> None:
        fence(session, held, me)
        _finish(session, snap.pending, failed)
        _advance(session, snap, error=None)
        _record_devices(session, snap.partition_id, snap.generation, device_list)

    db.run(work)


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
    device_list = list(devices)

    def work(session: Session) -> None:
        fence(session, held, me)
        if give_up:
            _finish(session, snap.pending, {p.id: reason for p in snap.pending})
            _advance(session, snap, error=reason)
        else:
            session.execute(
                sa.update(m.Partition)
                .where(m.Partition.id == snap.partition_id)
                .values(last_error=reason)
            )
        _record_devices(session, snap.partition_id, None, device_list)

    db.run(work)


def _finish(session: Session, pending: Iterable[PendingObject], failed: Mapping[str, str]) -> None:
    """Each pending object to its terminal state, compare-and-set on the status the snapshot saw:
    ERROR with its reason, deleted, or ACTIVE. One statement per kind, status and outcome (IN
    lists), not one per object: a cold partition of 10 load balancers has 60 pending objects."""
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
    order = list(KINDS)  # children first, so deletes never trip a foreign key
    for (kind, status, reason), ids in sorted(groups.items(), key=lambda g: order.index(g[0][0])):
        table = KINDS[kind]
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
            if kind in ("load_balancer", "listener"):
                values["operating_status"] = Oper.ONLINE  # refined by status collection
            stmt = sa.update(table).values(**values)
        for chunk in chunks(ids):
            session.execute(
                stmt.where(table.id.in_(chunk), table.provisioning_status == status),
                execution_options={"synchronize_session": False},
            )


def _advance(session: Session, snap: Snapshot, error: str | None) -> None:
    p = m.Partition
    caught_up = p.desired_generation <= snap.generation
    session.execute(
        sa.update(p)
        .where(p.id == snap.partition_id)
        .values(
            applied_generation=sa.case(
                (p.applied_generation < snap.generation, snap.generation),
                else_=p.applied_generation,
            ),
            pending_since=sa.case((caught_up, None), else_=p.pending_since),
            last_error=error,
        )
    )


def _record_devices(
    session: Session, partition_id: int, generation: int | None, devices: list[DeviceProgress]
) -> None:
    now = session.scalar(sa.select(server_now(session.get_bind().dialect.name)))
    for d in devices:
        row = session.get(m.DeviceState, (partition_id, d.device))
        if row is None:
            row = m.DeviceState(partition_id=partition_id, device=d.device, applied_generation=0)
            session.add(row)
        row.in_step = d.in_step
        row.last_error = d.error
        row.updated_at = float(now or 0.0)
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
            table = KINDS[kind]
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
    now = float(session.scalar(sa.select(server_now(session.get_bind().dialect.name))) or 0.0)
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
