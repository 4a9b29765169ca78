"""Every value core/capabilities.py refuses is refused at the API call, with Octavia's 501
ProviderUnsupportedOption naming the value and the table's reason: as a single create and inside
a fully populated load balancer create; nothing is written. What the table renders is accepted.

Validation does not depend on the database, so this module runs on SQLite only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bigip_lbaas.core import capabilities
from tests.integration.api.server import Api, api_server

V2 = "/v2/lbaas"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_server("sqlite", tmp_path_factory.mktemp("db")) as api:
        yield api


@pytest.fixture(scope="module")
def lb(api: Api) -> dict[str, Any]:
    return api.lb(api.network("10.62.0.0/24")["id"])


def refused(r: Any, what: str, value: str) -> None:
    assert r.status_code == 501, r.text
    body = r.json()
    assert body["faultcode"] == "Server"
    reason = capabilities.refusal(what, value)
    assert reason is not None
    assert body["faultstring"].startswith("Provider '"), body
    assert body["faultstring"].endswith(f"does not support a requested option: {reason}"), body


@pytest.mark.parametrize("protocol", sorted(capabilities.REFUSED_LISTENER_PROTOCOLS))
def test_refused_listener_protocols(api: Api, lb: dict[str, Any], protocol: str) -> None:
    r = api.post(f"{V2}/listeners", {"listener": {"loadbalancer_id": lb["id"],
                                                  "protocol": protocol, "protocol_port": 9100}})
    refused(r, "listener protocol", protocol)
    listed = api.get(f"{V2}/listeners").json()["listeners"]
    assert not [x for x in listed if x["protocol"] == protocol]
    assert api.get(f"{V2}/loadbalancers/{lb['id']}").json()["loadbalancer"][
        "provisioning_status"] == "ACTIVE"


@pytest.mark.parametrize("protocol", sorted(capabilities.REFUSED_POOL_PROTOCOLS))
def test_refused_pool_protocols(api: Api, lb: dict[str, Any], protocol: str) -> None:
    r = api.post(f"{V2}/pools", {"pool": {"loadbalancer_id": lb["id"], "protocol": protocol,
                                          "lb_algorithm": "ROUND_ROBIN"}})
    refused(r, "pool protocol", protocol)


@pytest.mark.parametrize("hm_type", sorted(capabilities.REFUSED_HEALTH_MONITOR_TYPES))
def test_refused_monitor_types(api: Api, lb: dict[str, Any], hm_type: str) -> None:
    pool = api.child(f"{V2}/pools", "pool", {"loadbalancer_id": lb["id"], "protocol": "HTTP",
                                             "lb_algorithm": "ROUND_ROBIN"})
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {
        "pool_id": pool["id"], "type": hm_type, "delay": 5, "timeout": 3, "max_retries": 3}})
    refused(r, "health monitor type", hm_type)


def test_a_fully_populated_create_is_refused_whole(api: Api) -> None:
    subnet = api.network("10.63.0.0/24")["id"]
    before = len(api.get(f"{V2}/loadbalancers").json()["loadbalancers"])
    r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet, "name": "graph",
        "listeners": [{"protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "p"}}],
        "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "healthmonitor": {"type": "TLS-HELLO", "delay": 5, "timeout": 3,
                                     "max_retries": 3}}]}})
    refused(r, "health monitor type", "TLS-HELLO")
    r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet, "name": "graph",
        "listeners": [{"protocol": "PROMETHEUS", "protocol_port": 9100}]}})
    refused(r, "listener protocol", "PROMETHEUS")
    assert len(api.get(f"{V2}/loadbalancers").json()["loadbalancers"]) == before


def test_what_the_table_renders_is_accepted(api: Api) -> None:
    """One fully populated create with UDP, SCTP, PROXY, SOURCE_IP_PORT, UDP-CONNECT and SCTP
    monitors and every listener timeout (the agents' side: tests/integration/agents/
    test_capabilities.py)."""
    subnet = api.network("10.64.0.0/24")["id"]
    timeouts = {"timeout_client_data": 1000, "timeout_member_connect": 1000,
                "timeout_member_data": 1000, "timeout_tcp_inspect": 50}
    r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet, "name": "graph-ok",
        "listeners": [
            {"protocol": "UDP", "protocol_port": 53, "default_pool": {"name": "u"}},
            {"protocol": "SCTP", "protocol_port": 3868, "default_pool": {"name": "s"}},
            {"protocol": "TCP", "protocol_port": 80, "default_pool": {"name": "x"},
             **timeouts}],
        "pools": [
            {"name": "u", "protocol": "UDP", "lb_algorithm": "SOURCE_IP_PORT",
             "healthmonitor": {"type": "UDP-CONNECT", "delay": 5, "timeout": 3,
                               "max_retries": 3}},
            {"name": "s", "protocol": "SCTP", "lb_algorithm": "ROUND_ROBIN",
             "healthmonitor": {"type": "SCTP", "delay": 5, "timeout": 3, "max_retries": 3}},
            {"name": "x", "protocol": "PROXY", "lb_algorithm": "SOURCE_IP_PORT"}]}})
    assert r.status_code == 201, r.text
    listeners = r.json()["loadbalancer"]["listeners"]
    tcp = next(x for x in listeners if x["protocol"] == "TCP")
    assert {k: tcp[k] for k in timeouts} == timeouts
