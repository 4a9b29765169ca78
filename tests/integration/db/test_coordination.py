"""Leases, fencing and agent registration on each real database (DB clock decides)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from bigip_lbaas.core.errors import LeaseLost
from bigip_lbaas.db import agents, leases, partitions
from bigip_lbaas.db.agents import DuplicateAgent
from bigip_lbaas.db.models import Agent, Partition, PartitionLease
from bigip_lbaas.db.session import Database


def make_partitions(db: Database, n: int) -> list[int]:
    with db.transaction() as s:
        return [partitions.ensure_partition(s, "Project", f"proj{i}") for i in range(n)]


def test_ensure_partition_is_idempotent(db: Database) -> None:
    first = make_partitions(db, 3)
    assert make_partitions(db, 3) == first


def test_acquire_bumps_epoch_and_excludes_others(db: Database) -> None:
    pids = make_partitions(db, 2)
    assert leases.acquire(db, "a", pids, ttl=30) == 2
    assert leases.acquire(db, "b", pids, ttl=30) == 0
    held = {h.partition_id: h.epoch for h in leases.renew_all(db, "a", ttl=30)}
    assert held == {pids[0]: 1, pids[1]: 1}
    assert leases.renew_all(db, "b", ttl=30) == []


def test_expired_lease_is_taken_over_with_new_epoch_and_old_owner_is_fenced(db: Database) -> None:
    (pid,) = make_partitions(db, 1)
    leases.acquire(db, "a", [pid], ttl=0.5)
    (old,) = leases.renew_all(db, "a", ttl=0.5)
    time.sleep(1.2)
    assert leases.acquire(db, "b", [pid], ttl=30) == 1  # expired: anyone may take it
    assert leases.renew_all(db, "a", ttl=0.5) == []  # and the old owner cannot renew it
    (new,) = leases.renew_all(db, "b", ttl=30)
    assert new.epoch == old.epoch + 1
    with pytest.raises(LeaseLost), db.transaction() as s:
        leases.fence(s, old, "a")
    with db.transaction() as s:
        leases.fence(s, new, "b")


def test_expired_lease_nobody_took_is_renewed_at_the_same_epoch(db: Database) -> None:
    (pid,) = make_partitions(db, 1)
    leases.acquire(db, "a", [pid], ttl=0.5)
    (before,) = leases.renew_all(db, "a", ttl=0.5)
    time.sleep(1.2)
    (after,) = leases.renew_all(db, "a", ttl=30)
    assert after.epoch == before.epoch
    assert leases.acquire(db, "b", [pid], ttl=30) == 0


def test_release_frees_at_once(db: Database) -> None:
    (pid,) = make_partitions(db, 1)
    leases.acquire(db, "a", [pid], ttl=60)
    assert leases.release(db, "a") == 1
    assert leases.acquire(db, "b", [pid], ttl=60) == 1
    with db.transaction() as s:
        row = s.get(PartitionLease, pid)
        assert row is not None and row.owner == "b" and row.epoch == 2


def test_mark_changed_bumps_generation(db: Database) -> None:
    (pid,) = make_partitions(db, 1)
    leases.acquire(db, "a", [pid], ttl=60)
    with db.transaction() as s:
        partitions.mark_changed(s, pid)
        partitions.mark_changed(s, pid)
    assert leases.poll(db, "a", "Project") == leases.Poll(behind=(pid,), unowned=0)
    assert leases.poll(db, "b", "Project").behind == ()


def test_full_read_request_is_polled_until_applied(db: Database) -> None:
    """A failover's full-read request shows in the owner's poll while the partition is behind
    the generation it was made at, and no longer once that generation is applied."""
    (pid,) = make_partitions(db, 1)
    leases.acquire(db, "a", [pid], ttl=60)
    with db.transaction() as s:
        partitions.mark_changed(s, pid)
    assert leases.poll(db, "a", "Project").full_read == ()
    with db.transaction() as s:
        partitions.request_full_read(s, pid)
    assert leases.poll(db, "a", "Project") == leases.Poll(
        behind=(pid,), unowned=0, full_read=(pid,))
    with db.transaction() as s:
        row = s.get(Partition, pid)
        assert row is not None and row.full_read_generation == row.desired_generation == 2
        row.applied_generation = 2
    assert leases.poll(db, "a", "Project") == leases.Poll(behind=(), unowned=0)
    with db.transaction() as s:
        partitions.mark_changed(s, pid)  # a later change: no full read asked
    assert leases.poll(db, "a", "Project").full_read == ()


def register(db: Database, instance: str, lease: float = 5.0) -> None:
    agents.register(
        db,
        environment="Project",
        identity="host-1",
        host="host-1",
        instance_id=instance,
        lease_seconds=lease,
        ha_type="pair",
        devices=[],
        configurations={},
    )


def test_duplicate_live_identity_is_refused_with_host_and_age(db: Database) -> None:
    register(db, "i1")
    with pytest.raises(DuplicateAgent, match=r"host-1.*last heartbeat"):
        register(db, "i2")
    views = agents.list_agents(db, lease_seconds=5.0)
    assert [v.instance_id for v in views] == ["i1"] and views[0].alive


def test_stale_identity_is_taken_over(db: Database) -> None:
    register(db, "i1", lease=0.5)
    time.sleep(1.0)
    register(db, "i2", lease=0.5)
    assert not agents.heartbeat(db, "i1", operational=True, status_reason=None, devices=[])
    assert agents.heartbeat(db, "i2", operational=True, status_reason=None, devices=[])


def test_stopped_agent_is_not_alive(db: Database) -> None:
    register(db, "i1")
    agents.mark_stopped(db, "i1")
    (view,) = agents.list_agents(db, lease_seconds=5.0)
    assert not view.alive
    register(db, "i2")  # a stopped identity may start again at once


def test_exited_identity_restarts_at_once_but_its_leases_wait_for_expiry(db: Database) -> None:
    """A supervisor that reaped the process marks it exited: the restart registers at once, and
    the dead instance's leases still run out their period before anyone can take them."""
    register(db, "i1")
    pids = make_partitions(db, 1)
    assert leases.acquire(db, "i1", pids, ttl=30) == 1
    assert agents.mark_exited(db, "Project", "host-1")
    assert not agents.mark_exited(db, "Project", "host-1")  # nothing live any more
    register(db, "i2")
    assert leases.acquire(db, "i2", pids, ttl=30) == 0
    assert [v.instance_id for v in agents.list_agents(db, lease_seconds=5.0) if v.alive] == ["i2"]


def test_snapshot_reports_owner_and_time_left(db: Database) -> None:
    pids = make_partitions(db, 2)
    leases.acquire(db, "a", pids[:1], ttl=30)
    rows = {r.partition_id: r for r in leases.snapshot(db, "Project")}
    assert rows[pids[0]].owner == "a" and 25 < rows[pids[0]].expires_in <= 30
    assert rows[pids[1]].owner is None
    with db.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PartitionLease)) == 2


def test_fence_many_keeps_only_what_we_still_own_at_our_epoch(db: Database) -> None:
    kept, released, taken = make_partitions(db, 3)
    leases.acquire(db, "a", [kept, released, taken], ttl=0.5)
    held = leases.renew_all(db, "a", ttl=0.5)
    leases.release(db, "a", [released])
    time.sleep(1.2)
    leases.acquire(db, "b", [taken], ttl=30)  # expired: b takes it at a new epoch
    leases.renew_all(db, "a", ttl=30)  # a keeps the one nobody took
    theirs = leases.renew_all(db, "b", ttl=30)
    with db.transaction() as s:
        assert leases.fence_many(s, held, "a") == {kept}
        assert leases.fence_many(s, theirs, "b") == {taken}


@pytest.mark.parametrize("offset", [-0.5, 0.0, 0.5])
def test_lease_validity_and_liveness_boundaries_agree_in_sql_and_python(
        db: Database, offset: float) -> None:
    """The one rule for each, tested at its boundary: a lease is held while `expires_at > now`
    (so at `expires_at == now` it is free to acquire), an agent is alive while its heartbeat
    is less than one lease period old (so at exactly one period it is not)."""
    now, lease = 1000.0, 10.0
    (pid,) = make_partitions(db, 1)
    with db.transaction() as s:
        s.execute(sa.update(PartitionLease).where(PartitionLease.partition_id == pid)
                  .values(owner="a", expires_at=now + offset))
        s.add(Agent(environment="E", identity=f"h{offset}", host="h", instance_id=f"i{offset}",
                    started_at=0.0, heartbeat_at=now - lease + offset, stopped=False))
    with db.read() as s:
        lease_row = s.get(PartitionLease, pid)
        agent = s.scalars(sa.select(Agent).where(Agent.identity == f"h{offset}")).one()
        valid_sql = bool(s.scalar(sa.select(sa.func.count()).select_from(PartitionLease).where(
            PartitionLease.partition_id == pid, PartitionLease.valid_where(now))))
        free_sql = bool(s.scalar(sa.select(sa.func.count()).select_from(PartitionLease).where(
            PartitionLease.partition_id == pid, PartitionLease.free_where(now))))
        alive_sql = bool(s.scalar(sa.select(sa.func.count()).select_from(Agent).where(
            Agent.id == agent.id, Agent.alive_where(now, lease))))
        assert lease_row is not None
        valid_py = PartitionLease.is_valid(lease_row.owner, lease_row.expires_at, now)
        alive_py = agent.is_alive(now, lease)
    assert valid_sql is valid_py is (offset > 0)
    assert free_sql is (not valid_py)
    assert alive_sql is alive_py is (offset > 0)
