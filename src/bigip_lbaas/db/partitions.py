"""Partition rows: created on first use, and the desired-generation bump every API write makes.

The API calls `mark_changed` inside the same transaction that writes desired state, so an agent
that sees the new generation is guaranteed to see the rows that caused it.
"""

from __future__ import annotations

import functools
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.errors import DuplicateRow
from bigip_lbaas.db.models import LoadBalancer, Partition, PartitionLease
from bigip_lbaas.db.session import Database, notify, savepoint, server_now, session_now


def ensure_partition(session: Session, environment: str, project_id: str) -> int:
    """Return the id of the (environment, project) partition, creating it and its lease row."""
    where = (Partition.environment == environment, Partition.project_id == project_id)
    found = session.scalar(sa.select(Partition.id).where(*where))
    if found is not None:
        return found
    try:
        with savepoint(session):
            row = Partition(
                environment=environment,
                project_id=project_id,
                desired_generation=0,
                applied_generation=0,
            )
            session.add(row)
            session.flush()
            session.add(PartitionLease(partition_id=row.id, owner=None, epoch=0, expires_at=0.0))
            session.flush()
            return row.id
    except DuplicateRow:
        # Another API replica created it between our SELECT and INSERT.
        return session.scalars(sa.select(Partition.id).where(*where)).one()


# PostgreSQL NOTIFY channel that wakes agents; the payload is only a hint (a partition id).
CHANNEL = "bigip_lbaas_changed"


def mark_changed(session: Session, partition_id: int) -> None:
    """Bump the desired generation: the partition's owner will reconcile it.

    On PostgreSQL the owner is also woken at commit (NOTIFY is transactional); elsewhere it
    finds the change on its next short poll.
    """
    now = session_now(session)
    session.execute(
        sa.update(Partition)
        .where(Partition.id == partition_id)
        .values(
            desired_generation=Partition.desired_generation + 1,
            pending_since=sa.func.coalesce(Partition.pending_since, now),
        )
    )
    notify(session, CHANNEL, str(partition_id))


def mark_changed_by_key(session: Session, environment: str, project_id: str) -> int:
    """`ensure_partition` then `mark_changed`, in one round trip when the partition exists and
    the database has UPDATE ... RETURNING (PostgreSQL, with the NOTIFY in the same statement;
    SQLite): the create path's bookkeeping. Returns the partition id."""
    dialect = session.get_bind().dialect
    if dialect.update_returning:
        found = session.execute(_bump_by_key(dialect.name),
                                {"key_environment": environment, "key_project_id": project_id}).first()
        if found is not None:
            return int(found[0])
    partition = ensure_partition(session, environment, project_id)
    mark_changed(session, partition)
    return partition


@functools.cache
def _bump_by_key(dialect_name: str) -> sa.Update:
    """`mark_changed_by_key`'s statement for a dialect, built once (its compiled form is cached)."""
    table = cast(sa.Table, Partition.__table__)
    stmt = (sa.update(table)
            .where(table.c.environment == sa.bindparam("key_environment"),
                   table.c.project_id == sa.bindparam("key_project_id"))
            .values(desired_generation=table.c.desired_generation + 1,
                    pending_since=sa.func.coalesce(table.c.pending_since,
                                                   server_now(dialect_name)))
            .returning(table.c.id))
    if dialect_name == "postgresql":
        # NOTIFY is transactional however it is called: sent at commit, as `notify` does.
        stmt = stmt.returning(sa.func.pg_notify(CHANNEL, sa.cast(table.c.id, sa.Text)))
    return stmt


def request_full_read(session: Session, partition_id: int) -> None:
    """Bump the desired generation (``mark_changed``) and ask that its reconcile read every
    device afresh: the owner forgets what it remembers of them, so a device changed behind its
    back is repaired (``loadbalancer failover``)."""
    mark_changed(session, partition_id)
    session.execute(
        sa.update(Partition)
        .where(Partition.id == partition_id)
        .values(full_read_generation=Partition.desired_generation)
    )


def load_balancer_counts(db: Database, environment: str) -> dict[int, int]:
    """How many load balancers each partition of `environment` holds (placement's weights;
    partitions without any are left out)."""

    def work(session: Session) -> dict[int, int]:
        rows = session.execute(
            sa.select(LoadBalancer.partition_id, sa.func.count())
            .join(Partition, Partition.id == LoadBalancer.partition_id)
            .where(Partition.environment == environment)
            .group_by(LoadBalancer.partition_id)
        ).tuples()
        return {int(pid): int(n) for pid, n in rows}

    return db.query(work)
