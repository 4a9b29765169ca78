"""Listeners, pools, members, health monitors, L7 policies and rules: CRUD, defaults, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.server import Api

V2 = "/v2/lbaas"


@pytest.fixture
def lb(api: Api, subnet: dict[str, Any]) -> dict[str, Any]:
    return api.lb(subnet["id"])


def test_listener_crud_and_defaults(api: Api, lb: dict[str, Any]) -> None:
    r = api.post(f"{V2}/listeners", {"listener": {"loadbalancer_id": lb["id"],
                                                  "protocol": "HTTP", "protocol_port": 80}})
    assert r.status_code == 201, r.text
    lst = r.json()["listener"]
    assert lst["connection_limit"] == -1 and lst["timeout_client_data"] == 50000
    assert lst["timeout_member_connect"] == 5000 and lst["timeout_tcp_inspect"] == 0
    assert lst["loadbalancers"] == [{"id": lb["id"]}] and lst["l7policies"] == []
    assert lst["client_authentication"] == "NONE" and lst["provisioning_status"] == \
        "PENDING_CREATE"
    lbs = api.get(f"{V2}/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert lbs["provisioning_status"] == "PENDING_UPDATE"
    assert lbs["listeners"] == [{"id": lst["id"]}]
    api.settle()
    dup = api.post(f"{V2}/listeners", {"listener": {"loadbalancer_id": lb["id"],
                                                    "protocol": "TCP", "protocol_port": 80}})
    assert dup.status_code == 409
    r = api.put(f"{V2}/listeners/{lst['id']}", {"listener": {"connection_limit": 100}})
    assert r.status_code == 200 and r.json()["listener"]["connection_limit"] == 100
    api.settle()
    assert api.get(f"{V2}/listeners/{lst['id']}").json()["listener"]["provisioning_status"] == \
        "ACTIVE"
    assert api.delete(f"{V2}/listeners/{lst['id']}").status_code == 204
    assert api.get(f"{V2}/listeners/{lst['id']}").json()["listener"]["provisioning_status"] == \
        "PENDING_DELETE"
    api.settle()
    assert api.get(f"{V2}/listeners/{lst['id']}").status_code == 404
    bad = api.post(f"{V2}/listeners", {"listener": {"loadbalancer_id": lb["id"],
                                                    "protocol": "HTTP"}})
    assert bad.status_code == 400
    assert bad.json()["faultstring"] == ("Invalid input for field/attribute protocol_port. "
                                         "Value: 'None'. Mandatory field missing.")


def test_pool_member_hm(api: Api, lb: dict[str, Any]) -> None:
    lst = api.child(f"{V2}/listeners", "listener",
                    {"loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80})
    r = api.post(f"{V2}/pools", {"pool": {"listener_id": lst["id"], "protocol": "UDP",
                                          "lb_algorithm": "ROUND_ROBIN"}})
    assert r.status_code == 400  # protocol mismatch
    pool = api.child(f"{V2}/pools", "pool", {"listener_id": lst["id"], "protocol": "HTTP",
                                             "lb_algorithm": "ROUND_ROBIN",
                                             "session_persistence": {"type": "HTTP_COOKIE"}})
    assert pool["listeners"] == [{"id": lst["id"]}] and pool["healthmonitor_id"] is None
    assert pool["session_persistence"] == {"type": "HTTP_COOKIE"}
    assert api.get(f"{V2}/listeners/{lst['id']}").json()["listener"]["default_pool_id"] == \
        pool["id"]
    members = f"{V2}/pools/{pool['id']}/members"
    mem = api.child(members, "member", {"address": "10.9.0.1", "protocol_port": 80})
    assert mem["weight"] == 1 and mem["backup"] is False
    assert mem["operating_status"] == "NO_MONITOR"
    dup = api.post(members, {"member": {"address": "10.9.0.1", "protocol_port": 80}})
    assert dup.status_code == 409
    hm = api.child(f"{V2}/healthmonitors", "healthmonitor",
                   {"pool_id": pool["id"], "type": "HTTP", "delay": 5, "timeout": 3,
                    "max_retries": 3})
    assert hm["http_method"] == "GET" and hm["url_path"] == "/" and hm["expected_codes"] == "200"
    assert hm["max_retries_down"] == 3 and hm["pools"] == [{"id": pool["id"]}]
    again = api.post(f"{V2}/healthmonitors", {"healthmonitor": {
        "pool_id": pool["id"], "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3}})
    assert again.status_code == 409
    assert again.json()["faultstring"] == "This pool already has a health monitor"
    tcp_bad = api.post(f"{V2}/healthmonitors", {"healthmonitor": {
        "pool_id": pool["id"], "type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3,
        "url_path": "/x"}})
    assert tcp_bad.status_code in (400, 409)
    shown = api.get(f"{V2}/pools/{pool['id']}").json()["pool"]
    assert shown["healthmonitor_id"] == hm["id"] and shown["members"] == [{"id": mem["id"]}]
    r = api.put(f"{members}/{mem['id']}", {"member": {"weight": 5}})
    assert r.status_code == 200 and r.json()["member"]["weight"] == 5
    api.settle()
    r = api.put(f"{V2}/healthmonitors/{hm['id']}", {"healthmonitor": {"delay": 10}})
    assert r.status_code == 200 and r.json()["healthmonitor"]["delay"] == 10
    api.settle()
    # member batch: keep one (update), add one, remove none with additive_only
    r = api.put(members, {"members": [{"address": "10.9.0.1", "protocol_port": 80, "weight": 7},
                                      {"address": "10.9.0.2", "protocol_port": 80}]})
    assert r.status_code == 202
    listed = api.get(members).json()["members"]
    assert {x["address"]: x["weight"] for x in listed} == {"10.9.0.1": 7, "10.9.0.2": 1}
    api.settle()
    r = api.put(members, {"members": [{"address": "10.9.0.3", "protocol_port": 80}]})
    assert r.status_code == 202
    states = {x["address"]: x["provisioning_status"] for x in api.get(members).json()["members"]}
    assert states == {"10.9.0.1": "PENDING_DELETE", "10.9.0.2": "PENDING_DELETE",
                      "10.9.0.3": "PENDING_CREATE"}
    api.settle()
    assert api.delete(f"{V2}/pools/{pool['id']}").status_code == 204
    api.settle()
    assert api.get(f"{V2}/healthmonitors/{hm['id']}").status_code == 404
    assert api.get(f"{V2}/listeners/{lst['id']}").json()["listener"]["default_pool_id"] is None


def test_l7policy_and_rules(api: Api, lb: dict[str, Any]) -> None:
    lst = api.child(f"{V2}/listeners", "listener",
                    {"loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80})
    pool = api.child(f"{V2}/pools", "pool", {"loadbalancer_id": lb["id"], "protocol": "HTTP",
                                             "lb_algorithm": "ROUND_ROBIN"})
    pol = api.child(f"{V2}/l7policies", "l7policy",
                    {"listener_id": lst["id"], "action": "REDIRECT_TO_POOL",
                     "redirect_pool_id": pool["id"]})
    assert pol["position"] == 1 and pol["rules"] == []
    rules = f"{V2}/l7policies/{pol['id']}/rules"
    rule = api.child(rules, "rule", {"type": "HOST_NAME", "compare_type": "EQUAL_TO",
                                     "value": "example.com"})
    assert rule["invert"] is False and rule["admin_state_up"] is True
    assert api.get(rules).json()["rules"][0]["id"] == rule["id"]
    assert api.get(f"{V2}/l7policies/{pol['id']}").json()["l7policy"]["rules"] == \
        [{"id": rule["id"]}]
    r = api.delete(f"{V2}/pools/{pool['id']}")
    assert r.status_code == 409  # in use by the policy
    r = api.put(f"{rules}/{rule['id']}", {"rule": {"value": "other.example"}})
    assert r.status_code == 200 and r.json()["rule"]["value"] == "other.example"
    api.settle()
    bad = api.post(rules, {"rule": {"type": "HEADER", "compare_type": "EQUAL_TO", "value": "x"}})
    assert bad.status_code == 400
    url = api.child(f"{V2}/l7policies", "l7policy",
                    {"listener_id": lst["id"], "action": "REDIRECT_TO_URL",
                     "redirect_url": "http://x.example/"})
    assert url["redirect_http_code"] == 302 and url["position"] == 2
    assert api.delete(f"{V2}/l7policies/{pol['id']}").status_code == 204
    assert api.get(f"{rules}/{rule['id']}").json()["rule"]["provisioning_status"] == \
        "PENDING_DELETE"
    api.settle()
    assert api.get(f"{V2}/l7policies/{pol['id']}").status_code == 404


def test_child_of_pending_child_conflicts(api: Api, lb: dict[str, Any]) -> None:
    r = api.post(f"{V2}/pools", {"pool": {"loadbalancer_id": lb["id"], "protocol": "TCP",
                                          "lb_algorithm": "SOURCE_IP"}})
    pool = r.json()["pool"]
    r = api.post(f"{V2}/pools/{pool['id']}/members",
                 {"member": {"address": "10.3.0.1", "protocol_port": 1}})
    assert r.status_code == 409
    assert r.json()["faultstring"] == \
        f"Load Balancer {lb['id']} is immutable and cannot be updated."
    api.settle(error="device rejected the pool")
    assert api.get(f"{V2}/pools/{pool['id']}").json()["pool"]["provisioning_status"] == "ERROR"
    # an ERROR child may not be updated (update needs MUTABLE: ACTIVE), nor take a new child
    r = api.put(f"{V2}/pools/{pool['id']}", {"pool": {"name": "renamed"}})
    assert r.status_code == 409, r.text
    assert r.json()["faultstring"] == f"Pool {pool['id']} is immutable and cannot be updated."
    r = api.post(f"{V2}/pools/{pool['id']}/members",
                 {"member": {"address": "10.3.0.1", "protocol_port": 1}})
    assert r.status_code == 409, r.text
    assert api.get(f"{V2}/loadbalancers/{lb['id']}").json()["loadbalancer"][
        "provisioning_status"] == "ACTIVE"
    # an ERROR child may be deleted (delete needs DELETABLE: ACTIVE or ERROR); the LB is ACTIVE
    assert api.delete(f"{V2}/pools/{pool['id']}").status_code == 204
