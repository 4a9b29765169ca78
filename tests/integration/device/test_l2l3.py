"""L2/L3 mode (``f5_global_routed_mode = False``) on a simulated pair: route domains, VLANs and
tunnels, per-device and floating self IPs, SNAT pools, default routes, cleanup (issue #14).

Devices 1 and 2 of the module's simulator are the pair ``bigip1`` / ``bigip2``; each is
converged with ``Rendered.for_device`` as the agent does."""

from __future__ import annotations

import asyncio
from typing import Any

from bigip_lbaas.core.model import Listener, LoadBalancer, Member, PartitionState, Pool
from bigip_lbaas.core.network import (
    FdbRecord,
    NetworkSettings,
    PartitionNetwork,
    PhysicalMapping,
    Segment,
    SubnetPlan,
)
from bigip_lbaas.device.converge import ConvergeResult, converge
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import (
    NET_COLLECTION_KINDS,
    OPTIONAL_KINDS,
    PARTITION_KINDS,
    Rendered,
)
from bigip_lbaas.engine.render import render
from bigip_lbaas.sim.testing import SimHandle
from tests.integration.device.conftest import make_client
from tests.integration.device.states import PREFIX, key

DEVICES = ("bigip1", "bigip2")
SETTINGS = NetworkSettings(
    global_routed_mode=False,
    physical_mappings=(PhysicalMapping("default", "1.1", True),
                       PhysicalMapping("physnet2", "1.2", False)),
    vtep_selfip_name="vtep",
    advertised_tunnel_types=("vxlan", "gre"),
)


def lb_state(project: str, lb_id: str, subnet: str | None, network: str | None,
             vip: str = "10.0.0.10", member: str = "10.0.0.5") -> PartitionState:
    pool = Pool(f"pool-{lb_id}", "HTTP", "ROUND_ROBIN",
                members=(Member(f"mem-{lb_id}", member, 80, subnet_id=subnet),))
    lb = LoadBalancer(
        lb_id, vip, listeners=(Listener(f"lst-{lb_id}", "HTTP", 80, default_pool_id=pool.id),),
        pools=(pool,), vip_subnet_id=subnet, vip_network_id=network)
    return PartitionState(key(project), 1, (lb,))


def subnet(subnet_id: str, network_id: str, rd: int, host: int = 2, snat: int = 1,
           cidr: str = "10.0.0.0/24", common: bool = False) -> SubnetPlan:
    base = cidr.rsplit(".", 1)[0]
    return SubnetPlan(
        subnet_id, network_id, cidr, gateway_ip=f"{base}.1", route_domain=rd, common=common,
        self_ips={} if common else {"bigip1": f"{base}.{host}", "bigip2": f"{base}.{host + 1}"},
        floating_ip=None if common else f"{base}.{host + 2}",
        snat_addresses=tuple(f"{base}.{200 + i}" for i in range(snat)))


def vlan_network(rd: int, segid: int, subnet_id: str, network_id: str,
                 snat: int = 1) -> PartitionNetwork:
    return PartitionNetwork(
        route_domains=(rd,),
        segments=(Segment(network_id, "vlan", "physnet1", segid),),
        subnets=(subnet(subnet_id, network_id, rd, snat=snat),))


def rendered(state: PartitionState, network: PartitionNetwork | None,
             settings: NetworkSettings = SETTINGS) -> Rendered:
    return render(state, PREFIX, network=network, settings=settings, devices=DEVICES)


def converge_pair(sim: SimHandle, r: Rendered) -> list[ConvergeResult]:
    async def go() -> list[ConvergeResult]:
        out = []
        for i, name in enumerate(DEVICES, start=1):
            async with make_client(sim, i) as c:
                out.append(await converge(c, r.for_device(name), PREFIX))
        return out

    return asyncio.run(go())


def get(sim: SimHandle, device: int, path: str) -> dict[str, Any]:
    with sim.client(device) as http:
        r = http.get(f"/mgmt/tm/{path}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def listing(sim: SimHandle, device: int, collection: str, part: str) -> dict[str, dict[str, Any]]:
    with sim.client(device) as http:
        r = http.get(f"/mgmt/tm/{collection}", params={"$filter": f"partition eq {part}"})
        assert r.status_code == 200, r.text
        return {i["name"]: i for i in r.json().get("items", []) if i.get("partition") == part}


def absent(sim: SimHandle, device: int, path: str) -> bool:
    with sim.client(device) as http:
        return http.get(f"/mgmt/tm/{path}").status_code == 404


def test_two_projects_same_addresses_on_a_pair_then_one_goes(sim: SimHandle) -> None:
    """Same CIDR, VIP, member, self-IP and SNAT addresses in two projects on two VLANs: both
    converge on both devices in their own route domains (same ids on both); deleting one
    project's load balancer removes exactly its networking from both devices."""
    projects = {"l2a": (2, 101, "sub-a", "net-a"), "l2b": (3, 102, "sub-b", "net-b")}
    states = {p: lb_state(p, f"lb-{p}", s, n) for p, (_, _, s, n) in projects.items()}
    nets = {p: vlan_network(rd, seg, s, n) for p, (rd, seg, s, n) in projects.items()}
    for p in projects:
        results = converge_pair(sim, rendered(states[p], nets[p]))
        assert [r.failures for r in results] == [(), ()]
        assert all(r.ok for r in results)

    for p, (rd, seg, sub, _) in projects.items():
        part = names.partition(PREFIX, p)
        for dev in (1, 2):
            rd_obj = get(sim, dev, f"net/route-domain/~{part}~{part}")
            assert rd_obj["id"] == rd
            assert rd_obj["vlans"] == [f"/{part}/{PREFIX}_vlan-{seg}"]
            assert get(sim, dev, f"auth/partition/{part}")["defaultRouteDomain"] == rd
            vlan = get(sim, dev, f"net/vlan/~{part}~{PREFIX}_vlan-{seg}?expandSubcollections=true")
            assert vlan["tag"] == seg
            assert vlan["interfacesReference"]["items"][0]["tagged"] is True
            selfs = listing(sim, dev, "net/self", part)
            me, other = f"bigip{dev}", f"bigip{3 - dev}"
            assert set(selfs) == {names.local_self_ip(PREFIX, me, sub),
                                  names.floating_self_ip(PREFIX, sub)}
            local = selfs[names.local_self_ip(PREFIX, me, sub)]
            assert local["address"] == f"10.0.0.{1 + dev}%{rd}/24"
            assert local["trafficGroup"] == "/Common/traffic-group-local-only"
            assert local["floating"] == "disabled"
            assert names.local_self_ip(PREFIX, other, sub) not in selfs
            floating = selfs[names.floating_self_ip(PREFIX, sub)]
            assert (floating["address"], floating["floating"]) == (f"10.0.0.4%{rd}/24",
                                                                   "enabled")
            route = get(sim, dev, f"net/route/~{part}~{PREFIX}_default-{rd}")
            assert (route["network"], route["gw"]) == (f"default%{rd}", f"10.0.0.1%{rd}")
            vs = get(sim, dev, f"ltm/virtual/~{part}~{PREFIX}_lst-lb-{p}")
            sat = vs["sourceAddressTranslation"]
            assert (sat["type"], sat["pool"]) == ("snat", f"/{part}/{PREFIX}_snatpool")
            pool = get(sim, dev, f"ltm/pool/~{part}~{PREFIX}_pool-lb-{p}"
                       "?expandSubcollections=true")
            assert [m["address"] for m in pool["membersReference"]["items"]] == [
                f"10.0.0.5%{rd}"]
            va = get(sim, dev, f"ltm/virtual-address/~{part}~{PREFIX}_lb-{p}")
            assert va["address"] == f"10.0.0.10%{rd}"

    for p in projects:
        again = converge_pair(sim, rendered(states[p], nets[p]))
        assert [r.writes for r in again] == [0, 0]

    # project A's load balancer goes: its partition and networking go on both devices, and
    # project B's objects stay exactly as they were
    kinds_b = ("net/vlan", "net/self", "net/route", "net/route-domain", "ltm/snat-translation",
               "ltm/snatpool", "ltm/virtual", "ltm/virtual-address", "ltm/pool", "ltm/node")
    part_b = names.partition(PREFIX, "l2b")

    def of_b() -> list[dict[str, dict[str, Any]]]:
        return [listing(sim, dev, kind, part_b) for dev in (1, 2) for kind in kinds_b]

    before_b = of_b()
    gone = PartitionState(key("l2a"), 2)
    results = converge_pair(sim, rendered(gone, PartitionNetwork()))
    assert all(r.ok for r in results), [(r.refused, r.failures) for r in results]
    part_a = names.partition(PREFIX, "l2a")
    assert of_b() == before_b
    for dev in (1, 2):
        assert absent(sim, dev, f"sys/folder/~{part_a}")
        assert absent(sim, dev, f"net/route-domain/~{part_a}~{part_a}")
        assert absent(sim, dev, f"net/vlan/~{part_a}~{PREFIX}_vlan-101")
        with sim.client(dev) as http:
            ids = [i["id"] for i in http.get("/mgmt/tm/net/route-domain").json()["items"]]
        assert 2 not in ids and 3 in ids
        assert get(sim, dev, f"net/route-domain/~{part_b}~{part_b}")["id"] == 3
        assert len(listing(sim, dev, "net/self", part_b)) == 2
    again = converge_pair(sim, rendered(states["l2b"], nets["l2b"]))
    assert [r.writes for r in again] == [0, 0]


def test_second_lb_on_the_network_then_the_network_goes(sim: SimHandle) -> None:
    """A second load balancer on the same network adds no networking; removing the only load
    balancer of a second network removes that network's VLAN, self IPs, SNAT and route, and
    keeps the route domain and the first network."""
    project = "l2c"
    part = names.partition(PREFIX, project)
    first = lb_state(project, "lb-c1", "sub-c1", "net-c1")
    second = lb_state(project, "lb-c2", "sub-c1", "net-c1", vip="10.0.0.11")
    net1 = vlan_network(4, 111, "sub-c1", "net-c1")
    assert all(r.ok for r in converge_pair(sim, rendered(first, net1)))
    both = PartitionState(first.key, 1, first.load_balancers + second.load_balancers)
    r2 = converge_pair(sim, rendered(both, net1))
    assert all(r.ok for r in r2)

    other = lb_state(project, "lb-c3", "sub-c2", "net-c2", vip="10.1.0.10", member="10.1.0.5")
    net2 = PartitionNetwork(
        route_domains=(4,),
        segments=(Segment("net-c1", "vlan", "physnet1", 111),
                  Segment("net-c2", "flat", "physnet2")),
        subnets=(subnet("sub-c1", "net-c1", 4),
                 subnet("sub-c2", "net-c2", 4, cidr="10.1.0.0/24")))
    three = PartitionState(first.key, 1, both.load_balancers + other.load_balancers)
    assert all(r.ok for r in converge_pair(sim, rendered(three, net2)))
    flat = f"{PREFIX}_flat-1.2"
    for dev in (1, 2):
        vlan = get(sim, dev, f"net/vlan/~{part}~{flat}?expandSubcollections=true")
        assert vlan["interfacesReference"]["items"][0].get("untagged") is True
        assert sorted(get(sim, dev, f"net/route-domain/~{part}~{part}")["vlans"]) == [
            f"/{part}/{flat}", f"/{part}/{PREFIX}_vlan-111"]
        assert len(listing(sim, dev, "net/self", part)) == 4
        assert len(listing(sim, dev, "ltm/snat-translation", part)) == 2
    # the flat network's only load balancer goes
    assert all(r.ok for r in converge_pair(sim, rendered(both, net1)))
    for dev in (1, 2):
        assert absent(sim, dev, f"net/vlan/~{part}~{flat}")
        assert get(sim, dev, f"net/route-domain/~{part}~{part}")["vlans"] == [
            f"/{part}/{PREFIX}_vlan-111"]
        assert set(listing(sim, dev, "net/self", part)) == {
            names.local_self_ip(PREFIX, f"bigip{dev}", "sub-c1"),
            names.floating_self_ip(PREFIX, "sub-c1")}
        assert list(listing(sim, dev, "ltm/snat-translation", part)) == [
            names.snat_translation(PREFIX, "sub-c1", 0)]
    assert [r.writes for r in converge_pair(sim, rendered(both, net1))] == [0, 0]
    assert all(r.ok for r in converge_pair(sim, rendered(PartitionState(first.key, 2),
                                                         PartitionNetwork())))
    for dev in (1, 2):
        assert absent(sim, dev, f"sys/folder/~{part}")
        assert absent(sim, dev, f"net/vlan/~{part}~{PREFIX}_vlan-111")


def _vteps(sim: SimHandle) -> dict[str, str]:
    """An operator's VTEP self IP in /Common on each device."""
    out = {}
    for dev in (1, 2):
        with sim.client(dev) as http:
            if http.get("/mgmt/tm/net/self/~Common~vtep").status_code == 404:
                assert http.post("/mgmt/tm/net/vlan", json={
                    "name": "vtep-net", "partition": "Common", "tag": 3000,
                    "interfaces": [{"name": "1.1", "tagged": True}]}).status_code == 200
                assert http.post("/mgmt/tm/net/self", json={
                    "name": "vtep", "partition": "Common", "address": f"192.0.2.1{dev}/24",
                    "vlan": "/Common/vtep-net"}).status_code == 200
        out[f"bigip{dev}"] = f"192.0.2.1{dev}"
    return out


def test_vxlan_with_vtep_fdb_and_a_snat_pool_of_two(sim: SimHandle) -> None:
    project = "l2d"
    part = names.partition(PREFIX, project)
    state = lb_state(project, "lb-d", "sub-d", "net-d")
    tunnel = f"{PREFIX}_tunnel-vxlan-5001"
    net = PartitionNetwork(
        route_domains=(5,),
        segments=(Segment("net-d", "vxlan", None, 5001, mtu=1450),),
        subnets=(subnet("sub-d", "net-d", 5, snat=2),),
        fdb=(FdbRecord("net-d", "fa:16:3e:00:00:05", "198.51.100.7"),),
        vteps=_vteps(sim))
    results = converge_pair(sim, rendered(state, net))
    assert [r.failures for r in results] == [(), ()] and all(r.ok for r in results)
    for dev in (1, 2):
        t = get(sim, dev, f"net/tunnels/tunnel/~{part}~{tunnel}")
        assert (t["profile"], t["key"], t["localAddress"]) == (
            "/Common/vxlan", 5001, f"192.0.2.1{dev}%0")
        fdb = get(sim, dev, f"net/fdb/tunnel/~{part}~{tunnel}")
        assert fdb["records"] == [{"name": "fa:16:3e:00:00:05", "endpoint": "198.51.100.7"}]
        assert get(sim, dev, f"net/route-domain/~{part}~{part}")["vlans"] == [
            f"/{part}/{tunnel}"]
        local = get(sim, dev, f"net/self/~{part}~{names.local_self_ip(PREFIX, f'bigip{dev}', 'sub-d')}")
        assert local["vlan"] == f"/{part}/{tunnel}"
        pool = get(sim, dev, f"ltm/snatpool/~{part}~{PREFIX}_snatpool")
        assert sorted(pool["members"]) == [
            f"/{part}/{names.snat_translation(PREFIX, 'sub-d', i)}" for i in (0, 1)]
        translations = listing(sim, dev, "ltm/snat-translation", part)
        assert sorted(t["address"] for t in translations.values()) == ["10.0.0.200%5",
                                                                        "10.0.0.201%5"]
        assert {t["trafficGroup"] for t in translations.values()} == {
            "/Common/traffic-group-1"}
    assert [r.writes for r in converge_pair(sim, rendered(state, net))] == [0, 0]
    # the FDB record goes when the member's port is gone
    no_fdb = PartitionNetwork(net.route_domains, net.segments, net.subnets, (), net.vteps)
    assert all(r.ok for r in converge_pair(sim, rendered(state, no_fdb)))
    assert "records" not in get(sim, 1, f"net/fdb/tunnel/~{part}~{tunnel}")
    assert all(r.ok for r in converge_pair(sim, rendered(PartitionState(state.key, 2),
                                                         PartitionNetwork())))
    for dev in (1, 2):
        assert absent(sim, dev, f"net/tunnels/tunnel/~{part}~{tunnel}")
        assert absent(sim, dev, f"sys/folder/~{part}")
        assert not absent(sim, dev, "net/self/~Common~vtep")  # the operator's


def test_automap_and_no_snat(sim: SimHandle) -> None:
    project = "l2e"
    part = names.partition(PREFIX, project)
    state = lb_state(project, "lb-e", "sub-e", "net-e")
    net = vlan_network(6, 121, "sub-e", "net-e", snat=0)
    assert all(r.ok for r in converge_pair(sim, rendered(state, net)))
    vs = f"ltm/virtual/~{part}~{PREFIX}_lst-lb-e"
    assert get(sim, 1, vs)["sourceAddressTranslation"]["type"] == "automap"
    assert listing(sim, 1, "ltm/snatpool", part) == {}
    off = NetworkSettings(**{**SETTINGS.__dict__, "snat_mode": False})
    assert all(r.ok for r in converge_pair(sim, rendered(state, net, off)))
    assert get(sim, 2, vs)["sourceAddressTranslation"]["type"] == "none"
    # Without SNAT both units hold the members' gateway as a floating self IP, and the route
    # through that gateway (the device itself) is gone.
    for unit in (1, 2):
        gw = listing(sim, unit, "net/self", part)[f"{PREFIX}_gw-sub-e"]
        assert gw["floating"] == "enabled" and gw["address"].endswith("%6/24"), gw
        assert listing(sim, unit, "net/route", part) == {}
    assert [r.writes for r in converge_pair(sim, rendered(state, net, off))] == [0, 0]


def test_common_network_is_route_domain_zero_and_nothing_is_made_for_it(sim: SimHandle) -> None:
    project = "l2f"
    part = names.partition(PREFIX, project)
    state = lb_state(project, "lb-f", "sub-f", "net-f", vip="172.16.0.10", member="172.16.0.5")
    net = PartitionNetwork(
        route_domains=(7,),
        segments=(Segment("net-f", "vlan", "physnet1", 131, shared=True),),
        subnets=(subnet("sub-f", "net-f", 0, cidr="172.16.0.0/24", common=True, snat=1),))
    results = converge_pair(sim, rendered(state, net))
    assert all(r.ok for r in results)
    for dev in (1, 2):
        assert listing(sim, dev, "net/route-domain", part) == {}
        assert listing(sim, dev, "net/vlan", part) == {}
        assert listing(sim, dev, "net/self", part) == {}
        assert get(sim, dev, f"auth/partition/{part}")["defaultRouteDomain"] == 0
        assert get(sim, dev, f"ltm/virtual-address/~{part}~{PREFIX}_lb-f")["address"] == (
            "172.16.0.10")
        translations = listing(sim, dev, "ltm/snat-translation", part)
        assert [t["address"] for t in translations.values()] == ["172.16.0.200"]
    assert [r.writes for r in converge_pair(sim, rendered(state, net))] == [0, 0]
    assert all(r.ok for r in converge_pair(sim, rendered(PartitionState(state.key, 2),
                                                         PartitionNetwork())))


def test_routed_mode_reads_no_network_kinds(sim: SimHandle) -> None:
    """A routed partition's cold read lists no networking kind and not the partition: one GET
    for the folder and one per (non-optional) partition kind, as before L2/L3 mode existed."""
    state = lb_state("l2g", "lb-g", None, None, vip="100.64.9.10", member="100.64.9.5")

    async def go() -> int:
        async with make_client(sim, 1) as c:
            await converge(c, render(state, PREFIX), PREFIX)
            before = c.counter.by_method["GET"]
            again = await converge(c, render(state, PREFIX), PREFIX)
            assert again.writes == 0
            return c.counter.by_method["GET"] - before

    expected = 1 + len([k for k in PARTITION_KINDS if k not in OPTIONAL_KINDS])
    assert asyncio.run(go()) == expected
    net_state = lb_state("l2h", "lb-h", "sub-h", "net-h", vip="10.0.0.10")

    async def go_net() -> int:
        r = rendered(net_state, vlan_network(8, 141, "sub-h", "net-h")).for_device("bigip1")
        async with make_client(sim, 1) as c:
            await converge(c, r, PREFIX)
            before = c.counter.by_method["GET"]
            await converge(c, r, PREFIX)
            return c.counter.by_method["GET"] - before

    # the partition instead of the folder; no tunnel kinds for a VLAN-only partition
    assert asyncio.run(go_net()) == expected + len(NET_COLLECTION_KINDS) - 2


def test_ipv6_subnet_in_a_route_domain(sim: SimHandle) -> None:
    project = "l2i"
    part = names.partition(PREFIX, project)
    state = lb_state(project, "lb-i", "sub-i", "net-i", vip="2001:db8:5::10",
                     member="2001:db8:5::5")
    plan = SubnetPlan("sub-i", "net-i", "2001:db8:5::/64", 6, "2001:db8:5::1", 9,
                      self_ips={"bigip1": "2001:db8:5::2", "bigip2": "2001:db8:5::3"},
                      floating_ip="2001:db8:5::4", snat_addresses=("2001:db8:5::200",))
    net = PartitionNetwork((9,), (Segment("net-i", "vlan", "physnet1", 151),), (plan,))
    results = converge_pair(sim, rendered(state, net))
    assert all(r.ok for r in results), [(r.refused, r.failures) for r in results]
    for dev in (1, 2):
        route = get(sim, dev, f"net/route/~{part}~{PREFIX}_default6-9")
        assert (route["network"], route["gw"]) == ("default-inet6%9", "2001:db8:5::1%9")
        va = get(sim, dev, f"ltm/virtual-address/~{part}~{PREFIX}_lb-i")
        assert va["address"] == "2001:db8:5::10%9"
    assert [r.writes for r in converge_pair(sim, rendered(state, net))] == [0, 0]
    assert all(r.ok for r in converge_pair(sim, rendered(PartitionState(state.key, 2),
                                                         PartitionNetwork())))
    for dev in (1, 2):
        assert absent(sim, dev, f"sys/folder/~{part}")


def test_a_network_that_fails_later_is_left_as_it_is(sim: SimHandle) -> None:
    """The interface mapping of a working network disappears from the ini: its load balancer
    and member are ERROR with the reason, and nothing of theirs or of the network changes on
    either device (held), but the SNAT pool that no longer lists the held translations."""
    project = "l2j"
    part = names.partition(PREFIX, project)
    state = lb_state(project, "lb-j", "sub-j", "net-j")
    net = vlan_network(10, 161, "sub-j", "net-j")
    assert all(r.ok for r in converge_pair(sim, rendered(state, net)))
    before = [sorted(listing(sim, dev, kind, part)) for dev in (1, 2)
              for kind in ("net/vlan", "net/self", "net/route", "net/route-domain",
                           "ltm/snat-translation", "ltm/virtual", "ltm/pool")]
    broken = NetworkSettings(**{**SETTINGS.__dict__, "physical_mappings": (
        PhysicalMapping("physnet9", "1.9", True),)})
    results = converge_pair(sim, rendered(state, net, broken))
    for r in results:
        assert {f.object_id for f in r.failures} == {"lb-j", "mem-lb-j"}
        assert all("f5_external_physical_mappings" in f.reason for f in r.failures)
    after = [sorted(listing(sim, dev, kind, part)) for dev in (1, 2)
             for kind in ("net/vlan", "net/self", "net/route", "net/route-domain",
                          "ltm/snat-translation", "ltm/virtual", "ltm/pool")]
    assert after == before
    assert all(r.ok for r in converge_pair(sim, rendered(state, net)))
    assert all(r.ok for r in converge_pair(sim, rendered(PartitionState(state.key, 2),
                                                         PartitionNetwork())))


def test_status_of_members_named_with_their_route_domain(sim: SimHandle) -> None:
    """The device names a member `10.0.0.5%2:80`; its status is still found (not ERROR)."""
    from bigip_lbaas.core.status import Oper
    from bigip_lbaas.device.status import collect

    state = lb_state("l2k", "lb-k", "sub-k", "net-k")
    assert all(r.ok for r in converge_pair(sim, rendered(state, vlan_network(11, 171, "sub-k",
                                                                             "net-k"))))

    async def go() -> Oper | None:
        async with make_client(sim, 1) as c:
            status = await collect(c, state, PREFIX)
        return status.of("mem-lb-k")

    assert asyncio.run(go()) is Oper.NO_MONITOR
    assert all(r.ok for r in converge_pair(sim, rendered(PartitionState(state.key, 2),
                                                         PartitionNetwork())))
