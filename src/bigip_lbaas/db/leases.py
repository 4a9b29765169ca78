"""Partition leases: acquire, renew, release and the fence every status write passes through.

Each statement is a single conditional UPDATE judged by the database server's clock and by
rowcount (MariaDB has no UPDATE ... RETURNING). Every statement changes `expires_at`, so "rows
matched" and "rows changed" agree on every driver. A new owner always bumps the epoch; `fence`
locks the lease row and checks owner and epoch inside the caller's transaction, so a stale owner's
writes are refused atomically. Whether a lease is held is `PartitionLease.valid_where` (an
owner, and `expires_at` strictly ahead of the database clock); free is its negation.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.errors import LeaseLost
from bigip_lbaas.core.model import PartitionKey
from bigip_lbaas.db.models import Partition, PartitionLease
from bigip_lbaas.db.session import Database, server_now, session_now

L = PartitionLease


@dataclass(frozen=True)
class Held:
    """A lease this agent holds: partition id, its key and the epoch to fence writes with."""

    partition_id: int
    key: PartitionKey
    epoch: int


@dataclass(frozen=True)
class LeaseRow:
    partition_id: int
    key: PartitionKey
    owner: str | None
    expires_in: float  # seconds left on the database clock when the snapshot was read

    @property
    def valid(self) -> bool:
        """`PartitionLease.valid_where`, as of the snapshot."""
        return PartitionLease.is_valid(self.owner, self.expires_in, 0.0)


def snapshot(db: Database, environment: str) -> list[LeaseRow]:
    """Every partition of the environment with its lease, for placement."""

    def work(session: Session) -> list[LeaseRow]:
        now = db.now()
        rows = session.execute(
            sa.select(Partition.id, Partition.project_id, L.owner, L.expires_at - now)
            .join(L, L.partition_id == Partition.id)
            .where(Partition.environment == environment)
        )
        return [
            LeaseRow(pid, PartitionKey(environment, project), owner, float(left))
            for pid, project, owner, left in rows
        ]

    return db.query(work)


def acquire(db: Database, me: str, partition_ids: Collection[int], ttl: float) -> int:
    """Take every listed lease that is free or expired; returns how many were taken."""
    if not partition_ids:
        return 0
    now = db.now()

    def work(session: Session) -> int:
        result = session.execute(
            sa.update(L)
            .where(L.partition_id.in_(partition_ids), L.free_where(now))
            .values(owner=me, epoch=L.epoch + 1, expires_at=now + ttl)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    return db.run(work)


def renew_all(db: Database, me: str, ttl: float) -> list[Held]:
    """Extend every lease `me` still holds; return exactly those (with epochs).

    A lease of ours that expired but that nobody acquired (the owner is still us) is extended
    too, at the same epoch: nobody else can have written under it, since acquiring changes the
    owner, and our own guard stopped us writing at the renew deadline. So an outage of the
    database longer than the lease does not make every partition change hands afterwards.
    """
    now = db.now()

    def work(session: Session) -> list[Held]:
        session.execute(sa.update(L).where(L.owner == me).values(expires_at=now + ttl))
        rows = session.execute(
            sa.select(L.partition_id, L.epoch, Partition.environment, Partition.project_id)
            .join(Partition, Partition.id == L.partition_id)
            .where(L.owner == me)
        )
        return [Held(pid, PartitionKey(env, project), epoch) for pid, epoch, env, project in rows]

    return db.run(work)


def release(db: Database, me: str, partition_ids: Collection[int] | None = None) -> int:
    """Give leases back now (graceful stop or hand-over): the next owner need not wait."""

    def work(session: Session) -> int:
        query = sa.update(L).where(L.owner == me)
        if partition_ids is not None:
            if not partition_ids:
                return 0
            query = query.where(L.partition_id.in_(partition_ids))
        result = session.execute(query.values(owner=None, expires_at=0.0))
        return int(result.rowcount)  # type: ignore[attr-defined]

    return db.run(work)


def fence(session: Session, held: Held, me: str) -> None:
    """Lock our lease row and prove we still own it at this epoch, or raise LeaseLost.

    Call first inside the transaction that writes statuses: a concurrent acquire blocks on the
    row lock until we commit, and a stale epoch writes nothing.
    """
    if held.partition_id not in fence_many(session, [held], me):
        raise LeaseLost(str(held.key), held.epoch)


def fence_many(session: Session, held: Sequence[Held], me: str) -> set[int]:
    """``fence`` for several partitions at once: lock the lease rows we still own at the epochs
    we hold them, and return those partitions' ids (the others are lost)."""
    now = session_now(session)
    epochs = {h.partition_id: h.epoch for h in held}
    rows = session.execute(
        sa.select(L.partition_id, L.epoch)
        .where(L.partition_id.in_(list(epochs)), L.owner == me, L.valid_where(now))
        .order_by(L.partition_id)
        .with_for_update()
    ).all()
    return {pid for pid, epoch in rows if epochs.get(pid) == epoch}


@dataclass(frozen=True)
class Poll:
    """What an agent's work loop needs to know, read in one go."""

    behind: tuple[int, ...]  # partitions leased to us whose desired generation is ahead
    unowned: int  # partitions of the environment that no agent validly holds
    # those of ``behind`` whose next reconcile must read every device afresh (a failover)
    full_read: tuple[int, ...] = ()


@functools.cache
def _poll_statements(
    dialect: str,
) -> tuple[sa.Select[int, bool], sa.Select[int]]:
    """Built once per dialect: the poll runs ten times a second in every agent."""
    now = server_now(dialect)
    behind = (
        sa.select(Partition.id,
                  Partition.full_read_generation > Partition.applied_generation)
        .join(L, L.partition_id == Partition.id)
        .where(L.owner == sa.bindparam("me"),
               Partition.desired_generation > Partition.applied_generation)
    )
    unowned = (
        sa.select(sa.func.count()).select_from(L)
        .join(Partition, Partition.id == L.partition_id)
        .where(Partition.environment == sa.bindparam("environment"),
               L.free_where(now))
    )
    return behind, unowned


def poll(db: Database, me: str, environment: str) -> Poll:
    """The work loop's cheap periodic read: one read-only transaction, two indexed SELECTs."""
    behind_q, unowned_q = _poll_statements(db.dialect)

    def work(session: Session) -> Poll:
        conn = session.connection()
        behind = conn.execute(behind_q, {"me": me}).all()
        unowned = conn.execute(unowned_q, {"environment": environment}).scalar()
        return Poll(
            tuple(pid for pid, _ in behind),
            int(unowned or 0),
            tuple(pid for pid, full in behind if full),
        )

    return db.query(work)
