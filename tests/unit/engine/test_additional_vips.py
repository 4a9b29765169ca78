"""Additional VIPs: one more virtual address per address, one more virtual per listener and address;
removal follows the desired state; listener status and stats cover all of a listener's virtuals."""

from __future__ import annotations

from dataclasses import replace

from bigip_lbaas.core.model import Listener, LoadBalancer, PartitionState, Pool
from bigip_lbaas.core.status import Oper
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import Kind
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.health import DeviceHealth, ListenerStats, partition_status
from bigip_lbaas.engine.plan import Action
from bigip_lbaas.engine.render import render
from tests.unit.engine.device_model import DeviceModel
from tests.unit.engine.strategies import KEY

PREFIX = "Project"
PART = names.partition(PREFIX, KEY.project_id)
V6 = "2001:db8::10"
V6_NAME = "2001-db8--10"
V6_MASK = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"


def lb(*listeners: Listener, extra: tuple[str, ...] = (V6,), enabled: bool = True) -> LoadBalancer:
    pool = Pool("pool1", "HTTP", "ROUND_ROBIN")
    return LoadBalancer("lb1", "192.0.2.10", enabled, listeners, (pool,), additional_vips=extra)


def http(
    lid: str = "lst1",
    port: int = 80,
    connection_limit: int = -1,
    allowed_cidrs: tuple[str, ...] = (),
) -> Listener:
    return Listener(
        lid,
        "HTTP",
        port,
        connection_limit,
        default_pool_id="pool1",
        allowed_cidrs=allowed_cidrs,
    )


def state(*lbs: LoadBalancer) -> PartitionState:
    return PartitionState(KEY, 1, lbs)


def converge(model: DeviceModel, st: PartitionState) -> list[str]:
    """Apply the plan to the model device; return its ops; check that nothing is left to do."""
    plan = diff(render(st, PREFIX), model.config(), PREFIX)
    model.apply(plan)
    assert diff(render(st, PREFIX), model.config(), PREFIX).empty
    return [str(op) for op in plan.ops]


def test_render_shape() -> None:
    r = render(state(lb(http(), enabled=False)), PREFIX)
    assert r.failures == ()
    objs = r.config.objects
    va = objs[(Kind.VIRTUAL_ADDRESS, "Project_lb1")].body
    va6 = objs[(Kind.VIRTUAL_ADDRESS, f"Project_lb1_{V6_NAME}")].body
    assert va6 == {**va, "address": V6, "mask": V6_MASK}
    assert va6["enabled"] == "no" and va6["autoDelete"] == "false"
    assert va6["trafficGroup"] == "/Common/traffic-group-1"
    vs = dict(objs[(Kind.VIRTUAL, "Project_lst1")].body)
    vs6 = dict(objs[(Kind.VIRTUAL, f"Project_lst1_{V6_NAME}")].body)
    assert vs["destination"] == f"/{PART}/192.0.2.10:80"
    assert vs6["destination"] == f"/{PART}/{V6}.80"  # IPv6: "." before the port
    assert (vs6["mask"], vs6["source"]) == (V6_MASK, "::/0")
    assert (vs["mask"], vs["source"]) == ("255.255.255.255", "0.0.0.0/0")
    for key in ("destination", "mask", "source"):
        del vs[key], vs6[key]
    assert vs6 == vs  # pool, profiles, persistence, policies, enabled/disabled: all the same
    assert vs6["disabled"] is True
    assert objs[(Kind.VIRTUAL, f"Project_lst1_{V6_NAME}")].owner == "lst1"
    kinds = sorted(k.value for k, _ in objs)
    assert kinds.count("ltm/virtual") == 2 and kinds.count("ltm/virtual-address") == 2


def test_names_do_not_depend_on_the_order_of_the_addresses() -> None:
    a = render(state(lb(http(), extra=(V6, "198.51.100.7"))), PREFIX)
    b = render(state(lb(http(), extra=("198.51.100.7", V6))), PREFIX)
    assert a == b
    assert (Kind.VIRTUAL, "Project_lst1_198.51.100.7") in a.config.objects
    assert (Kind.VIRTUAL_ADDRESS, "Project_lb1_198.51.100.7") in a.config.objects


def test_converge_then_nothing_to_do_then_removals() -> None:
    model = DeviceModel(PART)
    ops = converge(model, state(lb(http(), http("lst2", 443))))
    assert f"create ltm/virtual Project_lst2_{V6_NAME}" in ops
    assert diff(render(state(lb(http(), http("lst2", 443))), PREFIX), model.config(), PREFIX).empty

    # A listener goes: both of its virtuals go, the other listener's stay.
    ops = converge(model, state(lb(http())))
    assert sorted(o for o in ops if o.startswith("delete")) == [
        "delete ltm/virtual Project_lst2",
        f"delete ltm/virtual Project_lst2_{V6_NAME}",
    ]
    assert (Kind.VIRTUAL, f"Project_lst1_{V6_NAME}") in model.config().objects

    # The additional VIP goes: its virtuals and its virtual address go, nothing else changes.
    ops = converge(model, state(lb(http(), extra=())))
    assert ops == [
        f"delete ltm/virtual Project_lst1_{V6_NAME}",
        f"delete ltm/virtual-address Project_lb1_{V6_NAME}",
    ]

    # The load balancer goes: everything goes, the partition too.
    converge(model, state())
    assert model.objects == {}


def test_allowed_cidrs_one_per_ip_version() -> None:
    # An IPv4 ACL on a dual-stack LB admits no IPv6 client: no IPv6 virtual (as Octavia).
    r = render(state(lb(http(allowed_cidrs=("10.0.0.0/8",)))), PREFIX)
    assert r.failures == ()
    virtuals = {n: o.body for (k, n), o in r.config.objects.items() if k is Kind.VIRTUAL}
    assert set(virtuals) == {"Project_lst1"}
    assert virtuals["Project_lst1"]["source"] == "10.0.0.0/8"
    assert (Kind.VIRTUAL_ADDRESS, f"Project_lb1_{V6_NAME}") in r.config.objects

    # One CIDR of each version: each virtual gets its own.
    r = render(state(lb(http(allowed_cidrs=("10.0.0.0/8", "2001:db8::/32")))), PREFIX)
    assert r.failures == ()
    assert r.config.objects[(Kind.VIRTUAL, "Project_lst1")].body["source"] == "10.0.0.0/8"
    six = r.config.objects[(Kind.VIRTUAL, f"Project_lst1_{V6_NAME}")].body
    assert six["source"] == "2001:db8::/32"

    # Two of one version, or one of a version no VIP has: the listener fails.
    two = render(state(lb(http(allowed_cidrs=("10.0.0.0/8", "172.16.0.0/12")))), PREFIX)
    assert [f.object_id for f in two.failures] == ["lst1"]
    assert "more than one allowed_cidr" in two.failures[0].reason
    alien = render(state(lb(http(allowed_cidrs=("2001:db8::/32",)), extra=())), PREFIX)
    assert [f.object_id for f in alien.failures] == ["lst1"]
    assert "IP version" in alien.failures[0].reason


def test_connection_limit_over_several_virtuals_fails_and_holds_them() -> None:
    model = DeviceModel(PART)
    converge(model, state(lb(http())))
    before = model.config().objects
    limited = state(lb(http(connection_limit=100)))
    r = render(limited, PREFIX)
    assert [f.object_id for f in r.failures] == ["lst1"]
    assert "connection_limit" in r.failures[0].reason
    plan = diff(r, model.config(), PREFIX)
    assert not any(op.kind is Kind.VIRTUAL for op in plan.ops)  # both virtuals held as they are
    model.apply(plan)
    assert (
        model.config().objects[(Kind.VIRTUAL, f"Project_lst1_{V6_NAME}")]
        == before[(Kind.VIRTUAL, f"Project_lst1_{V6_NAME}")]
    )
    # With one virtual (an IPv4-only ACL), the limit is the listener's: fine.
    one = render(state(lb(http(connection_limit=100, allowed_cidrs=("10.0.0.0/8",)))), PREFIX)
    assert one.failures == ()
    assert one.config.objects[(Kind.VIRTUAL, "Project_lst1")].body["connectionLimit"] == 100


def test_listener_status_and_stats_cover_all_its_virtuals() -> None:
    st = state(lb(http()))
    counters = {
        "clientside.bitsIn": 800,
        "clientside.bitsOut": 1600,
        "clientside.curConns": 2,
        "clientside.totConns": 10,
    }
    both = {"Project_lst1": counters, f"Project_lst1_{V6_NAME}": counters}
    status = partition_status(st, PREFIX, DeviceHealth({"Project_pool1": {}}, both))
    assert status.of("lst1") is Oper.ONLINE
    assert status.listeners["lst1"] == ("lb1", ListenerStats(200, 400, 4, 20, 0))

    # The IPv6 virtual missing on the device: the listener is ERROR (as with its only virtual);
    # the stats are those of the virtual that is there.
    one = {"Project_lst1": counters}
    status = partition_status(st, PREFIX, DeviceHealth({"Project_pool1": {}}, one))
    assert status.of("lst1") is Oper.ERROR
    assert status.of("lb1") is Oper.DEGRADED
    assert status.listeners["lst1"] == ("lb1", ListenerStats(100, 200, 2, 10, 0))

    # Without the IPv6 half, the IPv4 virtual alone is the listener.
    solo = state(replace(st.load_balancers[0], additional_vips=()))
    status = partition_status(solo, PREFIX, DeviceHealth({"Project_pool1": {}}, one))
    assert status.of("lst1") is Oper.ONLINE


def test_creates_come_before_the_virtuals_that_use_them() -> None:
    plan = diff(render(state(lb(http())), PREFIX), DeviceModel(PART).config(), PREFIX)
    order = [(op.kind, op.name) for op in plan.ops if op.action is Action.CREATE]
    assert order.index((Kind.VIRTUAL_ADDRESS, f"Project_lb1_{V6_NAME}")) < order.index(
        (Kind.VIRTUAL, f"Project_lst1_{V6_NAME}")
    )
