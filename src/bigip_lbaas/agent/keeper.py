"""The lease keeper: heartbeat, renewal, self-fencing and placement for one agent.

Every heartbeat it writes the agent's heartbeat, renews every lease it holds (which starts the
local renew deadline), and runs placement: hands over the partitions that now belong elsewhere
(never one in flight) and acquires those that belong here. The work queue's records follow the
leases: a lost or handed-over partition is forgotten, a newly acquired one is due (a new owner
trusts nothing its predecessor did).

Must not: reconcile, or talk to devices.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bigip_lbaas.agent import metrics
from bigip_lbaas.agent.fleet import Fleet
from bigip_lbaas.agent.settings import AgentSettings
from bigip_lbaas.agent.work import WorkQueue
from bigip_lbaas.core.errors import LeaseLost
from bigip_lbaas.core.placement import place
from bigip_lbaas.db import agents, leases, partitions
from bigip_lbaas.db.leases import Held
from bigip_lbaas.db.session import Database
from bigip_lbaas.device.apply import Guard

LOG = logging.getLogger(__name__)
T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking (database) call, off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class Resync:
    """Progress of reconciling what was acquired, for the periodic progress log line."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.started = 0.0

    def acquired(self, count: int) -> None:
        if self.total == self.done:
            self.total, self.done = 0, 0
            self.started = time.monotonic()
        self.total += count

    def reconciled(self) -> None:
        if self.total:
            self.done += 1

    def report(self) -> None:
        if self.total and self.done <= self.total:
            elapsed = max(1e-6, time.monotonic() - self.started)
            LOG.info(
                "resync progress",
                extra={
                    "action": "resync",
                    "done": self.done,
                    "total": self.total,
                    "rate_per_s": round(self.done / elapsed, 1),
                },
            )
            if self.done >= self.total:
                self.total = self.done = 0


class LeaseKeeper:
    def __init__(
        self,
        settings: AgentSettings,
        db: Database,
        queue: WorkQueue,
        fleet: Fleet,
        stopping: asyncio.Event,
        wake: asyncio.Event,
    ) -> None:
        self.s = settings
        self.db = db
        self.me = settings.instance_id
        self.queue = queue
        self.fleet = fleet
        self.stopping = stopping
        self.wake = wake
        self.valid_until = 0.0
        self.last_heartbeat = time.monotonic()
        self.last_placement = 0.0
        self.placing = asyncio.Lock()
        self.resync = Resync()
        # Held partitions that placement gives to an agent not yet settled: handed over once it
        # is, so the work loop takes them last (work done on them now would be done twice).
        self.leaving: frozenset[int] = frozenset()

    def lease_valid(self) -> bool:
        return time.monotonic() < self.valid_until

    def guard_for(self, held: Held) -> Guard:
        """LeaseLost once `held` is gone; else the instant its lease may stop being ours (the
        renew deadline, which every successful renewal moves on). Device writes still in flight
        then are cancelled: a late write could land after another agent took the partition."""

        def guard() -> float:
            current = self.queue.held_at(held.partition_id)
            if current is None or current.epoch != held.epoch or not self.lease_valid():
                raise LeaseLost(str(held.key), held.epoch)
            return self.valid_until

        return guard

    def fence_off(self) -> None:
        """Stop every write now: nothing is held any more as far as this agent knows."""
        self.queue.clear()
        self.valid_until = 0.0

    async def tick(self) -> None:
        """One heartbeat: heartbeat, renew, place. Raises DatabaseError (the guard then lapses
        at the renew deadline)."""
        alive = await in_thread(
            agents.heartbeat, self.db, self.me, operational=self.fleet.operational,
            status_reason=self.fleet.down_reason(), devices=self.fleet.report(),
        )
        if not alive:
            LOG.error(
                "agent row taken over by another process; stopping",
                extra={"action": "heartbeat", "agent": self.s.host},
            )
            self.fence_off()
            self.stopping.set()
            return
        self.last_heartbeat = time.monotonic()
        await self.renew()
        await self.rebalance()
        self.resync.report()

    async def renew(self) -> set[int]:
        """Renew every lease; return the partitions newly held."""
        started = time.monotonic()
        held = await in_thread(leases.renew_all, self.db, self.me, self.s.lease_seconds)
        self.valid_until = started + self.s.renew_deadline
        lost, new = self.queue.replace_held(held)
        for pid in lost:
            LOG.warning("lease lost", extra={"action": "lease_lost", "partition": pid})
        metrics.LEASES_HELD.set(len(self.queue))
        return new

    async def rebalance(self) -> None:
        async with self.placing:
            self.last_placement = time.monotonic()
            await self._place()

    async def _place(self) -> None:
        views = await in_thread(
            agents.list_agents, self.db, self.s.lease_seconds, self.s.environment
        )
        live = {v.instance_id for v in views if v.alive}
        eligible = [v.instance_id for v in views if v.eligible]
        if not eligible:  # nobody can reach a device: still own the work, to report errors
            eligible = [v.instance_id for v in views if v.alive and v.admin_state_up]
        rows = await in_thread(leases.snapshot, self.db, self.s.environment)
        # Weighed by their load balancers, so one agent is not handed all the big projects.
        weights = await in_thread(partitions.load_balancer_counts, self.db, self.s.environment)
        current = {r.partition_id: (r.owner if r.owner in live else None) for r in rows}
        assignment = place([r.partition_id for r in rows], eligible, current, weights)

        # Hand over only to agents that have been up for a lease period: an agent that
        # crash-loops gets orphaned work at once but never pulls partitions off healthy owners.
        # An owner that is itself that young (agents started together, a cold start) shares at
        # once: it has done little it could lose, and waiting would leave one agent doing all
        # the work for a lease period.
        settled = {v.instance_id for v in views if v.uptime >= self.s.lease_seconds}
        young = self.me not in settled
        busy = self.queue.in_flight()
        release = [
            pid
            for pid in self.queue.held()
            if assignment.get(pid, self.me) != self.me and pid not in busy
            and (young or assignment[pid] in settled or self.me not in eligible)
        ]
        self.leaving = frozenset(
            pid for pid in self.queue.held() if assignment.get(pid, self.me) != self.me
        ) - set(release)
        if release:
            await in_thread(leases.release, self.db, self.me, release)
            for pid in release:
                self.queue.forget(pid)
            LOG.info("handed partitions over", extra={"action": "handover", "count": len(release)})
        wanted = [
            r
            for r in rows
            if assignment.get(r.partition_id) == self.me
            and r.partition_id not in self.queue
            and (not r.valid or r.owner not in live)
        ]
        if not wanted:
            return
        got = await in_thread(
            leases.acquire, self.db, self.me, [r.partition_id for r in wanted], self.s.lease_seconds
        )
        if not got:
            return
        new = await self.renew()
        takeovers = sum(1 for r in wanted if r.partition_id in new and r.owner is not None)
        metrics.FAILOVERS.inc(takeovers)
        # A new owner trusts nothing its predecessor did: reconcile everything it took.
        self.queue.mark_due(new)
        self.resync.acquired(len(new))
        LOG.info(
            "partitions acquired",
            extra={"action": "acquire", "count": len(new), "takeovers": takeovers},
        )
        self.wake.set()

    async def release_all(self) -> None:
        await in_thread(leases.release, self.db, self.me, None)
        await in_thread(agents.mark_stopped, self.db, self.me)
