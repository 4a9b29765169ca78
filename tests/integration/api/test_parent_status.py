"""A change below a listener shows on it and on the pool above it, as Octavia does."""

from __future__ import annotations

from typing import Any

from tests.integration.api.server import Api


def status(api: Api, path: str, key: str) -> str:
    return str(api.get(path).json()[key]["provisioning_status"])


def test_member_change_marks_pool_and_listeners_pending(api: Api, subnet: dict[str, Any]) -> None:
    lb = api.lb(str(subnet["id"]))
    listener = api.child("/v2/lbaas/listeners", "listener", {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 8081})
    pool = api.child("/v2/lbaas/pools", "pool", {
        "listener_id": listener["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
    other = api.child("/v2/lbaas/listeners", "listener", {
        "loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 8082})
    r = api.post(f"/v2/lbaas/pools/{pool['id']}/members",
                 {"member": {"address": "10.9.9.9", "protocol_port": 80}})
    assert r.status_code == 201, r.text
    assert status(api, f"/v2/lbaas/pools/{pool['id']}", "pool") == "PENDING_UPDATE"
    assert status(api, f"/v2/lbaas/listeners/{listener['id']}", "listener") == "PENDING_UPDATE"
    assert status(api, f"/v2/lbaas/listeners/{other['id']}", "listener") == "ACTIVE"
    assert status(api, f"/v2/lbaas/loadbalancers/{lb['id']}", "loadbalancer") == "PENDING_UPDATE"
    api.settle()
    assert status(api, f"/v2/lbaas/listeners/{listener['id']}", "listener") == "ACTIVE"
