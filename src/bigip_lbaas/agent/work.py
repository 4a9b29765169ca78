"""The agent's work queue: one record per held partition, and which of them to reconcile next.

Level-triggered, like controller-runtime's workqueue: the key is a partition id, never an event.
Everything the agent knows about a partition between reconciles lives in its ``PartitionWork``
record, so losing or handing over a partition is one removal (``forget``). Apart from the records
the queue keeps which partitions are being reconciled now (``processing``), as client-go's
workqueue does: never two reconciles of one partition at once.

Must not: do I/O. The lease keeper (``agent.keeper``) decides which partitions are held; the loop
(``agent.loop``) runs what ``pick`` returns.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from bigip_lbaas.db.desired import Snapshot
from bigip_lbaas.db.leases import Held

PREFETCH_SECONDS = 5.0
"""How long a snapshot read ahead of its reconcile (in a batch read) may wait to be used."""


@dataclass
class PartitionWork:
    held: Held
    due: bool = False  # reconcile at the next chance, reading the devices in full
    not_before: float = 0.0  # retry backoff: not before this monotonic instant
    attempts: int = 0  # failed attempts in a row
    failing_since: float | None = None
    last_full: float | None = None  # last reconcile that read the devices in full
    finished: float = 0.0  # when its last reconcile ended
    # Desired state read ahead in a batch, with when it was read.
    prefetched: tuple[float, Snapshot] | None = field(default=None, repr=False)

    def take_prefetched(self, now: float) -> Snapshot | None:
        found, self.prefetched = self.prefetched, None
        if found is None or now - found[0] > PREFETCH_SECONDS:
            return None
        return found[1]


@dataclass(frozen=True)
class Pick:
    work: PartitionWork
    full: bool  # read the devices in full (take-over, device return, anti-entropy)


class WorkQueue:
    def __init__(self, resync_interval: float) -> None:
        self.resync_interval = resync_interval
        self.records: dict[int, PartitionWork] = {}
        # Partitions with a reconcile running. Not part of the records: a partition forgotten
        # (lease lost) and acquired again while its old reconcile still runs is not started
        # twice.
        self.processing: set[int] = set()

    # --- which partitions are held ------------------------------------------------------------

    def held(self) -> dict[int, Held]:
        return {pid: w.held for pid, w in self.records.items()}

    def held_at(self, pid: int) -> Held | None:
        w = self.records.get(pid)
        return None if w is None else w.held

    def __contains__(self, pid: object) -> bool:
        return pid in self.records

    def __len__(self) -> int:
        return len(self.records)

    def replace_held(self, held: Iterable[Held]) -> tuple[set[int], set[int]]:
        """Set the held leases to exactly ``held``; return (lost, new) partition ids. The lost
        ones are forgotten; a partition held at a new epoch keeps its record."""
        now_held = {h.partition_id: h for h in held}
        lost = set(self.records) - set(now_held)
        for pid in lost:
            self.forget(pid)
        new = set(now_held) - set(self.records)
        for pid, h in now_held.items():
            w = self.records.get(pid)
            if w is None:
                self.records[pid] = PartitionWork(h)
            elif w.held != h:
                w.held = h
        return lost, new

    def forget(self, pid: int) -> None:
        self.records.pop(pid, None)

    def clear(self) -> None:
        self.records.clear()

    # --- what to do next ----------------------------------------------------------------------

    def mark_due(self, pids: Iterable[int]) -> None:
        for pid in pids:
            w = self.records.get(pid)
            if w is not None:
                w.due = True

    def due(self) -> set[int]:
        return {pid for pid, w in self.records.items() if w.due}

    def in_flight(self) -> set[int]:
        return set(self.processing)

    def caught_up_since(self, pid: int, polled: float) -> bool:
        """Whether ``pid``'s last reconcile ended after ``polled`` (a poll that started before
        it may have seen it behind; the next poll says)."""
        w = self.records.get(pid)
        return w is not None and w.finished >= polled

    def candidates(
        self,
        behind: Iterable[int],
        now: float,
        last: Collection[int] = (),
        limit: int | None = None,
    ) -> list[Pick]:
        """Held partitions to reconcile, in id order, those in ``last`` (about to be handed
        over) after the others: behind (per the database), due, or not read in full for
        ``resync_interval`` (anti-entropy); not those in flight or backing off. The first
        ``limit`` of them only, if given."""
        behind = set(behind)
        out = []
        for pid, w in self.records.items():
            stale = w.last_full is not None and now - w.last_full >= self.resync_interval
            if not (pid in behind or w.due or stale):
                continue
            if pid in self.processing or w.not_before > now:
                continue
            out.append(Pick(w, full=w.due or stale))
        def order(p: Pick) -> tuple[bool, int]:
            return (p.work.held.partition_id in last, p.work.held.partition_id)

        if limit is not None and limit < len(out):
            return heapq.nsmallest(limit, out, key=order)
        out.sort(key=order)
        return out

    def start(self, pick: Pick) -> None:
        pick.work.due = False
        self.processing.add(pick.work.held.partition_id)

    def finish(self, work: PartitionWork, now: float) -> None:
        self.processing.discard(work.held.partition_id)
        work.finished = now

    # --- what a reconcile ended in --------------------------------------------------------------

    def succeeded(self, work: PartitionWork, now: float, *, full: bool) -> None:
        """Applied, or given up: the backoff is reset; after a full read, anti-entropy runs
        ``resync_interval`` from now."""
        work.attempts = 0
        work.failing_since = None
        if full:
            work.last_full = now

    def failed(self, work: PartitionWork, now: float, delay: float) -> None:
        work.attempts += 1
        if work.failing_since is None:
            work.failing_since = now
        work.not_before = now + delay

    def retry_after(self, work: PartitionWork, now: float, delay: float) -> None:
        """Try again after ``delay`` without counting an attempt (database trouble, a bug)."""
        work.not_before = now + delay
