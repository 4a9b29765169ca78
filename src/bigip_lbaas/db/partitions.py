"""Partition rows: created on first use, and the desired-generation bump every API write makes.

The API calls `mark_changed` inside the same transaction that writes desired state, so an agent
that sees the new generation is guaranteed to see the rows that caused it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.errors import DuplicateRow
from bigip_lbaas.db.models import LoadBalancer, Partition, PartitionLease
from bigip_lbaas.db.session import Database, notify, savepoint, session_now


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
