"""Loop supervision: a crashing loop is restarted; one that keeps crashing stops the agent,
which releases its leases well within one lease period."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import sqlalchemy as sa

from bigip_lbaas.agent import metrics
from bigip_lbaas.agent.loop import Agent
from bigip_lbaas.agent.settings import AgentSettings, DeviceAddress
from bigip_lbaas.agent.supervise import RestartPolicy, supervise
from bigip_lbaas.db import agents, leases, schema
from bigip_lbaas.db.models import PartitionLease
from bigip_lbaas.db.partitions import ensure_partition
from bigip_lbaas.db.session import Database
from tests.unit.agent.test_reconcile import Scripted

FAST = RestartPolicy(first_delay=0.01, max_delay=0.02, max_crashes=3, window=60.0)


def crashes(loop: str) -> float:
    return metrics.LOOP_CRASHES.labels(loop)._value.get()


def test_a_loop_that_crashes_once_is_restarted() -> None:
    runs = []

    async def go() -> None:
        stopping = asyncio.Event()

        async def flaky() -> None:
            runs.append(time.monotonic())
            if len(runs) == 1:
                raise RuntimeError("a bug")
            stopping.set()  # the second run goes on until the agent stops

        before = crashes("flaky-once")
        assert not await asyncio.wait_for(supervise("flaky-once", flaky, stopping, FAST), 5)
        assert crashes("flaky-once") == before + 1

    asyncio.run(go())
    assert len(runs) == 2


def test_a_loop_that_keeps_crashing_stops_the_agent() -> None:
    async def go() -> None:
        stopping = asyncio.Event()

        async def broken() -> None:
            raise RuntimeError("a bug")

        assert await asyncio.wait_for(supervise("broken", broken, stopping, FAST), 5)
        assert stopping.is_set()
        assert crashes("broken") == 3

    asyncio.run(go())


class DeadWorkLoop(Agent):
    """An agent whose work loop has a bug that makes it crash every time it starts."""

    async def _work_loop(self) -> None:
        raise ZeroDivisionError("a bug in the work loop")


def test_an_agent_whose_work_loop_keeps_crashing_stops_and_releases_its_leases(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = AgentSettings(database_url=db.url, host="h1", identity="h1",
                             environment="Project", ha_type="standalone",
                             devices=(DeviceAddress("127.0.0.1"),), username="u", password="p",
                             heartbeat_interval=0.2, status_interval=3600.0)
    try:
        schema.upgrade(db)
        pid = db.run(lambda s: ensure_partition(s, "Project", "p1"))
        agents.register(db, environment="Project", identity="h1", host="h1",
                        instance_id=settings.instance_id, lease_seconds=settings.lease_seconds,
                        ha_type="standalone", devices=[], configurations={})
        agent = DeadWorkLoop(settings, db, [Scripted("dev1")])

        async def go() -> float:
            started = time.monotonic()
            run = asyncio.create_task(agent.run())
            # The lease loop acquires the partition meanwhile (placement on the heartbeat).
            while pid not in agent.queue:
                assert not run.done(), run
                await asyncio.sleep(0.05)
            await asyncio.wait_for(run, settings.lease_seconds)
            return time.monotonic() - started

        before = crashes("work")
        elapsed = asyncio.run(go())
        assert elapsed < settings.lease_seconds
        assert crashes("work") == before + 3
        assert agent.gave_up == ["work"]  # the process exits non-zero
        owner = db.query(lambda s: s.scalar(
            sa.select(PartitionLease.owner).where(PartitionLease.partition_id == pid)))
        assert owner is None  # released, not left to expire
        assert leases.renew_all(db, settings.instance_id, 10.0) == []
        row = db.query(lambda s: s.execute(sa.text("select stopped from agent")).scalar())
        assert row
    finally:
        db.dispose()
