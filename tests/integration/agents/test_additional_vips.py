"""A dual-stack load balancer end to end: API process → database → agent process → simulator.

Cheap on purpose: SQLite, one simulated device, one agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import Cluster, wait_for
from tests.databases import fresh_database
from tests.integration.agents.test_redundancy import wait_active


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database("sqlite", tmp_path) as url:
        c = Cluster(tmp_path, url, devices=1)
        try:
            c.start(agents=("dual1",))
            yield c
        finally:
            c.close()


def test_dual_stack_load_balancer_reaches_the_device(cluster: Cluster) -> None:
    project = "dualstack"
    with cluster.client("admin") as admin:
        net = admin.post("/v2.0/networks", json={"network": {"name": "ds", "shared": True}})
        assert net.status_code == 201, net.text
        subnets = []
        for cidr, version in (("203.0.113.0/24", 4), ("2001:db8:77::/64", 6)):
            sub = admin.post("/v2.0/subnets", json={"subnet": {
                "network_id": net.json()["network"]["id"], "cidr": cidr, "ip_version": version}})
            assert sub.status_code == 201, sub.text
            subnets.append(sub.json()["subnet"]["id"])
    graph = {
        "name": "ds", "vip_subnet_id": subnets[0], "project_id": project,
        "additional_vips": [{"subnet_id": subnets[1]}],
        "listeners": [{"name": "web", "protocol": "HTTP", "protocol_port": 80,
                       "default_pool": {"name": "p"}}],
        "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "members": [{"address": "10.78.0.1", "protocol_port": 80}]}],
    }
    with cluster.client(project) as api:
        # Security groups on the VIP cannot be enforced: refused before anything is stored.
        refused = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
            **graph, "vip_sg_ids": ["0b7c2d7e-5d7a-4a43-9d39-3c1bd2f7d5a1"]}})
        assert refused.status_code == 501, refused.text
        assert "does not support a requested option" in refused.json()["faultstring"]
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": graph})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
    v6 = lb["additional_vips"][0]["ip_address"]
    assert v6.startswith("2001:db8:77::")
    listener_id = lb["listeners"][0]["id"]
    wait_active(cluster, project, lb["id"])

    part = f"Project_{project}"
    token = v6.replace(":", "-")
    virtuals = {v["name"]: v for v in cluster.device_objects(0, "ltm/virtual", part)}
    # each virtual is linked to the virtual address of its address (named, so ":" before the port)
    assert virtuals[f"Project_{listener_id}"]["destination"] == f"/{part}/Project_{lb['id']}:80"
    assert virtuals[f"Project_{listener_id}_{token}"]["destination"] == (
        f"/{part}/Project_{lb['id']}_{token}:80")
    addresses = {a["name"]: a["address"] for a in
                 cluster.device_objects(0, "ltm/virtual-address", part)}
    assert addresses[f"Project_{lb['id']}_{token}"] == v6

    # Both virtuals are there, so the listener is ONLINE (status comes from the device).
    def listener_online() -> bool:
        with cluster.client(project) as api:
            body: dict[str, Any] = api.get(f"/v2/lbaas/listeners/{listener_id}").json()
        return bool(body["listener"]["operating_status"] == "ONLINE")

    wait_for(listener_online, 30, "the dual-stack listener ONLINE", every=0.5)

    # Deleting the load balancer removes every object of it from the device.
    with cluster.client(project) as api:
        r = api.delete(f"/v2/lbaas/loadbalancers/{lb['id']}", params={"cascade": "true"})
        assert r.status_code == 204, r.text
    wait_for(lambda: lb["id"] not in cluster.lb_statuses(), 60, "the load balancer removed")
    assert cluster.device_objects(0, "ltm/virtual", part) == []
    assert cluster.device_objects(0, "ltm/virtual-address", part) == []
