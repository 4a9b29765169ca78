"""The two front doors give the same devices, and an agent killed mid-way holds nothing back:
the same fully populated graph through the own API and through Octavia (`--provider bigip`)
leaves the same BIG-IP objects (ids, partitions and addresses aside) on both devices; kill -9 of
the agent that owns a new load balancer's partition still ends with every object ACTIVE in
Octavia."""

from __future__ import annotations

import difflib
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
VOLATILE = {"selfLink", "generation", "lastModifiedTime", "creationTime", "lastModified",
            "vsIndex"}  # set by the device


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


def ids_of(body: dict[str, Any]) -> dict[str, str]:
    """A fully populated create's answer: each object's id -> its role in the graph."""
    listener, pool = body["listeners"][0], body["pools"][0]
    policy = listener["l7policies"][0]
    roles = {body["id"]: "LB", listener["id"]: "LISTENER", pool["id"]: "POOL",
             pool["healthmonitor"]["id"]: "MONITOR", policy["id"]: "POLICY",
             policy["rules"][0]["id"]: "RULE"}
    for n, member in enumerate(sorted(pool["members"], key=lambda x: x["address"])):
        roles[member["id"]] = f"MEMBER{n}"
    if body.get("vip_port_id"):
        roles[body["vip_port_id"]] = "VIPPORT"
    return roles


def _stable(value: Any) -> Any:
    """`value` without what the device sets on its own (at every depth)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def device_state(cluster: Cluster, device: int, partition: str,
                 replace: dict[str, str]) -> dict[str, list[str]]:
    """Every object of the partition on the device (subcollections expanded: pool members,
    policy rules), with ids, the partition and addresses replaced by their roles, and the
    digest in an LTM policy's name (of content that names ids) by a constant."""
    out: dict[str, list[str]] = {}
    for collection in COLLECTIONS:
        with cluster.device(device) as dev:
            r = dev.get(f"/mgmt/tm/{collection}", params={
                "$filter": f"partition eq {partition}", "expandSubcollections": "true"})
            r.raise_for_status()
            items = r.json().get("items", [])
        texts = []
        for item in items:
            text = json.dumps(_stable(item), sort_keys=True)
            for old, new in sorted(replace.items(), key=lambda kv: -len(kv[0])):
                text = text.replace(old, new)
            texts.append(re.sub(r"_LISTENER_[0-9a-f]{8}", "_LISTENER_DIGEST", text))
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
    assert sorted(own_ids.values()) == sorted(oct_ids.values())
    for device in (0, 1):
        a = device_state(cluster, device, f"Project_{own_project}",
                         {**own_ids,
                          own_project: "PROJECT", "10.80.0.31": "VIP", "10.80.0.21": "M1",
                          "10.80.0.22": "M2"})
        b = device_state(cluster, device, f"Project_{octavia.project_id}",
                         {**oct_ids,
                          octavia.project_id: "PROJECT", "10.80.0.32": "VIP", "10.80.0.23": "M1",
                          "10.80.0.24": "M2"})
        assert a["ltm/virtual"] and a["ltm/pool"] and a["ltm/policy"]
        for collection in COLLECTIONS:
            assert a[collection] == b[collection], "\n".join(difflib.unified_diff(
                [x for t in a[collection] for x in t.split(", ")],
                [x for t in b[collection] for x in t.split(", ")], lineterm="", n=0))
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
