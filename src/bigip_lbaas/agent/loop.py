"""The agent's event loop: four supervised loops around a work queue.

- probe: health-checks every device; a returning device's missed partitions become due;
- lease: heartbeat, renewal and placement (``agent.keeper``);
- work: polls the database for partitions behind, picks from the work queue (``agent.work``),
  reads their desired state in batches, runs ``agent.reconcile.reconcile`` for each and writes
  the outcomes in batches (``db.outcomes.record``);
- status: operating statuses and stats of every held partition.

Level-triggered: the key is a partition id, never an event. Every pass re-reads what the database
says and acts on the difference. Database calls run in worker threads; device calls are async.
Exactly one place (``Agent._report``) logs and counts each reconcile's outcome. Expected trouble
(DatabaseError, DeviceError) is handled where it happens; anything else is a bug: logged with its
traceback and counted, and the loop it crashed is restarted (``agent.supervise``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from bigip_lbaas.agent import metrics
from bigip_lbaas.agent.decide import backoff
from bigip_lbaas.agent.fleet import Device, Fleet
from bigip_lbaas.agent.keeper import LeaseKeeper, in_thread
from bigip_lbaas.agent.reconcile import Outcome, RetryPolicy, reconcile
from bigip_lbaas.agent.settings import AgentSettings
from bigip_lbaas.agent.supervise import supervise
from bigip_lbaas.agent.wakeup import ChangeNotifications
from bigip_lbaas.agent.work import PartitionWork, Pick, WorkQueue
from bigip_lbaas.certstore import CertificateStoreUnavailable
from bigip_lbaas.core.certs import CertificateSource
from bigip_lbaas.core.errors import DatabaseError, DeviceError, DeviceUnreachable, LeaseLost
from bigip_lbaas.core.network import TUNNEL_TYPES, PartitionNetwork
from bigip_lbaas.db import desired, leases, outcomes
from bigip_lbaas.db.desired import Snapshot
from bigip_lbaas.db.leases import Held
from bigip_lbaas.db.networking import AllocationFailed
from bigip_lbaas.db.session import Database
from bigip_lbaas.device.status import DeviceStats, carriers, summed
from bigip_lbaas.engine import names
from bigip_lbaas.engine.health import PartitionStatus, settled
from bigip_lbaas.network import prepare, release
from bigip_lbaas.network.builtin import BuiltinSource
from bigip_lbaas.network.source import NetworkSource, NetworkSourceError

LOG = logging.getLogger(__name__)
# How often the work loop may run placement early because a partition has no owner.
PROMPT_PLACEMENT_SECONDS = 0.25
# Partitions per status batch: one desired-state read and one fenced write for all of them.
STATUS_BATCH = 50
# Status reads in flight per agent: background work must leave the device's slots to reconciles.
STATUS_READS = 2
# Poll period when PostgreSQL LISTEN/NOTIFY wakes the agent on every change.
LISTEN_POLL_SECONDS = 1.0
# Desired states read in one transaction: those about to run, and as many waiting behind them
# (read ahead, used within work.PREFETCH_SECONDS).
LOAD_BATCH = 32
# Reconcile outcomes written in one transaction at most.
WRITE_BATCH = 64
# How long the first outcome to finish waits for others to join its write while more
# reconciles are running: a transaction costs far more than what it carries.
WRITE_LINGER = 0.25


class OutcomeWriter:
    """Group commit: outcomes that finish while a write is under way go together in the next
    one (``db.outcomes.record``), so a thousand partitions catching up are not a thousand
    transactions."""

    def __init__(self, db: Database, me: str, running: Callable[[], int] = lambda: 0) -> None:
        self.db = db
        self.me = me
        self.running = running  # reconciles still busy with the devices
        self._pending: list[tuple[outcomes.Finished, asyncio.Future[bool]]] = []
        self._writing = False

    async def write(self, finished: outcomes.Finished) -> bool:
        """Write ``finished``; False when its lease was lost (nothing of it was written).
        Raises DatabaseError."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((finished, future))
        if not self._writing:
            self._writing = True
            try:
                if self.running():  # others may finish in a moment and join this write
                    await asyncio.sleep(WRITE_LINGER)
                while self._pending:
                    batch = self._pending[:WRITE_BATCH]
                    del self._pending[:WRITE_BATCH]
                    await self._write(batch)
            finally:
                self._writing = False
                for _, waiting in self._pending:  # only if the writer was cancelled
                    waiting.cancel()
                self._pending.clear()
        return await future

    async def _write(self, batch: list[tuple[outcomes.Finished, asyncio.Future[bool]]]) -> None:
        try:
            lost = await in_thread(outcomes.record, self.db, self.me, [f for f, _ in batch])
        except Exception as err:  # DatabaseError (or a bug): every waiter raises it
            for _, future in batch:
                future.set_exception(err)
            return
        except BaseException:  # cancelled (the agent is stopping)
            for _, future in batch:
                future.cancel()
            raise
        for f, future in batch:
            future.set_result(f.held.partition_id not in lost)


class PollNow:
    """Set by a change notification: the work loop polls the database at once."""

    def __init__(self, wake: asyncio.Event) -> None:
        self.wake = wake
        self.flag = False
        self.at = 0.0  # when the last notification came

    def set(self) -> None:
        self.flag = True
        self.at = time.monotonic()
        self.wake.set()


class Agent:
    def __init__(self, settings: AgentSettings, db: Database, devices: Sequence[Device],
                 certs: CertificateSource | None = None,
                 source: NetworkSource | None = None) -> None:
        self.s = settings
        self.db = db
        self.me = settings.instance_id
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()  # the work loop: look for work now
        self.poll_now = PollNow(self.wake)  # ... and read the database for it first
        probe_timeout = min(settings.request_timeout, max(2.0, 2 * settings.heartbeat_interval))
        self.fleet = Fleet(devices, probe_timeout)
        self.queue = WorkQueue(settings.resync_interval)
        self.keeper = LeaseKeeper(settings, db, self.queue, self.fleet, self.stopping, self.wake)
        self.writer = OutcomeWriter(
            db, self.me, lambda: len(self.queue.processing) - self.recording
        )
        self.policy = RetryPolicy(settings.max_retries, settings.pending_timeout)
        self.tasks: set[asyncio.Task[None]] = set()
        self.recording = 0  # reconciles done with the devices, waiting for their outcome's write
        self.gave_up: list[str] = []  # loops that kept crashing and stopped the agent
        self.poll_interval = settings.poll_interval
        # Where TLS secrets come from (made once at start: agent/service.py).
        self.certs = certs
        # L2/L3 mode: where subnets, segments and ports come from (the built-in registry
        # unless the service gives another).
        self.source: NetworkSource | None = source
        if settings.l2l3 and source is None:
            self.source = BuiltinSource(db)

    # --- lifecycle -------------------------------------------------------------------------

    def loops(self) -> dict[str, Callable[[], Any]]:
        return {
            "probe": self._probe_loop,
            "lease": self._lease_loop,
            "work": self._work_loop,
            "status": self._status_loop,
        }

    async def run(self) -> None:
        notifications = None
        if self.db.dialect == "postgresql":
            notifications = ChangeNotifications(
                self.db.url, asyncio.get_running_loop(), self.poll_now
            )
            notifications.start()
            # Notifications carry the latency; the poll is only the safety net.
            self.poll_interval = max(self.s.poll_interval, LISTEN_POLL_SECONDS)
        runners = {
            name: asyncio.create_task(supervise(name, loop, self.stopping), name=name)
            for name, loop in self.loops().items()
        }
        await self.stopping.wait()
        for r in runners.values():
            r.cancel()
        await asyncio.gather(*runners.values(), return_exceptions=True)
        self.gave_up = [
            name for name, r in runners.items()
            if r.done() and not r.cancelled() and r.exception() is None and r.result()
        ]
        await self._drain(timeout=max(5.0, self.s.renew_deadline - 1.0))
        await self.keeper.release_all()
        if notifications is not None:
            await asyncio.to_thread(notifications.stop)
        LOG.info("agent stopped, leases released", extra={"action": "stop", "agent": self.s.host})

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
            resync = await asyncio.gather(
                *(self.fleet.probe(d, self.queue.held) for d in self.fleet.devices)
            )
            missed = set().union(*resync)
            if missed:
                self.queue.mark_due(missed)
                self.wake.set()
            if not await self._sleep(self.s.heartbeat_interval):
                return

    # --- heartbeat, leases, placement --------------------------------------------------------

    async def _lease_loop(self) -> None:
        while True:
            try:
                await self.keeper.tick()
            except DatabaseError as err:
                LOG.warning(
                    "database unavailable; leases lapse at the renew deadline",
                    extra={"action": "lease_tick", "error": str(err)},
                )
            metrics.HEARTBEAT_AGE.set(time.monotonic() - self.keeper.last_heartbeat)
            if not await self._sleep(self.s.heartbeat_interval):
                return

    # --- work ------------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        """Poll every ``poll_interval`` (or at once on a change notification) for partitions
        behind; between polls, a freed slot or a partition made due starts work without one."""
        behind: tuple[int, ...] = ()
        polled = -self.poll_interval
        while not self.stopping.is_set():
            self.wake.clear()
            if self.poll_now.flag or time.monotonic() - polled >= self.poll_interval:
                self.poll_now.flag = False
                polled = time.monotonic()
                try:
                    found = await in_thread(leases.poll, self.db, self.me, self.s.environment)
                    behind = found.behind
                    # A failover asked for a fresh read of every device: whatever the memo says.
                    self.queue.mark_due(found.full_read)
                    # New or orphaned partitions are placed at once, not at the next heartbeat.
                    if found.unowned and (time.monotonic() - self.keeper.last_placement
                                          >= PROMPT_PLACEMENT_SECONDS):
                        await self.keeper.rebalance()
                except DatabaseError as err:
                    LOG.warning("cannot read pending work",
                                extra={"action": "poll", "error": str(err)})
                    behind = ()
            # A reconcile that finished after the poll started may have caught its partition
            # up: the next poll says, rather than a needless second pass.
            current = [p for p in behind if not self.queue.caught_up_since(p, polled)]
            metrics.PENDING_PARTITIONS.set(len(current))
            await self._dispatch(current)
            timeout = max(0.0, polled + self.poll_interval - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=timeout)

    async def _dispatch(self, behind: list[int]) -> None:
        """Start reconciles for as many candidates as there are free slots, their desired state
        read in one transaction together with that of the next ones in line."""
        # A reconcile waiting for its outcome to be written holds no slot: it is done with the
        # devices, and the longer outcomes gather, the fewer transactions write them.
        free = self.s.max_concurrent_reconciles - (len(self.queue.processing) - self.recording)
        if free <= 0 or not self.keeper.lease_valid():
            return
        now = time.monotonic()
        picks = self.queue.candidates(
            behind, now, last=self.keeper.leaving, limit=free + LOAD_BATCH
        )
        if not picks:
            return
        run, waiting = picks[:free], picks[free:]
        snaps = {p.work.held.partition_id: p.work.take_prefetched(now) for p in run}
        for p in run:  # in flight from now: placement hands none of them over meanwhile
            self.queue.start(p)
        need = [pid for pid, snap in snaps.items() if snap is None]
        if need:
            ahead = [p.work for p in waiting if p.work.prefetched is None]
            ahead = ahead[: max(0, LOAD_BATCH - len(need))]
            try:
                loaded = await in_thread(
                    desired.load_many, self.db, need + [w.held.partition_id for w in ahead]
                )
            except DatabaseError as err:
                for p in run:
                    if snaps[p.work.held.partition_id] is None:
                        self._report(p.work, time.monotonic(), "error", error=str(err))
                        self.queue.retry_after(p.work, time.monotonic(), 1.0)
                        self.queue.finish(p.work, time.monotonic())
                run = [p for p in run if snaps[p.work.held.partition_id] is not None]
                loaded = {}
            except BaseException:  # a bug, or the agent stopping: none of them runs
                for p in run:
                    self.queue.finish(p.work, time.monotonic())
                raise
            read = time.monotonic()
            for w in ahead:
                snap = loaded.get(w.held.partition_id)
                if snap is not None:
                    w.prefetched = (read, snap)
            snaps.update((pid, loaded.get(pid)) for pid in need)
        for p in run:
            task = asyncio.create_task(self._reconcile(p, snaps[p.work.held.partition_id]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _reconcile(self, pick: Pick, snap: Snapshot | None) -> None:
        """Reconcile one partition and record its outcome; report it once."""
        work = pick.work
        held = work.held
        started = time.monotonic()
        outcome: Outcome | None = None
        error: str | None = None
        unexpected: Exception | None = None
        freed = False  # its slot was freed before the end (while its outcome was written)
        try:
            if snap is None:  # the partition is gone from the database
                raise LeaseLost(str(held.key), held.epoch)
            failing_for = 0.0 if work.failing_since is None else started - work.failing_since
            network = await self._prepare(held, snap) if self.s.l2l3 else None
            outcome = await reconcile(
                held, snap, self.fleet, prefix=self.s.environment,
                guard=self.keeper.guard_for(held), attempts=work.attempts,
                failing_for=failing_for, policy=self.policy, full=pick.full,
                certs=self.certs, network=network, net_settings=self.s.network,
            )
            self.recording += 1
            freed = True
            self.wake.set()  # its slot is free
            try:
                written = await self.writer.write(outcome.to_record())
            finally:
                self.recording -= 1
            if not written:
                raise LeaseLost(str(held.key), held.epoch)
            if network is not None and outcome.decision.applied and all(
                    r.ok for r in outcome.results):
                await self._release(held, snap, network)
            if self.source is not None and outcome.decision.applied and snap.vip_ports:
                await self._release_vip_ports(held, outcome)
            kind = outcome.kind
            if outcome.decision.applied or outcome.decision.give_up:
                self.queue.succeeded(work, time.monotonic(), full=pick.full)
            else:
                self.queue.failed(work, time.monotonic(), outcome.decision.delay or 1.0)
        except LeaseLost:
            kind, outcome = "lease_lost", None
            if self.queue.records.get(held.partition_id) is work:
                self.queue.forget(held.partition_id)
        except (DatabaseError, CertificateStoreUnavailable, NetworkSourceError,
                AllocationFailed) as err:
            # nothing was recorded (the objects stay PENDING): try again shortly
            kind, outcome, error = "error", None, str(err)
            self.queue.retry_after(work, time.monotonic(), 1.0)
        except Exception as err:  # a bug: logged with its traceback, retried with backoff
            kind, outcome, unexpected = "error", None, err
            metrics.UNEXPECTED_ERRORS.labels("reconcile").inc()
            self.queue.failed(work, time.monotonic(), backoff(work.attempts + 1))
        finally:
            self.queue.finish(work, time.monotonic())
            # A change notified while this ran may concern this partition again: a poll says
            # (the poll made on the notification skipped it, as it was in flight).
            if self.poll_now.at > started:
                self.poll_now.flag = True
            if not freed or work.due or self.poll_now.flag:
                # A slot is free, the partition was made due meanwhile, or a poll is wanted:
                # take the next partition now, not at the next poll.
                self.wake.set()
            if not work.due:
                self.keeper.resync.reconciled()
        self._report(work, started, kind, outcome=outcome, error=error, unexpected=unexpected)

    async def _prepare(self, held: Held, snap: Snapshot) -> PartitionNetwork:
        """L2/L3 mode: the partition's networking (``network.prepare``), gathered in a thread:
        route domains from the database, subnets and ports from the network source; then, if
        it has a tunnel, each device's VTEP address (read once per contact). Raises
        NetworkSourceError (retried)."""
        settings = self.s.network
        assert self.source is not None
        ctx = prepare.Context(
            self.db, self.source, settings, tuple(d.name for d in self.fleet.devices),
            source_name=str(getattr(self.source, "name", "the network source")))
        partition = names.partition(self.s.environment, held.key.project_id)
        network = await asyncio.to_thread(prepare.prepare, ctx, held.partition_id, partition,
                                          held.key.project_id, snap.state)
        if settings.vtep_selfip_name and any(
                s.network_type in TUNNEL_TYPES for s in network.segments):
            vteps = await self.fleet.vteps(settings.vtep_folder, settings.vtep_selfip_name)
            network = dataclasses.replace(network, vteps=vteps)
        return network

    async def _release(self, held: Held, snap: Snapshot, network: PartitionNetwork) -> None:
        """Every device applied a reconcile that no longer has some subnets: their ports go
        from the network source, then their bindings and emptied route domains from the
        database (in that order: a crash in between only repeats the port deletes). A subnet
        any object still names is kept, even one that failed (what of it is on the devices may
        be held there, so its route domain id must stay taken)."""
        assert self.source is not None
        keep = {s.subnet_id for s in network.subnets} | set(prepare.users(snap.state))
        try:
            gone = await asyncio.to_thread(release.release, self.db, self.source,
                                           held.partition_id, keep)
        except (DatabaseError, NetworkSourceError) as err:  # the next applied reconcile redoes it
            LOG.warning("cannot release networking yet", extra={
                "action": "network_release", "partition": str(held.key), "error": str(err)})
            return
        if gone.subnets:
            LOG.info("networking released", extra={
                "action": "network_release", "partition": str(held.key),
                "subnets": list(gone.subnets), "route_domains": list(gone.route_domains),
                "ports": len(gone.ports)})

    async def _release_vip_ports(self, held: Held, outcome: Outcome) -> None:
        """The VIP ports of load balancers whose rows this outcome purged, from the network
        source (a real Neutron's VIP port is created by the API and ours to delete; the
        source leaves a port the project made itself). A failure is logged: the port leaks
        rather than the work being retried, as the load balancer is gone."""
        assert self.source is not None
        failed = {f.object_id for f in outcome.decision.failures}
        ports = [port for lb_id, port in sorted(outcome.snap.vip_ports.items())
                 if lb_id not in failed]
        for port in ports:
            try:
                await asyncio.to_thread(self.source.delete_port, port)
            except NetworkSourceError as err:
                LOG.warning("cannot delete a deleted load balancer's VIP port", extra={
                    "action": "network_release", "partition": str(held.key), "port": port,
                    "error": str(err)})

    def _report(
        self,
        work: PartitionWork,
        started: float,
        kind: str,
        *,
        outcome: Outcome | None = None,
        unexpected: Exception | None = None,
        error: str | None = None,
    ) -> None:
        """The one place that logs and counts a reconcile's outcome."""
        held = work.held
        elapsed = time.monotonic() - started
        extra: dict[str, Any] = {
            "action": "reconcile",
            "partition": str(held.key),
            "epoch": held.epoch,
            "agent": self.s.host,
            "outcome": kind,
            "seconds": round(elapsed, 3),
        }
        if outcome is not None:
            d = outcome.decision
            if d.applied:
                extra.update(generation=outcome.snap.generation, writes=outcome.writes,
                             failed_objects=len(d.failures))
                if d.failures:
                    extra.update(failed_object=d.failures[0].object_id,
                                 failure=d.failures[0].reason)
            else:
                extra.update(reason=d.reason)
                if not d.give_up:
                    extra.update(retry_in=d.delay)
        if error is not None:
            extra.update(error=error)
        if unexpected is not None:
            extra.update(error=f"{type(unexpected).__name__}: {unexpected}")
        metrics.RECONCILES.labels(kind).inc()
        metrics.RECONCILE_SECONDS.observe(elapsed)
        level = logging.INFO if kind in ("applied", "lease_lost") else logging.WARNING
        LOG.log(level, "reconcile finished", extra=extra,
                exc_info=(type(unexpected), unexpected, unexpected.__traceback__)
                if unexpected is not None else None)

    # --- operating status and stats ----------------------------------------------------------

    async def _status_loop(self) -> None:
        """Every `status_interval`, the operating status and stats of every held partition: the
        counters of the units that carry the traffic (`_carried`) once per pass, then
        STATUS_BATCH partitions at a time (one read of their desired state, STATUS_READS device
        reads at a time, one fenced write)."""
        while await self._sleep(self.s.status_interval):
            if not len(self.queue):
                continue
            device, stats = await self._carried()
            if device is None:
                continue
            pids = sorted(self.queue.held())
            for i in range(0, len(pids), STATUS_BATCH):
                if self.stopping.is_set():
                    return
                if not self.fleet.up[device.name]:
                    break
                batch = [p for p in pids[i : i + STATUS_BATCH]
                         if p in self.queue and p not in self.queue.processing]
                if batch and self.keeper.lease_valid():
                    await self._status_batch(device, batch, stats)

    async def _carried(self) -> tuple[Device | None, DeviceStats | None]:
        """The device a status pass reads member health from, and every virtual's counters as
        the units carrying the traffic count them: the active unit of a pair, not whichever
        answers first (a standby's counters are not the traffic), and on scale-N every active
        unit's, summed. The failover state is read each pass: a pair fails over. Counters are
        None when a carrier could not be read (then each partition's own are read from the
        device returned, the first carrier)."""
        up = [d for d in self.fleet.devices if self.fleet.up[d.name]]
        if not up:
            return None, None
        picked = up[:1]
        if len(self.fleet.devices) > 1:
            said = await asyncio.gather(*(d.failover_state() for d in up), return_exceptions=True)
            for d, state in zip(up, said, strict=True):
                if isinstance(state, DeviceError):
                    self._device_trouble(d, state)
                elif isinstance(state, BaseException):
                    raise state
            names = set(carriers([(d.name, s if isinstance(s, str) else None)
                                  for d, s in zip(up, said, strict=True)]))
            picked = [d for d in up if d.name in names]
        counted: list[DeviceStats] = []
        for d in picked:
            try:
                counted.append(await d.pass_stats())
            except DeviceError as err:
                self._device_trouble(d, err)
        if len(counted) != len(picked):
            return picked[0], None
        return picked[0], counted[0] if len(counted) == 1 else summed(counted)

    def _device_trouble(self, device: Device, err: DeviceError) -> None:
        if isinstance(err, DeviceUnreachable):
            self.fleet.lost_contact(device.name)

    async def _status_batch(
        self, device: Device, batch: list[int], stats: DeviceStats | None
    ) -> None:
        try:
            snaps = await in_thread(desired.load_many, self.db, batch)
        except DatabaseError as err:
            _status_skipped(err, count=len(batch))
            return

        reading = asyncio.Semaphore(STATUS_READS)

        async def one(pid: int) -> tuple[Held, PartitionStatus] | None:
            held = self.queue.held_at(pid)
            if held is None or pid not in snaps:
                return None
            try:
                async with reading:
                    snap = snaps[pid]
                    busy = {p.load_balancer_id for p in snap.pending}
                    return held, await device.collect(settled(snap.state, busy), stats)
            except DeviceError as err:  # this partition only; the others go on
                self._device_trouble(device, err)
                _status_skipped(err, partition=str(held.key))
            except Exception:  # a bug: this partition only, logged with its traceback
                metrics.UNEXPECTED_ERRORS.labels("status").inc()
                LOG.exception("status collection failed",
                              extra={"action": "status", "partition": str(held.key)})
            return None

        found = [r for r in await asyncio.gather(*(one(p) for p in batch)) if r is not None]
        # Only partitions still held at the epoch read, and only while the lease is valid.
        current = [
            (held, status) for held, status in found
            if self.keeper.lease_valid() and self.queue.held_at(held.partition_id) == held
        ]
        if not current:
            return
        try:
            lost = await in_thread(outcomes.record_observed, self.db, self.me, current)
        except DatabaseError as err:
            _status_skipped(err, count=len(current))
            return
        for pid in lost:
            self.queue.forget(pid)


def _status_skipped(err: Exception, **extra: Any) -> None:
    LOG.info("status collection skipped",
             extra={"action": "status", "error": f"{type(err).__name__}: {err}", **extra})
