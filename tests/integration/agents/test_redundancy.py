"""Several real agents on one database and one simulated pair: spread, failover, refusal, drain.

Each test starts the real simulator, API and agent processes (distinct `host` values) against a
fresh database of each kind, then checks the outcome through the API, the database and the
devices themselves (including the simulator's audit log of who wrote what, when).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bigip_lbaas.db.models import Agent, PartitionLease
from bigip_lbaas.db.session import Database
from tests.cluster import Cluster, free_ports, overlapping_writers, port_open, wait_for

PROJECTS = [f"proj{i:02d}" for i in range(6)]


@pytest.fixture
def cluster(db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, db_url, devices=2)
    try:
        c.start(agents=("h1", "h2", "h3"))
        yield c
    finally:
        c.close()


def member_address(project: str, n: int) -> str:
    """Distinct per project: a BIG-IP node address is unique across partitions (no route
    domains in global routed mode), as on a real device."""
    return f"10.{n}.{sum(map(ord, project)) % 250}.{len(project)}"


def create_graph(c: Cluster, project: str) -> str:
    """LB + listener + pool + member, each call waiting for the LB to accept the next."""
    with c.client(project) as api:
        subnet = ensure_subnet(c)
        lb = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
            "name": f"lb-{project}", "vip_subnet_id": subnet, "project_id": project}})
        assert lb.status_code == 201, lb.text
        lb_id = lb.json()["loadbalancer"]["id"]
        wait_active(c, project, lb_id)
        li = api.post("/v2/lbaas/listeners", json={"listener": {
            "loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 80}})
        assert li.status_code == 201, li.text
        wait_active(c, project, lb_id)
        pool = api.post("/v2/lbaas/pools", json={"pool": {
            "listener_id": li.json()["listener"]["id"], "protocol": "HTTP",
            "lb_algorithm": "ROUND_ROBIN"}})
        assert pool.status_code == 201, pool.text
        wait_active(c, project, lb_id)
        member = api.post(f"/v2/lbaas/pools/{pool.json()['pool']['id']}/members", json={
            "member": {"address": member_address(project, 1), "protocol_port": 8080}})
        assert member.status_code == 201, member.text
        return str(lb_id)


def ensure_subnet(c: Cluster) -> str:
    """The cluster's shared public subnet, created on first use. Looked up through this
    cluster's own API every time: a cache kept outside the cluster (it was keyed by API URL)
    handed a later cluster, whose API got a port an earlier one had used, a subnet id from
    another database ("Subnet ... not found")."""
    with c.client("admin") as api:
        found = api.get("/v2.0/subnets", params={"name": "public-subnet"})
        assert found.status_code == 200, found.text
        if found.json()["subnets"]:
            return str(found.json()["subnets"][0]["id"])
        net = api.post("/v2.0/networks", json={"network": {"name": "public", "shared": True}})
        assert net.status_code == 201, net.text
        sub = api.post("/v2.0/subnets", json={"subnet": {
            "name": "public-subnet", "network_id": net.json()["network"]["id"],
            "cidr": "203.0.113.0/24", "ip_version": 4}})
        assert sub.status_code == 201, sub.text
        return str(sub.json()["subnet"]["id"])


def lb_status(c: Cluster, project: str, lb_id: str) -> str:
    with c.client(project) as api:
        r = api.get(f"/v2/lbaas/loadbalancers/{lb_id}")
        return str(r.json()["loadbalancer"]["provisioning_status"]) if r.status_code == 200 \
            else f"HTTP {r.status_code}"


def wait_active(c: Cluster, project: str, lb_id: str, timeout: float = 60) -> None:
    status = wait_for(lambda: (s := lb_status(c, project, lb_id)) in ("ACTIVE", "ERROR") and s,
                      timeout, f"load balancer {lb_id} to leave PENDING")
    assert status == "ACTIVE", f"{lb_id} ended {status}"


def owners(c: Cluster) -> dict[str, str]:
    return c.owners()


def all_members_on_devices(c: Cluster, project: str, expect: int) -> bool:
    part = f"Project_{project}"
    for dev in range(c.devices):
        pools = c.device_objects(dev, "ltm/pool", part)
        if not pools:
            return False
        with c.device(dev) as d:
            members = d.get(f"/mgmt/tm/ltm/pool/~{part}~{pools[0]['name']}/members").json()
            if len(members.get("items", [])) != expect:
                return False
    return True


def test_partitions_spread_and_survive_kill_9(cluster: Cluster) -> None:
    lbs = {p: create_graph(cluster, p) for p in PROJECTS}
    for p, lb in lbs.items():
        wait_active(cluster, p, lb)
    spread = wait_for(lambda: len(o := owners(cluster)) == len(PROJECTS) and o, 30,
                      "every partition owned")
    counts = {h: list(spread.values()).count(h) for h in ("h1", "h2", "h3")}
    assert max(counts.values()) - min(counts.values()) <= 1, counts

    victim = max(counts, key=lambda h: counts[h])
    victim_projects = [p for p, h in spread.items() if h == victim]
    cluster.agents[victim].kill9()
    # Changes land in the dead agent's partitions right after the kill: none may be lost.
    for p in victim_projects:
        with cluster.client(p) as api:
            pools = api.get("/v2/lbaas/pools", params={"project_id": p}).json()["pools"]
            r = api.post(f"/v2/lbaas/pools/{pools[0]['id']}/members", json={
                "member": {"address": member_address(p, 2), "protocol_port": 8080}})
            assert r.status_code == 201, r.text
    for p in victim_projects:
        wait_active(cluster, p, lbs[p], timeout=60)
        wait_for(lambda p=p: all_members_on_devices(cluster, p, 2), 30, f"{p} on both devices")
    after = owners(cluster)
    assert victim not in after.values()
    moved = [after[p] for p in victim_projects]
    assert len(set(moved)) == min(2, len(moved)), f"not spread over survivors: {moved}"
    for dev in range(cluster.devices):
        assert overlapping_writers(cluster.audit(dev)) == []


def test_duplicate_host_is_refused_and_first_keeps_running(cluster: Cluster) -> None:
    wait_for(lambda: len(agents_alive(cluster)) == 3, 30, "three live agents")
    dup = cluster.start_agent("h2", name="h2-dup")
    assert dup.popen is not None
    code = dup.popen.wait(timeout=30)
    assert code != 0
    out = dup.output()
    assert "h2" in out and "already running" in out and "last heartbeat" in out
    time.sleep(2 * cluster.heartbeat)
    assert cluster.agents["h2"].alive and "h2" in agents_alive(cluster)


def agents_alive(c: Cluster) -> list[str]:
    with c.client("admin") as api:
        r = api.get("/v2/lbaas/agents")
        if r.status_code != 200:
            return []
        return [a["host"] for a in r.json()["agents"] if a["alive"]]


def test_admin_down_drains_and_graceful_stop_hands_over_at_once(cluster: Cluster) -> None:
    lbs = {p: create_graph(cluster, p) for p in PROJECTS[:4]}
    for p, lb in lbs.items():
        wait_active(cluster, p, lb)
    wait_for(lambda: len(owners(cluster)) == 4, 30, "every partition owned")
    with cluster.client("admin") as api:
        agents: list[dict[str, Any]] = api.get("/v2/lbaas/agents").json()["agents"]
        h1 = next(a for a in agents if a["host"] == "h1")
        r = api.put(f"/v2/lbaas/agents/{h1['id']}", json={"agent": {"admin_state_up": False}})
        assert r.status_code == 200, r.text
    wait_for(lambda: "h1" not in owners(cluster).values() and len(owners(cluster)) == 4, 30,
             "h1 drained")
    assert cluster.agents["h1"].alive  # drained, still heartbeating

    # SIGTERM releases leases at once: the others own everything well before expiry.
    victim = next(iter(set(owners(cluster).values())))
    assert cluster.agents[victim].terminate() == 0
    wait_for(lambda: victim not in owners(cluster).values() and len(owners(cluster)) == 4,
             30, "hand-over after SIGTERM")
    assert "stopped" in cluster.agents[victim].output()


def test_agent_row_and_leases_use_db_state(cluster: Cluster) -> None:
    lb = create_graph(cluster, "solo")
    wait_active(cluster, "solo", lb)
    # One agent is enough to serve the graph; the others may still be registering.
    wait_for(lambda: len(agents_alive(cluster)) == 3, 30, "three registered agents")
    db = Database(cluster.db_url)
    try:
        with db.transaction() as s:
            hosts = sorted(s.scalars(sa.select(Agent.host)))
            assert hosts == ["h1", "h2", "h3"]
            leases = s.scalars(sa.select(PartitionLease)).all()
            assert all(lease.epoch >= 1 for lease in leases if lease.owner)
    finally:
        db.dispose()


def test_agent_serves_prometheus_metrics(cluster: Cluster) -> None:
    """On the configured address only: 127.0.0.2 (a loopback address) instead of the default."""
    port = free_ports(1)
    cluster.start_agent("h4", extra=f"[bigip_lbaas]\nmetrics_port = {port}\n"
                                    "metrics_host = 127.0.0.2\n")
    lb = create_graph(cluster, "metrics")
    wait_active(cluster, "metrics", lb)

    def scrape() -> str:
        try:
            return httpx.get(f"http://127.0.0.2:{port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return ""

    text = wait_for(lambda: "bigip_lbaas_device_seconds_count" in (t := scrape()) and t, 30,
                    "agent metrics with device timings")
    assert "bigip_lbaas_leases_held" in text
    assert 'op="probe"' in text
    assert "bigip_lbaas_heartbeat_age_seconds" in text
    assert not port_open(port)  # nothing on 127.0.0.1


def test_agent_that_cannot_reach_devices_claims_nothing(cluster: Cluster) -> None:
    """h9 is configured with device ports where nothing listens (an agent cut off from the
    devices): it registers and heartbeats, reports why, and the others keep every partition."""
    dead = free_ports(2)
    cluster.start_agent("h9", extra=f"icontrol_hostname = 127.0.0.1:{dead},127.0.0.1:{dead + 1}\n")
    lbs = {p: create_graph(cluster, p) for p in PROJECTS[:3]}
    for p, lb in lbs.items():
        wait_active(cluster, p, lb)

    def h9() -> dict[str, Any] | None:
        with cluster.client("admin") as api:
            agents = api.get("/v2/lbaas/agents").json()["agents"]
        return next((a for a in agents if a["host"] == "h9" and a["alive"]), None)

    view = wait_for(h9, 30, "h9 registered and alive")
    time.sleep(3 * cluster.heartbeat)
    assert "h9" not in owners(cluster).values()
    assert len(owners(cluster)) == 3
    view = h9()
    assert view is not None
    assert not any(d.get("reachable") for d in view["devices"])


def sim(c: Cluster, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A `/sim` control call, sent through device 1 (it steers every simulated device)."""
    with c.device(0) as dev:
        r = dev.post(f"/sim/{path}", json=body)
        r.raise_for_status()
        info: dict[str, Any] = r.json()
        return info


def test_device_wiped_while_down_is_rebuilt_when_it_returns(cluster: Cluster) -> None:
    """Device 2 goes away and comes back empty (a reboot to defaults, a replaced unit) while no
    change is pending: its owners rebuild it on its return, not at the next anti-entropy pass."""
    lbs = {p: create_graph(cluster, p) for p in PROJECTS[:3]}
    for p, lb in lbs.items():
        wait_active(cluster, p, lb)
    wait_for(lambda: all(all_members_on_devices(cluster, p, 1) for p in lbs), 30,
             "every graph on both devices")

    def device2_seen_down() -> bool:
        with cluster.client("admin") as api:
            agents = [a for a in api.get("/v2/lbaas/agents").json()["agents"] if a["alive"]]
        return bool(agents) and all(
            any(not d["reachable"] for d in a["devices"]) for a in agents)

    sim(cluster, "devices/2/down", {"mode": "refuse"})
    wait_for(device2_seen_down, 30, "every agent to see device 2 down")
    wiped = sim(cluster, "devices/2/wipe")["objects"]
    with cluster.device(0) as dev:
        assert wiped < dev.get("/sim/devices/1").json()["objects"]
    sim(cluster, "devices/2/up")
    # The anti-entropy pass is 300 s away: only the return itself can explain a rebuild in 30 s.
    wait_for(lambda: all(all_members_on_devices(cluster, p, 1) for p in lbs), 30,
             "device 2 rebuilt")


def test_join_takes_an_even_share_by_hand_over(db_url: str, tmp_path: Path) -> None:
    c = Cluster(tmp_path, db_url, devices=2)
    try:
        c.start(agents=("j1", "j2"))
        lbs = {p: create_graph(c, p) for p in PROJECTS}
        for p, lb in lbs.items():
            wait_active(c, p, lb)
        before = wait_for(lambda: len(o := owners(c)) == len(PROJECTS) and o, 30, "all owned")
        c.start_agent("j3")
        after = wait_for(
            lambda: sorted(list((o := owners(c)).values()).count(h) for h in ("j1", "j2", "j3"))
            == [2, 2, 2] and len(o) == len(PROJECTS) and o, 60, "an even share for j3")
        moved = [p for p in PROJECTS if before[p] != after[p]]
        assert len(moved) == 2 and all(after[p] == "j3" for p in moved), (before, after)
        # The partitions handed over are served by the newcomer: a change there goes ACTIVE.
        p = moved[0]
        with c.client(p) as api:
            r = api.put(f"/v2/lbaas/loadbalancers/{lbs[p]}",
                        json={"loadbalancer": {"description": "after hand-over"}})
            assert r.status_code == 200, r.text
        wait_active(c, p, lbs[p])
        for dev in range(c.devices):
            assert overlapping_writers(c.audit(dev)) == []
    finally:
        c.close()
