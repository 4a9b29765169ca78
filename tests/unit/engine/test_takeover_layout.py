"""Where F5's agent 9.x lays a listener out differently (its LTM policy `wrapper_policy`, its
`app_cookie_<prefix>_<listener_id>` iRule and persistence profile), the take-over plan is
make-before-break: ours is created before the virtual is re-pointed to it, in one plan (one
transaction per device), and F5's object, not ours by name, is never deleted."""

from __future__ import annotations

from typing import Any

from bigip_lbaas.core.model import (
    L7Policy,
    L7Rule,
    Listener,
    LoadBalancer,
    PartitionState,
    Pool,
    SessionPersistence,
)
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceObject, Kind, make_config
from bigip_lbaas.engine.diff import diff, foreign
from bigip_lbaas.engine.plan import Action
from bigip_lbaas.engine.render import render
from tests.unit.engine.strategies import KEY
from tests.unit.engine.test_explain import PREFIX

PART = names.partition(PREFIX, KEY.project_id)
VIRTUAL = names.virtual(PREFIX, "l1")


def _state(listener: Listener, pool: Pool) -> PartitionState:
    lb = LoadBalancer("lb1", "192.0.2.10", listeners=(listener,), pools=(pool,))
    return PartitionState(KEY, 1, (lb,))


def _f5_device(state: PartitionState, virtual: dict[str, Any], *extra: DeviceObject) -> Any:
    """What F5's agent left: our rendering of the rest, its own layout of the virtual."""
    objs = {k: o for k, o in render(state, PREFIX).config.objects.items()
            if k[0] not in (Kind.POLICY, Kind.RULE, Kind.PERSISTENCE_UNIVERSAL)}
    v = objs[(Kind.VIRTUAL, VIRTUAL)]
    objs[v.key] = DeviceObject(Kind.VIRTUAL, VIRTUAL, {**v.body, **virtual})
    return make_config(PART, [*objs.values(), *extra])


def _check_make_before_break(state: PartitionState, observed: Any, created: set[Kind],
                             theirs: str) -> None:
    plan = diff(render(state, PREFIX), observed, PREFIX)
    ops = [(op.action, op.kind, op.name) for op in plan.ops]
    assert not [op for op in ops if op[0] is Action.DELETE], ops
    repoint = ops.index((Action.UPDATE, Kind.VIRTUAL, VIRTUAL))
    made = [i for i, (a, k, _) in enumerate(ops) if a is Action.CREATE and k in created]
    assert {ops[i][1] for i in made} == created and max(made) < repoint, ops
    assert theirs in {o.name for o in foreign(render(state, PREFIX), observed, PREFIX)}


def test_l7_wrapper_policy_is_replaced_make_before_break() -> None:
    pool = Pool("p1", "HTTP", "ROUND_ROBIN")
    rule = L7Rule("r1", "PATH", "STARTS_WITH", "/api")
    listener = Listener("l1", "HTTP", 80, default_pool_id="p1", l7policies=(
        L7Policy("pol1", "REDIRECT_TO_POOL", 1, redirect_pool_id="p1", rules=(rule,)),))
    state = _state(listener, pool)
    wrapper = DeviceObject(Kind.POLICY, "wrapper_policy", {"strategy": "/Common/first-match"})
    observed = _f5_device(state, {"policies": [f"/{PART}/wrapper_policy"]}, wrapper)
    _check_make_before_break(state, observed, {Kind.POLICY}, "wrapper_policy")


def test_app_cookie_persistence_is_replaced_make_before_break() -> None:
    pool = Pool("p1", "HTTP", "ROUND_ROBIN",
                session_persistence=SessionPersistence("APP_COOKIE", "JSESSIONID"))
    state = _state(Listener("l1", "HTTP", 80, default_pool_id="p1"), pool)
    theirs = f"app_cookie_{VIRTUAL}"
    observed = _f5_device(
        state, {"persist": [f"/{PART}/{theirs}"]},
        DeviceObject(Kind.RULE, theirs, {"apiAnonymous": "when HTTP_RESPONSE {}"}),
        DeviceObject(Kind.PERSISTENCE_UNIVERSAL, theirs, {"rule": f"/{PART}/{theirs}"}),
    )
    _check_make_before_break(state, observed, {Kind.RULE, Kind.PERSISTENCE_UNIVERSAL}, theirs)
