"""Stats come from the unit that carries the traffic: a pair whose first-listed device is the
standby (its `failover.state`; the simulator's standby counts no traffic, as a real one carries
none) reports the active unit's counters, not the first device's zeros."""

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
        c.start(agents=("s1",))
        yield c
    finally:
        c.close()


def set_failover(c: Cluster, index: int, state: str) -> None:
    with c.device(index) as d:
        r = d.patch("/mgmt/tm/sys/db/failover.state", json={"value": state})
        assert r.status_code == 200, r.text


def device_total(c: Cluster, index: int, partition: str) -> int:
    with c.device(index) as d:
        body = d.get("/mgmt/tm/ltm/virtual/stats", params={
            "$filter": f"partition eq {partition}"}).json()
    return sum(int(e["nestedStats"]["entries"]["clientside.totConns"]["value"])
               for e in body.get("entries", {}).values())


def test_a_pair_whose_first_device_is_standby_reports_the_active_units_counters(
        cluster: Cluster) -> None:
    set_failover(cluster, 0, "standby")
    set_failover(cluster, 1, "active")
    project = "actstat"
    with cluster.client(project) as api:
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
            "name": "lb", "vip_subnet_id": ensure_subnet(cluster), "project_id": project,
            # The simulator counts a virtual's traffic only when its pool has a member to
            # send it to (a fresh listener with no pool reads zeros, as in Octavia).
            "listeners": [{"name": "l", "protocol": "HTTP", "protocol_port": 80,
                           "default_pool": {"name": "p"}}],
            "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                       "members": [{"address": "10.78.0.1", "protocol_port": 80}]}]}})
        assert r.status_code == 201, r.text
        lb_id = r.json()["loadbalancer"]["id"]
    wait_active(cluster, project, lb_id)
    partition = f"Project_{project}"
    wait_for(lambda: device_total(cluster, 1, partition) > 0, 30, "the active unit counting")
    assert device_total(cluster, 0, partition) == 0  # the standby carries nothing

    def stats() -> dict[str, Any] | None:
        with cluster.client(project) as api:
            s: dict[str, Any] = api.get(f"/v2/lbaas/loadbalancers/{lb_id}/stats").json()["stats"]
        return s if s["total_connections"] > 0 and s["bytes_in"] > 0 else None

    found = wait_for(stats, 60, "the active unit's counters in the API", every=0.5)
    # What the API reports is what the active unit counted (its counters only grow).
    assert found["total_connections"] <= device_total(cluster, 1, partition)
