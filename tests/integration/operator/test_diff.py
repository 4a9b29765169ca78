"""`bigip-lbaas diff` against real processes (API, one agent, a simulated pair; SQLite), and
`loadbalancer failover` repairing a device changed behind the agent's back.

A device is tampered with (a virtual deleted, a member's ratio changed, a pool of an operator
added in an owned partition): diff reports exactly those three, on that device only, exits 1
and writes nothing (the simulator's audit log); the agent, which remembers what it wrote, does
not notice; a failover request makes it re-read every device and repair this one."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Cluster
from tests.databases import fresh_database
from tests.integration.agents.test_redundancy import ensure_subnet, wait_active
from tests.integration.operator.test_takeover import run_diff

PROJECT = "drift"
PART = f"Project_{PROJECT}"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database("sqlite", tmp_path) as url:
        c = Cluster(tmp_path, url, devices=2)
        try:
            c.start(agents=("drift1",))
            yield c
        finally:
            c.close()


def _member(dev: Any, pool: str, name: str) -> dict[str, Any]:
    r = dev.get(f"/mgmt/tm/ltm/pool/~{PART}~{pool}/members/~{PART}~{name}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_diff_reports_tampering_exactly_and_failover_repairs_it(cluster: Cluster) -> None:
    subnet = ensure_subnet(cluster)
    graph = {
        "name": "drift", "vip_subnet_id": subnet,
        "listeners": [{"name": "web", "protocol": "HTTP", "protocol_port": 80,
                       "default_pool": {"name": "p"}}],
        "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 5,
                                     "max_retries": 3},
                   "members": [{"address": "10.91.0.1", "protocol_port": 80},
                               {"address": "10.91.0.2", "protocol_port": 80}]}],
    }
    with cluster.client(PROJECT) as api:
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": graph})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
    wait_active(cluster, PROJECT, lb["id"])
    virtual, pool = f"Project_{lb['listeners'][0]['id']}", f"Project_{lb['pools'][0]['id']}"

    code, report = run_diff(cluster)
    assert code == 0 and report["in_step"], report
    assert sorted(p["device"] for p in report["partitions"]) == sorted(report["requests"])
    assert len(report["partitions"]) == 2

    # Behind the agent's back, on the first device only.
    with cluster.device(0) as dev:
        assert dev.delete(f"/mgmt/tm/ltm/virtual/~{PART}~{virtual}").status_code == 200
        assert dev.patch(f"/mgmt/tm/ltm/pool/~{PART}~{pool}/members/~{PART}~10.91.0.2:80",
                         json={"ratio": 5}).status_code == 200
        assert dev.post("/mgmt/tm/ltm/pool", json={
            "name": "operator_pool", "partition": PART}).status_code == 200
    audits = [cluster.audit(0), cluster.audit(1)]

    code, report = run_diff(cluster)
    assert code == 1 and not report["in_step"] and report["errors"] == 0
    by_device = {p["device"]: p for p in report["partitions"]}
    first, second = (by_device[d] for d in sorted(by_device, key=lambda d: int(d.rsplit(":")[1])))
    assert second["in_step"] and second["changes"] == [] and second["foreign"] == []
    assert [(c["action"], c["kind"], c["name"], c["owner"]) for c in first["changes"]] == [
        ("update", "ltm/pool", pool, lb["pools"][0]["id"]),
        ("create", "ltm/virtual", virtual, lb["listeners"][0]["id"]),
    ]
    assert first["changes"][0]["fields"] == [
        {"field": "members[10.91.0.2:80].ratio", "device": 5, "desired": 1}]
    assert first["foreign"] == [{"kind": "ltm/pool", "name": "operator_pool"}]
    # read-only: no write on either device; the agent did not notice (it remembers its writes)
    assert [cluster.audit(0), cluster.audit(1)] == audits

    # narrower views
    code, only_second = run_diff(cluster, "--device", second["device"])
    assert code == 0 and [p["device"] for p in only_second["partitions"]] == [second["device"]]
    code, one_lb = run_diff(cluster, "--loadbalancer", lb["id"], "--device", first["device"])
    assert code == 1 and one_lb["partitions"][0]["foreign"] == []  # not one LB's
    assert len(one_lb["partitions"][0]["changes"]) == 2
    code, other = run_diff(cluster, "--project", "nobody")
    assert code == 0 and other["partitions"] == []
    conf = cluster.write_common_conf()
    table = subprocess.run([PY, "-m", "bigip_lbaas.cli", "diff", "--config-file", str(conf)],
                           check=False, capture_output=True, text=True, timeout=120)
    assert table.returncode == 1, table.stderr
    assert "members[10.91.0.2:80].ratio" in table.stdout and "operator_pool" in table.stdout
    bad = subprocess.run([PY, "-m", "bigip_lbaas.cli", "diff", "--config-file", str(conf),
                          "--device", "192.0.2.1:443"], check=False, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "192.0.2.1:443" in bad.stderr

    # A failover: the owner re-reads every device and repairs the first one.
    with cluster.client("admin") as admin:
        r = admin.put(f"/v2/lbaas/loadbalancers/{lb['id']}/failover")
        assert r.status_code == 202, r.text
    wait_active(cluster, PROJECT, lb["id"])
    with cluster.device(0) as dev:
        assert dev.get(f"/mgmt/tm/ltm/virtual/~{PART}~{virtual}").status_code == 200
        assert _member(dev, pool, "10.91.0.2:80")["ratio"] == 1
        assert dev.get(f"/mgmt/tm/ltm/pool/~{PART}~operator_pool").status_code == 200  # not ours
    code, report = run_diff(cluster)
    assert code == 1 and [p["foreign"] for p in report["partitions"] if p["foreign"]] == [
        [{"kind": "ltm/pool", "name": "operator_pool"}]]
    with cluster.device(0) as dev:
        assert dev.delete(f"/mgmt/tm/ltm/pool/~{PART}~operator_pool").status_code == 200
    code, report = run_diff(cluster)
    assert code == 0 and report["in_step"], report


L2L3 = (
    "f5_global_routed_mode = False\n"
    "use_namespaces = True\n"
    "f5_snat_addresses_per_subnet = 1\n"
    "f5_external_physical_mappings = default:1.1:True\n"
)


@pytest.fixture
def l2l3_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database("sqlite", tmp_path) as url:
        c = Cluster(tmp_path, url, devices=2)
        try:
            c.upgrade_db()
            c.start_sim()
            c.start_api()
            c.start_agent("net1", extra=L2L3)
            c.wait_agents_alive(["net1"])
            yield c
        finally:
            c.close()


@pytest.fixture
def vxlan_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """L2/L3 mode with VXLAN: each simulated device has its VTEP self IP in /Common."""
    with fresh_database("sqlite", tmp_path) as url:
        c = Cluster(tmp_path, url, devices=2)
        try:
            c.upgrade_db()
            c.start_sim()
            for dev in (0, 1):
                c.add_vtep(dev, f"192.0.2.{21 + dev}/24")
            c.start_api()
            c.start_agent("net1", extra=L2L3 + "f5_vtep_folder = Common\n"
                          "f5_vtep_selfip_name = vtep\nadvertised_tunnel_types = vxlan\n")
            c.wait_agents_alive(["net1"])
            yield c
        finally:
            c.close()


def test_diff_in_l2l3_mode_reads_the_vteps(vxlan_cluster: Cluster) -> None:
    """A VXLAN partition: diff reads each device's VTEP as the agent does, so the tunnels (one
    local address per device) are in step; a tunnel's local address changed on one device is
    reported there only."""
    c = vxlan_cluster
    project, part = "tunnel", "Project_tunnel"
    with c.client("admin") as admin:
        admin.headers["X-Roles"] = "admin"
        net = admin.post("/v2.0/networks", json={"network": {
            "name": "ov", "provider:network_type": "vxlan", "provider:segmentation_id": 5005}})
        assert net.status_code == 201, net.text
        sub = admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": net.json()["network"]["id"], "cidr": "10.94.0.0/24",
            "ip_version": 4, "gateway_ip": "10.94.0.1"}})
        assert sub.status_code == 201, sub.text
        subnet = str(sub.json()["subnet"]["id"])
    with c.client(project) as api:
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
            "name": "ov", "vip_subnet_id": subnet, "project_id": project}})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
    wait_active(c, project, lb["id"], timeout=90)
    (tunnel,) = c.device_objects(1, "net/tunnels/tunnel", part)
    assert tunnel["localAddress"].split("%")[0] == "192.0.2.22"

    code, report = _diff_l2l3(c)
    assert code == 0 and report["in_step"], report
    with c.device(1) as dev:
        r = dev.post("/mgmt/tm/net/self", json={
            "name": "vtep2", "partition": "Common", "vlan": "/Common/underlay",
            "address": "192.0.2.99/24"})
        assert r.is_success, r.text
        r = dev.patch(f"/mgmt/tm/net/tunnels/tunnel/~{part}~{tunnel['name']}",
                      json={"localAddress": "192.0.2.99%0"})
        assert r.status_code == 200, r.text
    code, report = _diff_l2l3(c)
    assert code == 1
    changed = {p["device"]: [(ch["action"], ch["kind"], ch["name"]) for ch in p["changes"]]
               for p in report["partitions"]}
    first, second = sorted(changed, key=lambda d: int(d.rsplit(":")[1]))
    assert changed[first] == []
    assert changed[second] == [("update", "net/tunnels/tunnel", tunnel["name"])], changed
    (change,) = next(p for p in report["partitions"] if p["device"] == second)["changes"]
    assert [(f["device"], f["desired"]) for f in change["fields"]] == [
        ("192.0.2.99%0", "192.0.2.22%0")], change


def _diff_l2l3(c: Cluster) -> tuple[int, dict[str, Any]]:
    """`bigip-lbaas diff` with the agent's own files (its ini sets L2/L3 mode)."""
    conf = c.write_common_conf()
    p = subprocess.run(
        [PY, "-m", "bigip_lbaas.cli", "diff", "--config-file", str(conf), "--config-file",
         str(c.workdir / "agent-net1.conf"), "--format", "json"],
        check=False, capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr + p.stdout
    assert "admin" not in p.stdout + p.stderr
    report: dict[str, Any] = json.loads(p.stdout)
    return p.returncode, report


def test_diff_in_l2l3_mode_sees_the_networking(l2l3_cluster: Cluster) -> None:
    """L2/L3 mode: after the agent converged, diff (rendering the networking from what the
    agent recorded, booking nothing) finds every device in step; a self IP deleted behind the
    agent's back is reported on that device only, and diff wrote nothing."""
    c = l2l3_cluster
    project = "netdrift"
    part = f"Project_{project}"
    with c.client("admin") as admin:
        admin.headers["X-Roles"] = "admin"
        net = admin.post("/v2.0/networks", json={"network": {
            "name": "nd", "provider:network_type": "vlan",
            "provider:physical_network": "physnet1", "provider:segmentation_id": 120}})
        assert net.status_code == 201, net.text
        sub = admin.post("/v2.0/subnets", json={"subnet": {
            "network_id": net.json()["network"]["id"], "cidr": "10.93.0.0/24",
            "ip_version": 4, "gateway_ip": "10.93.0.1"}})
        assert sub.status_code == 201, sub.text
        subnet = str(sub.json()["subnet"]["id"])
    graph = {"name": "nd", "vip_subnet_id": subnet, "project_id": project,
             "listeners": [{"name": "web", "protocol": "HTTP", "protocol_port": 80,
                            "default_pool": {"name": "p"}}],
             "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                        "members": [{"address": "10.93.0.5", "protocol_port": 80,
                                     "subnet_id": subnet}]}]}
    with c.client(project) as api:
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": graph})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
    wait_active(c, project, lb["id"], timeout=90)
    ports_before = _port_rows(c)
    assert len(ports_before) == 4  # two local self IPs, a floating one, a SNAT address

    code, report = _diff_l2l3(c)
    assert code == 0 and report["in_step"], report
    assert len(report["partitions"]) == 2
    assert all(p["failures"] == [] for p in report["partitions"])

    # Behind the agent's back: the first device's own self IP goes.
    (local,) = [s for s in c.device_objects(0, "net/self", part)
                if s.get("floating") != "enabled"]
    with c.device(0) as dev:
        assert dev.delete(f"/mgmt/tm/net/self/~{part}~{local['name']}").status_code == 200
    audits = [c.audit(0), c.audit(1)]
    code, report = _diff_l2l3(c)
    assert code == 1 and not report["in_step"] and report["errors"] == 0
    by_device = {p["device"]: p for p in report["partitions"]}
    first, second = (by_device[d] for d in sorted(by_device, key=lambda d: int(d.rsplit(":")[1])))
    assert second["in_step"], second
    assert [(ch["action"], ch["kind"], ch["name"]) for ch in first["changes"]] == [
        ("create", "net/self", local["name"])]
    # read only: nothing written on the devices, nothing booked or bound
    assert [c.audit(0), c.audit(1)] == audits
    assert _port_rows(c) == ports_before

    # A partition no agent has prepared yet (the agent killed): diff books and binds
    # nothing and says so, per object.
    c.agents["net1"].kill9()  # its lease still says alive: the API takes the change
    graph["project_id"] = "netlater"
    with c.client("netlater") as api:
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": graph})
        assert r.status_code == 201, r.text
        later = r.json()["loadbalancer"]
    code, report = _diff_l2l3(c)
    assert code == 1 and report["errors"] == 0
    fresh = [p for p in report["partitions"] if p["project_id"] == "netlater"]
    assert len(fresh) == 2
    for p in fresh:
        assert {f["object_id"] for f in p["failures"]} >= {later["id"]}, p
        assert all("not prepared yet" in f["reason"] and subnet in f["reason"]
                   for f in p["failures"]), p
    assert _port_rows(c) == ports_before
    db = Database(c.db_url)
    try:
        assert db.query(lambda s: s.scalar(sa.select(sa.func.count()).select_from(
            m.SubnetBinding))) == 1  # only the first partition's
    finally:
        db.dispose()


def _port_rows(c: Cluster) -> list[tuple[str, str]]:
    db = Database(c.db_url)
    try:
        return db.query(lambda s: sorted((str(p.name), str(p.id)) for p in s.scalars(
            sa.select(m.Port).where(m.Port.vip_of.is_(None)))))
    finally:
        db.dispose()
