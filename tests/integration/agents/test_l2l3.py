"""F5's L2/L3 mode end to end (issue #14): API process → database → two agent processes → a
simulated pair, configured with `f5_global_routed_mode = False` in an operator's ini.

Two projects on two VLAN networks with the same CIDR, VIP address and member address both go
ACTIVE in distinct route domains with the same ids on both devices; deleting one removes exactly
its networking from both devices and releases its ports. Then VXLAN with a VTEP self IP, SNAT
automap, a common (external) network in route domain 0, and a failover mid-way (the owner
killed -9 after its route domain was allocated and before any device was written)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database
from tests.cluster import Cluster, wait_for
from tests.databases import fresh_database
from tests.integration.agents.test_redundancy import lb_status, wait_active

L2L3 = (
    "f5_global_routed_mode = False\n"
    "use_namespaces = True\n"
    "f5_snat_addresses_per_subnet = 1\n"
    "f5_external_physical_mappings = default:1.1:True, physnet2:1.2:False\n"
    "f5_vtep_folder = 'Common'\n"
    "f5_vtep_selfip_name = 'vtep'\n"
    "advertised_tunnel_types = vxlan\n"
)


def _pair_with_two_agents(tmp_path: Path, url: str) -> Iterator[Cluster]:
    c = Cluster(tmp_path, url, devices=2, extra_conf="")
    try:
        c.upgrade_db()
        c.start_sim()
        c.start_api()
        for host in ("n1", "n2"):
            c.start_agent(host, extra=L2L3)
        c.wait_agents_alive(["n1", "n2"])
        yield c
    finally:
        c.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database("sqlite", tmp_path) as url:
        yield from _pair_with_two_agents(tmp_path, url)


@pytest.fixture
def cluster_on_each_db(tmp_path: Path, db_url: str) -> Iterator[Cluster]:
    """The same, on SQLite, PostgreSQL and MariaDB."""
    yield from _pair_with_two_agents(tmp_path, db_url)


def _network(c: Cluster, name: str, provider: dict[str, Any], cidr: str,
             **flags: Any) -> str:
    with c.client("admin") as admin:
        admin.headers["X-Roles"] = "admin"
        net = admin.post("/v2.0/networks", json={"network": {"name": name, **provider,
                                                             **flags}})
        assert net.status_code == 201, net.text
        sub = admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": net.json()["network"]["id"], "cidr": cidr, "ip_version": 4,
            "gateway_ip": cidr.rsplit(".", 1)[0] + ".1"}})
        assert sub.status_code == 201, sub.text
        return str(sub.json()["subnet"]["id"])


def _vlan(vlan: int, physnet: str = "physnet1") -> dict[str, Any]:
    return {"provider:network_type": "vlan", "provider:physical_network": physnet,
            "provider:segmentation_id": vlan}


def _graph(project: str, subnet: str, vip: str | None, member: str) -> dict[str, Any]:
    lb: dict[str, Any] = {
        "name": project, "vip_subnet_id": subnet, "project_id": project,
        "listeners": [{"name": "web", "protocol": "HTTP", "protocol_port": 80,
                       "default_pool": {"name": "p"}}],
        "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "members": [{"address": member, "protocol_port": 80,
                                "subnet_id": subnet}]}]}
    if vip:
        lb["vip_address"] = vip
    return lb


def _create(c: Cluster, project: str, graph: dict[str, Any]) -> dict[str, Any]:
    with c.client(project) as api:
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": graph})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()["loadbalancer"]
        return body


def _objects(c: Cluster, dev: int, kind: str, part: str) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in c.device_objects(dev, kind, part)}


def _vlan_interfaces(c: Cluster, dev: int, vlan: dict[str, Any]) -> list[dict[str, Any]]:
    with c.device(dev) as d:
        r = d.get(f"/mgmt/tm/net/vlan/{vlan['fullPath'].replace('/', '~')}/interfaces")
        r.raise_for_status()
        items: list[dict[str, Any]] = r.json().get("items", [])
        return items


def _rd_ids(c: Cluster, dev: int, part: str) -> set[int]:
    return {int(o["id"]) for o in c.device_objects(dev, "net/route-domain", part)}


def _ports(c: Cluster) -> list[str]:
    db = Database(c.db_url)
    try:
        return db.query(lambda s: sorted(str(n) for n in s.scalars(
            sa.select(m.Port.name).where(m.Port.vip_of.is_(None)))))
    finally:
        db.dispose()


def _db_rds(c: Cluster) -> dict[int, int]:
    db = Database(c.db_url)
    try:
        return db.query(lambda s: {r.id: r.partition_id for r in s.scalars(
            sa.select(m.RouteDomain))})
    finally:
        db.dispose()


def test_two_projects_same_addresses_on_a_pair_then_one_deleted(cluster: Cluster) -> None:
    c = cluster
    s1 = _network(c, "red", _vlan(101), "10.0.0.0/24")
    s2 = _network(c, "blue", _vlan(102, "physnet2"), "10.0.0.0/24")
    lb1 = _create(c, "red", _graph("red", s1, "10.0.0.10", "10.0.0.5"))
    lb2 = _create(c, "blue", _graph("blue", s2, "10.0.0.10", "10.0.0.5"))
    wait_active(c, "red", lb1["id"], timeout=90)
    wait_active(c, "blue", lb2["id"], timeout=90)

    red, blue = "Project_red", "Project_blue"
    rd_red, rd_blue = _rd_ids(c, 0, red), _rd_ids(c, 0, blue)
    assert len(rd_red) == 1 and len(rd_blue) == 1 and rd_red != rd_blue
    assert _rd_ids(c, 1, red) == rd_red and _rd_ids(c, 1, blue) == rd_blue  # same on both
    assert sorted(_db_rds(c)) == sorted(rd_red | rd_blue)
    (rdr,) = rd_red
    for dev in (0, 1):
        vlans = _objects(c, dev, "net/vlan", red)
        assert len(vlans) == 1
        (vlan,) = vlans.values()
        assert vlan["tag"] == 101
        blue_vlan = next(iter(_objects(c, dev, "net/vlan", blue).values()))
        # physnet2 maps untagged (tagged "False" is false: F5 #1066)
        blue_ifs = _vlan_interfaces(c, dev, blue_vlan)
        assert [i["name"] for i in blue_ifs] == ["1.2"]
        assert all(i.get("untagged") for i in blue_ifs), blue_ifs
        assert all(i.get("tagged") for i in _vlan_interfaces(c, dev, vlan))
        selfs = _objects(c, dev, "net/self", red)
        floating = [s for s in selfs.values() if s.get("floating") == "enabled"]
        local = [s for s in selfs.values() if s.get("floating") != "enabled"]
        assert len(floating) == 1 and len(local) == 1, selfs  # this device's own + floating
        assert local[0]["address"].split("/")[0].endswith(f"%{rdr}")
        nodes = {n["address"] for n in c.device_objects(dev, "ltm/node", red)}
        assert nodes == {f"10.0.0.5%{rdr}"}
        # SNAT pool: one booked address per subnet, the virtual translating through it.
        (pool,) = c.device_objects(dev, "ltm/snatpool", red)
        assert len(pool["members"]) == 1
        (virtual,) = c.device_objects(dev, "ltm/virtual", red)
        assert virtual["sourceAddressTranslation"]["type"] == "snat"
    # one local port per device, a floating one and a SNAT one per project
    ports = _ports(c)
    assert len([p for p in ports if s1 in p]) == 4 and len([p for p in ports if s2 in p]) == 4

    # Deleting red's load balancer removes exactly red's networking, on both devices.
    with c.client("red") as api:
        r = api.delete(f"/v2/lbaas/loadbalancers/{lb1['id']}", params={"cascade": "true"})
        assert r.status_code == 204, r.text
    wait_for(lambda: lb1["id"] not in c.lb_statuses(), 60, "red's load balancer purged")

    def red_gone() -> bool:
        return all(not c.device_objects(dev, kind, red) for dev in (0, 1)
                   for kind in ("net/route-domain", "net/vlan", "net/self", "ltm/snatpool"))

    wait_for(red_gone, 60, "red's networking removed from both devices")
    wait_for(lambda: not [p for p in _ports(c) if s1 in p], 60, "red's ports released")
    assert sorted(_db_rds(c)) == sorted(rd_blue)
    for dev in (0, 1):
        assert _rd_ids(c, dev, blue) == rd_blue
        assert len(_objects(c, dev, "net/self", blue)) == 2
    assert lb_status(c, "blue", lb2["id"]) == "ACTIVE"
    assert len([p for p in _ports(c) if s2 in p]) == 4


def _kill_owner_mid_way(c: Cluster, project: str, lb_id: str) -> int:
    """Both devices hang every request; once the owner has allocated the partition's route
    domain (it is in the database) it is killed -9 while its device write hangs. Returns the id
    allocated."""
    for dev in (0, 1):
        with c.device(dev) as d:
            assert d.post("/sim/down", json={"mode": "hang"}).status_code == 200
    rds = wait_for(lambda: _db_rds(c) or None, 60, "the route domain allocated")
    owner = wait_for(lambda: c.owners().get(project), 30, "an owner")
    c.agents[owner].kill9()
    assert lb_status(c, project, lb_id).startswith("PENDING")
    for dev in (0, 1):
        with c.device(dev) as d:
            assert d.post("/sim/up").status_code == 200
    (rd,) = rds
    return int(rd)


def test_failover_between_route_domain_and_device_write(cluster_on_each_db: Cluster) -> None:
    c = cluster_on_each_db
    sub = _network(c, "green", _vlan(201), "10.1.0.0/24")
    lb = _create(c, "green", _graph("green", sub, None, "10.1.0.7"))
    rd = _kill_owner_mid_way(c, "green", lb["id"])
    wait_active(c, "green", lb["id"], timeout=120)
    # The new owner finished with the id the dead one allocated: none allocated twice.
    assert _db_rds(c) == {rd: next(iter(_db_rds(c).values()))}
    for dev in (0, 1):
        assert _rd_ids(c, dev, "Project_green") == {rd}
        assert len(_objects(c, dev, "net/self", "Project_green")) == 2
    ports = [p for p in _ports(c) if sub in p]
    assert len(ports) == len(set(ports)) == 4  # two local, one floating, one SNAT: none twice


STOCK_INI = Path("/work/shared/reference/f5-config-examples/f5-openstack-agent.ini")


@pytest.fixture
def automap_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """One agent, a pair, the devices' VTEP self IPs in /Common; the agent reads F5's published
    f5-openstack-agent.ini byte for byte (its `default:1.1:True` mapping, `'Common'` and
    `'vtep'` quoted), then the site's file switching to L2/L3 mode with SNAT automap."""
    if not STOCK_INI.exists():
        pytest.skip(f"{STOCK_INI} not available")
    stock = tmp_path / "f5-openstack-agent.ini"
    shutil.copyfile(STOCK_INI, stock)

    def first_the_stock_ini(_host: str, argv: list[str]) -> list[str]:
        at = argv.index("--config-file")
        return [*argv[:at], "--config-file", str(stock), *argv[at:]]

    with fresh_database("sqlite", tmp_path) as url:
        c = Cluster(tmp_path, url, devices=2, agent_wrap=first_the_stock_ini)
        try:
            c.upgrade_db()
            c.start_sim()
            for dev in (0, 1):
                c.add_vtep(dev, f"192.0.2.{11 + dev}/24")
            c.start_api()
            c.start_agent("a1", extra="f5_global_routed_mode = False\n"
                                      "f5_snat_addresses_per_subnet = 0\n")
            c.wait_agents_alive(["a1"])
            yield c
        finally:
            c.close()


def test_vxlan_automap_and_a_common_network(automap_cluster: Cluster) -> None:
    c = automap_cluster
    tun = _network(c, "overlay", {"provider:network_type": "vxlan",
                                  "provider:segmentation_id": 5001}, "10.2.0.0/24")
    ext = _network(c, "public", _vlan(300), "172.16.0.0/24", **{"router:external": True})
    lb_t = _create(c, "tenant", _graph("tenant", tun, None, "10.2.0.8"))
    lb_e = _create(c, "pub", _graph("pub", ext, None, "172.16.0.8"))
    wait_active(c, "tenant", lb_t["id"], timeout=90)
    wait_active(c, "pub", lb_e["id"], timeout=90)
    for dev in (0, 1):
        tunnels = list(_objects(c, dev, "net/tunnels/tunnel", "Project_tenant").values())
        assert len(tunnels) == 1
        assert tunnels[0]["key"] == 5001
        assert tunnels[0]["localAddress"].split("%")[0] == f"192.0.2.{11 + dev}"  # its VTEP
        virtuals = c.device_objects(dev, "ltm/virtual", "Project_tenant")
        assert [v["sourceAddressTranslation"]["type"] for v in virtuals] == ["automap"]
        assert c.device_objects(dev, "ltm/snatpool", "Project_tenant") == []
        # The common network: route domain 0, nothing of ours made for it.
        for kind in ("net/route-domain", "net/vlan", "net/self"):
            assert c.device_objects(dev, kind, "Project_pub") == [], kind
        nodes = [n["address"] for n in c.device_objects(dev, "ltm/node", "Project_pub")]
        assert [a.split("%")[0] for a in nodes] == ["172.16.0.8"]
        assert all(a.endswith("%0") or "%" not in a for a in nodes)
    # Only the tunnel subnet's self-IP ports (two local and a floating); no SNAT ports.
    assert sorted(p.split("-")[0] for p in _ports(c)) == ["floating", "local", "local"]


def test_an_overlap_beyond_max_namespaces_is_an_error_naming_the_option(
        cluster: Cluster) -> None:
    c = cluster
    first = _network(c, "one", _vlan(401), "10.5.0.0/24")
    second = _network(c, "two", _vlan(402), "10.5.0.0/24")
    lb1 = _create(c, "twice", _graph("twice", first, None, "10.5.0.20"))
    wait_active(c, "twice", lb1["id"], timeout=90)
    lb2 = _create(c, "twice", _graph("twice", second, None, "10.5.0.20"))
    status = wait_for(lambda: (s := lb_status(c, "twice", lb2["id"])) in ("ACTIVE", "ERROR")
                      and s, 90, "the second load balancer to leave PENDING")
    assert status == "ERROR"
    db = Database(c.db_url)
    try:
        reason = db.query(lambda s: s.scalar(sa.select(m.LoadBalancer.status_reason).where(
            m.LoadBalancer.id == lb2["id"])))
    finally:
        db.dispose()
    assert "max_namespaces_per_tenant" in str(reason) and first in str(reason), reason
    assert lb_status(c, "twice", lb1["id"]) == "ACTIVE"
    assert _rd_ids(c, 0, "Project_twice") == _rd_ids(c, 1, "Project_twice")
    assert len(_rd_ids(c, 0, "Project_twice")) == 1
