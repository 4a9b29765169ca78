"""openstacksdk's `conn.load_balancer.*`, unchanged, in noauth mode against our API server.

The connection is built as reference D1 says: auth_type none with the endpoint as the override
for every service; keystoneauth runs version discovery on it, so `/` and `/v2` must both answer
with real version documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack
import pytest

from bigip_lbaas.core.certs import generate_storage_key
from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import KINDS, fresh_database
from tests.integration.api.server import Api, api_server, make_conf, serve
from tests.pki import Pki


@pytest.fixture(scope="module", params=KINDS)
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_server(str(request.param), tmp_path_factory.mktemp("db")) as api:
        yield api


def connect(endpoint: str) -> Any:
    return openstack.connect(auth_type="none", auth={"endpoint": endpoint},
                             load_yaml_config=False, load_envvars=False)


@pytest.mark.parametrize("suffix", ["", "/v2", "/v2.0"])
def test_discovery_on_each_endpoint_form(api: Api, suffix: str) -> None:
    conn = connect(api.url + suffix)
    assert next(iter(conn.load_balancer.providers())).name == "f5"


def test_sdk_life_cycle(api: Api) -> None:
    subnet = api.network("10.90.0.0/24")
    conn = connect(api.url)
    lb = conn.load_balancer.create_load_balancer(name="sdk-lb", project_id="p1",
                                                 vip_subnet_id=subnet["id"])
    assert lb.provisioning_status == "PENDING_CREATE" and lb.project_id == "p1"
    api.settle()
    lb = conn.load_balancer.wait_for_load_balancer(lb.id, interval=0.2, wait=10)
    assert lb.provisioning_status == "ACTIVE"
    assert [x.id for x in conn.load_balancer.load_balancers(project_id="p1")] == [lb.id]
    lst = conn.load_balancer.create_listener(name="sdk-l", protocol="HTTP", protocol_port=80,
                                             load_balancer_id=lb.id)
    api.settle()
    pool = conn.load_balancer.create_pool(name="sdk-p", protocol="HTTP", listener_id=lst.id,
                                          lb_algorithm="ROUND_ROBIN")
    api.settle()
    member = conn.load_balancer.create_member(pool, address="10.90.0.20", protocol_port=80)
    api.settle()
    hm = conn.load_balancer.create_health_monitor(pool_id=pool.id, type="TCP", delay=3,
                                                  timeout=2, max_retries=2)
    api.settle()
    assert conn.load_balancer.get_member(member, pool).address == "10.90.0.20"
    assert conn.load_balancer.get_health_monitor(hm).type == "TCP"
    policy = conn.load_balancer.create_l7_policy(listener_id=lst.id, action="REJECT")
    api.settle()
    rule = conn.load_balancer.create_l7_rule(policy, type="PATH", compare_type="STARTS_WITH",
                                             value="/admin")
    api.settle()
    assert [r.id for r in conn.load_balancer.l7_rules(policy)] == [rule.id]
    stats = conn.load_balancer.get_load_balancer_statistics(lb.id)
    assert stats.bytes_in == 0
    updated = conn.load_balancer.update_load_balancer(lb, description="d")
    assert updated.description == "d"
    api.settle()
    quota = conn.load_balancer.update_quota("p1", load_balancers=5)
    assert quota.load_balancers == 5
    assert [f.name for f in conn.load_balancer.flavors()] == []
    assert list(conn.load_balancer.availability_zones()) == []
    conn.load_balancer.failover_load_balancer(lb.id)
    api.settle()
    conn.load_balancer.delete_load_balancer(lb, cascade=True)
    api.settle()
    assert list(conn.load_balancer.load_balancers(project_id="p1")) == []


def test_sdk_pagination_follows_links(api: Api) -> None:
    subnet = api.network("10.91.0.0/24")
    for i in range(5):
        api.lb(subnet["id"], name=f"sdk-page-{i}", project_id="pages")
    conn = connect(api.url)
    got = list(conn.load_balancer.load_balancers(project_id="pages", limit=2))
    assert sorted(x.name for x in got) == [f"sdk-page-{i}" for i in range(5)]


def test_sdk_terminated_https_listener(tmp_path: Path) -> None:
    """openstacksdk's listener and pool TLS fields, secrets stored with python-barbicanclient in
    the built-in store: they round-trip as Octavia's, and a reference the project may not use is
    the SDK's BadRequestException (Octavia's 400), not a stored listener."""
    from barbicanclient import client as barbican

    key_file = tmp_path / "storage.key"
    key_file.write_text(generate_storage_key() + "\n")
    pki = Pki()
    with fresh_database("sqlite", tmp_path) as url:
        db = Database(url)
        schema.upgrade(db)
        conf = make_conf(url)
        conf.set_override("storage_key_file", str(key_file), group="certificates")
        try:
            with serve(conf, db) as base:
                api = Api(base, db)
                subnet = api.network("10.91.0.0/24")

                def store(payload: bytes, project: str = "p1") -> str:
                    bc = barbican.Client(endpoint=f"{base}/key-manager", project_id=project)
                    return str(bc.secrets.create(name="s", payload=payload).store())

                default = store(pki.pkcs12("www.example.com")[0])
                sni = store(pki.pkcs12("a.example.com")[0])
                ca = store(pki.ca_pem)
                foreign = store(pki.pkcs12("b.example.com")[0], project="p2")
                conn = connect(base)
                lb = conn.load_balancer.create_load_balancer(project_id="p1",
                                                             vip_subnet_id=subnet["id"])
                api.settle()
                lst = conn.load_balancer.create_listener(
                    load_balancer_id=lb.id, protocol="TERMINATED_HTTPS", protocol_port=443,
                    default_tls_container_ref=default, sni_container_refs=[sni],
                    hsts_max_age=31536000, is_hsts_include_subdomains=True)
                api.settle()
                # (this SDK release has no client_authentication attributes; the CLI test sets
                # them, tests/integration/agents/test_tls.py)
                got = conn.load_balancer.get_listener(lst.id)
                assert (got.default_tls_container_ref, got.sni_container_refs) == (default, [sni])
                assert (got.hsts_max_age, got.is_hsts_include_subdomains) == (31536000, True)
                # Octavia's [api_settings] defaults, h2 left out (api/tls.py)
                assert got.tls_versions and got.tls_ciphers
                assert got.alpn_protocols == ["http/1.1", "http/1.0"]
                pool = conn.load_balancer.create_pool(listener_id=lst.id, protocol="HTTP",
                                                      lb_algorithm="ROUND_ROBIN",
                                                      tls_enabled=True, ca_tls_container_ref=ca)
                api.settle()
                assert conn.load_balancer.get_pool(pool.id).ca_tls_container_ref == ca
                with pytest.raises(openstack.exceptions.BadRequestException,
                                   match="Could not retrieve certificate"):
                    conn.load_balancer.create_listener(
                        load_balancer_id=lb.id, protocol="TERMINATED_HTTPS",
                        protocol_port=8443, default_tls_container_ref=foreign)
                assert [x.protocol_port for x in conn.load_balancer.listeners()] == [443]
        finally:
            db.dispose()
