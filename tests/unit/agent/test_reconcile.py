"""reconcile() against scripted devices: what one reconcile of a partition comes to."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest

from bigip_lbaas.agent.fleet import Fleet
from bigip_lbaas.agent.reconcile import Outcome, RetryPolicy, reconcile
from bigip_lbaas.core.errors import DeviceUnreachable, LeaseLost
from bigip_lbaas.core.model import (
    Listener,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
)
from bigip_lbaas.core.status import Prov
from bigip_lbaas.db.desired import PendingObject, Snapshot
from bigip_lbaas.db.leases import Held
from bigip_lbaas.device.apply import Guard
from bigip_lbaas.device.converge import ConvergeResult
from bigip_lbaas.engine.config import DeviceConfig, ObjectFailure, Rendered

KEY = PartitionKey("Project", "p1")
HELD = Held(7, KEY, 3)
STATE = PartitionState(
    KEY,
    4,
    (
        LoadBalancer(
            "lb1",
            "10.0.0.10",
            listeners=(Listener("li1", "HTTP", 80, default_pool_id="pool1"),),
            pools=(Pool("pool1", "HTTP", "ROUND_ROBIN", members=(Member("m1", "10.1.0.1", 80),)),),
        ),
    ),
)
SNAP = Snapshot(7, STATE, (PendingObject("member", "m1", "lb1", Prov.PENDING_CREATE),))


def ours() -> float:
    return 1e18  # the lease is ours for as long as the test runs


class Scripted:
    """A device that answers every converge from a script: a ConvergeResult (or a function of
    the rendered config making one), or an exception to raise. Records what it was given."""

    def __init__(self, name: str, *script: Any) -> None:
        self.name = name
        self.script = list(script)
        self.rendered: list[Rendered] = []
        self.known: list[DeviceConfig | None] = []

    async def probe(self) -> None:
        return None

    async def converge(
        self, rendered: Rendered, guard: Guard, known: DeviceConfig | None
    ) -> ConvergeResult:
        self.rendered.append(rendered)
        self.known.append(known)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            return step(rendered, guard)  # type: ignore[no-any-return]
        if step == "ok":
            return ConvergeResult(self.name, rendered.config.partition, writes=5, ops=5,
                                  observed=rendered.config)
        assert isinstance(step, ConvergeResult)
        return step

    async def failover_state(self) -> str | None:
        return "active"

    async def pass_stats(self) -> Any:
        return {}

    async def collect(self, state: PartitionState, pass_stats: Any) -> Any:
        raise AssertionError("not used")

    async def missing(self, keys: Iterable[PartitionKey]) -> set[PartitionKey]:
        return set()

    async def close(self) -> None:
        return None


def run(fleet: Fleet, *, guard: Guard = ours, full: bool = True, **kw: Any) -> Outcome:
    return asyncio.run(
        reconcile(HELD, SNAP, fleet, prefix="Project", guard=guard, full=full, **kw)
    )


def test_success_on_every_device_renders_once_and_applies() -> None:
    a, b = Scripted("a"), Scripted("b")
    fleet = Fleet([a, b])
    outcome = run(fleet)
    assert outcome.kind == "applied" and outcome.writes == 10
    assert a.rendered[0] is b.rendered[0]  # one render for the whole cluster
    record = outcome.to_record()
    assert record.error is None and record.failures == () and record.snap is SNAP
    assert [(d.device, d.in_step) for d in record.devices] == [("a", True), ("b", True)]
    # What each device now holds is remembered under the epoch: the next (not full) reconcile
    # of the partition skips the reads.
    run(fleet, full=False)
    assert a.known[-1] is a.rendered[0].config and b.known[-1] is b.rendered[0].config
    # A full one does not trust it.
    run(fleet, full=True)
    assert a.known[-1] is None


def test_one_object_rejected_is_an_object_failure_and_the_rest_is_applied() -> None:
    def reject_member(rendered: Rendered, guard: Guard) -> ConvergeResult:
        failure = ObjectFailure("m1", "01070226:3: bad member")
        return ConvergeResult("a", rendered.config.partition, 4, 4, (failure,))

    a = Scripted("a", reject_member)
    fleet = Fleet([a])
    outcome = run(fleet)
    assert outcome.kind == "applied_with_errors"
    assert outcome.to_record().failures == (ObjectFailure("m1", "01070226:3: bad member"),)
    # Nothing certain about what the device holds: the next reconcile reads it.
    run(fleet, full=False)
    assert a.known[-1] is None


def test_a_rejection_pinned_on_no_object_retries_then_gives_up() -> None:
    def refuse(rendered: Rendered, guard: Guard) -> ConvergeResult:
        return ConvergeResult("a", rendered.config.partition, 2, 0,
                              refused="a: HTTP 400: 01020036:3: something")

    policy = RetryPolicy(max_retries=2, pending_timeout=60)
    first = run(Fleet([Scripted("a", refuse)]), policy=policy)
    assert first.kind == "retry" and "01020036" in (first.decision.reason or "")
    assert first.to_record().error and not first.to_record().give_up
    last = run(Fleet([Scripted("a", refuse)]), policy=policy, attempts=1)
    assert last.kind == "gave_up" and last.to_record().give_up


def test_a_device_down_does_not_block_the_other_and_is_resynced_later() -> None:
    a, b = Scripted("a"), Scripted("b", DeviceUnreachable("b", "connection refused"))
    fleet = Fleet([a, b])
    outcome = run(fleet)
    assert outcome.kind == "applied"
    assert [(d.device, d.in_step) for d in outcome.to_record().devices] == [
        ("a", True), ("b", False)]
    assert not fleet.up["b"] and fleet.behind["b"] == {HELD.partition_id}
    # The next reconcile does not try the device that is down; it is still behind.
    run(fleet)
    assert len(b.rendered) == 1 and fleet.behind["b"] == {HELD.partition_id}


def test_no_device_reachable_retries_until_the_pending_timeout() -> None:
    fleet = Fleet([Scripted("a", DeviceUnreachable("a", "refused"))])
    first = run(fleet)
    assert first.kind == "retry" and "no device reachable" in (first.decision.reason or "")
    last = run(fleet, attempts=9, failing_for=61.0)
    assert last.kind == "gave_up"


def test_lease_lost_mid_way_raises_and_nothing_is_decided() -> None:
    lost = {"now": False}

    def guard() -> float:
        if lost["now"]:
            raise LeaseLost(str(KEY), HELD.epoch)
        return 1e18

    def lose_it(rendered: Rendered, guard: Guard) -> ConvergeResult:
        lost["now"] = True  # the renewal failed while this device was being written
        guard()
        raise AssertionError("unreachable")

    fleet = Fleet([Scripted("a", lose_it)])
    with pytest.raises(LeaseLost):
        run(fleet, guard=guard)
    assert fleet.remembered("a") == 0  # nothing is trusted after a write cut short


def test_lease_lost_after_the_devices_answered_raises_before_the_outcome() -> None:
    calls = {"n": 0}

    def guard() -> float:
        calls["n"] += 1
        raise LeaseLost(str(KEY), HELD.epoch)

    with pytest.raises(LeaseLost):
        run(Fleet([Scripted("a")]), guard=guard)
    assert calls["n"] == 1
