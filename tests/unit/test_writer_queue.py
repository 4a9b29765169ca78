"""db/session.WriterQueue: SQLite writers of one process take turns in the order they asked.

No timings are asserted: each waiter is started only once the one before it is seen queued, so
the arrival order is known, and the tests check who got the lock, not when."""

from __future__ import annotations

import threading

import pytest

from bigip_lbaas.db.session import WriterQueue
from tests.cluster import wait_for


def _queue_up(queue: WriterQueue, count: int, got: list[int],
              hold: threading.Event | None = None) -> list[threading.Thread]:
    """Start `count` waiters one after another, each once the previous one is queued; each
    records its index when it gets the lock, then releases it."""

    def waiter(idx: int) -> None:
        assert queue.acquire(timeout=60)
        got.append(idx)
        if hold is not None:
            hold.wait(60)
        queue.release()

    threads = []
    for idx in range(count):
        thread = threading.Thread(target=waiter, args=(idx,), daemon=True)
        thread.start()
        threads.append(thread)
        wait_for(lambda n=idx + 1: queue.waiting() == n, 30, f"waiter {idx} queued", every=0.005)
    return threads


def test_waiters_get_the_lock_in_arrival_order() -> None:
    queue = WriterQueue()
    assert queue.acquire()
    got: list[int] = []
    threads = _queue_up(queue, 12, got)
    queue.release()
    for thread in threads:
        thread.join(60)
    assert got == list(range(12))
    assert queue.waiting() == 0
    assert queue.acquire(timeout=0)  # free again once everyone is through


def test_a_newcomer_does_not_barge_ahead_of_a_waiter() -> None:
    """The releasing thread asking again at once (what a busy handler's poll amounts to) must
    not take the turn the oldest waiter was handed."""
    queue = WriterQueue()
    assert queue.acquire()
    got: list[int] = []
    hold = threading.Event()
    threads = _queue_up(queue, 1, got, hold)
    queue.release()
    assert not queue.acquire(timeout=0)
    hold.set()
    threads[0].join(60)
    assert got == [0]
    assert queue.acquire(timeout=0)


def test_a_waiter_that_gives_up_leaves_the_queue_and_loses_no_turn() -> None:
    queue = WriterQueue()
    assert queue.acquire()
    outcome: list[bool] = []
    quitter = threading.Thread(target=lambda: outcome.append(queue.acquire(timeout=0.01)))
    quitter.start()
    quitter.join(60)
    assert outcome == [False]
    assert queue.waiting() == 0
    got: list[int] = []
    threads = _queue_up(queue, 2, got)
    queue.release()
    for thread in threads:
        thread.join(60)
    assert got == [0, 1]
    assert queue.acquire(timeout=0)


def test_release_of_a_free_queue_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not held"):
        WriterQueue().release()
