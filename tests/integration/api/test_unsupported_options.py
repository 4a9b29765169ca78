"""Values the engine could not express are refused up front, never dropped: Octavia's 400 where
Octavia has one ("Validation failure: ..."), else Octavia's 501 for a provider's unsupported option.
Each on create, on update and inside a fully populated load balancer create; and the defaults the
`openstack` CLI and openstacksdk send (null, false, [], "NONE") still pass.

Validation does not depend on the database, so this module runs on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.api.server import Api, api_server

V2 = "/v2/lbaas"
UNSUPPORTED = "Provider 'f5' does not support a requested option: "
REF = "https://key-manager.example/v1/containers/0b7c2d7e-5d7a-4a43-9d39-3c1bd2f7d5a1"
HTTP_POOL = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_server("sqlite", tmp_path_factory.mktemp("db")) as api:
        yield api


@pytest.fixture(scope="module")
def tree(api: Api) -> dict[str, Any]:
    """An ACTIVE load balancer with an HTTP listener, its pool, a member and an HTTP monitor."""
    subnet = api.network("10.60.0.0/24")
    lb = api.lb(subnet["id"])
    lst = api.child(f"{V2}/listeners", "listener",
                    {"loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80})
    pool = api.child(f"{V2}/pools", "pool", {"listener_id": lst["id"], **HTTP_POOL})
    member = api.child(f"{V2}/pools/{pool['id']}/members", "member",
                       {"address": "10.60.0.10", "protocol_port": 80})
    hm = api.child(f"{V2}/healthmonitors", "healthmonitor",
                   {"pool_id": pool["id"], "type": "HTTP", "delay": 5, "timeout": 3,
                    "max_retries": 3})
    return {"subnet": subnet, "lb": lb, "listener": lst, "pool": pool, "member": member,
            "hm": hm}


def refused(r: Any, status: int, field: str, text: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    fault = body["faultstring"]
    assert field in fault, fault
    assert body["faultcode"] == ("Server" if status == 501 else "Client")
    if status == 501:
        assert fault.startswith(UNSUPPORTED), fault
    elif text is not None:
        assert fault.startswith("Validation failure: " + text) or fault.startswith(text), fault


def unchanged(api: Api, tree: dict[str, Any]) -> None:
    """A refused request wrote nothing: the load balancer is not even locked."""
    lb = api.get(f"{V2}/loadbalancers/{tree['lb']['id']}").json()["loadbalancer"]
    assert lb["provisioning_status"] == "ACTIVE"


# (attributes, status, field named, Octavia's text the message starts with)
POOL_BAD: list[tuple[dict[str, Any], int, str, str | None]] = [
    # Re-encryption is deployed (api/tls.py, tests/integration/api/test_tls_fields.py): an
    # unknown reference is Octavia's 400, h2 this provider's 501.
    ({"tls_container_ref": REF}, 400, REF, "Could not retrieve certificate: "),
    ({"ca_tls_container_ref": REF}, 400, REF, "Could not retrieve certificate: "),
    ({"ca_tls_container_ref": REF, "crl_container_ref": REF}, 400, REF,
     "Could not retrieve certificate: "),
    ({"tls_enabled": True, "alpn_protocols": ["h2"]}, 501, "alpn_protocols", None),
    ({"session_persistence": {"type": "HTTP_COOKIE", "cookie_name": "c"}}, 400, "cookie_name",
     'Field "cookie_name" can only be specified with session persistence of type '
     '"APP_COOKIE".'),
    ({"session_persistence": {"type": "SOURCE_IP", "cookie_name": "c"}}, 400, "cookie_name",
     'Field "cookie_name" can only be specified'),
    # Octavia's create text ends "UDP and SCTP protocol pools.", its update text "UDP protocol
    # pools."; a persistence_timeout of 0 it accepts (test_conformance.py).
    ({"session_persistence": {"type": "SOURCE_IP", "persistence_timeout": 60}}, 400,
     "persistence_timeout", "persistence_timeout and persistence_granularity is only for UDP"),
    ({"session_persistence": {"type": "SOURCE_IP", "persistence_granularity": "255.255.0.0"}},
     400, "persistence_granularity", "persistence_timeout and persistence_granularity"),
    ({"session_persistence": {"type": "APP_COOKIE"}}, 400, "cookie_name",
     'Field "cookie_name" must be specified when using the "APP_COOKIE" session persistence'),
    ({"session_persistence": {"type": "APP_COOKIE", "cookie_name": "a b"}}, 400, "cookie_name",
     'Supplied "cookie_name" is invalid.'),
]
POOL_BAD_CREATE_ONLY: list[tuple[dict[str, Any], int, str, str | None]] = [
    ({"crl_container_ref": REF}, 400, "crl_container_ref",
     "A CA certificate reference is required to specify a revocation list."),
]
POOL_BAD_UPDATE_ONLY: list[tuple[dict[str, Any], int, str, str | None]] = [
    ({"crl_container_ref": REF}, 400, "crl_container_ref",
     "A CA reference is required to specify a certificate revocation list."),
]

LISTENER_BAD_CREATE: list[tuple[dict[str, Any], int, str, str | None]] = [
    ({"default_tls_container_ref": REF}, 400, "default_tls_container_ref",
     "Certificate container references are not allowed on HTTP protocol listeners."),
    ({"sni_container_refs": [REF]}, 400, "sni_container_refs",
     "Certificate container references are not allowed on HTTP protocol listeners."),
    ({"client_ca_tls_container_ref": REF}, 400, "client_ca_tls_container_ref",
     "Certificate container references are not allowed on HTTP protocol listeners."),
    ({"client_authentication": "OPTIONAL"}, 400, "client_authentication",
     "Client authentication setting OPTIONAL requires a client CA container reference."),
    ({"client_authentication": "MANDATORY"}, 400, "client_authentication",
     "Client authentication setting MANDATORY requires"),
    ({"client_crl_container_ref": REF}, 400, "client_crl_container_ref",
     "A client authentication CA reference is required to specify a client authentication "
     "revocation list."),
    ({"hsts_max_age": 3600}, 400, "hsts_max_age",
     "The HSTS feature can only be used for listeners using the TERMINATED_HTTPS protocol."),
    ({"hsts_max_age": 0}, 400, "hsts_max_age", "The HSTS feature can only be used"),
    ({"hsts_include_subdomains": True}, 400, "hsts_include_subdomains",
     "HSTS configuration options hsts_include_subdomains and hsts_preload only make sense if "
     "hsts_max_age is set as well."),
    ({"hsts_preload": True}, 400, "hsts_preload", "HSTS configuration options"),
    ({"tls_ciphers": "ECDHE-RSA-AES256-GCM-SHA384"}, 501, "tls_ciphers", None),
    ({"tls_versions": ["TLSv1.2"]}, 501, "tls_versions", None),
    ({"alpn_protocols": ["h2"]}, 501, "alpn_protocols", None),
]
LISTENER_BAD_UPDATE: list[tuple[dict[str, Any], int, str, str | None]] = [
    *[case for case in LISTENER_BAD_CREATE if "hsts_include_subdomains" not in case[0]
      and "hsts_preload" not in case[0]],
    ({"hsts_include_subdomains": True}, 400, "hsts_include_subdomains",
     "Cannot enable hsts_include_subdomains or hsts_preload if hsts_max_age was not set as "
     "well."),
    ({"hsts_preload": True}, 400, "hsts_preload", "Cannot enable hsts_include_subdomains"),
]


def _ids(cases: list[tuple[dict[str, Any], int, str, str | None]]) -> list[str]:
    return [f"{c[2]}-{c[1]}-{i}" for i, c in enumerate(cases)]


@pytest.mark.parametrize(("attrs", "status", "field", "text"),
                         POOL_BAD + POOL_BAD_CREATE_ONLY, ids=_ids(POOL_BAD + POOL_BAD_CREATE_ONLY))
def test_pool_create_refused(api: Api, tree: dict[str, Any], attrs: dict[str, Any], status: int,
                             field: str, text: str | None) -> None:
    r = api.post(f"{V2}/pools", {"pool": {"loadbalancer_id": tree["lb"]["id"], **HTTP_POOL,
                                          **attrs}})
    refused(r, status, field, text)
    unchanged(api, tree)


@pytest.mark.parametrize(("attrs", "status", "field", "text"),
                         POOL_BAD + POOL_BAD_UPDATE_ONLY, ids=_ids(POOL_BAD + POOL_BAD_UPDATE_ONLY))
def test_pool_update_refused(api: Api, tree: dict[str, Any], attrs: dict[str, Any], status: int,
                             field: str, text: str | None) -> None:
    r = api.put(f"{V2}/pools/{tree['pool']['id']}", {"pool": attrs})
    refused(r, status, field, text)
    unchanged(api, tree)
    pool = api.get(f"{V2}/pools/{tree['pool']['id']}").json()["pool"]
    assert pool["tls_enabled"] is False and pool["session_persistence"] is None


@pytest.mark.parametrize(("attrs", "status", "field", "text"), LISTENER_BAD_CREATE,
                         ids=_ids(LISTENER_BAD_CREATE))
def test_listener_create_refused(api: Api, tree: dict[str, Any], attrs: dict[str, Any],
                                 status: int, field: str, text: str | None) -> None:
    r = api.post(f"{V2}/listeners", {"listener": {"loadbalancer_id": tree["lb"]["id"],
                                                  "protocol": "HTTP", "protocol_port": 8080,
                                                  **attrs}})
    refused(r, status, field, text)
    unchanged(api, tree)


@pytest.mark.parametrize("protocol", ["TCP", "HTTPS"])
def test_listener_tls_fields_refused_on_every_non_terminating_protocol(
        api: Api, tree: dict[str, Any], protocol: str) -> None:
    body = {"loadbalancer_id": tree["lb"]["id"], "protocol": protocol, "protocol_port": 8443}
    r = api.post(f"{V2}/listeners", {"listener": {**body, "default_tls_container_ref": REF}})
    refused(r, 400, "default_tls_container_ref",
            f"Certificate container references are not allowed on {protocol} protocol "
            "listeners.")
    r = api.post(f"{V2}/listeners", {"listener": {**body, "tls_versions": ["TLSv1.3"]}})
    refused(r, 501, "tls_versions")


def test_udp_listener_tls_refused(api: Api, tree: dict[str, Any]) -> None:
    r = api.post(f"{V2}/listeners", {"listener": {
        "loadbalancer_id": tree["lb"]["id"], "protocol": "UDP", "protocol_port": 53,
        "sni_container_refs": [REF]}})
    refused(r, 400, "sni_container_refs", "UDP protocol listener does not support TLS.")
    unchanged(api, tree)


@pytest.mark.parametrize(("attrs", "status", "field", "text"), LISTENER_BAD_UPDATE,
                         ids=_ids(LISTENER_BAD_UPDATE))
def test_listener_update_refused(api: Api, tree: dict[str, Any], attrs: dict[str, Any],
                                 status: int, field: str, text: str | None) -> None:
    r = api.put(f"{V2}/listeners/{tree['listener']['id']}", {"listener": attrs})
    refused(r, status, field, text)
    unchanged(api, tree)
    lst = api.get(f"{V2}/listeners/{tree['listener']['id']}").json()["listener"]
    assert lst["default_tls_container_ref"] is None and lst["tls_versions"] == []
    assert lst["client_authentication"] == "NONE" and lst["hsts_max_age"] is None


@pytest.mark.parametrize("version", [1.05, 0.9, 1.2, 2.0, 1.0999])
def test_hm_http_version_refused(api: Api, tree: dict[str, Any], version: float) -> None:
    expected = (f"Invalid input for field/attribute http_version. Value: '{version}'. "
                "Value should be one of: 1.0, 1.1")
    r = api.put(f"{V2}/healthmonitors/{tree['hm']['id']}",
                {"healthmonitor": {"http_version": version}})
    assert r.status_code == 400 and r.json()["faultstring"] == expected, r.text
    r = api.post(f"{V2}/healthmonitors", {"healthmonitor": {
        "pool_id": tree["pool"]["id"], "type": "HTTP", "delay": 5, "timeout": 3,
        "max_retries": 3, "http_version": version}})
    assert r.status_code == 400 and r.json()["faultstring"] == expected, r.text
    unchanged(api, tree)
    hm = api.get(f"{V2}/healthmonitors/{tree['hm']['id']}").json()["healthmonitor"]
    assert hm["http_version"] is None


def test_member_request_sriov_refused(api: Api, tree: dict[str, Any]) -> None:
    pool_id = tree["pool"]["id"]
    r = api.post(f"{V2}/pools/{pool_id}/members", {"member": {
        "address": "10.60.0.11", "protocol_port": 80, "request_sriov": True}})
    refused(r, 501, "request_sriov")
    unchanged(api, tree)
    # The batch update: a new member, and an existing one (whose update would drop it).
    for address in ("10.60.0.11", tree["member"]["address"]):
        r = api.put(f"{V2}/pools/{pool_id}/members", {"members": [
            {"address": tree["member"]["address"], "protocol_port": 80},
            {"address": address, "protocol_port": 80, "request_sriov": True}]})
        refused(r, 501, "request_sriov")
        unchanged(api, tree)
    members = api.get(f"{V2}/pools/{pool_id}/members").json()["members"]
    assert [x["address"] for x in members] == [tree["member"]["address"]]


def test_loadbalancer_availability_zone_and_qos_refused(api: Api, tree: dict[str, Any]) -> None:
    assert api.get(f"{V2}/availabilityzones").json()["availability_zones"] == []
    for zone in ("az1", "nova", ""):
        r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {
            "vip_subnet_id": tree["subnet"]["id"], "availability_zone": zone}})
        refused(r, 400, "availability_zone", "Invalid availability zone.")
    qos = "6f4d1a4c-0a3e-4b8a-9d2f-6f7c9b1e2a33"
    r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": tree["subnet"]["id"], "vip_qos_policy_id": qos}})
    refused(r, 501, "vip_qos_policy_id")
    r = api.put(f"{V2}/loadbalancers/{tree['lb']['id']}",
                {"loadbalancer": {"vip_qos_policy_id": qos}})
    refused(r, 501, "vip_qos_policy_id")
    unchanged(api, tree)
    lbs = api.get(f"{V2}/loadbalancers").json()["loadbalancers"]
    assert [x["id"] for x in lbs] == [tree["lb"]["id"]]  # nothing was created
    assert lbs[0]["vip_qos_policy_id"] is None and lbs[0]["availability_zone"] is None


GRAPH_BAD: list[tuple[dict[str, Any], int, str]] = [
    ({"pools": [{"name": "p", **HTTP_POOL, "tls_enabled": True, "alpn_protocols": ["h2"]}]},
     501, "alpn_protocols"),
    ({"pools": [{"name": "p", **HTTP_POOL,
                 "session_persistence": {"type": "HTTP_COOKIE", "cookie_name": "c"}}]},
     400, "cookie_name"),
    ({"pools": [{"name": "p", **HTTP_POOL,
                 "session_persistence": {"type": "SOURCE_IP", "persistence_timeout": 5}}]},
     400, "persistence_timeout"),
    ({"pools": [{"name": "p", **HTTP_POOL,
                 "members": [{"address": "10.60.0.20", "protocol_port": 80,
                              "request_sriov": True}]}]}, 501, "request_sriov"),
    ({"pools": [{"name": "p", **HTTP_POOL,
                 "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3,
                                   "http_version": 1.05}}]}, 400, "http_version"),
    ({"listeners": [{"protocol": "HTTP", "protocol_port": 80,
                     "default_tls_container_ref": REF}]}, 400, "default_tls_container_ref"),
    ({"listeners": [{"protocol": "HTTP", "protocol_port": 80, "hsts_max_age": 60}]},
     400, "hsts_max_age"),
    ({"listeners": [{"protocol": "HTTP", "protocol_port": 80,
                     "default_pool": {"name": "d", **HTTP_POOL,
                                      "ca_tls_container_ref": REF}}]},
     400, REF),
    ({"listeners": [{"protocol": "TCP", "protocol_port": 80, "alpn_protocols": ["h2"]}]},
     501, "alpn_protocols"),
]


@pytest.mark.parametrize(("graph", "status", "field"), GRAPH_BAD,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(GRAPH_BAD)])
def test_fully_populated_create_refused(api: Api, tree: dict[str, Any], graph: dict[str, Any],
                                        status: int, field: str) -> None:
    r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": tree["subnet"]["id"], **graph}})
    refused(r, status, field)
    lbs = api.get(f"{V2}/loadbalancers").json()["loadbalancers"]
    assert [x["id"] for x in lbs] == [tree["lb"]["id"]]  # nothing of the graph was kept


def test_client_defaults_still_pass(api: Api, tree: dict[str, Any]) -> None:
    """What `openstack loadbalancer ... create/set/unset` and openstacksdk send when no TLS,
    persistence timeout, SR-IOV, zone or QoS is asked for."""
    lb_id = tree["lb"]["id"]
    lst = api.child(f"{V2}/listeners", "listener", {
        "loadbalancer_id": lb_id, "protocol": "HTTP", "protocol_port": 81,
        "default_tls_container_ref": None, "sni_container_refs": [],
        "client_ca_tls_container_ref": None, "client_authentication": "NONE",
        "client_crl_container_ref": None, "tls_ciphers": None, "tls_versions": None,
        "alpn_protocols": [], "hsts_max_age": None, "hsts_include_subdomains": False,
        "hsts_preload": False})
    # `openstack loadbalancer listener unset --default-tls-container-ref ... --hsts-preload`
    r = api.put(f"{V2}/listeners/{lst['id']}", {"listener": {
        k: None for k in ("default_tls_container_ref", "sni_container_refs",
                          "client_ca_tls_container_ref", "client_authentication",
                          "client_crl_container_ref", "tls_versions", "tls_ciphers",
                          "alpn_protocols", "hsts_max_age", "hsts_include_subdomains",
                          "hsts_preload")}})
    assert r.status_code == 200, r.text
    got = r.json()["listener"]
    assert got["client_authentication"] == "NONE" and got["hsts_preload"] is False
    assert got["hsts_include_subdomains"] is False and got["sni_container_refs"] == []
    api.settle()
    r = api.put(f"{V2}/listeners/{lst['id']}", {"listener": {
        "client_authentication": "NONE", "sni_container_refs": [],
        "hsts_include_subdomains": False, "hsts_preload": False}})
    assert r.status_code == 200, r.text
    api.settle()

    # `openstack loadbalancer pool create --disable-tls`, then set/unset.
    pool = api.child(f"{V2}/pools", "pool", {
        "listener_id": lst["id"], **HTTP_POOL, "tls_enabled": False, "tls_container_ref": None,
        "ca_tls_container_ref": None, "crl_container_ref": None, "tls_ciphers": None,
        "tls_versions": None, "alpn_protocols": None,
        "session_persistence": {"type": "APP_COOKIE", "cookie_name": "JSESSIONID",
                                "persistence_timeout": None,
                                "persistence_granularity": None}})
    assert pool["tls_enabled"] is False
    assert pool["session_persistence"] == {"type": "APP_COOKIE", "cookie_name": "JSESSIONID"}
    for body in ({"tls_enabled": False}, {"tls_enabled": None},
                 {k: None for k in ("tls_container_ref", "ca_tls_container_ref",
                                    "crl_container_ref", "tls_ciphers", "tls_versions",
                                    "alpn_protocols")},
                 {"session_persistence": {"type": "HTTP_COOKIE"}},
                 {"session_persistence": {"type": "SOURCE_IP", "cookie_name": None}},
                 {"session_persistence": None}):
        r = api.put(f"{V2}/pools/{pool['id']}", {"pool": body})
        assert r.status_code == 200, (body, r.text)
        assert r.json()["pool"]["tls_enabled"] is False
        api.settle()

    member = api.child(f"{V2}/pools/{pool['id']}/members", "member",
                       {"address": "10.60.0.30", "protocol_port": 80, "request_sriov": False})
    r = api.put(f"{V2}/pools/{pool['id']}/members", {"members": [
        {"address": member["address"], "protocol_port": 80, "request_sriov": False}]})
    assert r.status_code == 202, r.text
    api.settle()
    for version in (1.0, 1.1, 1):
        hm = api.post(f"{V2}/healthmonitors", {"healthmonitor": {
            "pool_id": pool["id"], "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3,
            "http_version": version}})
        assert hm.status_code == 201, hm.text
        assert hm.json()["healthmonitor"]["http_version"] == float(version)
        api.settle()
        hm_id = hm.json()["healthmonitor"]["id"]
        r = api.put(f"{V2}/healthmonitors/{hm_id}", {"healthmonitor": {"http_version": 1.1}})
        assert r.status_code == 200, r.text
        api.settle()
        assert api.delete(f"{V2}/healthmonitors/{hm_id}").status_code == 204
        api.settle()

    other = api.post(f"{V2}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": tree["subnet"]["id"], "availability_zone": None,
        "vip_qos_policy_id": None, "vip_sg_ids": []}})
    assert other.status_code == 201, other.text
    api.settle()
    other_id = other.json()["loadbalancer"]["id"]
    r = api.put(f"{V2}/loadbalancers/{other_id}", {"loadbalancer": {"vip_qos_policy_id": None}})
    assert r.status_code == 200 and r.json()["loadbalancer"]["vip_qos_policy_id"] is None
    api.settle()
    assert api.delete(f"{V2}/loadbalancers/{other_id}").status_code == 204
    api.settle()
