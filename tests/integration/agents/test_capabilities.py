"""Octavia options a BIG-IP can do reach ACTIVE through the real API, a real agent and the
simulator; those it cannot are refused at the call with Octavia's unsupported-option answer and
the capability table's reason; and the operating statuses that do not depend on the device are
Octavia's the moment an object turns ACTIVE (the status collection is kept from running, so
what is read is what the outcome wrote). On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigip_lbaas.core import capabilities
from tests.cluster import Cluster, wait_for
from tests.integration.agents.test_redundancy import ensure_subnet, wait_active

V2 = "/v2/lbaas"
PROJECT = "capable"
TIMEOUTS = {"timeout_client_data": 1000, "timeout_member_connect": 1000,
            "timeout_member_data": 1000, "timeout_tcp_inspect": 50}


@pytest.fixture
def cluster(db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    # One status pass at start, then none for the test's length.
    c = Cluster(tmp_path, db_url, devices=1, extra_conf="status_interval = 3600\n")
    try:
        c.start(agents=("cap1",))
        yield c
    finally:
        c.close()


def plural(kind: str) -> str:
    return "l7policies" if kind == "l7policy" else f"{kind}s"


def show(api: httpx.Client, kind: str, obj_id: str) -> dict[str, Any]:
    r = api.get(f"{V2}/{plural(kind)}/{obj_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()[kind]
    return body


def active(api: httpx.Client, kind: str, obj_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = show(api, kind, obj_id)
        return body if body["provisioning_status"] in ("ACTIVE", "ERROR") else None

    body = wait_for(done, 60, f"{kind} {obj_id} to leave PENDING", every=0.2)
    assert body["provisioning_status"] == "ACTIVE", body
    return body


def create(api: httpx.Client, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(f"{V2}/{plural(kind)}", json={kind: body})
    assert r.status_code == 201, r.text
    return active(api, kind, r.json()[kind]["id"])


def refused(r: httpx.Response, what: str, value: str) -> None:
    assert r.status_code == 501, r.text
    reason = capabilities.refusal(what, value)
    assert reason is not None
    assert r.json()["faultstring"].endswith(reason), r.text


def test_what_a_big_ip_does_reaches_active_and_the_rest_is_refused(cluster: Cluster) -> None:
    subnet = ensure_subnet(cluster)
    with cluster.client(PROJECT) as api:
        r = api.post(f"{V2}/loadbalancers", json={"loadbalancer": {
            "name": "cap", "vip_subnet_id": subnet, "project_id": PROJECT}})
        assert r.status_code == 201, r.text
        lb_id = r.json()["loadbalancer"]["id"]
        wait_active(cluster, PROJECT, lb_id)
        lb = {"loadbalancer_id": lb_id}

        # UDP: listener, SOURCE_IP_PORT pool with a timed, masked SOURCE_IP persistence, and a
        # UDP-CONNECT monitor (ONLINE the moment it is ACTIVE).
        udp = create(api, "listener", {**lb, "protocol": "UDP", "protocol_port": 53,
                                       **TIMEOUTS})
        assert udp["operating_status"] == "ONLINE"
        pool = create(api, "pool", {"listener_id": udp["id"], "protocol": "UDP",
                                    "lb_algorithm": "SOURCE_IP_PORT", "session_persistence": {
                                        "type": "SOURCE_IP", "persistence_timeout": 60,
                                        "persistence_granularity": "255.255.255.0"}})
        r = api.post(f"{V2}/pools/{pool['id']}/members",
                     json={"member": {"address": "10.88.0.1", "protocol_port": 53}})
        assert r.status_code == 201, r.text
        wait_active(cluster, PROJECT, lb_id)
        hm = create(api, "healthmonitor", {"pool_id": pool["id"], "type": "UDP-CONNECT",
                                           "delay": 5, "timeout": 3, "max_retries": 2})
        assert hm["operating_status"] == "ONLINE"

        # SCTP: listener, pool, SCTP monitor.
        sctp = create(api, "listener", {**lb, "protocol": "SCTP", "protocol_port": 3868})
        sctp_pool = create(api, "pool", {"listener_id": sctp["id"], "protocol": "SCTP",
                                         "lb_algorithm": "ROUND_ROBIN"})
        create(api, "healthmonitor", {"pool_id": sctp_pool["id"], "type": "SCTP", "delay": 5,
                                      "timeout": 3, "max_retries": 2})

        # TCP with every timeout and a PROXY pool; HTTP with an L7 policy to another PROXY pool.
        tcp = create(api, "listener", {**lb, "protocol": "TCP", "protocol_port": 80,
                                       **TIMEOUTS})
        assert {k: tcp[k] for k in TIMEOUTS} == TIMEOUTS
        create(api, "pool", {"listener_id": tcp["id"], "protocol": "PROXY",
                             "lb_algorithm": "SOURCE_IP_PORT"})
        http = create(api, "listener", {**lb, "protocol": "HTTP", "protocol_port": 8080})
        proxy = create(api, "pool", {**lb, "protocol": "PROXY", "lb_algorithm": "ROUND_ROBIN"})
        assert proxy["operating_status"] == "OFFLINE"  # no listener uses it (yet)
        policy = create(api, "l7policy", {"listener_id": http["id"],
                                          "action": "REDIRECT_TO_POOL",
                                          "redirect_pool_id": proxy["id"]})
        r = api.post(f"{V2}/l7policies/{policy['id']}/rules", json={"rule": {
            "type": "PATH", "compare_type": "STARTS_WITH", "value": "/p"}})
        assert r.status_code == 201, r.text
        rule_id = r.json()["rule"]["id"]

        def rule_active() -> dict[str, Any] | None:
            got = api.get(f"{V2}/l7policies/{policy['id']}/rules/{rule_id}").json()["rule"]
            return got if got["provisioning_status"] == "ACTIVE" else None

        rule = wait_for(rule_active, 60, "the L7 rule to turn ACTIVE", every=0.2)
        assert rule["operating_status"] == "ONLINE"
        assert show(api, "l7policy", policy["id"])["operating_status"] == "ONLINE"
        disabled = create(api, "l7policy", {"listener_id": http["id"], "action": "REJECT",
                                            "admin_state_up": False})
        assert disabled["operating_status"] == "OFFLINE"

        # What a BIG-IP cannot do: refused at the call, nothing written.
        refused(api.post(f"{V2}/listeners", json={"listener": {
            **lb, "protocol": "PROMETHEUS", "protocol_port": 9100}}),
            "listener protocol", "PROMETHEUS")
        refused(api.post(f"{V2}/pools", json={"pool": {
            **lb, "protocol": "PROXYV2", "lb_algorithm": "ROUND_ROBIN"}}),
            "pool protocol", "PROXYV2")
        spare = create(api, "pool", {**lb, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
        refused(api.post(f"{V2}/healthmonitors", json={"healthmonitor": {
            "pool_id": spare["id"], "type": "TLS-HELLO", "delay": 5, "timeout": 3,
            "max_retries": 2}}), "health monitor type", "TLS-HELLO")
        assert show(api, "loadbalancer", lb_id)["provisioning_status"] == "ACTIVE"

    part = f"Project_{PROJECT}"
    virtuals = {v["name"]: v for v in cluster.device_objects(0, "ltm/virtual", part)}
    protocols = sorted(v["ipProtocol"] for v in virtuals.values())
    assert protocols == ["sctp", "tcp", "tcp", "udp"]
    rules = [r["name"] for r in cluster.device_objects(0, "ltm/rule", part)]
    assert sum(1 for n in rules if n.endswith("_proxy_protocol")) == 2


def test_a_disabled_load_balancer_is_offline_at_active(cluster: Cluster) -> None:
    subnet = ensure_subnet(cluster)
    with cluster.client(PROJECT) as api:
        r = api.post(f"{V2}/loadbalancers", json={"loadbalancer": {
            "name": "off", "vip_subnet_id": subnet, "project_id": PROJECT,
            "admin_state_up": False,
            "listeners": [{"name": "l", "protocol": "HTTP", "protocol_port": 80}]}})
        assert r.status_code == 201, r.text
        lb_id = r.json()["loadbalancer"]["id"]
        wait_active(cluster, PROJECT, lb_id)
        assert show(api, "loadbalancer", lb_id)["operating_status"] == "OFFLINE"
        listener = r.json()["loadbalancer"]["listeners"][0]["id"]
        assert show(api, "listener", listener)["operating_status"] == "OFFLINE"
        r = api.put(f"{V2}/loadbalancers/{lb_id}", json={"loadbalancer": {
            "admin_state_up": True}})
        assert r.status_code == 200, r.text
        wait_active(cluster, PROJECT, lb_id)
        assert show(api, "loadbalancer", lb_id)["operating_status"] == "ONLINE"


def test_a_disabled_member_is_offline_at_active(cluster: Cluster) -> None:
    """A member created admin-down (or one of a disabled pool) reads OFFLINE when it turns
    ACTIVE, as the status collection will say, so the status does not change under a client
    between the ACTIVE and the next status pass (Octavia's member list test compares them);
    an enabled member's status stays the device's."""
    subnet = ensure_subnet(cluster)
    with cluster.client(PROJECT) as api:
        r = api.post(f"{V2}/loadbalancers", json={"loadbalancer": {
            "name": "members", "vip_subnet_id": subnet, "project_id": PROJECT}})
        assert r.status_code == 201, r.text
        lb_id = r.json()["loadbalancer"]["id"]
        wait_active(cluster, PROJECT, lb_id)
        pool = create(api, "pool", {"loadbalancer_id": lb_id, "protocol": "HTTP",
                                    "lb_algorithm": "ROUND_ROBIN"})

        def member(pool_id: str, port: int, enabled: bool) -> dict[str, Any]:
            r = api.post(f"{V2}/pools/{pool_id}/members", json={"member": {
                "address": "192.0.2.1", "protocol_port": port, "admin_state_up": enabled}})
            assert r.status_code == 201, r.text
            mid = r.json()["member"]["id"]

            def done() -> dict[str, Any] | None:
                got = api.get(f"{V2}/pools/{pool_id}/members/{mid}").json()["member"]
                return got if got["provisioning_status"] in ("ACTIVE", "ERROR") else None

            return wait_for(done, 60, "the member to leave PENDING", every=0.2)

        off = member(pool["id"], 101, False)
        assert (off["provisioning_status"], off["operating_status"]) == ("ACTIVE", "OFFLINE")
        on = member(pool["id"], 102, True)
        assert (on["provisioning_status"], on["operating_status"]) == ("ACTIVE", "NO_MONITOR")
        down = create(api, "pool", {"loadbalancer_id": lb_id, "protocol": "HTTP",
                                    "lb_algorithm": "ROUND_ROBIN", "admin_state_up": False})
        in_down = member(down["id"], 103, True)
        assert in_down["operating_status"] == "OFFLINE"
