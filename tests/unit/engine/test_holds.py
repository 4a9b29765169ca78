"""What a rejected object drags with it, and what a device holds after a plan: pure."""

from __future__ import annotations

from bigip_lbaas.core.model import Listener, LoadBalancer, Member, PartitionState, Pool
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceConfig, DeviceObject, Kind, ObjKey
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.holds import after, hold_dependents, owned_keys, references
from bigip_lbaas.engine.render import render
from tests.unit.engine.strategies import KEY

PREFIX = "Project"
STATE = PartitionState(
    KEY,
    1,
    (
        LoadBalancer(
            "lb1",
            "10.0.0.10",
            listeners=(Listener("li1", "HTTP", 80, default_pool_id="pool1"),),
            pools=(Pool("pool1", "HTTP", "ROUND_ROBIN", members=(Member("m1", "10.1.0.1", 80),)),),
        ),
    ),
)


def test_references_finds_whole_words_in_nested_bodies() -> None:
    body = {"pool": "/P/Project_pool1", "rules": [{"actions": ["forward /P/Project_pool2"]}]}
    assert references(body, "/P/Project_pool1")
    assert references(body, "/P/Project_pool2")
    assert not references(body, "/P/Project_pool")  # a prefix of a name is not a reference
    assert not references(3, "/P/x")


def test_after_a_plan_the_device_holds_its_objects_and_the_nodes_of_members() -> None:
    rendered = render(STATE, PREFIX)
    empty = DeviceConfig(rendered.config.partition)
    plan = diff(rendered, empty, PREFIX)
    held = after(empty, plan)
    assert diff(rendered, held, PREFIX).empty
    assert (Kind.NODE, "10.1.0.1") in held.objects
    # Deleting everything again leaves nothing but what the device made itself.
    gone = after(held, diff(render(PartitionState(KEY, 2), PREFIX), held, PREFIX))
    assert {k for k in gone.objects if k[0] is not Kind.NODE} == set()


def test_holding_a_pool_the_device_lacks_holds_the_listener_that_uses_it() -> None:
    rendered = render(STATE, PREFIX)
    part = rendered.config.partition
    hold: set[ObjKey] = set(owned_keys(rendered, "pool1"))
    failures = hold_dependents(rendered, DeviceConfig(part), hold)
    assert [f.object_id for f in failures] == ["li1"]
    assert f"depends on {names.full_path(part, 'Project_pool1')}" in failures[0].reason
    assert owned_keys(rendered, "li1") <= hold
    assert (Kind.VIRTUAL_ADDRESS, "Project_lb1") not in hold  # not a dependent


def test_nothing_more_is_held_when_the_device_already_has_the_held_object() -> None:
    rendered = render(STATE, PREFIX)
    part = rendered.config.partition
    hold: set[ObjKey] = set(owned_keys(rendered, "pool1"))
    observed = DeviceConfig(part, {k: DeviceObject(k[0], k[1]) for k in hold})
    assert hold_dependents(rendered, observed, hold) == []
