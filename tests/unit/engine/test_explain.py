"""engine.explain describes exactly the plan engine.diff made: field by field, members and
policy rules by name, and which changes would interrupt traffic on an adopted device."""

from __future__ import annotations

from hypothesis import given

from bigip_lbaas.core.model import Listener, LoadBalancer, Member, PartitionState, Pool
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceConfig, DeviceObject, Kind, make_config
from bigip_lbaas.engine.diff import diff, foreign, matches
from bigip_lbaas.engine.explain import Change, FieldChange, explain, field_changes
from bigip_lbaas.engine.plan import Action
from bigip_lbaas.engine.render import render
from tests.unit.engine.strategies import KEY, partition_states
from tests.unit.engine.test_render_diff import SETTINGS

PREFIX = "Project"
PART = names.partition(PREFIX, KEY.project_id)


def _state(weight: int = 1, enabled: bool = True, members: int = 2) -> PartitionState:
    pool = Pool("p1", "HTTP", "ROUND_ROBIN", members=tuple(
        Member(f"m{i}", f"10.0.0.{i}", 80, weight=weight if i == 1 else 1)
        for i in range(1, members + 1)))
    lst = Listener("l1", "HTTP", 80, default_pool_id="p1", enabled=enabled)
    return PartitionState(KEY, 1, (LoadBalancer("lb1", "192.0.2.10", listeners=(lst,),
                                                pools=(pool,)),))


def _on_device(state: PartitionState) -> DeviceConfig:
    return render(state, PREFIX).config


@SETTINGS
@given(partition_states(), partition_states())
def test_every_op_is_explained_and_every_update_names_a_differing_field(
        before: PartitionState, after: PartitionState) -> None:
    observed = _on_device(before)
    plan = diff(render(after, PREFIX), observed, PREFIX)
    changes = explain(plan, observed)
    assert [(c.action, c.kind, c.name) for c in changes] == [
        (op.action, op.kind, op.name) for op in plan.ops]
    for c, op in zip(changes, plan.ops, strict=True):
        if c.action is Action.UPDATE:
            assert c.fields, op
            cur = observed.get(op.kind, op.name)
            assert cur is not None
            top = {f.field.split("[", 1)[0].split(".", 1)[0] for f in c.fields}
            assert all(not matches(op.body[k], cur.body.get(k)) or k not in cur.body
                       for k in top)


def test_a_member_ratio_reads_by_member_name() -> None:
    observed = _on_device(_state(weight=1))
    plan = diff(render(_state(weight=3), PREFIX), observed, PREFIX)
    (change,) = explain(plan, observed)
    assert (change.action, change.kind) == (Action.UPDATE, Kind.POOL)
    assert FieldChange("members[10.0.0.1:80].ratio", 1, 3) in change.fields
    assert change.disruptive is None


def test_disruptive_changes_are_named() -> None:
    removed = explain(diff(render(_state(members=1), PREFIX), _on_device(_state()), PREFIX),
                      _on_device(_state()))
    assert [c.disruptive for c in removed] == [
        f"removes pool member 10.0.0.2:80 from {names.pool(PREFIX, 'p1')}"]
    disabled = explain(diff(render(_state(enabled=False), PREFIX), _on_device(_state()), PREFIX),
                       _on_device(_state()))
    assert [c.disruptive for c in disabled] == [
        f"disables virtual {names.virtual(PREFIX, 'l1')}"]
    gone = explain(diff(render(PartitionState(KEY, 2), PREFIX), _on_device(_state()), PREFIX),
                   _on_device(_state()))
    assert {c.kind for c in gone if c.disruptive} >= {Kind.VIRTUAL, Kind.POOL,
                                                     Kind.VIRTUAL_ADDRESS}
    assert Change(Action.CREATE, Kind.VIRTUAL, "v").disruptive is None


def test_field_changes_of_missing_and_present_keys() -> None:
    assert field_changes(Kind.VIRTUAL, {"pool": "/P/a", "rules": []}, {"pool": "/P/b"}) == (
        FieldChange("pool", "/P/b", "/P/a"), FieldChange("rules", None, []))


def test_foreign_objects_are_neither_desired_nor_ours() -> None:
    desired = render(_state(), PREFIX)
    observed = make_config(PART, [
        *desired.config.objects.values(),
        DeviceObject(Kind.POOL, "operator_pool", {}),
        DeviceObject(Kind.NODE, "10.0.0.1", {"address": "10.0.0.1"}),  # our member's
        DeviceObject(Kind.NODE, "10.9.9.9", {"address": "10.9.9.9"}),  # the operator's
        DeviceObject(Kind.POOL, names.pool(PREFIX, "gone"), {}),  # ours: deleted, not foreign
    ])
    assert [(o.kind, o.name) for o in foreign(desired, observed, PREFIX)] == [
        (Kind.NODE, "10.9.9.9"), (Kind.POOL, "operator_pool")]
