"""Tenant networking on the simulator: route domains, VLANs, tunnels and their profiles, self
IPs, routes, FDB tunnels, SNAT pools and translations, with the device's rules (one address per
route domain, a self IP's VLAN in its route domain, nothing in use deleted, `%rd` everywhere,
a partition's default route domain). Addresses are configuration only, never traffic targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from f5.bigip import ManagementRoot
from icontrol.exceptions import iControlUnexpectedHTTPError

from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread

NOT_IN_RD = "must be one of the vlans in the associated route domain"


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return r.json() if r.content else {}


def _refused(r: httpx.Response, status: int = 400) -> str:
    assert r.status_code == status, r.text
    message: str = r.json()["message"]
    return message


def _tenant(http: httpx.Client, name: str, rd: int, vlan: str | None = None, tag: int = 0) -> None:
    """A partition whose default route domain is `rd` (named after the partition, in it),
    optionally with a VLAN of its own in that route domain."""
    _ok(http.post("/mgmt/tm/auth/partition", json={"name": name}))
    _ok(http.post("/mgmt/tm/net/route-domain",
                  json={"name": name, "partition": name, "id": rd, "strict": "enabled"}))
    _ok(http.patch(f"/mgmt/tm/auth/partition/{name}", json={"defaultRouteDomain": rd}))
    if vlan:
        _ok(http.post("/mgmt/tm/net/vlan", json={
            "name": vlan, "partition": name, "tag": tag,
            "interfaces": [{"name": "1.1", "tagged": True}]}))
        _ok(http.patch(f"/mgmt/tm/net/route-domain/~{name}~{name}",
                       json={"vlans": [f"/{name}/{vlan}"]}))


@pytest.fixture
def mgmt(sim: SimHandle) -> ManagementRoot:
    return ManagementRoot("127.0.0.1", sim.username, sim.password, port=sim.ports[0],
                          token=False, verify=str(sim.ca_file))


def test_the_same_addresses_in_two_route_domains(http: httpx.Client) -> None:
    """Two projects with the same subnet, VIP, member, self IP and SNAT addresses, each in its
    own route domain by the partition's default: all accepted; a second one in the same route
    domain is not, for each type."""
    for name, rd, tag in (("ProjA", 2, 101), ("ProjB", 3, 102)):
        _tenant(http, name, rd, f"vlan-{tag}", tag)
        _ok(http.post("/mgmt/tm/net/self", json={
            "name": "local-1", "partition": name, "address": "10.0.0.2/24",
            "vlan": f"vlan-{tag}"}))
        _ok(http.post("/mgmt/tm/ltm/pool", json={"name": "pool", "partition": name}))
        member = _ok(http.post(f"/mgmt/tm/ltm/pool/~{name}~pool/members",
                               json={"name": "10.0.0.5:80", "partition": name}))
        assert member["address"] == "10.0.0.5"
        _ok(http.post("/mgmt/tm/ltm/virtual", json={
            "name": "vs", "partition": name, "destination": "10.0.0.10:443", "pool": "pool"}))
        _ok(http.post("/mgmt/tm/ltm/snat-translation", json={
            "name": "snat-1", "partition": name, "address": "10.0.0.9"}))
    # the route domain the partition's default gave each of them is in use
    r = http.delete("/mgmt/tm/net/route-domain/~ProjA~ProjA")
    assert _refused(r).startswith("0107097c:3: The specified route domain (2) is the default")
    _ok(http.patch("/mgmt/tm/auth/partition/ProjA", json={"defaultRouteDomain": 0}))
    assert "cannot be deleted because it is in use by a" in _refused(
        http.delete("/mgmt/tm/net/route-domain/~ProjA~ProjA"))
    _ok(http.patch("/mgmt/tm/auth/partition/ProjA", json={"defaultRouteDomain": 2}))

    # the same addresses again in route domain 3, spelled with %3 from /Common: refused
    assert _refused(http.post("/mgmt/tm/ltm/node", json={
        "name": "n", "partition": "ProjB", "address": "10.0.0.5%3"}), 409) == (
        "01020066:3: The requested Node (/ProjB/10.0.0.5) already exists in partition ProjB.")
    assert _refused(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "vs2", "partition": "Common", "destination": "10.0.0.10%3:80"}), 409) == (
        "01020066:3: The requested Virtual Address (/ProjB/10.0.0.10) already exists in "
        "partition ProjB.")
    _ok(http.post("/mgmt/tm/net/vlan", json={"name": "other", "tag": 300}))
    _ok(http.patch("/mgmt/tm/net/route-domain/~ProjB~ProjB",
                   json={"vlans": ["/ProjB/vlan-102", "/Common/other"]}))
    assert _refused(http.post("/mgmt/tm/net/self", json={
        "name": "dup", "address": "10.0.0.2%3/24", "vlan": "other"}), 409).endswith(
        "(/ProjB/local-1) already exists in partition ProjB.")
    assert "SNAT Translation (/ProjB/snat-1)" in _refused(http.post(
        "/mgmt/tm/ltm/snat-translation", json={"name": "s", "address": "10.0.0.9%3"}), 409)
    # ... and in route domain 0 (no suffix in /Common) they are new
    _ok(http.post("/mgmt/tm/ltm/node", json={"name": "n0", "address": "10.0.0.5"}))
    _ok(http.post("/mgmt/tm/ltm/snat-translation", json={"name": "s0", "address": "10.0.0.9"}))
    # a member of project B's pool that names route domain 3 explicitly is its node's address
    assert _refused(http.post("/mgmt/tm/ltm/pool/~ProjB~pool/members", json={
        "name": "10.0.0.5%3:81", "partition": "ProjB"})).startswith("0107003a:3:")


def test_self_ip_vlan_must_be_in_its_route_domain(http: httpx.Client) -> None:
    _tenant(http, "T", 7)
    _ok(http.post("/mgmt/tm/net/vlan", json={"name": "v7", "partition": "T", "tag": 7}))
    # a new VLAN is in route domain 0, which lists every VLAN no other route domain lists
    assert "/T/v7" in _ok(http.get("/mgmt/tm/net/route-domain/~Common~0"))["vlans"]
    body = {"name": "s7", "partition": "T", "address": "10.7.0.2/24", "vlan": "v7"}
    message = _refused(http.post("/mgmt/tm/net/self", json=body))
    assert message.find(NOT_IN_RD) > 0  # how F5's agent recognises it
    assert "(/T/v7)" in message and "(7)" in message
    # what F5's agent then does: append the VLAN to the route domain, retry
    _ok(http.patch("/mgmt/tm/net/route-domain/~T~T", json={"vlans": ["/T/v7"]}))
    rd0 = _ok(http.get("/mgmt/tm/net/route-domain/~Common~0"))
    assert "/T/v7" not in rd0.get("vlans", [])
    self_ip = _ok(http.post("/mgmt/tm/net/self", json=body))
    assert self_ip["vlanReference"]["link"].startswith(
        "https://localhost/mgmt/tm/net/vlan/~T~v7?")
    # taking the VLAN out of the route domain (back to 0, or into another) would strand it
    assert NOT_IN_RD in _refused(http.patch("/mgmt/tm/net/route-domain/~T~T", json={"vlans": []}))
    _ok(http.post("/mgmt/tm/net/route-domain", json={"name": "rd8", "id": 8}))
    assert NOT_IN_RD in _refused(
        http.patch("/mgmt/tm/net/route-domain/~Common~rd8", json={"vlans": ["/T/v7"]}))
    assert _ok(http.get("/mgmt/tm/net/route-domain/~T~T"))["vlans"] == ["/T/v7"]
    # an explicit %0 self IP on a VLAN of route domain 0 is fine
    _ok(http.post("/mgmt/tm/net/vlan", json={"name": "ext", "tag": 40}))
    _ok(http.post("/mgmt/tm/net/self", json={
        "name": "ext-self", "address": "192.0.2.40%0/24", "vlan": "ext"}))
    # listing a VLAN in another route domain moves it there
    _ok(http.post("/mgmt/tm/net/vlan", json={"name": "mv", "tag": 41}))
    _ok(http.patch("/mgmt/tm/net/route-domain/~Common~rd8", json={"vlans": ["mv"]}))
    _ok(http.patch("/mgmt/tm/net/route-domain/~T~T", json={"vlans": ["/T/v7", "/Common/mv"]}))
    assert "vlans" not in _ok(http.get("/mgmt/tm/net/route-domain/~Common~rd8"))


def test_route_domain_vlans_and_self_ip_in_one_transaction(http: httpx.Client) -> None:
    """The VLAN rule is checked when the change commits: a self IP created before its VLAN
    joins the route domain, in one transaction, commits; either half alone fails and rolls
    back."""
    _tenant(http, "X", 12)
    _ok(http.post("/mgmt/tm/net/vlan", json={"name": "v12", "partition": "X", "tag": 12}))
    tx = _ok(http.post("/mgmt/tm/transaction", json={}))["transId"]
    headers = {"X-F5-REST-Coordination-Id": str(tx)}
    _ok(http.post("/mgmt/tm/net/self", headers=headers, json={
        "name": "s12", "partition": "X", "address": "10.12.0.2/24", "vlan": "/X/v12"}))
    _ok(http.patch("/mgmt/tm/net/route-domain/~X~X", headers=headers, json={"vlans": ["v12"]}))
    assert _ok(http.patch(f"/mgmt/tm/transaction/{tx}", json={"state": "VALIDATING"}))[
        "state"] == "COMPLETED"
    assert _ok(http.get("/mgmt/tm/net/self/~X~s12"))["address"] == "10.12.0.2/24"
    tx = _ok(http.post("/mgmt/tm/transaction", json={}))["transId"]
    headers = {"X-F5-REST-Coordination-Id": str(tx)}
    _ok(http.post("/mgmt/tm/net/self", headers=headers, json={
        "name": "s13", "partition": "X", "address": "10.13.0.2/24", "vlan": "/X/v12"}))
    _ok(http.patch("/mgmt/tm/net/route-domain/~X~X", headers=headers, json={"vlans": []}))
    message = _refused(http.patch(f"/mgmt/tm/transaction/{tx}", json={"state": "VALIDATING"}))
    assert message.startswith("transaction failed:01070712:3:") and NOT_IN_RD in message
    assert http.get("/mgmt/tm/net/self/~X~s13").status_code == 404
    assert _ok(http.get("/mgmt/tm/net/route-domain/~X~X"))["vlans"] == ["/X/v12"]


def test_nothing_in_use_can_be_deleted(http: httpx.Client) -> None:
    _tenant(http, "U", 4, "vlan-40", 40)
    in_use = "01070265:3: The {} cannot be deleted because it is in use by a {}."
    _ok(http.post("/mgmt/tm/net/self", json={
        "name": "vtep", "partition": "U", "address": "10.4.0.2/24", "vlan": "vlan-40"}))
    _ok(http.post("/mgmt/tm/net/tunnels/vxlan", json={
        "name": "vxlan_ovs", "partition": "Common", "defaultsFrom": "/Common/vxlan",
        "floodingType": "multipoint", "port": 4789}))
    _ok(http.post("/mgmt/tm/net/tunnels/tunnel", json={
        "name": "tunnel-vxlan-46", "partition": "U", "profile": "/Common/vxlan_ovs", "key": 46,
        "localAddress": "10.4.0.2", "remoteAddress": "any"}))
    _ok(http.patch("/mgmt/tm/net/route-domain/~U~U",
                   json={"vlans": ["/U/vlan-40", "/U/tunnel-vxlan-46"]}))
    _ok(http.post("/mgmt/tm/net/self", json={
        "name": "on-tunnel", "partition": "U", "address": "10.46.0.2/24",
        "vlan": "tunnel-vxlan-46"}))
    _ok(http.post("/mgmt/tm/net/route", json={
        "name": "default-4", "partition": "U", "network": "default", "gw": "10.4.0.1"}))
    _ok(http.post("/mgmt/tm/ltm/snatpool", json={
        "name": "U", "partition": "U", "members": ["10.4.0.9", "10.4.0.10"]}))
    _ok(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "vs", "partition": "U", "destination": "10.4.0.100:80",
        "sourceAddressTranslation": {"type": "snat", "pool": "U"}}))
    refusals = {
        "/mgmt/tm/net/vlan/~U~vlan-40": in_use.format("VLAN (/U/vlan-40)", "Self IP (/U/vtep)"),
        "/mgmt/tm/net/tunnels/vxlan/~Common~vxlan_ovs": in_use.format(
            "VXLAN Profile (/Common/vxlan_ovs)", "Tunnel (/U/tunnel-vxlan-46)"),
        "/mgmt/tm/net/tunnels/tunnel/~U~tunnel-vxlan-46": in_use.format(
            "Tunnel (/U/tunnel-vxlan-46)", "Route Domain (/U/U)"),
        "/mgmt/tm/net/self/~U~vtep": in_use.format("Self IP (/U/vtep)",
                                                   "Tunnel (/U/tunnel-vxlan-46)"),
        "/mgmt/tm/ltm/snat-translation/~U~10.4.0.9": in_use.format(
            "SNAT Translation (/U/10.4.0.9)", "SNAT Pool (/U/U)"),
        "/mgmt/tm/ltm/snatpool/~U~U":
            "01070320:3: Snatpool /U/U is still referenced by a virtual server.",
        "/mgmt/tm/net/tunnels/vxlan/~Common~vxlan":
            "01070523:3: The VXLAN Profile (/Common/vxlan) is a built-in object and cannot be "
            "deleted.",
        "/mgmt/tm/net/interface/1.1": "01070523:3: The Interface (/Common/1.1) is a built-in "
                                      "object and cannot be deleted.",
    }
    for path, message in refusals.items():
        assert _refused(http.delete(path)) == message, path
    assert _refused(http.delete("/mgmt/tm/net/fdb/tunnel/~U~tunnel-vxlan-46")).startswith(
        "the FDB tunnel /U/tunnel-vxlan-46 is removed with its tunnel")
    # a VLAN only listed by a route domain is still in use; a route domain used by a route too
    _ok(http.post("/mgmt/tm/net/vlan", json={"name": "spare", "partition": "U", "tag": 41}))
    _ok(http.patch("/mgmt/tm/net/route-domain/~U~U",
                   json={"vlans": ["vlan-40", "tunnel-vxlan-46", "spare"]}))
    assert _refused(http.delete("/mgmt/tm/net/vlan/~U~spare")) == in_use.format(
        "VLAN (/U/spare)", "Route Domain (/U/U)")
    _ok(http.patch("/mgmt/tm/auth/partition/U", json={"defaultRouteDomain": 0}))
    for path in ("/mgmt/tm/ltm/virtual/~U~vs",  # takes its virtual address with it
                 "/mgmt/tm/ltm/snatpool/~U~U", "/mgmt/tm/ltm/snat-translation/~U~10.4.0.9",
                 "/mgmt/tm/ltm/snat-translation/~U~10.4.0.10", "/mgmt/tm/net/self/~U~on-tunnel"):
        _ok(http.delete(path))
    message = _refused(http.delete("/mgmt/tm/net/route-domain/~U~U"))
    assert message.endswith("in use by a Route (/U/default-4).") or "Self IP" in message
    # cleanup: the tunnel leaves the route domain first, then goes before its VTEP self IP
    _ok(http.patch("/mgmt/tm/net/route-domain/~U~U", json={"vlans": ["vlan-40", "spare"]}))
    for path in ("/mgmt/tm/net/route/~U~default-4", "/mgmt/tm/net/tunnels/tunnel/~U~tunnel-vxlan-46",
                 "/mgmt/tm/net/self/~U~vtep", "/mgmt/tm/net/route-domain/~U~U",
                 "/mgmt/tm/net/vlan/~U~vlan-40", "/mgmt/tm/net/vlan/~U~spare",
                 "/mgmt/tm/net/tunnels/vxlan/~Common~vxlan_ovs"):
        _ok(http.delete(path))
    assert http.get("/mgmt/tm/net/fdb/tunnel/~U~tunnel-vxlan-46").status_code == 404
    _ok(http.delete("/mgmt/tm/auth/partition/U"))


def test_tunnels_profiles_and_fdb_through_f5_sdk(mgmt: ManagementRoot, sim: SimHandle) -> None:
    """The shapes F5's agent relies on, through f5-sdk: tunnel profiles derived from the
    built-ins, a VXLAN tunnel on a VTEP self IP, its FDB tunnel (never created by the client)
    and records, both inline and as a subcollection; config-sync copies them."""
    net = mgmt.tm.net
    builtins = {p.fullPath for p in net.tunnels.vxlans.get_collection()}
    assert "/Common/vxlan" in builtins
    assert net.tunnels.gres.gre.load(name="gre", partition="Common").floodingType == "none"
    vxlan = net.tunnels.vxlans.vxlan.create(
        name="vxlan_ovs", partition="Common", defaultsFrom="vxlan", floodingType="multipoint",
        port=4789)
    assert (vxlan.defaultsFrom, vxlan.port) == ("/Common/vxlan", 4789)
    gre = net.tunnels.gres.gre.create(
        name="gre_ovs", partition="Common", defaultsFrom="/Common/gre",
        floodingType="multipoint", encapsulation="transparent-ethernet-bridging")
    assert gre.encapsulation == "transparent-ethernet-bridging"
    vlan = net.vlans.vlan.create(name="vtep-net", partition="Common", tag=200)
    vlan.interfaces_s.interfaces.create(name="1.2", untagged=True)
    net.selfips.selfip.create(name="vtep", partition="Common", address="172.16.0.2/24",
                              vlan="/Common/vtep-net", allowService="all")
    mgmt.tm.auth.partitions.partition.create(name="Project_a")
    rd = net.route_domains.route_domain.create(name="Project_a", partition="Project_a", id=9,
                                               strict="enabled")
    tunnel = net.tunnels.tunnels.tunnel.create(
        name="tunnel-vxlan-9001", partition="Project_a", profile="/Common/vxlan_ovs", key=9001,
        localAddress="172.16.0.2", remoteAddress="any")
    assert tunnel.profile == "/Common/vxlan_ovs" and tunnel.key == 9001
    rd.modify(vlans=["/Project_a/tunnel-vxlan-9001"])
    selfip = net.selfips.selfip.create(
        name="local-bigip1-sub", partition="Project_a", address="10.0.0.2%9/24",
        vlan="/Project_a/tunnel-vxlan-9001", trafficGroup="/Common/traffic-group-local-only")
    assert selfip.floating == "disabled"
    assert selfip.vlanReference["link"].startswith(
        "https://localhost/mgmt/tm/net/tunnels/tunnel/~Project_a~tunnel-vxlan-9001?")
    floating = net.selfips.selfip.create(
        name="gw-sub", partition="Project_a", address="10.0.0.1%9/24",
        vlan="/Project_a/tunnel-vxlan-9001", trafficGroup="traffic-group-1")
    assert (floating.floating, floating.trafficGroup) == ("enabled", "/Common/traffic-group-1")

    fdb = net.fdb.tunnels.tunnel.load(name="tunnel-vxlan-9001", partition="Project_a")
    assert not hasattr(fdb, "records")
    fdb.modify(records=[{"name": "fa:16:3e:00:00:01", "endpoint": "172.16.0.11"}])
    fdb.records_s.records.create(name="fa:16:3e:00:00:02", endpoint="172.16.0.12")
    fdb.refresh()
    assert [r["endpoint"] for r in fdb.records] == ["172.16.0.11", "172.16.0.12"]
    record = fdb.records_s.records.load(name="fa:16:3e:00:00:02")
    record.modify(endpoint="172.16.0.13")
    fdb.refresh()
    fdb.update()  # a PUT of what was read back
    assert [r["name"] for r in net.fdb.tunnels.tunnel.load(
        name="tunnel-vxlan-9001", partition="Project_a").records] == [
        "fa:16:3e:00:00:01", "fa:16:3e:00:00:02"]
    with pytest.raises(iControlUnexpectedHTTPError) as err:
        fdb.records_s.records.create(name="not-a-mac", endpoint="172.16.0.14")
    assert err.value.response.status_code == 400
    route = net.routes.route.create(name="IPv4_default_route_9", partition="Project_a",
                                    network="default%9", gw="10.0.0.254%9")
    route.update(description="d")
    assert route.network == "default%9"
    tunnel.update(description="t")
    assert net.tunnels.tunnels.tunnel.load(name="tunnel-vxlan-9001",
                                           partition="Project_a").description == "t"

    # config-sync copies the networking objects to the peer
    mgmt.tm.cm.exec_cmd("run", utilCmdArgs="config-sync to-group sync-failover-group")
    with sim.client(2) as peer:
        doc = _ok(peer.get("/mgmt/tm/net/fdb/tunnel/~Project_a~tunnel-vxlan-9001"))
        assert [r["endpoint"] for r in doc["records"]] == ["172.16.0.11", "172.16.0.13"]
        assert _ok(peer.get("/mgmt/tm/net/route-domain/~Project_a~Project_a"))["vlans"] == [
            "/Project_a/tunnel-vxlan-9001"]

    # the tunnel takes its FDB tunnel with it
    route.delete()
    selfip.delete()
    floating.delete()
    rd.modify(vlans=[])  # a tunnel a route domain lists is in use
    tunnel.delete()
    assert not net.fdb.tunnels.tunnel.exists(name="tunnel-vxlan-9001", partition="Project_a")


def test_tunnel_refusals(http: httpx.Client) -> None:
    _ok(http.post("/mgmt/tm/net/vlan", json={"name": "vt", "tag": 30}))
    _ok(http.post("/mgmt/tm/net/self", json={"name": "vt-self", "address": "172.30.0.2/24",
                                             "vlan": "vt"}))
    base = {"name": "t", "profile": "/Common/vxlan", "key": 1, "localAddress": "172.30.0.2"}
    assert "not a self IP address of this device" in _refused(
        http.post("/mgmt/tm/net/tunnels/tunnel", json=dict(base, localAddress="172.30.0.3")))
    _ok(http.post("/mgmt/tm/net/route-domain", json={"name": "rd5", "id": 5}))
    assert "not a self IP address" in _refused(  # the address, but in another route domain
        http.post("/mgmt/tm/net/tunnels/tunnel", json=dict(base, localAddress="172.30.0.2%5")))
    assert _refused(http.post("/mgmt/tm/net/tunnels/tunnel", json=dict(
        base, profile="vxlan_missing"))) == (
        "01020036:3: The requested Profile (/Common/vxlan_missing) was not found.")
    assert "mode must be one of" in _refused(
        http.post("/mgmt/tm/net/tunnels/tunnel", json=dict(base, mode="sideways")))
    assert "remoteAddress" in _refused(
        http.post("/mgmt/tm/net/tunnels/tunnel", json=dict(base, remoteAddress="nowhere")))
    # VLANs and tunnels share names; FDB tunnels are not created by clients
    assert _refused(http.post("/mgmt/tm/net/tunnels/tunnel", json=dict(base, name="vt")),
                    409).startswith("01020066:3: The requested Tunnel (/Common/vt) already")
    assert "created with its tunnel" in _refused(
        http.post("/mgmt/tm/net/fdb/tunnel", json={"name": "t"}))
    gre = _ok(http.post("/mgmt/tm/net/tunnels/tunnel", json=dict(
        base, name="g", profile="gre", key=7, remoteAddress="172.30.0.9", mode="outbound")))
    assert gre["profileReference"]["link"].startswith(
        "https://localhost/mgmt/tm/net/tunnels/gre/~Common~gre?")
    assert "floodingType" in _refused(http.post("/mgmt/tm/net/tunnels/vxlan", json={
        "name": "bad", "floodingType": "sometimes"}))
    tunnels = _ok(http.get("/mgmt/tm/net/tunnels"))
    assert {i["reference"]["link"].split("?")[0].rsplit("/", 1)[1] for i in tunnels["items"]} == {
        "gre", "tunnel", "vxlan"}


def test_vlan_interfaces(http: httpx.Client) -> None:
    vlan = _ok(http.post("/mgmt/tm/net/vlan", json={
        "name": "v", "tag": 55, "interfaces": [{"name": "1.1", "tagged": True}]}))
    assert vlan["interfacesReference"]["isSubcollection"] is True
    items = _ok(http.get("/mgmt/tm/net/vlan/~Common~v/interfaces"))["items"]
    assert [(i["kind"], i["name"], i.get("tagged")) for i in items] == [
        ("tm:net:vlan:interfaces:interfacesstate", "1.1", True)]
    assert "untagged" not in items[0]
    r = http.post("/mgmt/tm/net/vlan/~Common~v/interfaces", json={"name": "1.2"})
    assert _ok(r)["untagged"] is True
    assert _refused(http.post("/mgmt/tm/net/vlan", json={
        "name": "w", "tag": 56, "interfaces": [{"name": "9.9", "untagged": True}]})) == (
        "01020036:3: The requested Interface (9.9) was not found.")
    # F5's agent #1066: the flag as the string "False" read as true; a device wants a boolean
    assert "tagged must be true or false" in _refused(http.post("/mgmt/tm/net/vlan", json={
        "name": "w", "tag": 56, "interfaces": [{"name": "1.1", "tagged": "False"}]}))
    assert http.get("/mgmt/tm/net/vlan/~Common~w").status_code == 404
    _ok(http.patch("/mgmt/tm/net/vlan/~Common~v", json={
        "interfaces": [{"name": "1.2", "untagged": False}]}))
    items = _ok(http.get("/mgmt/tm/net/vlan/~Common~v?expandSubcollections=true"))[
        "interfacesReference"]["items"]
    assert [(i["name"], i.get("tagged")) for i in items] == [("1.2", True)]
    _ok(http.patch("/mgmt/tm/net/vlan/~Common~v/interfaces/1.2", json={"untagged": True}))
    one = _ok(http.get("/mgmt/tm/net/vlan/~Common~v/interfaces/1.2"))
    assert one.get("untagged") is True and "tagged" not in one


def test_routes_and_percent_route_domains(http: httpx.Client) -> None:
    _tenant(http, "R", 5, "vlan-50", 50)
    route = _ok(http.post("/mgmt/tm/net/route", json={
        "name": "vlan-50", "partition": "R", "network": "default%5", "gw": "10.5.0.1"}))
    assert (route["kind"], route["network"], route["gw"]) == (
        "tm:net:route:routestate", "default%5", "10.5.0.1")
    # the gateway must be in the destination's route domain
    assert "route domain of the destination network (5)" in _refused(http.post(
        "/mgmt/tm/net/route", json={"name": "x", "partition": "R", "network": "10.9.0.0/16",
                                    "gw": "10.5.0.1%0"}))
    # one default route per route domain; another route domain is another table
    assert _refused(http.post("/mgmt/tm/net/route", json={
        "name": "again", "partition": "R", "network": "default", "gw": "10.5.0.2"}), 409)
    _ok(http.post("/mgmt/tm/net/route", json={
        "name": "default-0", "network": "default", "gw": "192.0.2.1"}))
    _ok(http.post("/mgmt/tm/net/route", json={
        "name": "net-5", "partition": "R", "network": "10.6.0.0%5/16", "tmInterface": "vlan-50"}))
    _ok(http.post("/mgmt/tm/net/route", json={
        "name": "net-5b", "partition": "R", "network": "10.6.0.0/24", "blackhole": True}))
    assert "network" in _refused(http.patch("/mgmt/tm/net/route/~R~vlan-50",
                                            json={"network": "default%0"}))
    assert _ok(http.patch("/mgmt/tm/net/route/~R~vlan-50", json={"gw": "10.5.0.254"}))[
        "gw"] == "10.5.0.254"
    for body in ({"network": "default"},  # no gateway of any kind
                 {"network": "default", "gw": "10.5.0.1", "blackhole": True},
                 {"network": "nowhere", "gw": "10.5.0.1"},
                 {"network": "10.0.0.0%77/8", "gw": "10.0.0.1%77"}):
        assert http.post("/mgmt/tm/net/route", json=dict(body, name="bad")).status_code == 400
    # %rd in snatpool members, virtual destinations, members and self IPs
    pool = _ok(http.post("/mgmt/tm/ltm/snatpool", json={
        "name": "sp", "partition": "R", "members": ["10.5.0.9", "/Common/192.0.2.9%5"]}))
    assert pool["members"] == ["/R/10.5.0.9", "/Common/192.0.2.9%5"]
    assert _ok(http.get("/mgmt/tm/ltm/snat-translation/~Common~192.0.2.9%255"))[
        "address"] == "192.0.2.9%5"
    assert _refused(http.post("/mgmt/tm/ltm/snatpool", json={
        "name": "sp2", "partition": "R", "members": ["no-such-translation"]}), 404)
    assert "route domain (6)" in _refused(http.post("/mgmt/tm/ltm/snatpool", json={
        "name": "sp3", "partition": "R", "members": ["10.5.0.9%6"]}))
    vs = _ok(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "vs", "partition": "R", "destination": "10.5.0.100%5:443"}))
    assert vs["destination"] == "/R/10.5.0.100%5:443"
    assert _refused(http.post("/mgmt/tm/ltm/virtual-address", json={
        "name": "10.5.0.100", "partition": "R"}), 409)
    assert "route domain (6)" in _refused(http.post("/mgmt/tm/net/self", json={
        "name": "s", "partition": "R", "address": "10.5.0.2%6/24", "vlan": "vlan-50"}))
    assert "invalid Self IP address" in _refused(http.post("/mgmt/tm/net/self", json={
        "name": "s", "partition": "R", "address": "10.5.0.2", "vlan": "vlan-50"}))
    self_ip = _ok(http.post("/mgmt/tm/net/self", json={
        "name": "s", "partition": "R", "address": "10.5.0.2%5/24", "vlan": "vlan-50",
        "allowService": ["tcp:443", "udp:4789"]}))
    assert self_ip["allowService"] == ["tcp:443", "udp:4789"]
    assert "address" in _refused(http.patch("/mgmt/tm/net/self/~R~s",
                                            json={"address": "10.5.0.3%5/24"}))
    assert "allowService" in _refused(http.patch("/mgmt/tm/net/self/~R~s",
                                                 json={"allowService": "some"}))


def test_routed_mode_documents_are_unchanged(http: httpx.Client) -> None:
    """Without tenant networking nothing new shows: route domain 0 lists no VLANs, nodes and
    virtual addresses in /Common behave as before, `%0` is route domain 0."""
    rd0 = _ok(http.get("/mgmt/tm/net/route-domain/~Common~0"))
    assert "vlans" not in rd0 and "vlansReference" not in rd0
    _ok(http.post("/mgmt/tm/auth/partition", json={"name": "P"}))
    _ok(http.post("/mgmt/tm/ltm/pool", json={"name": "p", "partition": "P"}))
    _ok(http.post("/mgmt/tm/ltm/pool/~P~p/members", json={"name": "10.1.0.5:80", "partition": "P"}))
    node = _ok(http.get("/mgmt/tm/ltm/node/~P~10.1.0.5"))
    assert node["address"] == "10.1.0.5" and not any(k.startswith("_") for k in node)
    assert _refused(http.post("/mgmt/tm/ltm/node", json={
        "name": "same", "partition": "Common", "address": "10.1.0.5%0"}), 409)
    va = _ok(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "v", "partition": "P", "destination": "10.1.0.100%0:80"}))
    assert va["destination"] == "/P/10.1.0.100:80"


def test_named_virtual_address_and_its_virtuals(http: httpx.Client) -> None:
    """What F5's agent and the routed-mode engine do: a virtual address named by the load
    balancer (autoDelete off, sent as a JSON boolean), then virtuals on its address in the same
    partition. As on a device, the virtuals are linked to it (their destination names it) and no
    second, address-named virtual address appears; the same address from another partition of
    the same route domain is refused."""
    for name in ("P1", "P2"):
        _ok(http.post("/mgmt/tm/auth/partition", json={"name": name}))
    va = _ok(http.post("/mgmt/tm/ltm/virtual-address", json={
        "name": "Project_lb", "partition": "P1", "address": "100.64.0.1", "autoDelete": False,
        "trafficGroup": "traffic-group-1"}))
    assert (va["autoDelete"], va["trafficGroup"]) == ("false", "/Common/traffic-group-1")
    v1 = _ok(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "Project_l1", "partition": "P1", "destination": "100.64.0.1:80"}))
    assert v1["destination"] == "/P1/Project_lb:80"
    v2 = _ok(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "Project_l2", "partition": "P1", "destination": "/P1/100.64.0.1:443"}))
    assert v2["destination"] == "/P1/Project_lb:443"
    # the destination may name the virtual address itself
    v3 = _ok(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "Project_l4", "partition": "P1", "destination": "/P1/Project_lb:8080"}))
    assert v3["destination"] == "/P1/Project_lb:8080"
    assert _refused(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "Project_l5", "partition": "P1", "destination": "/P1/nope:80"}), 404)
    names = [a["name"] for a in _ok(http.get(
        "/mgmt/tm/ltm/virtual-address", params={"$filter": "partition eq P1"}))["items"]]
    assert names == ["Project_lb"]
    assert "in use by a Virtual Server" in _refused(
        http.delete("/mgmt/tm/ltm/virtual-address/~P1~Project_lb"))
    _ok(http.delete("/mgmt/tm/ltm/virtual/~P1~Project_l4"))
    assert _refused(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "Project_l3", "partition": "P2", "destination": "100.64.0.1:80"}), 409) == (
        "01020066:3: The requested Virtual Address (/P1/Project_lb) already exists in "
        "partition P1.")
    for path in ("/mgmt/tm/ltm/virtual/~P1~Project_l1", "/mgmt/tm/ltm/virtual/~P1~Project_l2",
                 "/mgmt/tm/ltm/virtual-address/~P1~Project_lb"):
        _ok(http.delete(path))
    # the address is free again
    _ok(http.post("/mgmt/tm/ltm/virtual", json={
        "name": "Project_l3", "partition": "P2", "destination": "100.64.0.1:80"}))


def test_networking_survives_a_restart(tmp_path: Path) -> None:
    """The state file keeps the networking objects and what the rules need (the route domain
    each address was written in, the FDB tunnel of each tunnel)."""
    state = tmp_path / "sim.json"
    with run_sim_in_thread(state_file=state) as sim, sim.client(1) as http:
        _tenant(http, "S", 6, "vlan-60", 60)
        _ok(http.post("/mgmt/tm/net/self", json={
            "name": "vtep", "partition": "S", "address": "10.6.0.2/24", "vlan": "vlan-60"}))
        _ok(http.post("/mgmt/tm/net/tunnels/tunnel", json={
            "name": "tun", "partition": "S", "profile": "/Common/gre", "key": 6,
            "localAddress": "10.6.0.2"}))
        _ok(http.post("/mgmt/tm/net/fdb/tunnel/~S~tun/records", json={
            "name": "00:11:22:33:44:55", "endpoint": "10.6.0.7"}))
        _ok(http.post("/mgmt/tm/ltm/node", json={"name": "n", "partition": "S",
                                                 "address": "10.6.0.5"}))
    with run_sim_in_thread(state_file=state) as sim, sim.client(1) as http:
        fdb = _ok(http.get("/mgmt/tm/net/fdb/tunnel/~S~tun"))
        assert fdb["records"] == [{"name": "00:11:22:33:44:55", "endpoint": "10.6.0.7"}]
        assert _refused(http.post("/mgmt/tm/ltm/node", json={
            "name": "n2", "address": "10.6.0.5%6"}), 409).startswith(
            "01020066:3: The requested Node (/S/n)")
        _ok(http.post("/mgmt/tm/ltm/node", json={"name": "n3", "address": "10.6.0.5"}))
        assert "in use by a Tunnel (/S/tun)" in _refused(http.delete("/mgmt/tm/net/self/~S~vtep"))
        assert NOT_IN_RD in _refused(
            http.patch("/mgmt/tm/net/route-domain/~S~S", json={"vlans": []}))


def test_snat_the_way_f5s_agent_builds_it(http: httpx.Client, mgmt: ManagementRoot) -> None:
    """Named translations at `<ip>%<rd>` in the tenant's partition, a SNAT pool named after the
    partition listing them, a virtual using it; through f5-sdk, update() round trips."""
    _tenant(http, "Project_s", 11)
    ltm = mgmt.tm.ltm
    names = []
    for i, address in enumerate(("10.11.0.20%11", "10.11.0.21%11")):
        name = f"snat-traffic-group-local-only-subnet1_{i}"
        translation = ltm.snat_translations.snat_translation.create(
            name=name, partition="Project_s", address=address,
            trafficGroup="traffic-group-local-only")
        assert translation.trafficGroup == "/Common/traffic-group-local-only"
        translation.update(description="d")
        names.append(f"/Project_s/{name}")
    pool = ltm.snatpools.snatpool.create(name="Project_s", partition="Project_s", members=names)
    assert pool.members == names
    pool.update(description="p")
    ltm.virtuals.virtual.create(
        name="vs", partition="Project_s", destination="10.11.0.100%11:80",
        sourceAddressTranslation={"type": "snat", "pool": "/Project_s/Project_s"})
    with pytest.raises(iControlUnexpectedHTTPError) as err:
        ltm.snat_translations.snat_translation.load(name=names[0].rsplit("/", 1)[1],
                                                    partition="Project_s").delete()
    assert "in use by a SNAT Pool (/Project_s/Project_s)" in err.value.response.json()["message"]
    # the same address without its suffix is the same translation address in this partition
    with pytest.raises(iControlUnexpectedHTTPError) as err:
        ltm.snat_translations.snat_translation.create(
            name="again", partition="Project_s", address="10.11.0.20")
    assert err.value.response.status_code == 409
