"""The two front doors give the same devices, and an agent killed mid-way holds nothing back:
the same fully populated graph through the own API and through Octavia (`--provider bigip`)
leaves the same BIG-IP objects (ids, partitions and addresses aside) on both devices; kill -9 of
the agent that owns a new load balancer's partition still ends with every object ACTIVE in
Octavia."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx

from bigip_lbaas.engine.config import Kind
from tests.cluster import Cluster, wait_for
from tests.integration.octavia.test_provider import (  # noqa: F401  (fixtures)
    SETTLE,
    Osc,
    osc,
    settle,
    subnet,
)
from tests.openstack.octavia import Octavia

COLLECTIONS = [k.value for k in Kind if k is not Kind.FOLDER]
VOLATILE = {"selfLink", "generation", "lastModifiedTime", "creationTime"}


def graph_body(subnet_id: str, address: str, members: tuple[str, str],
               project: str | None = None) -> dict[str, Any]:
    """A fully populated create; `members`: the two member addresses (a BIG-IP node address
    belongs to one partition, so two graphs on one device need different ones)."""
    lb: dict[str, Any] = {
        "name": "sbs", "vip_subnet_id": subnet_id, "vip_address": address,
        "listeners": [{"name": "l1", "protocol": "HTTP", "protocol_port": 80,
                       "default_pool": {"name": "p1"},
                       "l7policies": [{"name": "pol", "action": "REDIRECT_TO_URL",
                                       "redirect_url": "http://example.com/",
                                       "rules": [{"type": "PATH", "compare_type": "STARTS_WITH",
                                                  "value": "/old"}]}]}],
        "pools": [{"name": "p1", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "members": [{"address": members[0], "protocol_port": 8080},
                               {"address": members[1], "protocol_port": 8080}],
                   "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3,
                                     "max_retries": 3}}],
    }
    if project is not None:
        lb["project_id"] = project
    return {"loadbalancer": lb}


def ids_of(body: dict[str, Any]) -> list[str]:
    """Every id in a fully populated create's answer, in document order."""
    return re.findall(r'"id": "([0-9a-f-]{36})"', json.dumps(body, sort_keys=True))


def device_state(cluster: Cluster, device: int, partition: str,
                 replace: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for collection in COLLECTIONS:
        items = cluster.device_objects(device, collection, partition)
        texts = []
        for item in items:
            text = json.dumps({k: v for k, v in item.items() if k not in VOLATILE},
                              sort_keys=True)
            for old, new in sorted(replace.items(), key=lambda kv: -len(kv[0])):
                text = text.replace(old, new)
            texts.append(text)
        out[collection] = sorted(texts)
    return out


def test_own_api_and_octavia_give_the_same_devices(octavia: Octavia, cluster: Cluster,
                                                   subnet: str, osc: Osc) -> None:  # noqa: F811
    own_project = f"own-{uuid.uuid4().hex[:8]}"
    with cluster.client(own_project) as api:
        r = api.post("/v2/lbaas/loadbalancers", json=graph_body(subnet, "10.80.0.31", ("10.80.0.21", "10.80.0.22")))
        assert r.status_code == 201, r.text
        own = r.json()["loadbalancer"]
    r = httpx.post(f"{octavia.url}/v2/lbaas/loadbalancers", timeout=60,
                   json={"loadbalancer": {**graph_body(subnet, "10.80.0.32", ("10.80.0.23", "10.80.0.24"))["loadbalancer"],
                                          "provider": "bigip"}})
    assert r.status_code == 201, r.text
    via_octavia = r.json()["loadbalancer"]
    settle(octavia, via_octavia["id"])
    wait_for(lambda: cluster.lb_statuses().get(own["id"]) == "ACTIVE", SETTLE,
             "ACTIVE through the own API")
    own_ids, oct_ids = ids_of(own), ids_of(via_octavia)
    assert len(own_ids) == len(oct_ids) == 8
    for device in (0, 1):
        a = device_state(cluster, device, f"Project_{own_project}",
                         {**{i: f"ID{n}" for n, i in enumerate(own_ids)},
                          own_project: "PROJECT", "10.80.0.31": "VIP", "10.80.0.21": "M1",
                          "10.80.0.22": "M2"})
        b = device_state(cluster, device, f"Project_{octavia.project_id}",
                         {**{i: f"ID{n}" for n, i in enumerate(oct_ids)},
                          octavia.project_id: "PROJECT", "10.80.0.32": "VIP", "10.80.0.23": "M1",
                          "10.80.0.24": "M2"})
        assert a["ltm/virtual"] and a["ltm/pool"] and a["ltm/policy"]
        assert a == b
    with cluster.client(own_project) as api:
        assert api.delete(f"/v2/lbaas/loadbalancers/{own['id']}?cascade=true").status_code == 204
    osc.run("loadbalancer", "delete", "--cascade", via_octavia["id"])
    wait_for(lambda: httpx.get(f"{octavia.url}/v2/lbaas/loadbalancers/{via_octavia['id']}",
                               timeout=30).status_code == 404, SETTLE, "deleted in Octavia")


def test_agent_killed_mid_way_still_ends_active_in_octavia(octavia: Octavia, cluster: Cluster,
                                                           subnet: str) -> None:  # noqa: F811
    r = httpx.post(f"{octavia.url}/v2/lbaas/loadbalancers", timeout=60,
                   json={"loadbalancer": {**graph_body(subnet, "10.80.0.33", ("10.80.0.25", "10.80.0.26"))["loadbalancer"],
                                          "provider": "bigip"}})
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    owner = wait_for(lambda: cluster.owners().get(octavia.project_id), 30, "an owner")
    cluster.agents[owner].kill9()
    try:
        final = settle(octavia, lb["id"])
        assert len(final) == 8
        survivor = wait_for(lambda: cluster.owners().get(octavia.project_id), 30, "an owner")
        assert survivor != owner
    finally:
        cluster.start_agent(owner)
    httpx.delete(f"{octavia.url}/v2/lbaas/loadbalancers/{lb['id']}?cascade=true", timeout=30)
    wait_for(lambda: httpx.get(f"{octavia.url}/v2/lbaas/loadbalancers/{lb['id']}",
                               timeout=30).status_code == 404, SETTLE, "deleted in Octavia")
