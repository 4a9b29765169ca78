"""A device's return, against a scripted device: nothing missed meanwhile is forgotten."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from bigip_lbaas.agent.loop import Agent
from bigip_lbaas.agent.settings import AgentSettings, DeviceAddress
from bigip_lbaas.core.errors import DeviceUnreachable
from bigip_lbaas.core.model import PartitionKey, PartitionState
from bigip_lbaas.db.leases import Held

KEYS = {pid: PartitionKey("Project", f"p{pid}") for pid in (1, 2, 3)}


def agent_holding_every_key(device: Any) -> Agent:
    """An agent (no database) on one scripted device, holding every partition of KEYS."""
    settings = AgentSettings(database_url="sqlite://", host="h1", identity="h1",
                             environment="Project", ha_type="standalone",
                             devices=(DeviceAddress("127.0.0.1"),), username="u", password="p")
    agent = Agent(settings, db=None, devices=[device])  # type: ignore[arg-type]
    agent.held = {pid: Held(pid, key, 1) for pid, key in KEYS.items()}
    return agent


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
        agent = agent_holding_every_key(device)
        agent.device_up[device.name] = False
        agent.device_error[device.name] = "refused"
        agent.behind[device.name] = {1}  # a reconcile missed it while the device was down

        returning = asyncio.create_task(agent._probe(device))  # type: ignore[arg-type]
        await asyncio.wait_for(device.asked.wait(), 5)
        # While the return is being checked, a reconcile of partition 2 finds the device down.
        state = PartitionState(KEYS[2], 1)
        result = await agent._converge(2, device, state, lambda: 0.0, 1, False)  # type: ignore[arg-type]
        assert result.unreachable
        device.answer.set()
        await asyncio.wait_for(returning, 5)

        assert agent.device_up[device.name]
        assert agent.due == {1, 2, 3}  # missed before, missed meanwhile, lost by the device
        assert not agent.behind.get(device.name)

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
        agent = agent_holding_every_key(device)
        agent.device_up[device.name] = True

        write = asyncio.create_task(
            agent._converge(2, device, PartitionState(KEYS[2], 1), lambda: 0.0, 1, False)  # type: ignore[arg-type]
        )
        await asyncio.wait_for(device.writing.wait(), 5)
        # Meanwhile the device is marked down (another reconcile) and its probe sees it return.
        agent.device_up[device.name] = False
        agent.device_error[device.name] = "refused"
        await agent._probe(device)  # type: ignore[arg-type]
        assert agent.device_up[device.name]
        # Now the hung write gives up: the device is down again and partition 2 is behind.
        device.fail.set()
        result = await asyncio.wait_for(write, 5)
        assert result.unreachable and not agent.device_up[device.name]
        assert 2 in agent.behind.get(device.name, set())
        agent.due.clear()
        await agent._probe(device)  # the device answers again: partition 2 is resynced
        assert agent.due == {2}

    asyncio.run(go())
