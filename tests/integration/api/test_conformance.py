"""Where Octavia's own API tests (octavia-tempest-plugin) found this API answering differently
from Octavia 19: each behaviour here is Octavia's, on the real API and a real database."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.server import Api

V2 = "/v2/lbaas"


@pytest.fixture
def lb(api: Api, subnet: dict[str, Any]) -> dict[str, Any]:
    return api.lb(subnet["id"])


def fault(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["faultstring"])


def pool_on(api: Api, lb: dict[str, Any], protocol: str) -> dict[str, Any]:
    return api.child(f"{V2}/pools", "pool", {"loadbalancer_id": lb["id"], "protocol": protocol,
                                            "lb_algorithm": "ROUND_ROBIN"})


# --- health monitors: Octavia's rules, no more, no fewer -----------------------------------------


def test_hm_timeout_may_exceed_delay(api: Api, lb: dict[str, Any]) -> None:
    pool = pool_on(api, lb, "HTTP")
    hm = api.child(f"{V2}/healthmonitors", "healthmonitor", {
        "pool_id": pool["id"], "type": "HTTP", "delay": 2, "timeout": 10, "max_retries": 3})
    assert (hm["delay"], hm["timeout"]) == (2, 10)
    r = api.put(f"{V2}/healthmonitors/{hm['id']}", {"healthmonitor": {"timeout": 30}})
    assert r.status_code == 200, r.text
    assert r.json()["healthmonitor"]["timeout"] == 30


def test_hm_octavia_field_rules(api: Api, lb: dict[str, Any]) -> None:
    pool = pool_on(api, lb, "TCP")
    base = {"pool_id": pool["id"], "delay": 5, "timeout": 3, "max_retries": 3}
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {**base, "type": "TCP",
                                                             "url_path": "/x"}})
    assert fault(r, 400) == "url_path is not a valid option for health monitors of type TCP"
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {**base, "type": "UDP-CONNECT"}})
    assert fault(r, 400) == ("Validation failure: The UDP-CONNECT type is only supported for "
                             "pools of type UDP/SCTP.")
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {**base, "type": "HTTP",
                                                             "domain_name": "a.example"}})
    assert fault(r, 400) == ("Validation failure: 'http_version' must be specified when "
                             "'domain_name' is provided.")
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {**base, "type": "HTTP",
                                                             "domain_name": "bad_name-"}})
    assert "domain_name" in fault(r, 400)
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {
        **base, "type": "HTTP", "http_version": 1.0, "domain_name": "a.example"}})
    assert fault(r, 400) == ("http_version 1.0 is not a valid option for health monitors "
                             "HTTP 1.1 domain name health check")
    # Octavia's expected_codes pattern allows spaces after the commas.
    hm = api.child(f"{V2}/healthmonitors", "healthmonitor", {**base, "type": "HTTP",
                                                             "expected_codes": "200, 202"})
    assert hm["expected_codes"] == "200, 202"
    r = api.put(f"{V2}/healthmonitors/{hm['id']}", {"healthmonitor": {"delay": None}})
    assert fault(r, 400) == "None is not a valid option for delay"
    r = api.put(f"{V2}/healthmonitors/{hm['id']}", {"healthmonitor": {
        "url_path": None, "max_retries_down": None, "admin_state_up": False}})
    assert r.status_code == 200, r.text
    got = r.json()["healthmonitor"]
    assert (got["url_path"], got["max_retries_down"], got["admin_state_up"]) == ("/", 3, False)


def test_hm_on_udp_pool(api: Api, lb: dict[str, Any]) -> None:
    pool = pool_on(api, lb, "UDP")
    base = {"pool_id": pool["id"], "delay": 5, "timeout": 3, "max_retries": 3}
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {**base, "type": "PING"}})
    assert fault(r, 400) == ("Validation failure: The associated pool protocol is UDP, so only "
                             "a UDP-CONNECT/SCTP/TCP/HTTP health monitor is supported.")
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {**base, "type": "UDP-CONNECT",
                                                             "delay": 1}})
    assert fault(r, 400) == ("Validation failure: The request delay value 1 should be larger "
                             "than 3 for UDP-CONNECT health monitor type.")
    hm = api.child(f"{V2}/healthmonitors", "healthmonitor", {**base, "type": "UDP-CONNECT"})
    r = api.put(f"{V2}/healthmonitors/{hm['id']}", {"healthmonitor": {"delay": 2}})
    assert r.status_code == 400, r.text


# --- listeners: allowed_cidrs against the VIP's IP version; one listener per port per L4 ---------


def test_allowed_cidrs_ip_version(api: Api, lb: dict[str, Any]) -> None:
    vip = lb["vip_address"]
    body = {"loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 81}
    r = api.post(f"{V2}/listeners", {"listener": {**body, "allowed_cidrs": ["2001:db8::/64"]}})
    assert fault(r, 400) == (f"Validation failure: CIDR 2001:db8::/64 IP version incompatible "
                             f"with all VIPs ['{vip}'] IP version.")
    r = api.post(f"{V2}/listeners", {"listener": {**body, "allowed_cidrs": ["not-a-cidr"]}})
    assert "Value should be IPv4 or IPv6 CIDR format" in fault(r, 400)
    lst = api.child(f"{V2}/listeners", "listener", {**body, "allowed_cidrs": ["192.0.2.7/24"]})
    assert lst["allowed_cidrs"] == ["192.0.2.0/24"]
    r = api.put(f"{V2}/listeners/{lst['id']}", {"listener": {"allowed_cidrs": ["::/0"]}})
    assert fault(r, 400).startswith("Validation failure: CIDR ::/0 IP version incompatible")
    assert api.get(f"{V2}/loadbalancers/{lb['id']}").json()["loadbalancer"][
        "provisioning_status"] == "ACTIVE"


def test_one_listener_per_port_per_l4_protocol(api: Api, lb: dict[str, Any]) -> None:
    def listener(protocol: str) -> Any:
        r = api.post(f"{V2}/listeners", {"listener": {
            "loadbalancer_id": lb["id"], "protocol": protocol, "protocol_port": 53}})
        if r.status_code == 201:
            api.settle()
        return r

    assert listener("TCP").status_code == 201
    assert listener("UDP").status_code == 201
    assert listener("SCTP").status_code == 201
    for protocol in ("HTTP", "TERMINATED_HTTPS", "HTTPS", "TCP"):
        r = listener(protocol)
        if protocol == "TERMINATED_HTTPS":
            assert r.status_code == 400, r.text  # no certificate: Octavia's 400 comes first
            continue
        assert fault(r, 409) == ("Another Listener on this Load Balancer is already using "
                                 "protocol TCP and protocol_port 53")
    assert fault(listener("UDP"), 409).endswith("protocol UDP and protocol_port 53")
    assert fault(listener("SCTP"), 409).endswith("protocol SCTP and protocol_port 53")


def test_listener_octavia_create_rules(api: Api, lb: dict[str, Any]) -> None:
    body = {"loadbalancer_id": lb["id"], "protocol_port": 8443}
    r = api.post(f"{V2}/listeners", {"listener": {**body, "protocol": "TERMINATED_HTTPS"}})
    assert fault(r, 400) == ("Validation failure: An SNI or default certificate container "
                             "reference must be provided for TERMINATED_HTTPS protocol listeners.")
    r = api.post(f"{V2}/listeners", {"listener": {**body, "protocol": "TCP",
                                                  "insert_headers": {"X-Forwarded-For": "true"}}})
    assert fault(r, 400) == "insert-headers is not a valid option for a TCP protocol listener."
    r = api.post(f"{V2}/listeners", {"listener": {**body, "protocol": "HTTP",
                                                  "insert_headers": {"X-Foo": "true"}}})
    assert fault(r, 400) == ("dict_keys(['X-Foo']) is not a valid option for insert_headers")
    r = api.post(f"{V2}/listeners", {"listener": {**body, "protocol": "HTTP", "insert_headers":
                                                  {"X-SSL-Client-DN": "true"}}})
    assert fault(r, 400) == ("['X-SSL-Client-DN'] is not a valid option for HTTP protocol "
                             "listener.")


# --- smaller wire differences -------------------------------------------------------------------


def test_flavors_and_profiles_listed_by_id(api: Api) -> None:
    profiles = [api.child(f"{V2}/flavorprofiles", "flavorprofile", {
        "name": name, "provider_name": "f5", "flavor_data": "{}"}) for name in ("b", "a", "c")]
    flavors = [api.child(f"{V2}/flavors", "flavor", {
        "name": f"order-{name}", "flavor_profile_id": profiles[0]["id"]}) for name in "bac"]
    got = [p["id"] for p in api.get(f"{V2}/flavorprofiles").json()["flavorprofiles"]]
    assert [i for i in got if i in {p["id"] for p in profiles}] == sorted(p["id"] for p in profiles)
    got = [f["id"] for f in api.get(f"{V2}/flavors").json()["flavors"]]
    assert [i for i in got if i in {f["id"] for f in flavors}] == sorted(f["id"] for f in flavors)
    r = api.get(f"{V2}/flavors/{flavors[0]['id']}", params={"fields": "name"})
    assert r.json() == {"flavor": {"name": "order-b"}}


def test_fields_on_providers_and_capabilities(api: Api) -> None:
    assert api.get(f"{V2}/providers", params={"fields": "name"}).json() == {
        "providers": [{"name": "f5"}]}
    caps = api.get(f"{V2}/providers/f5/flavor_capabilities", params={"fields": "name"}).json()
    assert caps == {"flavor_capabilities": [{"name": "environment"}]}
    caps = api.get(f"{V2}/providers/f5/flavor_capabilities", params={"name": "other"}).json()
    assert caps == {"flavor_capabilities": []}
    # No availability zone metadata is taken here: Octavia's answer for such a provider.
    r = api.get(f"{V2}/providers/f5/availability_zone_capabilities")
    assert fault(r, 501).startswith("Provider 'f5' does not support a requested action: ")


def test_vip_port_id_always_set(api: Api, subnet: dict[str, Any]) -> None:
    lb = api.lb(subnet["id"])
    port = lb["vip_port_id"]
    assert port and len(port) == 36
    assert api.get(f"{V2}/loadbalancers/{lb['id']}").json()["loadbalancer"]["vip_port_id"] == port
    # A given port must exist (Octavia's InvalidSubresource); the VIP then takes its address.
    given = "6f0c3a43-57c9-4d43-9b38-3c1bd2f7d5a1"
    r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_port_id": given}})
    assert fault(r, 400) == f"Port {given} not found."
    made = api.post("/v2.0/ports", {"port": {"network_id": subnet["network_id"]}})
    assert made.status_code == 201, made.text
    other = api.lb(subnet["id"], vip_port_id=made.json()["port"]["id"])
    assert other["vip_port_id"] == made.json()["port"]["id"]
    assert other["vip_address"] == made.json()["port"]["fixed_ips"][0]["ip_address"]


def test_status_tree_has_pools_only_under_listeners(api: Api, lb: dict[str, Any]) -> None:
    lst = api.child(f"{V2}/listeners", "listener", {"loadbalancer_id": lb["id"],
                                                    "protocol": "HTTP", "protocol_port": 80})
    used = api.child(f"{V2}/pools", "pool", {"listener_id": lst["id"], "protocol": "HTTP",
                                             "lb_algorithm": "ROUND_ROBIN"})
    pool_on(api, lb, "HTTP")  # on no listener: not in the tree
    tree = api.get(f"{V2}/loadbalancers/{lb['id']}/status").json()["statuses"]["loadbalancer"]
    assert set(tree) == {"id", "name", "provisioning_status", "operating_status", "listeners"}
    assert [p["id"] for p in tree["listeners"][0]["pools"]] == [used["id"]]


def test_l7policy_positions_insert_move_and_close(api: Api, lb: dict[str, Any]) -> None:
    lst = api.child(f"{V2}/listeners", "listener", {"loadbalancer_id": lb["id"],
                                                    "protocol": "HTTP", "protocol_port": 80})

    def policy(**body: Any) -> str:
        return str(api.child(f"{V2}/l7policies", "l7policy", {
            "listener_id": lst["id"], "action": "REJECT", **body})["id"])

    def order() -> list[str]:
        got = api.get(f"{V2}/l7policies", params={"listener_id": lst["id"]}).json()
        ps = sorted(got["l7policies"], key=lambda p: p["position"])
        assert [p["position"] for p in ps] == list(range(1, len(ps) + 1))
        return [p["id"] for p in ps]

    a = policy(position=1)
    b = policy(position=1)
    assert order() == [b, a]
    c = policy(position=99)
    assert order() == [b, a, c]
    d = policy()
    assert order() == [b, a, c, d]
    r = api.put(f"{V2}/l7policies/{d}", {"l7policy": {"position": 2}})
    assert r.status_code == 200 and r.json()["l7policy"]["position"] == 2
    api.settle()
    assert order() == [b, d, a, c]
    assert api.delete(f"{V2}/l7policies/{b}").status_code == 204
    api.settle()
    assert order() == [d, a, c]


# --- pools: Octavia's rules -----------------------------------------------------------------------


def test_pool_octavia_rules(api: Api, lb: dict[str, Any]) -> None:
    body = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}
    r = api.post(f"{V2}/pools", {"pool": body})
    assert fault(r, 400) == ("Validation failure: Must provide at least one of: loadbalancer_id, "
                             "listener_id")
    lst = api.child(f"{V2}/listeners", "listener", {"loadbalancer_id": lb["id"],
                                                    "protocol": "HTTP", "protocol_port": 80})
    both = api.child(f"{V2}/pools", "pool", {**body, "loadbalancer_id": lb["id"],
                                             "listener_id": lst["id"]})
    assert both["listeners"] == [{"id": lst["id"]}]
    # Octavia refuses persistence_timeout on a TCP-based pool only when it is set (not 0).
    pool = api.child(f"{V2}/pools", "pool", {**body, "loadbalancer_id": lb["id"],
                                             "session_persistence": {
                                                 "type": "SOURCE_IP", "persistence_timeout": 0}})
    r = api.put(f"{V2}/pools/{pool['id']}", {"pool": {"session_persistence": {
        "type": "SOURCE_IP", "persistence_timeout": 5}}})
    assert fault(r, 400) == ("Validation failure: persistence_timeout and "
                             "persistence_granularity is only for UDP protocol pools.")
    udp = {"protocol": "UDP", "lb_algorithm": "ROUND_ROBIN", "loadbalancer_id": lb["id"]}
    r = api.post(f"{V2}/pools", {"pool": {**udp, "session_persistence": {
        "type": "HTTP_COOKIE"}}})
    assert fault(r, 400) == ("Validation failure: Session persistence of type HTTP_COOKIE is not "
                             "supported for UDP/SCTP protocol pools.")
    r = api.post(f"{V2}/pools", {"pool": {**udp, "session_persistence": {
        "type": "SOURCE_IP", "cookie_name": "c"}}})
    assert fault(r, 400) == ("Validation failure: session_persistence SOURCE_IP type for UDP "
                             "and SCTP protocols only accepts: type, persistence_timeout, "
                             "persistence_granularity.")
    got = api.child(f"{V2}/pools", "pool", {**udp, "session_persistence": {
        "type": "SOURCE_IP", "persistence_timeout": 60}})
    assert got["session_persistence"]["persistence_timeout"] == 60


def test_l7policy_octavia_rules(api: Api, lb: dict[str, Any]) -> None:
    lst = api.child(f"{V2}/listeners", "listener", {"loadbalancer_id": lb["id"],
                                                    "protocol": "HTTP", "protocol_port": 80})
    base = {"listener_id": lst["id"]}
    r = api.post(f"{V2}/l7policies", {"l7policy": {**base, "action": "REDIRECT_TO_URL"}})
    assert fault(r, 400) == "Invalid L7 Policy arguments: redirect_url must not be None"
    r = api.post(f"{V2}/l7policies", {"l7policy": {**base, "action": "REDIRECT_TO_URL",
                                                   "redirect_url": "not a url"}})
    assert "Value must be a valid URL string" in fault(r, 400)
    r = api.post(f"{V2}/l7policies", {"l7policy": {**base, "action": "REDIRECT_TO_POOL"}})
    assert fault(r, 400) == ("Invalid L7 Policy arguments: redirect_pool_id or redirect_pool "
                             "must not be None")
    missing = "8c1f7a43-57c9-4d43-9b38-3c1bd2f7d5a1"
    r = api.post(f"{V2}/l7policies", {"l7policy": {**base, "action": "REDIRECT_TO_POOL",
                                                   "redirect_pool_id": missing}})
    assert fault(r, 404) == f"Pool {missing} not found."
    # A PROMETHEUS listener, which Octavia's ListenerNoChildren rule is about, is refused at
    # its own create (core/capabilities.py; test_capabilities_api.py).


def test_l7policy_new_action_drops_the_old_actions_arguments(api: Api, lb: dict[str, Any]) -> None:
    """Octavia's sanitize_l7policy_api_args on update (octavia-tempest-plugin's
    test_l7policy_update: REDIRECT_TO_URL changed to REDIRECT_TO_POOL shows no redirect_url)."""
    lst = api.child(f"{V2}/listeners", "listener", {"loadbalancer_id": lb["id"],
                                                    "protocol": "HTTP", "protocol_port": 81})
    pool = api.child(f"{V2}/pools", "pool", {"loadbalancer_id": lb["id"], "protocol": "HTTP",
                                             "lb_algorithm": "ROUND_ROBIN"})
    pol = api.child(f"{V2}/l7policies", "l7policy", {
        "listener_id": lst["id"], "action": "REDIRECT_TO_URL",
        "redirect_url": "http://localhost", "redirect_http_code": 301})
    r = api.put(f"{V2}/l7policies/{pol['id']}", {"l7policy": {
        "action": "REDIRECT_TO_POOL", "redirect_pool_id": pool["id"]}})
    assert r.status_code == 200, r.text
    got = r.json()["l7policy"]
    assert (got["redirect_url"], got["redirect_http_code"]) == (None, None)
    assert got["redirect_pool_id"] == pool["id"]
    api.settle()
    r = api.put(f"{V2}/l7policies/{pol['id']}", {"l7policy": {"action": "REJECT"}})
    assert r.status_code == 200, r.text
    assert r.json()["l7policy"]["redirect_pool_id"] is None
