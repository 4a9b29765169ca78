"""A device's return, against a scripted device: nothing missed meanwhile is forgotten."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from bigip_lbaas.agent.fleet import Fleet
from bigip_lbaas.agent.reconcile import on_device
from bigip_lbaas.core.errors import DeviceUnreachable
from bigip_lbaas.core.model import PartitionKey, PartitionState
from bigip_lbaas.db.leases import Held
from bigip_lbaas.engine.render import render

KEYS = {pid: PartitionKey("Project", f"p{pid}") for pid in (1, 2, 3)}
HELD = {pid: Held(pid, key, 1) for pid, key in KEYS.items()}


def held() -> dict[int, Held]:
    """Every partition of KEYS is held."""
    return dict(HELD)


async def converge_partition(fleet: Fleet, device: Any, pid: int) -> Any:
    """One device's part of a reconcile of partition ``pid`` (as ``reconcile`` runs it)."""
    rendered = render(PartitionState(KEYS[pid], 1), "Project")
    return await on_device(fleet, device, HELD[pid], rendered, lambda: 0.0, False)


class SlowToTell:
    """Answers its probe at once; says which partitions it lacks only when told to."""

    name = "dev1"

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    async def probe(self) -> None:
        return None

    async def missing(self, keys: Iterable[PartitionKey]) -> set[PartitionKey]:
        wanted = set(keys)
        self.asked.set()
        await self.answer.wait()
        return wanted & {KEYS[3]}

    async def converge(self, *args: Any) -> Any:
        raise AssertionError("a device that is down is never written")


def test_a_partition_missed_while_the_returning_device_is_asked_is_resynced() -> None:
    async def go() -> None:
        device = SlowToTell()
        fleet = Fleet([device])
        fleet.up[device.name] = False
        fleet.error[device.name] = "refused"
        fleet.behind[device.name] = {1}  # a reconcile missed it while the device was down

        returning = asyncio.create_task(fleet.probe(device, held))
        await asyncio.wait_for(device.asked.wait(), 5)
        # While the return is being checked, a reconcile of partition 2 finds the device down.
        result = await converge_partition(fleet, device, 2)
        assert result.unreachable
        device.answer.set()
        due = await asyncio.wait_for(returning, 5)

        assert fleet.up[device.name]
        assert due == {1, 2, 3}  # missed before, missed meanwhile, lost by the device
        assert not fleet.behind.get(device.name)

    asyncio.run(go())


class HangsThenFails:
    """A write that hangs until told, then fails as unreachable (a request timeout)."""

    name = "dev1"

    def __init__(self) -> None:
        self.writing = asyncio.Event()
        self.fail = asyncio.Event()

    async def probe(self) -> None:
        return None

    async def missing(self, keys: Iterable[PartitionKey]) -> set[PartitionKey]:
        return set()

    async def converge(self, *args: Any) -> Any:
        self.writing.set()
        await self.fail.wait()
        raise DeviceUnreachable("dev1", "read timeout")


def test_a_write_that_times_out_after_the_device_came_back_is_resynced() -> None:
    """Found by the multi-host device-faults scenario: a write hung while the device was marked
    down and came back; its timeout then recorded the miss in the set the return had already
    taken, and nothing resynced the partition."""
    async def go() -> None:
        device = HangsThenFails()
        fleet = Fleet([device])
        fleet.up[device.name] = True

        write = asyncio.create_task(converge_partition(fleet, device, 2))
        await asyncio.wait_for(device.writing.wait(), 5)
        # Meanwhile the device is marked down (another reconcile) and its probe sees it return.
        fleet.up[device.name] = False
        fleet.error[device.name] = "refused"
        await fleet.probe(device, held)
        assert fleet.up[device.name]
        # Now the hung write gives up: the device is down again and partition 2 is behind.
        device.fail.set()
        result = await asyncio.wait_for(write, 5)
        assert result.unreachable and not fleet.up[device.name]
        assert 2 in fleet.behind.get(device.name, set())
        # The device answers again: partition 2 is resynced.
        assert await fleet.probe(device, held) == {2}

    asyncio.run(go())
