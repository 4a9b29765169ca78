"""Operating status rolled up from members to the load balancer, as Octavia's health manager does
(reference A2: a pool DOWN makes the LB ERROR; a member DOWN makes its pool and the LB DEGRADED)."""

from __future__ import annotations

from dataclasses import replace

from bigip_lbaas.core.model import (
    HealthMonitor,
    L7Policy,
    Listener,
    LoadBalancer,
    Member,
    PartitionState,
    Pool,
)
from bigip_lbaas.core.status import Oper
from bigip_lbaas.engine import names
from bigip_lbaas.engine.health import (
    CUR_CONNS,
    DeviceHealth,
    PartitionStatus,
    partition_status,
    settled,
)
from tests.unit.engine.strategies import KEY

PREFIX = "Project"
HM = HealthMonitor("hm1", "HTTP", 5, 3, 3)
A, B = "10.0.0.1:80", "10.0.0.2:80"


def lb(enabled: bool = True, limit: int = -1) -> LoadBalancer:
    pool = Pool(
        "pool1",
        "HTTP",
        "ROUND_ROBIN",
        members=(Member("m1", "10.0.0.1", 80), Member("m2", "10.0.0.2", 80)),
        health_monitor=HM,
    )
    spare = Pool("pool2", "HTTP", "ROUND_ROBIN", members=(Member("m3", "10.0.0.3", 80),))
    lst = Listener("lst1", "HTTP", 80, connection_limit=limit, default_pool_id="pool1")
    return LoadBalancer("lb1", "192.0.2.10", enabled, (lst,), (pool, spare))


def status(
    members: dict[str, str],
    conns: int = 0,
    virtual: bool = True,
    enabled: bool = True,
    limit: int = -1,
) -> PartitionStatus:
    health = DeviceHealth(
        member_states={
            names.pool(PREFIX, "pool1"): members,
            names.pool(PREFIX, "pool2"): {"10.0.0.3:80": "unchecked"},
        },
        virtual_counters={names.virtual(PREFIX, "lst1"): {CUR_CONNS: conns}} if virtual else {},
    )
    return partition_status(PartitionState(KEY, 1, (lb(enabled, limit),)), PREFIX, health)


def test_all_up_is_online() -> None:
    s = status({A: "up", B: "up"})
    assert [s.of(i) for i in ("m1", "m2", "pool1", "lst1", "lb1")] == [
        Oper.ONLINE,
        Oper.ONLINE,
        Oper.ONLINE,
        Oper.ONLINE,
        Oper.ONLINE,
    ]
    assert s.of("pool2") is Oper.OFFLINE  # no listener uses it (Octavia: OFFLINE)
    assert s.of("m3") is Oper.NO_MONITOR


def test_a_member_down_makes_its_pool_and_the_load_balancer_degraded() -> None:
    s = status({A: "up", B: "down"})
    assert (s.of("m2"), s.of("pool1"), s.of("lb1")) == (Oper.ERROR, Oper.DEGRADED, Oper.DEGRADED)


def test_a_pool_down_makes_the_load_balancer_error() -> None:
    s = status({A: "down", B: "down"})
    assert (s.of("pool1"), s.of("lb1")) == (Oper.ERROR, Oper.ERROR)
    assert s.of("lst1") is Oper.ONLINE and s.of("pool2") is Oper.OFFLINE


def test_a_pool_down_outweighs_a_full_listener() -> None:
    s = status({A: "down", B: "down"}, conns=10, limit=10)
    assert (s.of("lst1"), s.of("pool1"), s.of("lb1")) == (Oper.DEGRADED, Oper.ERROR, Oper.ERROR)


def test_a_full_listener_makes_the_load_balancer_degraded() -> None:
    s = status({A: "up", B: "up"}, conns=10, limit=10)
    assert (s.of("lst1"), s.of("lb1")) == (Oper.DEGRADED, Oper.DEGRADED)


def test_a_missing_virtual_makes_the_listener_error_and_the_load_balancer_degraded() -> None:
    s = status({A: "up", B: "up"}, virtual=False)
    assert (s.of("lst1"), s.of("lb1")) == (Oper.ERROR, Oper.DEGRADED)


def test_an_admin_down_load_balancer_is_offline_even_with_a_pool_down() -> None:
    s = status({A: "down", B: "down"}, enabled=False)
    assert (s.of("lst1"), s.of("lb1")) == (Oper.OFFLINE, Oper.OFFLINE)


def test_a_pool_an_l7_policy_redirects_to_is_in_use() -> None:
    base = lb()
    pol = L7Policy("pol1", "REDIRECT_TO_POOL", 1, redirect_pool_id="pool2")
    lst = replace(base.listeners[0], l7policies=(pol,))
    health = DeviceHealth(
        member_states={names.pool(PREFIX, "pool1"): {A: "up", B: "up"},
                       names.pool(PREFIX, "pool2"): {"10.0.0.3:80": "unchecked"}},
        virtual_counters={names.virtual(PREFIX, "lst1"): {CUR_CONNS: 0}},
    )
    state = PartitionState(KEY, 1, (replace(base, listeners=(lst,)),))
    assert partition_status(state, PREFIX, health).of("pool2") is Oper.ONLINE


def test_a_busy_load_balancer_is_left_out_of_a_status_pass() -> None:
    """A member created but not yet on the device (its load balancer has work pending) is not
    judged ERROR: the pass leaves the whole load balancer to the change being applied, and
    still judges the settled one beside it."""
    new_member = replace(lb().pools[0], members=(*lb().pools[0].members,
                                                 Member("m9", "10.0.0.9", 80)))
    busy = replace(lb(), pools=(new_member, lb().pools[1]))
    calm = replace(lb(), id="lb2", listeners=(), pools=(
        Pool("pool3", "HTTP", "ROUND_ROBIN", members=(Member("m5", "10.0.0.5", 80),)),))
    state = PartitionState(KEY, 1, (busy, calm))
    health = DeviceHealth(
        member_states={names.pool(PREFIX, "pool1"): {A: "up", B: "up"}},  # no m9 yet
        virtual_counters={names.virtual(PREFIX, "lst1"): {CUR_CONNS: 0}},
    )
    unsettled = partition_status(state, PREFIX, health)
    assert unsettled.of("m9") is Oper.ERROR  # what a pass that judged it would write
    s = partition_status(settled(state, {"lb1"}), PREFIX, health)
    assert not {i for _, i in s.operating} & {"lb1", "pool1", "m1", "m9", "lst1", "hm1"}
    assert "lst1" not in s.listeners
    assert s.of("m5") is Oper.ERROR  # lb2 is settled: its member missing on the device is
    assert s.of("lb2") is Oper.ONLINE  # judged (pool3 is used by no listener: OFFLINE)
    assert settled(state, ()) is state
