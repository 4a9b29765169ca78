"""Listener data timeouts: the client's and the member's each reach their own side of the virtual
(a clientside and a serverside TCP profile when they differ), never the larger one on both."""

from __future__ import annotations

from typing import Any

import pytest

from bigip_lbaas.core.model import Listener, LoadBalancer, PartitionState
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import Kind
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.normalize import normalize
from bigip_lbaas.engine.render import render
from tests.unit.engine.device_model import DeviceModel
from tests.unit.engine.strategies import KEY

PREFIX = "Project"
PART = names.partition(PREFIX, KEY.project_id)
TCP = f"/{PART}/Project_lst1_tcp"
SERVER = f"/{PART}/Project_lst1_tcp_server"


def state(client: int | None, member: int | None, generation: int = 1) -> PartitionState:
    lst = Listener("lst1", "HTTP", 80, timeout_client_data=client, timeout_member_data=member)
    return PartitionState(KEY, generation, (LoadBalancer("lb1", "192.0.2.10", listeners=(lst,)),))


def shape(client: int | None, member: int | None) -> tuple[list[Any], dict[str, int]]:
    """(the virtual's profiles, idleTimeout of each TCP profile rendered)."""
    config = render(state(client, member), PREFIX).config
    virtual = config.get(Kind.VIRTUAL, "Project_lst1")
    assert virtual is not None
    idle = {o.name: o.body["idleTimeout"] for o in config.of_kind(Kind.PROFILE_TCP)}
    return list(virtual.body["profiles"]), idle


def test_different_client_and_member_timeouts_get_a_profile_each() -> None:
    profiles, idle = shape(20000, 90000)
    assert profiles == [
        "/Common/http",
        {"name": TCP, "context": "clientside"},
        {"name": SERVER, "context": "serverside"},
    ]
    assert idle == {"Project_lst1_tcp": 20, "Project_lst1_tcp_server": 90}


def test_a_side_left_at_octavias_default_gets_the_default() -> None:
    assert shape(20000, None)[1] == {"Project_lst1_tcp": 20, "Project_lst1_tcp_server": 50}
    assert shape(None, 90000)[1] == {"Project_lst1_tcp": 50, "Project_lst1_tcp_server": 90}


@pytest.mark.parametrize(
    ("client", "member", "seconds"), [(90000, 90000, 90), (20001, 20999, 21)]
)
def test_equal_timeouts_share_one_profile_for_both_sides(
    client: int, member: int, seconds: int
) -> None:
    assert shape(client, member) == (["/Common/http", TCP], {"Project_lst1_tcp": seconds})


@pytest.mark.parametrize(
    ("client", "member"), [(None, None), (50000, None), (None, 50000), (50000, 50000)]
)
def test_octavias_defaults_use_the_builtin_profile(client: int | None, member: int | None) -> None:
    assert shape(client, member) == (["/Common/http", "/Common/tcp"], {})


def test_the_device_form_of_sided_profiles_is_no_change() -> None:
    rendered = render(state(20000, 90000), PREFIX)
    virtual = rendered.config.get(Kind.VIRTUAL, "Project_lst1")
    assert virtual is not None
    items = [
        {"name": "Project_lst1_tcp_server", "partition": PART, "fullPath": SERVER,
         "context": "serverside"},
        {"name": "http", "partition": "Common", "fullPath": "/Common/http", "context": "all"},
        {"name": "Project_lst1_tcp", "partition": PART, "fullPath": TCP, "context": "clientside"},
    ]
    raw = {**virtual.body, "profilesReference": {"isSubcollection": True, "items": items}}
    del raw["profiles"]
    assert normalize(Kind.VIRTUAL, raw)["profiles"] == virtual.body["profiles"]


def test_splitting_and_joining_the_sides_converges() -> None:
    model = DeviceModel(PART)
    for generation, (client, member) in enumerate(
        [(90000, 90000), (20000, 90000), (None, None), (20000, 90000), (30000, 30000)], 1
    ):
        st = state(client, member, generation)
        model.apply(diff(render(st, PREFIX), model.config(), PREFIX))
        assert diff(render(st, PREFIX), model.config(), PREFIX).empty
        tcp = {n for k, n in model.objects if k is Kind.PROFILE_TCP}
        assert tcp == {o.name for o in render(st, PREFIX).config.of_kind(Kind.PROFILE_TCP)}
