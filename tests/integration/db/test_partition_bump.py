"""`mark_changed_by_key`, the create path's partition bookkeeping in one statement: it creates
the partition (and its lease row) the first time, bumps the desired generation every time,
keeps the first `pending_since`, and on PostgreSQL wakes listeners at commit, as
`ensure_partition` + `mark_changed` do."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from bigip_lbaas.agent.wakeup import ChangeNotifications
from bigip_lbaas.db import models as m
from bigip_lbaas.db import partitions
from bigip_lbaas.db.session import Database


def _state(db: Database, pid: int) -> tuple[int, float | None, int]:
    def work(s: sa.orm.Session) -> tuple[int, float | None, int]:
        row = s.get(m.Partition, pid)
        assert row is not None
        leases = s.scalar(sa.select(sa.func.count()).select_from(m.PartitionLease)
                          .where(m.PartitionLease.partition_id == pid))
        return row.desired_generation, row.pending_since, int(leases or 0)

    return db.query(work)


def test_creates_then_bumps_the_partition(db: Database) -> None:
    with db.transaction() as s:
        pid = partitions.mark_changed_by_key(s, "Project", "p1")
    generation, since, leases = _state(db, pid)
    assert (generation, leases) == (1, 1)
    assert since is not None
    with db.transaction() as s:
        again = partitions.mark_changed_by_key(s, "Project", "p1")
        other = partitions.mark_changed_by_key(s, "Project", "p2")
    assert again == pid and other != pid
    assert _state(db, pid) == (2, since, 1)  # the oldest change's time is kept
    with db.transaction() as s:
        assert partitions.ensure_partition(s, "Project", "p1") == pid


def test_a_rolled_back_bump_leaves_nothing(db: Database) -> None:
    with db.transaction() as s:
        pid = partitions.mark_changed_by_key(s, "Project", "p1")
    with pytest.raises(RuntimeError), db.transaction() as s:
        partitions.mark_changed_by_key(s, "Project", "p1")
        raise RuntimeError("the create failed")
    assert _state(db, pid)[0] == 1


# LISTEN/NOTIFY is PostgreSQL's; on SQLite and MariaDB agents rely on the short poll.
@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_the_bump_wakes_listeners_at_commit(db: Database) -> None:
    with db.transaction() as s:
        partitions.ensure_partition(s, "Project", "p1")

    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        listener = ChangeNotifications(db.url, asyncio.get_running_loop(), event)
        listener.start()
        try:
            await asyncio.sleep(1.0)  # let it connect and LISTEN
            with db.transaction() as s:
                partitions.mark_changed_by_key(s, "Project", "p1")
                await asyncio.sleep(0.5)
                early = event.is_set()  # NOTIFY is delivered at commit, never before
            try:
                await asyncio.wait_for(event.wait(), timeout=10)
            except TimeoutError:
                return early, False
            return early, True
        finally:
            await asyncio.to_thread(listener.stop)

    early, woken = asyncio.run(scenario())
    assert not early
    assert woken
