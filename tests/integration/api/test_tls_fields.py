"""The TLS fields of listeners and pools against the built-in certificate store, on each database:
Octavia 19's defaults and messages for references that do not resolve, belong to another project
or do not parse, and this provider's refusal of what a BIG-IP cannot do (h2)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bigip_lbaas.core.certs import generate_storage_key
from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import KINDS, fresh_database
from tests.integration.api.server import Api, make_conf, serve
from tests.pki import Pki

V2 = "/v2/lbaas"
SECRETS = "/key-manager/v1/secrets"
HTTP_POOL = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}
OWASP = ("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
         "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
         "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
         "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
         "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")


@pytest.fixture(scope="module", params=KINDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work: Path = tmp_path_factory.mktemp("tls")
    key_file = work / "storage.key"
    key_file.write_text(generate_storage_key() + "\n")
    with fresh_database(str(request.param), work) as url:
        db = Database(url)
        schema.upgrade(db)
        conf = make_conf(url, auth_strategy="header")
        conf.set_override("storage_key_file", str(key_file), group="certificates")
        try:
            with serve(conf, db) as base:
                yield Api(base, db).as_project("p-alice")
        finally:
            db.dispose()


def store(api: Api, payload: bytes, project: str = "p-alice") -> str:
    r = api.as_project(project).post(SECRETS, {
        "name": "s", "payload": base64.b64encode(payload).decode(),
        "payload_content_type": "application/octet-stream",
        "payload_content_encoding": "base64"})
    assert r.status_code == 201, r.text
    return str(r.json()["secret_ref"])


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


@pytest.fixture(scope="module")
def refs(api: Api, pki: Pki) -> dict[str, str]:
    other_ca = Pki("Other CA")
    return {
        "default": store(api, pki.pkcs12("www.example.com")[0]),
        "sni1": store(api, pki.pkcs12("a.example.com")[0]),
        "sni2": store(api, pki.pkcs12("b.example.com")[0]),
        "same": store(api, pki.pkcs12("a.example.com")[0]),
        "ca": store(api, pki.ca_pem),
        "crl": store(api, pki.crl_pem()),
        "foreign_crl": store(api, other_ca.crl_pem()),
        "bad_p12": store(api, b"this is not a PKCS12 bundle"),
        "bad_pem": store(api, b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"),
        "bob": store(api, pki.pkcs12("bob.example.com")[0], project="p-bob"),
        "unknown": api.url + SECRETS + "/00000000-0000-4000-8000-000000000000",
    }


@pytest.fixture(scope="module")
def lb(api: Api) -> dict[str, Any]:
    net = api.post("/v2.0/networks", {"network": {"name": "n"}}).json()["network"]
    sub = api.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": "10.70.0.0/24",
                                                "ip_version": 4}})
    assert sub.status_code == 201, sub.text
    return api.lb(sub.json()["subnet"]["id"])


def tls_listener(lb: dict[str, Any], port: int, **extra: Any) -> dict[str, Any]:
    return {"listener": {"loadbalancer_id": lb["id"], "protocol": "TERMINATED_HTTPS",
                         "protocol_port": port, **extra}}


def fault(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["faultstring"])


def test_terminated_https_listener_gets_octavias_defaults(api: Api, lb: dict[str, Any],
                                                          refs: dict[str, str]) -> None:
    r = api.post(f"{V2}/listeners", tls_listener(
        lb, 443, default_tls_container_ref=refs["default"],
        sni_container_refs=[refs["sni1"], refs["sni2"]], client_authentication="MANDATORY",
        client_ca_tls_container_ref=refs["ca"], client_crl_container_ref=refs["crl"],
        hsts_max_age=31536000, hsts_include_subdomains=True))
    assert r.status_code == 201, r.text
    lst = r.json()["listener"]
    assert lst["tls_versions"] == ["TLSv1.2", "TLSv1.3"]
    assert lst["tls_ciphers"] == OWASP
    assert lst["alpn_protocols"] == ["http/1.1", "http/1.0"]
    assert lst["default_tls_container_ref"] == refs["default"]
    assert lst["sni_container_refs"] == [refs["sni1"], refs["sni2"]]
    assert lst["client_authentication"] == "MANDATORY"
    assert lst["client_crl_container_ref"] == refs["crl"]
    assert (lst["hsts_max_age"], lst["hsts_include_subdomains"]) == (31536000, True)
    api.settle()

    # A pool re-encrypting to its members gets the pool defaults.
    r = api.post(f"{V2}/pools", {"pool": {"listener_id": lst["id"], **HTTP_POOL,
                                          "tls_enabled": True,
                                          "ca_tls_container_ref": refs["ca"]}})
    assert r.status_code == 201, r.text
    pool = r.json()["pool"]
    assert pool["tls_versions"] == ["TLSv1.2", "TLSv1.3"] and pool["tls_ciphers"] == OWASP
    assert pool["alpn_protocols"] == ["http/1.1", "http/1.0"]
    api.settle()

    # Rotation: a new default certificate, then null resets versions to the default.
    r = api.put(f"{V2}/listeners/{lst['id']}", {"listener": {
        "default_tls_container_ref": refs["sni1"], "tls_versions": ["TLSv1.3"]}})
    assert r.status_code == 200, r.text
    assert r.json()["listener"]["tls_versions"] == ["TLSv1.3"]
    api.settle()
    r = api.put(f"{V2}/listeners/{lst['id']}", {"listener": {"tls_versions": None}})
    assert r.json()["listener"]["tls_versions"] == ["TLSv1.2", "TLSv1.3"]
    api.settle()


@pytest.mark.parametrize(("extra", "status", "text"), [
    ({"default_tls_container_ref": "unknown"}, 400, "Could not retrieve certificate: ['{unknown}']"),
    ({"default_tls_container_ref": "bob"}, 400, "Could not retrieve certificate: ['{bob}']"),
    ({"sni_container_refs": ["sni1", "unknown", "bob"], "default_tls_container_ref": "default"},
     400, "Could not retrieve certificate: ['{unknown}', '{bob}']"),
    ({"default_tls_container_ref": "bad_p12"}, 400,
     "The PKCS12 bundle is unreadable. Please check the PKCS12 bundle validity. In addition, "
     "make sure it does not require a pass phrase. Error: "),
    ({"default_tls_container_ref": "default", "client_ca_tls_container_ref": "unknown"}, 400,
     "Could not retrieve certificate: ['{unknown}']"),
    ({"default_tls_container_ref": "default", "client_ca_tls_container_ref": "bad_pem"}, 400,
     "Validation failure: The client authentication CA certificate is invalid. It must be a "
     "valid x509 PEM format certificate. Error: "),
    ({"default_tls_container_ref": "default", "client_ca_tls_container_ref": "ca",
      "client_crl_container_ref": "bad_pem"}, 400,
     "Validation failure: The client authentication certificate revocation list is invalid."),
    ({"default_tls_container_ref": "default", "client_ca_tls_container_ref": "ca",
      "client_crl_container_ref": "foreign_crl"}, 400,
     "Validation failure: The CRL specified is not valid for client certificate authority "
     "reference supplied."),
    ({"default_tls_container_ref": "default", "tls_versions": []}, 400,
     "Validation failure: Empty TLS version list. Either specify at least one TLS version or "
     "remove this parameter to use the default."),
    ({"default_tls_container_ref": "default", "tls_versions": ["TLSv1.2", "TLSv9"]}, 400,
     "Validation failure: Invalid TLS versions: TLSv9"),
    ({"default_tls_container_ref": "default", "alpn_protocols": ["spdy"]}, 400,
     "Validation failure: Invalid ALPN protocol: spdy"),
    ({"default_tls_container_ref": "default", "tls_ciphers": "A B"}, 400,
     "Validation failure: Invalid characters in cipher string."),
    ({"default_tls_container_ref": "default", "alpn_protocols": ["h2", "http/1.1"]}, 501,
     "Provider 'f5' does not support a requested option: alpn_protocols h2: "),
    ({"default_tls_container_ref": "default", "sni_container_refs": ["sni1", "same"]}, 501,
     "Provider 'f5' does not support a requested option: sni_container_refs: {sni1} and {same} "
     "both answer for a.example.com"),
])
def test_listener_refusals(api: Api, lb: dict[str, Any], refs: dict[str, str],
                           extra: dict[str, Any], status: int, text: str) -> None:
    body: dict[str, Any] = {}
    for key, value in extra.items():
        if key.endswith("_ref"):
            body[key] = refs[value]
        elif key.endswith("_refs"):
            body[key] = [refs[v] for v in value]
        else:
            body[key] = value
    message = fault(api.post(f"{V2}/listeners", tls_listener(lb, 8443, **body)), status)
    assert message.startswith(text.format(**refs)), message
    # nothing was written: the load balancer is not even locked
    assert api.get(f"{V2}/loadbalancers/{lb['id']}").json()["loadbalancer"][
        "provisioning_status"] == "ACTIVE"


def test_update_and_pool_refusals(api: Api, lb: dict[str, Any], refs: dict[str, str]) -> None:
    r = api.post(f"{V2}/listeners", tls_listener(lb, 9443,
                                                 default_tls_container_ref=refs["default"]))
    assert r.status_code == 201, r.text
    lst = r.json()["listener"]
    api.settle()
    path = f"{V2}/listeners/{lst['id']}"
    assert fault(api.put(path, {"listener": {"sni_container_refs": [refs["bob"]]}}), 400) == (
        f"Could not retrieve certificate: ['{refs['bob']}']")
    assert fault(api.put(path, {"listener": {"default_tls_container_ref": refs["bad_p12"]}}),
                 400).startswith("The PKCS12 bundle is unreadable.")
    assert "alpn_protocols h2" in fault(
        api.put(path, {"listener": {"alpn_protocols": ["h2"]}}), 501)
    r = api.put(path, {"listener": {"sni_container_refs": [refs["sni1"]]}})
    assert r.status_code == 200, r.text
    api.settle()
    # SNI certificates are checked against each other with the stored default's exception
    assert "both answer for a.example.com" in fault(
        api.put(path, {"listener": {"sni_container_refs": [refs["sni1"], refs["same"]]}}), 501)
    # the default answers for no name of its own: the same name as an SNI one is fine
    r = api.put(path, {"listener": {"default_tls_container_ref": refs["same"]}})
    assert r.status_code == 200, r.text
    api.settle()
    r = api.put(path, {"listener": {"sni_container_refs": []}})
    assert r.status_code == 200, r.text
    api.settle()
    # the listener is unchanged
    shown = api.get(path).json()["listener"]
    assert shown["default_tls_container_ref"] == refs["same"]
    assert shown["sni_container_refs"] == [] and shown["provisioning_status"] == "ACTIVE"

    pools = f"{V2}/pools"
    base = {"loadbalancer_id": lb["id"], **HTTP_POOL, "tls_enabled": True}
    assert fault(api.post(pools, {"pool": {**base, "tls_container_ref": refs["unknown"]}}),
                 400) == f"Could not retrieve certificate: ['{refs['unknown']}']"
    assert fault(api.post(pools, {"pool": {**base, "tls_container_ref": refs["bad_p12"]}}),
                 400).startswith("The PKCS12 bundle is unreadable.")
    assert fault(api.post(pools, {"pool": {**base, "ca_tls_container_ref": refs["bob"]}}),
                 400).startswith("Could not retrieve certificate: ")
    assert "alpn_protocols h2" in fault(
        api.post(pools, {"pool": {**base, "alpn_protocols": ["h2"]}}), 501)
    r = api.post(pools, {"pool": {**base, "tls_container_ref": refs["sni2"],
                                  "ca_tls_container_ref": refs["ca"],
                                  "crl_container_ref": refs["crl"]}})
    assert r.status_code == 201, r.text
    pool = r.json()["pool"]
    api.settle()
    assert fault(api.put(f"{pools}/{pool['id']}", {"pool": {"ca_tls_container_ref": None}}),
                 400) == ("Validation failure: A CA reference cannot be removed when a "
                          "certificate revocation list is present.")
    assert fault(api.put(f"{pools}/{pool['id']}", {"pool": {"tls_container_ref": refs["bob"]}}),
                 400).startswith("Could not retrieve certificate: ")
