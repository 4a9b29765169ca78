"""Properties of render and diff: idempotence, convergence on a model device, safety rules."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from bigip_lbaas.core.model import HealthMonitor, LoadBalancer, Member, PartitionState, Pool
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceConfig, DeviceObject, Kind, make_config
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.plan import Action
from bigip_lbaas.engine.render import render
from tests.unit.engine.device_model import DeviceModel
from tests.unit.engine.strategies import KEY, partition_states

PREFIX = "Project"
PART = names.partition(PREFIX, KEY.project_id)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(partition_states())
def test_diff_of_render_with_itself_is_empty(state: PartitionState) -> None:
    r = render(state, PREFIX)
    assert diff(r, r.config, PREFIX).empty


@SETTINGS
@given(partition_states())
def test_render_is_deterministic(state: PartitionState) -> None:
    assert render(state, PREFIX) == render(state, PREFIX)


def _converged(model: DeviceModel, state: PartitionState) -> None:
    r = render(state, PREFIX)
    observed = model.config()
    assert diff(r, observed, PREFIX).empty
    want = {k for k in r.config.objects}
    have = {k for k in observed.objects if k[0] is not Kind.NODE}
    assert have == want
    addresses = {
        m["address"]
        for o in r.config.objects.values()
        if o.kind is Kind.POOL
        for m in o.body["members"]
    }
    assert {n for (k, n) in observed.objects if k is Kind.NODE} == addresses


@SETTINGS
@given(partition_states(), partition_states())
def test_plan_moves_any_state_to_any_other(before: PartitionState, after: PartitionState) -> None:
    model = DeviceModel(PART)
    model.apply(diff(render(before, PREFIX), model.config(), PREFIX))
    _converged(model, before)
    plan = diff(render(after, PREFIX), model.config(), PREFIX)
    model.apply(plan)
    _converged(model, after)
    if not after.load_balancers:
        assert model.objects == {}


def test_member_monitor_that_changes_type_with_its_pool_is_replaced() -> None:
    """A per-member monitor follows the pool monitor's type. Found by hypothesis: with one name
    for both types, the new one took the old one's path and the old one stayed as "in use"."""

    def state(hm_type: str) -> PartitionState:
        member = Member("mem1", "10.0.0.1", 8080, monitor_port=9000)
        hm = HealthMonitor("hm-" + hm_type, hm_type, 1, 1, 1)
        pool = Pool("pool1", "HTTP", "ROUND_ROBIN", members=(member,), health_monitor=hm)
        return PartitionState(KEY, 1, (LoadBalancer("lb1", "192.0.2.10", pools=(pool,)),))

    model = DeviceModel(PART)
    model.apply(diff(render(state("PING"), PREFIX), model.config(), PREFIX))
    model.apply(diff(render(state("TCP"), PREFIX), model.config(), PREFIX))
    _converged(model, state("TCP"))
    objects = model.config().objects
    assert (Kind.MONITOR_TCP, "Project_mem1_tcp") in objects
    assert not any(k[0] is Kind.MONITOR_ICMP for k in objects)


@SETTINGS
@given(partition_states())
def test_creates_precede_deletes_and_follow_dependencies(state: PartitionState) -> None:
    plan = diff(render(state, PREFIX), DeviceConfig(PART), PREFIX)
    actions = [op.action for op in plan.ops]
    assert Action.DELETE not in actions
    if state.load_balancers:
        assert plan.ops[0].kind is Kind.FOLDER


def test_foreign_objects_are_never_touched() -> None:
    foreign = [
        DeviceObject(Kind.FOLDER, PART, {}),
        DeviceObject(Kind.POOL, "someone_elses_pool", {"members": []}),
        DeviceObject(Kind.VIRTUAL, "Other_abc", {}),
        DeviceObject(Kind.POOL, "Project_orphan", {"members": []}),
    ]
    plan = diff(render(PartitionState(KEY, 1), PREFIX), make_config(PART, foreign), PREFIX)
    touched = {(op.kind, op.name) for op in plan.ops}
    assert touched == {(Kind.POOL, "Project_orphan")}  # folder kept: foreign objects remain


def test_orphan_prefix_objects_are_removed_and_empty_partition_deleted() -> None:
    objs = [
        DeviceObject(Kind.FOLDER, PART, {}),
        DeviceObject(Kind.POOL, "Project_p", {"members": [{"address": "10.0.0.9"}]}),
        DeviceObject(Kind.NODE, "10.0.0.9", {"address": "10.0.0.9"}),
        DeviceObject(Kind.VIRTUAL, "Project_v", {"pool": f"/{PART}/Project_p"}),
    ]
    plan = diff(render(PartitionState(KEY, 1), PREFIX), make_config(PART, objs), PREFIX)
    assert [str(op) for op in plan.ops] == [
        "delete ltm/virtual Project_v",
        "delete ltm/pool Project_p",
        "delete ltm/node 10.0.0.9",
        f"delete sys/folder {PART}",
    ]


def _lb_with_member(address: str) -> PartitionState:
    pool = Pool("p1", "TCP", "ROUND_ROBIN", members=(Member("m1", address, 80),))
    return PartitionState(KEY, 1, (LoadBalancer("lb1", "192.0.2.10", pools=(pool,)),))


def test_an_operator_node_and_virtual_address_named_by_address_are_never_touched() -> None:
    """Address-named objects are not ours by name: an operator's node that no pool of ours uses
    and a virtual address that does not delete itself stay, and so does the folder."""
    keep = {"address": "10.6.6.6", "autoDelete": "false"}
    operator = [
        DeviceObject(Kind.FOLDER, PART, {}),
        DeviceObject(Kind.NODE, "10.5.5.5", {"address": "10.5.5.5"}),
        DeviceObject(Kind.VIRTUAL_ADDRESS, "10.6.6.6", keep),
        # autoDelete (the default) but no virtual uses it: it does not go by itself either
        DeviceObject(Kind.VIRTUAL_ADDRESS, "10.6.6.7", {"address": "10.6.6.7"}),
    ]
    for desired in (PartitionState(KEY, 1), _lb_with_member("10.0.0.1")):
        plan = diff(render(desired, PREFIX), make_config(PART, operator), PREFIX)
        assert not [op for op in plan.ops if op.action is Action.DELETE], plan.ops


def test_our_nodes_go_with_the_members_that_used_them_and_only_those() -> None:
    """A node is ours when a member of one of our pools (on the device or desired) uses it."""
    model = DeviceModel(PART)
    model.apply(diff(render(_lb_with_member("10.0.0.1"), PREFIX), model.config(), PREFIX))
    model.objects[(Kind.NODE, "10.5.5.5")] = {"address": "10.5.5.5"}  # the operator's
    plan = diff(render(_lb_with_member("10.0.0.2"), PREFIX), model.config(), PREFIX)
    assert [str(op) for op in plan.ops if op.action is Action.DELETE] == [
        "delete ltm/node 10.0.0.1"
    ]
    model.apply(plan)
    plan = diff(render(PartitionState(KEY, 2), PREFIX), model.config(), PREFIX)
    assert [str(op) for op in plan.ops] == [
        "delete ltm/virtual-address Project_lb1",
        "delete ltm/pool Project_p1",
        "delete ltm/node 10.0.0.2",
    ]  # the folder stays: the operator's node is in it


def test_an_auto_created_virtual_address_does_not_keep_the_folder() -> None:
    """The device names the virtual address it creates for a virtual by its address and deletes it
    with the virtual: it is never deleted explicitly, and the folder still goes."""
    objs = [
        DeviceObject(Kind.FOLDER, PART, {}),
        DeviceObject(Kind.VIRTUAL, "Project_v", {"destination": f"/{PART}/192.0.2.10:80"}),
        DeviceObject(Kind.VIRTUAL_ADDRESS, "192.0.2.10", {"address": "192.0.2.10"}),
    ]
    plan = diff(render(PartitionState(KEY, 1), PREFIX), make_config(PART, objs), PREFIX)
    assert [str(op) for op in plan.ops] == [
        "delete ltm/virtual Project_v",
        f"delete sys/folder {PART}",
    ]


def test_no_folder_is_created_for_nothing() -> None:
    """Everything desired is held (its objects failed): no empty folder is created for it."""
    rendered = render(_lb_with_member("10.0.0.1"), PREFIX)
    hold = frozenset(k for k in rendered.config.objects if k[0] is not Kind.FOLDER)
    assert diff(rendered, DeviceConfig(PART), PREFIX, hold=hold).empty
    assert str(diff(rendered, DeviceConfig(PART), PREFIX).ops[0]) == f"create sys/folder {PART}"
