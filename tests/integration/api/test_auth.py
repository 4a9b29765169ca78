"""Header auth mode: projects see only their own objects (another's is a 403, as in Octavia),
admin sees all."""

from __future__ import annotations

from typing import Any

from tests.integration.api.server import Api

API_SETTINGS: dict[str, Any] = {"auth_strategy": "header"}
LBS = "/v2/lbaas/loadbalancers"


def test_project_isolation(api: Api) -> None:
    admin = api.as_project("ops", admin=True)
    net = admin.post("/v2/networks", {"network": {"name": "shared", "shared": True}})
    assert net.status_code == 201
    sub = admin.post("/v2/subnets", {"subnet": {"network_id": net.json()["network"]["id"],
                                                "cidr": "10.70.0.0/24"}}).json()["subnet"]
    alice, bob = api.as_project("alice"), api.as_project("bob")
    # As in Neutron, a member creates networks of its own project, but not shared ones.
    assert alice.post("/v2/networks", {"network": {"name": "x"}}).status_code == 201
    assert alice.post("/v2/networks", {"network": {"name": "y", "shared": True}}).status_code \
        == 403
    r = alice.post(LBS, {"loadbalancer": {"vip_subnet_id": sub["id"]}})
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    assert lb["project_id"] == "alice"
    api.settle()
    assert bob.get(f"{LBS}/{lb['id']}").status_code == 403
    assert bob.put(f"{LBS}/{lb['id']}", {"loadbalancer": {"name": "x"}}).status_code == 403
    assert bob.delete(f"{LBS}/{lb['id']}").status_code == 403
    assert bob.get(LBS).json()["loadbalancers"] == []
    assert [x["id"] for x in alice.get(LBS).json()["loadbalancers"]] == [lb["id"]]
    assert lb["id"] in [x["id"] for x in admin.get(LBS).json()["loadbalancers"]]
    r = bob.post("/v2/lbaas/listeners", {"listener": {"loadbalancer_id": lb["id"],
                                                      "protocol": "TCP", "protocol_port": 1}})
    assert r.status_code == 403
    r = bob.post(LBS, {"loadbalancer": {"vip_subnet_id": sub["id"], "project_id": "alice"}})
    assert r.status_code == 403
    assert bob.get("/v2/lbaas/agents").status_code == 403
    assert bob.put("/v2/lbaas/quotas/bob", {"quota": {"pool": 1}}).status_code == 403
    anonymous = api.get(LBS)
    assert anonymous.status_code in (401, 403)
    assert api.get("/").status_code == 200  # version discovery stays open


def test_overlong_project_header_is_a_400_naming_the_field(api: Api) -> None:
    r = api.as_project("p" * 37).get(LBS)
    assert r.status_code == 400
    assert "project_id" in r.json()["faultstring"]
    assert api.as_project("p" * 36).get(LBS).status_code == 200
