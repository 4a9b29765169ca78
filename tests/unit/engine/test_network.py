"""engine/network.py and the L2/L3 half of render: pure, deterministic, routed mode unchanged."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bigip_lbaas.core.model import (
    Listener,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
)
from bigip_lbaas.core.network import (
    FdbRecord,
    NetworkSettings,
    PartitionNetwork,
    PhysicalMapping,
    Segment,
    SubnetPlan,
)
from bigip_lbaas.device.apply import request_for
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import NET_KINDS, DeviceConfig, Kind, ObjectFailure, Rendered
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.normalize import rd_address
from bigip_lbaas.engine.plan import Action, Op
from bigip_lbaas.engine.render import render

P = "Project"
PART = "Project_p1"
DEVICES = ("bigip1", "bigip2")
SETTINGS = NetworkSettings(global_routed_mode=False, vtep_selfip_name="vtep",
                           advertised_tunnel_types=("vxlan", "gre"))


def state(subnet: str | None = "sub-1", network: str | None = "net-1", vip: str = "10.0.0.10",
          member_subnet: str | None = None, extra: tuple[LoadBalancer, ...] = ()) -> PartitionState:
    pool = Pool("pool-1", "HTTP", "ROUND_ROBIN",
                members=(Member("mem-1", "10.0.0.5", 80, subnet_id=member_subnet),))
    lb = LoadBalancer("lb-1", vip, listeners=(Listener("lst-1", "HTTP", 80,
                                                       default_pool_id="pool-1"),),
                      pools=(pool,), vip_subnet_id=subnet, vip_network_id=network)
    return PartitionState(PartitionKey("e", "p1"), 1, (lb, *extra))


def plan(subnet_id: str = "sub-1", network_id: str = "net-1", rd: int = 2, cidr: str = "10.0.0.0/24",
         gateway: str | None = "10.0.0.1", snat: tuple[str, ...] = ("10.0.0.200",),
         version: int = 4, common: bool = False) -> SubnetPlan:
    net = cidr.partition("/")[0]
    base = net.rsplit(".", 1)[0] + "." if version == 4 else net
    return SubnetPlan(subnet_id, network_id, cidr, version, gateway, rd, common,
                      {} if common else {"bigip1": f"{base}2", "bigip2": f"{base}3"},
                      None if common else f"{base}4", snat)


def vlan_net(*subnets: SubnetPlan, segments: tuple[Segment, ...] | None = None,
             rds: tuple[int, ...] = (2,), **kw: object) -> PartitionNetwork:
    subnets = subnets or (plan(),)
    segs = segments or (Segment("net-1", "vlan", "physnet1", 101),)
    return PartitionNetwork(rds, segs, subnets, **kw)  # type: ignore[arg-type]


def r(st: PartitionState, net: PartitionNetwork | None,
      settings: NetworkSettings = SETTINGS, devices: tuple[str, ...] = DEVICES) -> Rendered:
    return render(st, P, network=net, settings=settings, devices=devices)


def body(rendered: Rendered, kind: Kind, name: str, device: str = "bigip1") -> dict[str, object]:
    obj = rendered.for_device(device).config.get(kind, name)
    assert obj is not None, (kind, name, sorted(rendered.for_device(device).config.objects))
    return dict(obj.body)


def test_routed_mode_is_unchanged_and_has_no_network() -> None:
    st = state(subnet=None, network=None)
    plain = render(st, P)
    assert render(st, P, network=None, settings=SETTINGS, devices=DEVICES) == plain
    assert not plain.network and plain.per_device == {}
    assert plain.for_device("bigip1") is plain
    assert not {k for k, _ in plain.config.objects} & NET_KINDS
    va = body(plain, Kind.VIRTUAL_ADDRESS, "Project_lb-1")
    assert va["address"] == "10.0.0.10"
    vs = body(plain, Kind.VIRTUAL, "Project_lst-1")
    assert vs["sourceAddressTranslation"] == {"type": "automap"}
    assert vs["destination"] == f"/{PART}/10.0.0.10:80"


def test_same_input_same_output_whatever_the_order() -> None:
    s1, s2 = plan(), plan("sub-2", "net-2", cidr="10.9.0.0/24", gateway="10.9.0.1")
    segs = (Segment("net-1", "vlan", "physnet1", 101), Segment("net-2", "vlan", "physnet1", 102))
    st = state(extra=(LoadBalancer("lb-2", "10.9.0.10", vip_subnet_id="sub-2"),))
    a = r(st, vlan_net(s1, s2, segments=segs))
    b = r(st, vlan_net(s2, s1, segments=tuple(reversed(segs))))
    assert a == b
    assert r(st, vlan_net(s1, s2, segments=segs)) == a
    assert a.failures == ()


def test_vlan_route_domain_self_ips_snat_route() -> None:
    out = r(state(), vlan_net())
    assert out.network and out.failures == ()
    assert body(out, Kind.VLAN, "Project_vlan-101") == {
        "interfaces": [{"name": "1.1", "tagged": True}], "mtu": 1500, "tag": 101}
    assert body(out, Kind.ROUTE_DOMAIN, PART) == {
        "id": 2, "vlans": [f"/{PART}/Project_vlan-101"], "strict": "disabled",
        "parent": "/Common/0"}
    assert body(out, Kind.PARTITION_DEFAULT_RD, PART) == {"defaultRouteDomain": 2}
    for dev, host in (("bigip1", 2), ("bigip2", 3)):
        mine = body(out, Kind.SELF_IP, f"Project_local-{dev}-sub-1", dev)
        assert mine["address"] == f"10.0.0.{host}%2/24"
        assert mine["trafficGroup"] == "/Common/traffic-group-local-only"
        other = "bigip2" if dev == "bigip1" else "bigip1"
        assert out.for_device(dev).config.get(
            Kind.SELF_IP, f"Project_local-{other}-sub-1") is None
    assert out.config.get(Kind.SELF_IP, "Project_local-bigip1-sub-1") is None  # per device only
    assert body(out, Kind.SELF_IP, "Project_floating-sub-1")["trafficGroup"] == (
        "/Common/traffic-group-1")
    assert body(out, Kind.ROUTE, "Project_default-2") == {"network": "default%2",
                                                         "gw": "10.0.0.1%2"}
    assert body(out, Kind.SNAT_TRANSLATION, "Project_snat-sub-1_0") == {
        "address": "10.0.0.200%2", "trafficGroup": "/Common/traffic-group-1"}
    assert body(out, Kind.SNATPOOL, "Project_snatpool") == {
        "members": [f"/{PART}/Project_snat-sub-1_0"]}
    vs = body(out, Kind.VIRTUAL, "Project_lst-1")
    assert vs["destination"] == f"/{PART}/10.0.0.10%2:80"
    assert vs["source"] == "0.0.0.0%2/0"
    assert vs["sourceAddressTranslation"] == {"type": "snat", "pool": f"/{PART}/Project_snatpool"}
    pool = body(out, Kind.POOL, "Project_pool-1")
    assert pool["members"] == [{
        "name": "10.0.0.5%2:80", "address": "10.0.0.5%2", "ratio": 1, "priorityGroup": 0,
        "session": "user-enabled", "state": "user-up", "monitor": "default"}]


def test_standalone_has_no_floating_self_ip_and_local_only_snat() -> None:
    out = r(state(), vlan_net(), devices=("bigip1",))
    assert out.config.get(Kind.SELF_IP, "Project_floating-sub-1") is None
    assert body(out, Kind.SNAT_TRANSLATION, "Project_snat-sub-1_0")["trafficGroup"] == (
        "/Common/traffic-group-local-only")


@pytest.mark.parametrize(("mapping", "network_type", "want"), [
    (PhysicalMapping("default", "1.1", False), "vlan", {"name": "1.1", "untagged": True}),
    (PhysicalMapping("default", "2.1", True), "vlan", {"name": "2.1", "tagged": True}),
    (PhysicalMapping("physnet1", "trunk1", True), "flat", {"name": "trunk1", "untagged": True}),
], ids=["untagged", "tagged", "flat"])
def test_interface_and_tagging_from_the_mapping(
    mapping: PhysicalMapping, network_type: str, want: dict[str, object]
) -> None:
    settings = replace(SETTINGS, physical_mappings=(mapping,))
    seg = Segment("net-1", network_type, "physnet1", 101 if network_type == "vlan" else None)
    out = r(state(), vlan_net(segments=(seg,)), settings)
    name = "Project_vlan-101" if network_type == "vlan" else f"Project_flat-{mapping.interface}"
    vlan = body(out, Kind.VLAN, name)
    assert vlan["interfaces"] == [want]
    assert ("tag" in vlan) == (network_type == "vlan")


def test_vxlan_tunnel_per_device_with_fdb() -> None:
    net = vlan_net(segments=(Segment("net-1", "vxlan", None, 5001),),
                   vteps={"bigip1": "192.0.2.11", "bigip2": "192.0.2.12"},
                   fdb=(FdbRecord("net-1", "fa:16:3e:00:00:02", "198.51.100.2"),
                        FdbRecord("net-1", "fa:16:3e:00:00:01", "198.51.100.1"),
                        FdbRecord("net-9", "fa:16:3e:00:00:09", "198.51.100.9")))
    out = r(state(), net)
    for dev, vtep in (("bigip1", "192.0.2.11"), ("bigip2", "192.0.2.12")):
        assert body(out, Kind.TUNNEL, "Project_tunnel-vxlan-5001", dev) == {
            "profile": "/Common/vxlan", "key": 5001, "localAddress": f"{vtep}%0",
            "remoteAddress": "any"}
    assert body(out, Kind.FDB_TUNNEL, "Project_tunnel-vxlan-5001")["records"] == [
        {"name": "fa:16:3e:00:00:01", "endpoint": "198.51.100.1"},
        {"name": "fa:16:3e:00:00:02", "endpoint": "198.51.100.2"}]
    gre = r(state(), replace(net, segments=(Segment("net-1", "gre", None, 77),)))
    assert body(gre, Kind.TUNNEL, "Project_tunnel-gre-77")["profile"] == "/Common/gre_ovs"


def test_missing_vtep_fails_the_users_naming_the_option_and_holds_the_tunnel() -> None:
    net = vlan_net(segments=(Segment("net-1", "vxlan", None, 5001),),
                   vteps={"bigip1": "192.0.2.11"})
    out = r(state(member_subnet="sub-1"), net)
    ids = {f.object_id for f in out.failures}
    assert ids == {"lb-1", "mem-1"}
    assert all("f5_vtep_selfip_name" in f.reason and "bigip2" in f.reason for f in out.failures)
    assert (Kind.TUNNEL, "Project_tunnel-vxlan-5001") in out.hold
    assert (Kind.VIRTUAL_ADDRESS, "Project_lb-1") in out.hold
    assert out.config.get(Kind.VIRTUAL, "Project_lst-1") is None


def test_missing_mapping_and_agent_failures() -> None:
    settings = replace(SETTINGS, physical_mappings=(PhysicalMapping("physnet7", "1.7", True),))
    out = r(state(), vlan_net(), settings)
    assert [f.object_id for f in out.failures] == ["lb-1"]
    assert "f5_external_physical_mappings" in out.failures[0].reason
    # a failure the agent found (a subnet gone from Neutron) on a member: its pool is held
    gone = r(state(), vlan_net(failures={"mem-1": "subnet sub-x was deleted", "x-1": "other"}))
    assert ObjectFailure("mem-1", "subnet sub-x was deleted") in gone.failures
    assert ObjectFailure("x-1", "other") in gone.failures
    assert (Kind.POOL, "Project_pool-1") in gone.hold


def test_strict_route_domains_aux_and_routes_per_version() -> None:
    s1 = plan()
    s2 = plan("sub-2", "net-2", rd=9, cidr="10.0.0.0/24")  # the same CIDR: aux route domain
    s6 = plan("sub-6", "net-1", rd=2, cidr="2001:db8::/64", gateway="2001:db8::1", version=6,
              snat=())
    segs = (Segment("net-1", "vlan", "physnet1", 101), Segment("net-2", "vlan", "physnet1", 102))
    st = state(extra=(LoadBalancer("lb-2", "10.0.0.10", vip_subnet_id="sub-2"),))
    out = r(st, vlan_net(s1, s2, s6, segments=segs, rds=(2, 9)),
            replace(SETTINGS, route_domain_strictness=True))
    assert body(out, Kind.ROUTE_DOMAIN, PART) == {
        "id": 2, "vlans": [f"/{PART}/Project_vlan-101"], "strict": "enabled"}
    assert body(out, Kind.ROUTE_DOMAIN, f"{PART}_aux_9")["id"] == 9
    assert body(out, Kind.PARTITION_DEFAULT_RD, PART) == {"defaultRouteDomain": 2}
    assert body(out, Kind.ROUTE, "Project_default6-2") == {
        "network": "default-inet6%2", "gw": "2001:db8::1%2"}
    assert body(out, Kind.ROUTE, "Project_default-9")["gw"] == "10.0.0.1%9"
    assert body(out, Kind.VIRTUAL_ADDRESS, "Project_lb-2")["address"] == "10.0.0.10%9"
    assert body(out, Kind.SELF_IP, "Project_local-bigip1-sub-6")["address"] == (
        "2001:db8::2%2/64")


def test_default_route_prefers_a_vip_subnet() -> None:
    members = plan("sub-0", "net-1", cidr="10.8.0.0/24", gateway="10.8.0.1")
    out = r(state(), vlan_net(members, plan()))
    assert body(out, Kind.ROUTE, "Project_default-2")["gw"] == "10.0.0.1%2"


def test_snat_off_and_automap() -> None:
    off = r(state(), vlan_net(), replace(SETTINGS, snat_mode=False))
    assert body(off, Kind.VIRTUAL, "Project_lst-1")["sourceAddressTranslation"] == {"type": "none"}
    assert not off.config.of_kind(Kind.SNATPOOL) and not off.config.of_kind(Kind.SNAT_TRANSLATION)
    # Without SNAT the members answer through the device: it holds their gateway address (in
    # the traffic group, so it moves with the VIP), and that gateway gives no default route.
    assert body(off, Kind.SELF_IP, "Project_gw-sub-1") == {
        "address": "10.0.0.1%2/24", "vlan": f"/{PART}/Project_vlan-101",
        "trafficGroup": "/Common/traffic-group-1", "allowService": "none"}
    assert not off.config.of_kind(Kind.ROUTE)
    standalone = r(state(), vlan_net(), replace(SETTINGS, snat_mode=False), devices=("bigip1",))
    assert body(standalone, Kind.SELF_IP, "Project_gw-sub-1")["trafficGroup"] == (
        "/Common/traffic-group-local-only")
    assert not r(state(), vlan_net()).config.get(Kind.SELF_IP, "Project_gw-sub-1")
    auto = r(state(), vlan_net(plan(snat=())))
    assert body(auto, Kind.VIRTUAL, "Project_lst-1")["sourceAddressTranslation"] == {
        "type": "automap"}
    two = r(state(), vlan_net(plan(snat=("10.0.0.200", "10.0.0.201"))))
    assert body(two, Kind.SNATPOOL, "Project_snatpool")["members"] == [
        f"/{PART}/Project_snat-sub-1_0", f"/{PART}/Project_snat-sub-1_1"]


def test_common_network_makes_nothing_but_snat_in_route_domain_zero() -> None:
    common = plan(rd=0, common=True)
    out = r(state(), vlan_net(common, rds=(2,)))
    kinds = {k for k, _ in out.for_device("bigip1").config.objects}
    assert kinds & NET_KINDS == {Kind.SNAT_TRANSLATION, Kind.SNATPOOL}
    assert body(out, Kind.VIRTUAL_ADDRESS, "Project_lb-1")["address"] == "10.0.0.10"
    assert body(out, Kind.SNAT_TRANSLATION, "Project_snat-sub-1_0")["address"] == "10.0.0.200"
    # beside a tenant network (the partition's default is 2), route domain 0 is explicit
    tenant = plan("sub-2", "net-2", rd=2, cidr="10.9.0.0/24")
    mixed = r(state(extra=(LoadBalancer("lb-2", "10.9.0.10", vip_subnet_id="sub-2"),)),
              vlan_net(common, tenant, segments=(Segment("net-2", "vlan", "physnet1", 102),)))
    assert body(mixed, Kind.VIRTUAL_ADDRESS, "Project_lb-1")["address"] == "10.0.0.10%0"
    assert body(mixed, Kind.VIRTUAL_ADDRESS, "Project_lb-2")["address"] == "10.9.0.10%2"


def test_plan_order_creates_and_cleanup() -> None:
    out = r(state(), vlan_net()).for_device("bigip1")
    ops = diff(out, DeviceConfig(PART), P).ops
    order = [op.kind for op in ops if op.kind in NET_KINDS or op.kind in (
        Kind.VIRTUAL_ADDRESS, Kind.VIRTUAL)]
    firsts = list(dict.fromkeys(order))
    assert firsts == [Kind.VLAN, Kind.ROUTE_DOMAIN, Kind.PARTITION_DEFAULT_RD, Kind.SELF_IP,
                      Kind.ROUTE, Kind.SNAT_TRANSLATION, Kind.SNATPOOL, Kind.VIRTUAL_ADDRESS,
                      Kind.VIRTUAL]
    # everything goes: the partition's default back to 0 before its route domain is deleted
    empty = render(PartitionState(PartitionKey("e", "p1"), 2), P, network=PartitionNetwork(),
                   settings=SETTINGS, devices=DEVICES)
    assert empty.network
    gone = diff(empty.for_device("bigip1"), out.config, P).ops
    kinds = [op.kind for op in gone]
    assert all(op.action is Action.DELETE for op in gone)
    assert kinds.index(Kind.SELF_IP) < kinds.index(Kind.PARTITION_DEFAULT_RD) < kinds.index(
        Kind.ROUTE_DOMAIN) < kinds.index(Kind.VLAN) < kinds.index(Kind.FOLDER)
    assert kinds.index(Kind.VIRTUAL) < kinds.index(Kind.SNATPOOL) < kinds.index(
        Kind.SNAT_TRANSLATION)


def test_patch_only_kinds_on_the_wire() -> None:
    create = Op(Action.CREATE, Kind.PARTITION_DEFAULT_RD, PART, {"defaultRouteDomain": 2})
    req = request_for(create, PART)
    assert (req.method, req.path, req.body) == (
        "PATCH", f"/mgmt/tm/auth/partition/{PART}", {"defaultRouteDomain": 2})
    reset = request_for(Op(Action.DELETE, Kind.PARTITION_DEFAULT_RD, PART, {}), PART)
    assert (reset.method, reset.body) == ("PATCH", {"defaultRouteDomain": 0})
    fdb = request_for(Op(Action.DELETE, Kind.FDB_TUNNEL, "Project_tunnel-vxlan-1", {}), PART)
    assert (fdb.method, fdb.path, fdb.body) == (
        "PATCH", f"/mgmt/tm/net/fdb/tunnel/~{PART}~Project_tunnel-vxlan-1", {"records": []})


@pytest.mark.parametrize(("address", "default", "want"), [
    ("10.0.0.5%2", None, "10.0.0.5"),
    ("10.0.0.5", None, "10.0.0.5"),
    ("10.0.0.5", 2, "10.0.0.5%2"),
    ("10.0.0.5%3", 2, "10.0.0.5%3"),
    ("10.0.0.5%0", 2, "10.0.0.5%0"),
    ("10.0.0.5%0", 0, "10.0.0.5"),
    ("10.0.0.2/24", 2, "10.0.0.2%2/24"),
    ("default", 4, "default%4"),
    ("2001:db8::5", 2, "2001:db8::5%2"),
], ids=str)
def test_observed_addresses_read_as_render_writes_them(
    address: str, default: int | None, want: str
) -> None:
    assert rd_address(address, default) == want


def test_names_carry_the_prefix() -> None:
    assert names.local_self_ip(P, "bigip1.example:443", "s") == "Project_local-bigip1.example-443-s"
    assert names.owned(P, names.snatpool(P)) and names.owned(P, names.vlan(P, 1))
    assert names.is_address_name("10.0.0.5%2") and not names.is_address_name("Project_x")


def test_no_device_names_is_a_failure_not_a_network_without_self_ips() -> None:
    out = r(state(), vlan_net(), devices=())
    assert [f.object_id for f in out.failures] == ["lb-1"]
    assert not out.config.of_kind(Kind.ROUTE)
