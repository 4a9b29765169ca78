"""The agent's devices and what it knows of each: reachable or not (and why), the partitions
each missed while it was down, and what each was last seen holding per partition.

That last memo lets a reconcile skip the observe reads of a partition this owner itself last
converged under the same lease epoch. It is kept for the MEMO_PARTITIONS partitions converged
most recently on each device (a partition's state is ~50 KB at 10 load balancers; 1,000 would be
50 MB), dropped for a partition whenever its converge did not end certain, and dropped for a
whole device whenever the device is unreachable (it may be rebuilt or wiped meanwhile).

Must not: talk to the database; decide outcomes (``agent.reconcile`` does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from bigip_lbaas.agent import metrics
from bigip_lbaas.core.errors import DeviceError
from bigip_lbaas.core.model import PartitionKey, PartitionState
from bigip_lbaas.db.leases import Held
from bigip_lbaas.device.apply import Guard
from bigip_lbaas.device.converge import ConvergeResult
from bigip_lbaas.device.status import DeviceStats
from bigip_lbaas.engine.config import DeviceConfig, Rendered
from bigip_lbaas.engine.health import PartitionStatus

LOG = logging.getLogger(__name__)
# Consecutive failed health checks before a device counts as down.
PROBE_FAILURES = 2
MEMO_PARTITIONS = 256
"""Partitions whose observed state is remembered per device (the most recently converged)."""


class Device(Protocol):
    """What the agent needs from one BIG-IP (``agent.devices.BigipDevice`` is the real one)."""

    name: str

    async def probe(self) -> None: ...

    async def converge(
        self, rendered: Rendered, guard: Guard, known: DeviceConfig | None
    ) -> ConvergeResult: ...

    async def failover_state(self) -> str | None: ...

    async def pass_stats(self) -> DeviceStats: ...

    async def collect(
        self, state: PartitionState, pass_stats: DeviceStats | None
    ) -> PartitionStatus: ...

    async def missing(self, keys: Iterable[PartitionKey]) -> set[PartitionKey]: ...

    async def close(self) -> None: ...


class Fleet:
    def __init__(self, devices: Sequence[Device], probe_timeout: float = 5.0) -> None:
        self.devices = list(devices)
        self.probe_timeout = probe_timeout
        self.up: dict[str, bool] = {d.name: True for d in self.devices}
        self.error: dict[str, str | None] = {d.name: None for d in self.devices}
        self.probe_failures: dict[str, int] = {}
        # device → partitions whose last reconcile did not reach it (converged on its return)
        self.behind: dict[str, set[int]] = {}
        # device → partition id → (lease epoch, what the device holds), oldest first
        self._memo: dict[str, dict[int, tuple[int, DeviceConfig]]] = {
            d.name: {} for d in self.devices
        }
        # device → its VTEP self IP's address (L2/L3 mode, tunnels), read once per contact
        self._vteps: dict[str, str] = {}

    @property
    def operational(self) -> bool:
        return any(self.up.values())

    def report(self) -> list[dict[str, Any]]:
        return [
            {"device": name, "reachable": up, "error": self.error.get(name)}
            for name, up in self.up.items()
        ]

    def down_reason(self) -> str | None:
        if self.operational:
            return None
        return "cannot reach any device: " + "; ".join(f"{n}: {e}" for n, e in self.error.items())

    def first_up(self) -> Device | None:
        return next((d for d in self.devices if self.up[d.name]), None)

    # --- what a device missed and what it holds ----------------------------------------------

    def missed(self, name: str, pid: int) -> None:
        """``pid``'s reconcile did not reach device ``name``: resync it when the device returns.
        ``behind[name]`` is looked up here, at the moment of the miss, never kept across an
        await: a device that went down and came back meanwhile took that set whole (``probe``),
        and a miss added to the old set would never be resynced."""
        self.behind.setdefault(name, set()).add(pid)

    def caught_up(self, name: str, pid: int) -> None:
        self.behind.get(name, set()).discard(pid)

    def mark_down(self, name: str, error: str) -> None:
        """The device could not be reached (by a reconcile, a status read or the probes)."""
        self.up[name] = False
        self.error[name] = error
        self.lost_contact(name)

    def lost_contact(self, name: str) -> None:
        """Forget what the device was seen holding: it may be rebuilt or wiped meanwhile."""
        self._memo[name] = {}
        self._vteps.pop(name, None)

    async def vteps(self, folder: str, selfip: str) -> dict[str, str]:
        """Each reachable device's VTEP address (self IP ``/<folder>/<selfip>``), read once
        after each contact with the device (``lost_contact`` forgets it); a device that has no
        such self IP is left out (its tunnels cannot be built: render says so)."""
        for device in self.devices:
            name = device.name
            read = getattr(device, "vtep_address", None)
            if name in self._vteps or not self.up[name] or read is None:
                continue
            try:
                found = await asyncio.wait_for(read(folder, selfip), self.probe_timeout)
            except (DeviceError, TimeoutError) as err:
                LOG.warning("cannot read the VTEP self IP", extra={
                    "action": "vtep", "device": name, "error": str(err) or type(err).__name__})
                continue
            if found:
                self._vteps[name] = found
        return dict(self._vteps)

    def take_known(self, name: str, held: Held) -> DeviceConfig | None:
        """What device ``name`` holds for ``held``'s partition, if remembered under its epoch;
        the entry is removed (``remember`` puts back what the converge found)."""
        entry = self._memo[name].pop(held.partition_id, None)
        return entry[1] if entry is not None and entry[0] == held.epoch else None

    def remember(self, name: str, held: Held, observed: DeviceConfig | None) -> None:
        if observed is None:
            self._memo[name].pop(held.partition_id, None)
            return
        memo = self._memo[name]
        memo.pop(held.partition_id, None)
        memo[held.partition_id] = (held.epoch, observed)
        while len(memo) > MEMO_PARTITIONS:
            del memo[next(iter(memo))]

    def remembered(self, name: str) -> int:
        return len(self._memo[name])

    # --- health checks ------------------------------------------------------------------------

    async def probe(self, device: Device, held: Callable[[], Mapping[int, Held]]) -> set[int]:
        """One health check of ``device``. A device is marked down after PROBE_FAILURES checks
        in a row fail (one slow answer from a busy device is not an outage), or at once when a
        reconcile finds it unreachable. Returns the partitions to resync now: on its return,
        those of ``held()`` (the partitions held at that moment) it missed or lost meanwhile;
        otherwise none."""
        name = device.name
        resync: set[int] = set()
        try:
            await asyncio.wait_for(device.probe(), timeout=self.probe_timeout)
        except (DeviceError, TimeoutError) as err:
            self.lost_contact(name)
            self.probe_failures[name] = self.probe_failures.get(name, 0) + 1
            if self.probe_failures[name] >= PROBE_FAILURES and self.up[name]:
                self.up[name] = False
                self.error[name] = str(err) or type(err).__name__
                LOG.warning("device unreachable", extra={
                    "action": "device_down", "device": name, "error": self.error[name]})
        else:
            self.probe_failures[name] = 0
            # Read the flag only now: a reconcile may have marked the device down while the
            # probe ran, and its return must still resync what it missed.
            if not self.up[name]:
                lost = await self._lost_by(device, held())
                # No await from here until the device counts as up: a reconcile that finds it
                # down meanwhile adds to `behind`, which must be taken whole, now.
                resync = (self.behind.pop(name, set()) | lost) & set(held())
                LOG.info("device reachable again; resyncing the partitions it missed or lost",
                         extra={"action": "device_up", "device": name, "count": len(resync)})
            self.up[name] = True
            self.error[name] = None
        metrics.DEVICE_UP.labels(name).set(1 if self.up[name] else 0)
        return resync

    async def _lost_by(self, device: Device, held: Mapping[int, Held]) -> set[int]:
        """Held partitions a returning device no longer has (wiped or replaced while away);
        all of them when it cannot say."""
        held = dict(held)
        try:
            gone = await asyncio.wait_for(
                device.missing(h.key for h in held.values()), timeout=self.probe_timeout
            )
        except (DeviceError, TimeoutError):
            return set(held)
        return {pid for pid, h in held.items() if h.key in gone}
