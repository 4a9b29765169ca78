"""Health monitor rendering: Octavia's rise threshold (max_retries) becomes timeUntilUp."""

from __future__ import annotations

from typing import Any

import pytest

from bigip_lbaas.core.model import HealthMonitor, LoadBalancer, Member, PartitionState, Pool
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceConfig, DeviceObject, Kind
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.render import render
from tests.unit.engine.strategies import KEY

PREFIX = "Project"
PART = names.partition(PREFIX, KEY.project_id)


def state(max_retries: int, delay: int = 5, monitor_port: int | None = None) -> PartitionState:
    hm = HealthMonitor("hm1", "HTTP", delay, 3, max_retries)
    member = Member("mem1", "10.0.0.1", 80, monitor_port=monitor_port)
    pool = Pool("pool1", "HTTP", "ROUND_ROBIN", members=(member,), health_monitor=hm)
    return PartitionState(KEY, 1, (LoadBalancer("lb1", "192.0.2.10", pools=(pool,)),))


def monitor(st: PartitionState, name: str = "Project_hm1") -> dict[str, Any]:
    obj = render(st, PREFIX).config.get(Kind.MONITOR_HTTP, name)
    assert obj is not None
    return dict(obj.body)


@pytest.mark.parametrize(
    ("max_retries", "delay", "until_up"), [(1, 5, 0), (2, 5, 5), (3, 7, 14), (10, 5, 45)]
)
def test_max_retries_becomes_time_until_up(max_retries: int, delay: int, until_up: int) -> None:
    assert monitor(state(max_retries, delay))["timeUntilUp"] == until_up


def test_max_retries_changes_the_rendered_monitor() -> None:
    assert monitor(state(1)) != monitor(state(10))


def test_a_member_monitor_copy_has_the_same_rise_threshold() -> None:
    body = monitor(state(4, monitor_port=9000), "Project_mem1_http")
    assert body["timeUntilUp"] == 15 and body["destination"] == "*:9000"


def test_time_until_up_as_the_device_returns_it_is_no_change() -> None:
    """The device may answer the number as a string; a changed value is an update."""
    st = state(4)
    rendered = render(st, PREFIX)

    def observed(until_up: object) -> DeviceConfig:
        objs = dict(rendered.config.objects)
        key = (Kind.MONITOR_HTTP, "Project_hm1")
        objs[key] = DeviceObject(*key, {**objs[key].body, "timeUntilUp": until_up})
        return DeviceConfig(PART, objs)

    assert diff(rendered, observed("15"), PREFIX).empty
    assert diff(rendered, observed(15), PREFIX).empty
    ops = diff(rendered, observed(0), PREFIX).ops
    assert [str(op) for op in ops] == ["update ltm/monitor/http Project_hm1"]
    assert ops[0].body["timeUntilUp"] == 15
