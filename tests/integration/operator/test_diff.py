"""`bigip-lbaas diff` against real processes (API, one agent, a simulated pair; SQLite), and
`loadbalancer failover` repairing a device changed behind the agent's back.

A device is tampered with (a virtual deleted, a member's ratio changed, a pool of an operator
added in an owned partition): diff reports exactly those three, on that device only, exits 1
and writes nothing (the simulator's audit log); the agent, which remembers what it wrote, does
not notice; a failover request makes it re-read every device and repair this one."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
