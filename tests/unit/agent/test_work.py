"""The work queue: one record per held partition, and what to reconcile next."""

from __future__ import annotations

from bigip_lbaas.agent.work import WorkQueue
from bigip_lbaas.core.model import PartitionKey
from bigip_lbaas.db.leases import Held


def held(*pids: int, epoch: int = 1) -> list[Held]:
    return [Held(p, PartitionKey("Project", f"p{p}"), epoch) for p in pids]


def test_leases_lost_are_forgotten_whole_and_new_ones_start_clean() -> None:
    q = WorkQueue(resync_interval=300)
    assert q.replace_held(held(1, 2, 3)) == (set(), {1, 2, 3})
    q.mark_due([2])
    q.failed(q.records[2], now=10.0, delay=5.0)
    assert q.replace_held(held(1, 3, 4)) == ({2}, {4})
    assert 2 not in q and q.records.keys() == {1, 3, 4}
    # Held again later: nothing of the old record survives.
    q.replace_held(held(1, 2, 3, 4))
    w = q.records[2]
    assert (w.due, w.attempts, w.failing_since, w.not_before) == (False, 0, None, 0.0)


def test_candidates_are_behind_due_or_stale_and_not_running_or_backing_off() -> None:
    q = WorkQueue(resync_interval=300)
    q.replace_held(held(1, 2, 3, 4, 5))
    q.mark_due([2])
    q.records[3].last_full = 0.0  # read in full long ago: anti-entropy
    q.records[4].not_before = 1e9  # backing off
    picks = q.candidates(behind=[1, 4], now=1000.0)
    assert [(p.work.held.partition_id, p.full) for p in picks] == [(1, False), (2, True), (3, True)]
    q.start(picks[0])
    assert [p.work.held.partition_id for p in q.candidates([1, 4], 1000.0)] == [2, 3]
    q.finish(picks[0].work, now=1001.0)
    assert q.caught_up_since(1, polled=1000.5) and not q.caught_up_since(1, polled=1002.0)


def test_partitions_about_to_be_handed_over_come_last() -> None:
    q = WorkQueue(resync_interval=300)
    q.replace_held(held(1, 2, 3))
    q.mark_due([1, 2, 3])
    order = [p.work.held.partition_id for p in q.candidates((), 0.0, last={1})]
    assert order == [2, 3, 1]


def test_a_partition_forgotten_while_it_runs_is_not_started_twice() -> None:
    q = WorkQueue(resync_interval=300)
    q.replace_held(held(1))
    q.mark_due([1])
    (pick,) = q.candidates((), 0.0)
    q.start(pick)
    q.replace_held([])  # lease lost while the reconcile runs
    q.replace_held(held(1, epoch=2))  # and acquired again
    q.mark_due([1])
    assert q.candidates((), 0.0) == []
    q.finish(pick.work, 1.0)
    assert [p.work.held.epoch for p in q.candidates((), 0.0)] == [2]


def test_anti_entropy_counts_from_the_last_full_read_only() -> None:
    q = WorkQueue(resync_interval=300)
    q.replace_held(held(1))
    w = q.records[1]
    q.succeeded(w, now=100.0, full=True)
    q.succeeded(w, now=350.0, full=False)  # a change applied from what was remembered
    assert [p.full for p in q.candidates((), 401.0)] == [True]


def test_a_limited_pick_is_the_head_of_the_full_order() -> None:
    q = WorkQueue(resync_interval=300)
    q.replace_held(held(*range(1, 40)))
    q.mark_due(range(1, 40))
    whole = [p.work.held.partition_id for p in q.candidates((), 0.0, last={1, 2})]
    head = [p.work.held.partition_id for p in q.candidates((), 0.0, last={1, 2}, limit=5)]
    assert head == whole[:5] == [3, 4, 5, 6, 7] and whole[-2:] == [1, 2]
