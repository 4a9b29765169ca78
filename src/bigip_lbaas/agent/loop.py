"""The agent's event loop: heartbeat and leases, placement, work dispatch, status collection.

Level-triggered: the key is a partition id, never an event. Every pass re-reads what the database
says and acts on the difference. Database calls run in worker threads; device calls are async.
Exactly one place (`_reconcile`) logs each reconcile's outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from bigip_lbaas.agent import metrics
from bigip_lbaas.agent.decide import DeviceResult, decide
from bigip_lbaas.agent.settings import AgentSettings
from bigip_lbaas.agent.wakeup import Listener
from bigip_lbaas.core.errors import DatabaseError, DeviceError, DeviceUnreachable, LeaseLost
from bigip_lbaas.core.model import PartitionKey, PartitionState
from bigip_lbaas.core.placement import place
from bigip_lbaas.db import agents, desired, leases, outcomes
from bigip_lbaas.db.leases import Held
from bigip_lbaas.db.outcomes import ObjectFailure
from bigip_lbaas.db.session import Database
from bigip_lbaas.device.apply import Guard
from bigip_lbaas.device.status import DeviceStats
from bigip_lbaas.engine.health import PartitionStatus

LOG = logging.getLogger(__name__)
# How often the work loop may run placement early because a partition has no owner.
PROMPT_PLACEMENT_SECONDS = 0.25
# Consecutive failed health checks before a device counts as down.
PROBE_FAILURES = 2
# Partitions per status batch: one desired-state read and one fenced write for all of them.
STATUS_BATCH = 50
# Status reads in flight per agent: background work must leave the device's slots to reconciles.
STATUS_READS = 2
# Poll period when PostgreSQL LISTEN/NOTIFY wakes the agent on every change.
LISTEN_POLL_SECONDS = 1.0
T = TypeVar("T")


class Device(Protocol):
    """What the loop needs from one BIG-IP (see `agent.devices` for the real one)."""

    name: str

    async def probe(self) -> None: ...

    async def converge(
        self, state: PartitionState, guard: Guard, cache_token: object, fresh: bool
    ) -> tuple[int, tuple[ObjectFailure, ...]]: ...

    async def pass_stats(self) -> DeviceStats: ...

    async def collect(
        self, state: PartitionState, pass_stats: DeviceStats | None
    ) -> PartitionStatus: ...

    async def missing(self, keys: Iterable[PartitionKey]) -> set[PartitionKey]: ...

    async def close(self) -> None: ...


class Agent:
    def __init__(self, settings: AgentSettings, db: Database, devices: Sequence[Device]) -> None:
        self.s = settings
        self.db = db
        self.devices = list(devices)
        self.me = settings.instance_id
        self.held: dict[int, Held] = {}
        self.valid_until = 0.0
        self.device_up: dict[str, bool] = {d.name: True for d in self.devices}
        self.device_error: dict[str, str | None] = {d.name: None for d in self.devices}
        self.in_flight: set[int] = set()
        self.finished: dict[int, float] = {}  # partition → when its last reconcile ended
        self.due: set[int] = set()
        self.attempts: dict[int, int] = {}
        self.failing_since: dict[int, float] = {}
        self.not_before: dict[int, float] = {}
        self.last_full: dict[int, float] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()
        self.slots = asyncio.Semaphore(settings.max_concurrent_reconciles)
        self.last_heartbeat = time.monotonic()
        self.resync_total = 0
        self.resync_done = 0
        self.resync_started = 0.0
        self.placing = asyncio.Lock()
        self.probe_failures: dict[str, int] = {}
        self.probe_timeout = min(settings.request_timeout, max(2.0, 2 * settings.heartbeat_interval))
        # device → partitions whose last reconcile did not reach it (converged on its return)
        self.behind: dict[str, set[int]] = {}
        self.poll_interval = settings.poll_interval
        self.last_placement = 0.0

    # --- helpers ---------------------------------------------------------------------------

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    def lease_valid(self) -> bool:
        return time.monotonic() < self.valid_until

    def _guard_for(self, held: Held) -> Guard:
        """LeaseLost once `held` is gone; else the instant its lease may stop being ours (the
        renew deadline, which every successful renewal moves on). Device writes still in flight
        then are cancelled: a late write could land after another agent took the partition."""

        def guard() -> float:
            current = self.held.get(held.partition_id)
            if current is None or current.epoch != held.epoch or not self.lease_valid():
                raise LeaseLost(str(held.key), held.epoch)
            return self.valid_until

        return guard

    @property
    def operational(self) -> bool:
        return any(self.device_up.values())

    def _device_report(self) -> list[dict[str, Any]]:
        return [
            {"device": name, "reachable": up, "error": self.device_error.get(name)}
            for name, up in self.device_up.items()
        ]

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self) -> None:
        listener = None
        if self.db.dialect == "postgresql":
            listener = Listener(self.db.url, asyncio.get_running_loop(), self.wake)
            listener.start()
            # Notifications carry the latency; the poll is only the safety net.
            self.poll_interval = max(self.s.poll_interval, LISTEN_POLL_SECONDS)
        loops = [self._probe_loop, self._lease_loop, self._work_loop, self._status_loop]
        runners = [asyncio.create_task(self._forever(loop), name=loop.__name__) for loop in loops]
        await self.stopping.wait()
        for r in runners:
            r.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        await self._drain(timeout=max(5.0, self.s.renew_deadline - 1.0))
        await self._db(leases.release, self.db, self.me, None)
        await self._db(agents.mark_stopped, self.db, self.me)
        if listener is not None:
            await asyncio.to_thread(listener.stop)
        LOG.info("agent stopped, leases released", extra={"action": "stop", "agent": self.s.host})

    async def _forever(self, loop: Callable[[], Awaitable[None]]) -> None:
        await loop()

    async def _drain(self, timeout: float) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True if we should keep going."""
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False

    # --- device probes ---------------------------------------------------------------------

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.gather(*(self._probe(d) for d in self.devices))
            if not await self._sleep(self.s.heartbeat_interval):
                return

    async def _probe(self, device: Device) -> None:
        """One health check. A device is marked down after PROBE_FAILURES checks in a row fail
        (one slow answer from a busy device is not an outage), or at once when a reconcile
        finds it unreachable; its return resyncs only the partitions it missed."""
        name = device.name
        try:
            await asyncio.wait_for(device.probe(), timeout=self.probe_timeout)
        except (DeviceError, TimeoutError) as err:
            self.probe_failures[name] = self.probe_failures.get(name, 0) + 1
            if self.probe_failures[name] >= PROBE_FAILURES and self.device_up[name]:
                self.device_up[name] = False
                self.device_error[name] = str(err) or type(err).__name__
                LOG.warning("device unreachable", extra={
                    "action": "device_down", "device": name, "error": self.device_error[name]})
        else:
            self.probe_failures[name] = 0
            # Read the flag only now: a reconcile may have marked the device down while the
            # probe ran, and its return must still resync what it missed.
            if not self.device_up[name]:
                lost = await self._lost_by(device)
                # No await from here until the device counts as up: a reconcile that finds it
                # down meanwhile adds to `behind`, which must be taken whole, now.
                missed = (self.behind.pop(name, set()) | lost) & set(self.held)
                LOG.info("device reachable again; resyncing the partitions it missed or lost",
                         extra={"action": "device_up", "device": name, "count": len(missed)})
                self.due |= missed
                self.wake.set()
            self.device_up[name] = True
            self.device_error[name] = None
        metrics.DEVICE_UP.labels(device.name).set(1 if self.device_up[device.name] else 0)

    async def _lost_by(self, device: Device) -> set[int]:
        """Held partitions a returning device no longer has (wiped or replaced while away);
        all of them when it cannot say."""
        held = dict(self.held)
        try:
            gone = await asyncio.wait_for(
                device.missing(h.key for h in held.values()), timeout=self.probe_timeout
            )
        except (DeviceError, TimeoutError):
            return set(held)
        return {pid for pid, h in held.items() if h.key in gone}

    # --- heartbeat, leases, placement --------------------------------------------------------

    async def _lease_loop(self) -> None:
        while True:
            try:
                await self._lease_tick()
            except DatabaseError as err:
                LOG.warning(
                    "database unavailable; leases lapse at the renew deadline",
                    extra={"action": "lease_tick", "error": str(err)},
                )
            except Exception as err:  # a DB driver error: keep trying, self-fence meanwhile
                LOG.warning(
                    "lease pass failed",
                    extra={"action": "lease_tick", "error": f"{type(err).__name__}: {err}"},
                )
            metrics.HEARTBEAT_AGE.set(time.monotonic() - self.last_heartbeat)
            if not await self._sleep(self.s.heartbeat_interval):
                return

    async def _lease_tick(self) -> None:
        reason = (
            None
            if self.operational
            else "cannot reach any device: "
            + "; ".join(f"{n}: {e}" for n, e in self.device_error.items())
        )
        alive = await self._db(
            agents.heartbeat, self.db, self.me, operational=self.operational,
            status_reason=reason, devices=self._device_report(),
        )
        if not alive:
            LOG.error(
                "agent row taken over by another process; stopping",
                extra={"action": "heartbeat", "agent": self.s.host},
            )
            self.held.clear()
            self.valid_until = 0.0
            self.stopping.set()
            return
        self.last_heartbeat = time.monotonic()
        await self._renew()
        await self._rebalance()
        self._report_resync()

    async def _renew(self) -> None:
        started = time.monotonic()
        held = await self._db(leases.renew_all, self.db, self.me, self.s.lease_seconds)
        self.valid_until = started + self.s.renew_deadline
        lost = set(self.held) - {h.partition_id for h in held}
        for pid in lost:
            LOG.warning("lease lost", extra={"action": "lease_lost", "partition": pid})
            self._forget(pid)
        self.held = {h.partition_id: h for h in held}
        metrics.LEASES_HELD.set(len(self.held))

    async def _rebalance(self) -> None:
        async with self.placing:
            self.last_placement = time.monotonic()
            await self._place()

    async def _place(self) -> None:
        views = await self._db(
            agents.list_agents, self.db, self.s.lease_seconds, self.s.environment
        )
        live = {v.instance_id for v in views if v.alive}
        eligible = [v.instance_id for v in views if v.eligible]
        if not eligible:  # nobody can reach a device: still own the work, to report errors
            eligible = [v.instance_id for v in views if v.alive and v.admin_state_up]
        rows = await self._db(leases.snapshot, self.db, self.s.environment)
        current = {r.partition_id: (r.owner if r.owner in live else None) for r in rows}
        assignment = place([r.partition_id for r in rows], eligible, current)

        # Hand over only to agents that have been up for a lease period: an agent that
        # crash-loops gets orphaned work at once but never pulls partitions off healthy owners.
        settled = {v.instance_id for v in views if v.uptime >= self.s.lease_seconds}
        release = [
            pid
            for pid in self.held
            if assignment.get(pid, self.me) != self.me and pid not in self.in_flight
            and (assignment[pid] in settled or self.me not in eligible)
        ]
        if release:
            await self._db(leases.release, self.db, self.me, release)
            for pid in release:
                self._forget(pid)
            LOG.info("handed partitions over", extra={"action": "handover", "count": len(release)})
        wanted = [
            r
            for r in rows
            if assignment.get(r.partition_id) == self.me
            and r.partition_id not in self.held
            and (r.owner is None or r.expires_in <= 0 or r.owner not in live)
        ]
        if not wanted:
            return
        got = await self._db(
            leases.acquire, self.db, self.me, [r.partition_id for r in wanted], self.s.lease_seconds
        )
        if not got:
            return
        before = set(self.held)
        await self._renew()
        new = set(self.held) - before
        takeovers = sum(1 for r in wanted if r.partition_id in new and r.owner is not None)
        metrics.FAILOVERS.inc(takeovers)
        # A new owner trusts nothing its predecessor did: reconcile everything it took.
        self.due |= new
        if self.resync_total == self.resync_done:
            self.resync_total, self.resync_done = 0, 0
            self.resync_started = time.monotonic()
        self.resync_total += len(new)
        LOG.info(
            "partitions acquired",
            extra={"action": "acquire", "count": len(new), "takeovers": takeovers},
        )
        self.wake.set()

    def _forget(self, pid: int) -> None:
        self.held.pop(pid, None)
        self.finished.pop(pid, None)
        self.due.discard(pid)
        self.attempts.pop(pid, None)
        self.failing_since.pop(pid, None)
        self.not_before.pop(pid, None)
        self.last_full.pop(pid, None)

    def _report_resync(self) -> None:
        if self.resync_total and self.resync_done <= self.resync_total:
            elapsed = max(1e-6, time.monotonic() - self.resync_started)
            LOG.info(
                "resync progress",
                extra={
                    "action": "resync",
                    "done": self.resync_done,
                    "total": self.resync_total,
                    "rate_per_s": round(self.resync_done / elapsed, 1),
                },
            )
            if self.resync_done >= self.resync_total:
                self.resync_total = self.resync_done = 0

    # --- work ------------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        while not self.stopping.is_set():
            self.wake.clear()
            polled = time.monotonic()
            try:
                found = await self._db(leases.poll, self.db, self.me, self.s.environment)
                # New or orphaned partitions are placed at once, not at the next heartbeat.
                if found.unowned and (time.monotonic() - self.last_placement
                                      >= PROMPT_PLACEMENT_SECONDS):
                    await self._rebalance()
                # A reconcile that finished while the poll ran may have caught its partition up:
                # the next poll (woken by that finish) says, rather than a needless second pass.
                behind = [p for p in found.behind if self.finished.get(p, 0.0) < polled]
            except Exception as err:
                LOG.warning(
                    "cannot read pending work",
                    extra={"action": "poll", "error": type(err).__name__},
                )
                behind = []
            metrics.PENDING_PARTITIONS.set(len(behind))
            now = time.monotonic()
            stale = {
                pid
                for pid in self.held
                if now - self.last_full.get(pid, now) >= self.s.resync_interval
            }
            candidates = (set(behind) | self.due | stale) & set(self.held)
            for pid in sorted(candidates):
                if pid in self.in_flight or self.not_before.get(pid, 0.0) > now:
                    continue
                if (
                    not self.lease_valid()
                    or len(self.in_flight) >= self.s.max_concurrent_reconciles
                ):
                    break
                # A full read of the devices on take-over, device return and anti-entropy;
                # otherwise trust what this owner itself last applied under this epoch.
                full = pid in self.due or pid in stale
                self.due.discard(pid)
                self.in_flight.add(pid)
                task = asyncio.create_task(self._reconcile(self.held[pid], full=full))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.poll_interval)

    async def _reconcile(self, held: Held, *, full: bool = True) -> None:
        pid = held.partition_id
        started = time.monotonic()
        extra: dict[str, Any] = {
            "action": "reconcile",
            "partition": str(held.key),
            "epoch": held.epoch,
            "agent": self.s.host,
        }
        try:
            async with self.slots:
                snap = await self._db(desired.load, self.db, pid)
                guard = self._guard_for(held)
                results = await asyncio.gather(
                    *(
                        self._converge(pid, d, snap.state, guard, held.epoch, full)
                        for d in self.devices
                    )
                )
                attempts = self.attempts.get(pid, 0) + 1
                failing_for = now_minus(self.failing_since.get(pid))
                decision = decide(
                    results,
                    attempts=attempts,
                    failing_for=failing_for,
                    max_retries=self.s.max_retries,
                    pending_timeout=self.s.pending_timeout,
                )
                guard()
                if decision.applied:
                    await self._db(
                        outcomes.record_applied,
                        self.db,
                        held,
                        self.me,
                        snap,
                        decision.devices,
                        decision.failures,
                    )
                    self.attempts.pop(pid, None)
                    self.failing_since.pop(pid, None)
                    self.last_full[pid] = time.monotonic()
                    outcome = "applied" if not decision.failures else "applied_with_errors"
                    extra.update(
                        generation=snap.generation,
                        writes=sum(r.writes for r in results),
                        failed_objects=len(decision.failures),
                    )
                    if decision.failures:
                        first = decision.failures[0]
                        extra.update(failed_object=first.id, failure=first.reason)
                else:
                    await self._db(
                        outcomes.record_failed,
                        self.db,
                        held,
                        self.me,
                        snap,
                        decision.reason or "unknown",
                        give_up=decision.give_up,
                        devices=decision.devices,
                    )
                    extra.update(reason=decision.reason)
                    if decision.give_up:
                        self.attempts.pop(pid, None)
                        self.failing_since.pop(pid, None)
                        self.last_full[pid] = time.monotonic()
                        outcome = "gave_up"
                    else:
                        self.attempts[pid] = attempts
                        self.failing_since.setdefault(pid, time.monotonic())
                        self.not_before[pid] = time.monotonic() + (decision.delay or 1.0)
                        outcome = "retry"
                        extra.update(retry_in=decision.delay)
        except LeaseLost:
            outcome = "lease_lost"
            self._forget(pid)
        except Exception as err:  # database trouble: try again shortly, never lose the work
            outcome = "error"
            extra.update(error=f"{type(err).__name__}: {err}")
            self.not_before[pid] = time.monotonic() + 1.0
        finally:
            self.in_flight.discard(pid)
            self.finished[pid] = time.monotonic()
            self.wake.set()  # a slot is free: take the next partition now, not at the next poll
            if self.resync_total and pid not in self.due:
                self.resync_done += 1
        elapsed = time.monotonic() - started
        metrics.RECONCILES.labels(outcome).inc()
        metrics.RECONCILE_SECONDS.observe(elapsed)
        extra.update(outcome=outcome, seconds=round(elapsed, 3))
        level = logging.INFO if outcome in ("applied", "lease_lost") else logging.WARNING
        LOG.log(level, "reconcile finished", extra=extra)

    async def _converge(
        self,
        pid: int,
        device: Device,
        state: PartitionState,
        guard: Guard,
        cache_token: object,
        fresh: bool,
    ) -> DeviceResult:
        # `behind[name]` is looked up after every await, never kept across one: a device that
        # goes down and comes back meanwhile takes that set whole (`_probe`), and a miss added
        # to the old one would never be resynced.
        if not self.device_up[device.name]:
            self.behind.setdefault(device.name, set()).add(pid)
            return DeviceResult(
                device.name,
                ok=False,
                unreachable=True,
                error=f"{device.name}: {self.device_error[device.name]}",
            )
        try:
            writes, failures = await device.converge(state, guard, cache_token, fresh)
        except DeviceUnreachable as err:
            self.behind.setdefault(device.name, set()).add(pid)
            self.device_up[device.name] = False
            self.device_error[device.name] = str(err)
            metrics.DEVICE_ERRORS.labels(device.name, "unreachable").inc()
            return DeviceResult(device.name, ok=False, unreachable=True, error=str(err))
        except DeviceError as err:
            metrics.DEVICE_ERRORS.labels(device.name, "rejected").inc()
            return DeviceResult(device.name, ok=False, error=str(err))
        self.behind.get(device.name, set()).discard(pid)
        return DeviceResult(device.name, ok=True, failures=failures, writes=writes)

    # --- operating status and stats ----------------------------------------------------------

    async def _status_loop(self) -> None:
        """Every `status_interval`, the operating status and stats of every held partition, read
        from one reachable device: its stats once per pass, then STATUS_BATCH partitions at a
        time (one read of their desired state, STATUS_READS device reads at a time, one fenced
        write)."""
        while await self._sleep(self.s.status_interval):
            device = next((d for d in self.devices if self.device_up[d.name]), None)
            if device is None or not self.held:
                continue
            stats: DeviceStats | None
            try:
                stats = await device.pass_stats()
            except DeviceError:
                stats = None
            pids = sorted(self.held)
            for i in range(0, len(pids), STATUS_BATCH):
                if self.stopping.is_set():
                    return
                if not self.device_up[device.name]:
                    break
                batch = [p for p in pids[i : i + STATUS_BATCH]
                         if p in self.held and p not in self.in_flight]
                if batch and self.lease_valid():
                    await self._status_batch(device, batch, stats)

    async def _status_batch(
        self, device: Device, batch: list[int], stats: DeviceStats | None
    ) -> None:
        try:
            snaps = await self._db(desired.load_many, self.db, batch)
        except Exception as err:
            _status_skipped(err, count=len(batch))
            return

        reading = asyncio.Semaphore(STATUS_READS)

        async def one(pid: int) -> tuple[Held, PartitionStatus] | None:
            held = self.held.get(pid)
            if held is None or pid not in snaps:
                return None
            try:
                async with reading:
                    return held, await device.collect(snaps[pid].state, stats)
            except Exception as err:  # this partition only; the others go on
                _status_skipped(err, partition=str(held.key))
                return None

        found = [r for r in await asyncio.gather(*(one(p) for p in batch)) if r is not None]
        # Only partitions still held at the epoch read, and only while the lease is valid.
        current = [
            (held, status) for held, status in found
            if self.lease_valid() and self.held.get(held.partition_id) == held
        ]
        if not current:
            return
        try:
            lost = await self._db(outcomes.record_observed, self.db, self.me, current)
        except Exception as err:
            _status_skipped(err, count=len(current))
            return
        for pid in lost:
            self._forget(pid)


def _status_skipped(err: Exception, **extra: Any) -> None:
    LOG.info("status collection skipped",
             extra={"action": "status", "error": f"{type(err).__name__}: {err}", **extra})


def now_minus(since: float | None) -> float:
    return 0.0 if since is None else time.monotonic() - since
