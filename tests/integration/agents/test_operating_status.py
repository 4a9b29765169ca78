"""Operating status and stats flow from the devices through the agents to the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import Cluster, wait_for
from tests.integration.agents.test_redundancy import ensure_subnet, wait_active


@pytest.fixture
def cluster(db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, db_url, devices=2)
    try:
        c.start(agents=("s1", "s2"))
        yield c
    finally:
        c.close()


def test_member_down_on_device_shows_in_api_and_stats_move(cluster: Cluster) -> None:
    project = "opstat"
    with cluster.client(project) as api:
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
            "name": "lb", "vip_subnet_id": ensure_subnet(cluster), "project_id": project,
            "listeners": [{"name": "l", "protocol": "HTTP", "protocol_port": 80,
                           "default_pool": {"name": "p"}}],
            "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                       "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3,
                                         "max_retries": 2},
                       "members": [{"address": "10.77.0.1", "protocol_port": 80},
                                   {"address": "10.77.0.2", "protocol_port": 80}]}]}})
        assert r.status_code == 201, r.text
        lb_id = r.json()["loadbalancer"]["id"]
    wait_active(cluster, project, lb_id)
    for dev in range(cluster.devices):
        with cluster.device(dev) as d:
            assert d.put("/sim/members-down", json={"addresses": ["10.77.0.2"]}).is_success

    def tree() -> dict[str, Any]:
        with cluster.client(project) as api:
            body: dict[str, Any] = api.get(f"/v2/lbaas/loadbalancers/{lb_id}/status").json()
            return body["statuses"]["loadbalancer"]

    def degraded() -> dict[str, Any] | None:
        t = tree()
        pool = t["listeners"][0]["pools"][0]
        members = {m["address"]: m["operating_status"] for m in pool["members"]}
        ok = members == {"10.77.0.1": "ONLINE", "10.77.0.2": "ERROR"} \
            and pool["operating_status"] == "DEGRADED"
        return t if ok else None

    t = wait_for(degraded, 60, "member 10.77.0.2 ERROR and its pool DEGRADED", every=0.5)
    assert t["operating_status"] == "DEGRADED"

    def stats() -> dict[str, Any] | None:
        with cluster.client(project) as api:
            s: dict[str, Any] = api.get(f"/v2/lbaas/loadbalancers/{lb_id}/stats").json()["stats"]
        return s if s["total_connections"] > 0 and s["bytes_in"] > 0 else None

    wait_for(stats, 60, "listener counters from the devices", every=0.5)

    # Every member down: the pool is ERROR and so is the load balancer (Octavia: a pool DOWN makes
    # the LB ERROR), not merely DEGRADED.
    for dev in range(cluster.devices):
        with cluster.device(dev) as d:
            down = {"addresses": ["10.77.0.1", "10.77.0.2"]}
            assert d.put("/sim/members-down", json=down).is_success

    def errored() -> dict[str, Any] | None:
        t = tree()
        pool = t["listeners"][0]["pools"][0]
        ok = pool["operating_status"] == "ERROR" and t["operating_status"] == "ERROR"
        return t if ok else None

    t = wait_for(errored, 60, "both members down: pool and load balancer ERROR", every=0.5)
    assert {m["operating_status"] for m in t["listeners"][0]["pools"][0]["members"]} == {"ERROR"}
