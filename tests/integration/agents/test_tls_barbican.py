"""TLS termination with `[certificates] cert_manager = barbican_cert_manager`, on each database:
the session's real Keystone and Barbican (tests/openstack), the simulator pair, the API in
keystone mode and two agents as processes. A user stores a PKCS12 default and SNI certificate
and a PEM CA in the real Barbican with python-barbicanclient and creates a TERMINATED_HTTPS
listener with client authentication through the API with their token (the API adds our service
user to each secret's read ACL, as Octavia does); the agents, holding only the service's own
credentials, fetch the secrets and everything goes ACTIVE with exactly the stored certificates on
every device (by fingerprint). Another project's secret is Octavia's 400; no log holds key
material. An agent whose service credentials Keystone refuses cannot ask Barbican: that is a
temporary failure, retried with the objects left PENDING (never ERROR, however often it is
retried), and an agent that can ask finishes the work."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.cluster import Cluster, wait_for
from tests.integration.agents.test_tls import TLS_COLLECTIONS, fingerprints
from tests.openstack.barbican import Barbican
from tests.openstack.keystone import Keystone, User
from tests.pki import Pki, fingerprint

LBS = "/v2/lbaas/loadbalancers"


@dataclass
class World:
    cluster: Cluster
    keystone: Keystone
    barbican: Barbican
    alice: User  # member of project tlsb-alice: the load balancer's owner
    bob: User  # member of project tlsb-bob
    admin: User
    octavia: User  # our service user

    def api(self, user: User) -> httpx.Client:
        return httpx.Client(base_url=self.cluster.api_url, timeout=60,
                            headers={"X-Auth-Token": self.keystone.token(user)})

    def store(self, user: User, name: str, payload: bytes) -> str:
        client = self.barbican.client(self.keystone, user)
        return str(client.secrets.create(name=name, payload=payload).store())


@pytest.fixture
def world(db_url: str, tmp_path: Path, keystone: Keystone,
          barbican: Barbican) -> Iterator[World]:
    pytest.importorskip("keystonemiddleware")
    people = {"alice": keystone.user("tlsb-alice", keystone.project("tlsb-alice"), "member"),
              "bob": keystone.user("tlsb-bob", keystone.project("tlsb-bob"), "member"),
              "admin": keystone.user("tlsb-ops", keystone.project("tlsb-ops"),
                                     "admin", "member")}
    octavia = keystone.service_user("octavia")
    extra = ("[api_settings]\nauth_strategy = keystone\n"
             + keystone.authtoken_conf(octavia)
             + "[certificates]\ncert_manager = barbican_cert_manager\n"
             + f"region_name = {keystone.region}\n"
             + keystone.service_auth_conf(octavia))
    c = Cluster(tmp_path, db_url, devices=2, extra_conf=extra)
    try:
        c.start(agents=())  # each test starts its agents
        yield World(c, keystone, barbican, octavia=octavia, **people)
    finally:
        c.close()


def vip_subnet(w: World) -> str:
    with w.api(w.admin) as admin:
        net = admin.post("/v2/networks", json={"network": {"name": "tlsb", "shared": True}})
        assert net.status_code == 201, net.text
        sub = admin.post("/v2/subnets", json={"subnet": {
            "network_id": net.json()["network"]["id"], "cidr": "10.91.0.0/24"}})
        assert sub.status_code == 201, sub.text
        return str(sub.json()["subnet"]["id"])


def lb_status(w: World, lb: str) -> str:
    with w.api(w.alice) as api:
        r = api.get(f"{LBS}/{lb}")
        assert r.status_code == 200, r.text
        return str(r.json()["loadbalancer"]["provisioning_status"])


def wait_active(w: World, lb: str) -> None:
    status = wait_for(lambda: (s := lb_status(w, lb)) in ("ACTIVE", "ERROR") and s, 90,
                      f"{lb} to leave PENDING")
    assert status == "ACTIVE", status


def test_barbican_secrets_fetched_by_the_agents(world: World, tmp_path: Path) -> None:
    w, pki = world, Pki()
    bundles = {n: pki.pkcs12(f"{n}.example.com") for n in ("www", "sni")}
    refs = {n: w.store(w.alice, n, b[0]) for n, b in bundles.items()}
    ca_ref = w.store(w.alice, "ca", pki.ca_pem)
    foreign = w.store(w.bob, "bobs", pki.pkcs12("bob.example.com")[0])
    w.cluster.start_agent("h1")
    w.cluster.start_agent("h2")
    subnet = vip_subnet(w)
    with w.api(w.alice) as api:
        r = api.post(LBS, json={"loadbalancer": {
            "name": "tlsb", "vip_subnet_id": subnet}})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]["id"]
        wait_active(w, lb)
        listener = {"loadbalancer_id": lb, "name": "tlsb-l", "protocol": "TERMINATED_HTTPS",
                    "protocol_port": 443}

        # Another project's secret is not the caller's: Octavia's 400, nothing created.
        r = api.post("/v2/lbaas/listeners", json={"listener": {
            **listener, "default_tls_container_ref": foreign}})
        assert r.status_code == 400, r.text
        assert "Could not retrieve certificate" in r.json()["faultstring"], r.text

        r = api.post("/v2/lbaas/listeners", json={"listener": {
            **listener, "default_tls_container_ref": refs["www"],
            "sni_container_refs": [refs["sni"]], "client_authentication": "MANDATORY",
            "client_ca_tls_container_ref": ca_ref}})
        assert r.status_code == 201, r.text
        wait_active(w, lb)
        shown = api.get(f"/v2/lbaas/listeners/{r.json()['listener']['id']}").json()
        assert shown["listener"]["provisioning_status"] == "ACTIVE", shown

    # Our service user can read exactly the secrets the listener uses (the API shared them).
    service_id = w.keystone.service_user("octavia").id
    acl_reader = w.barbican.client(w.keystone, w.alice)
    for ref in (refs["www"], refs["sni"], ca_ref):
        assert service_id in acl_reader.acls.get(ref).get("read").users

    part = f"Project_{w.alice.project.id}"
    stored = {fingerprint(b[1]) for b in bundles.values()} | {fingerprint(pki.ca_pem)}
    for dev in range(w.cluster.devices):
        assert fingerprints(w.cluster, dev, part) == stored
        profiles = w.cluster.device_objects(dev, "ltm/profile/client-ssl", part)
        assert sorted(p["sniDefault"] for p in profiles) == ["false", "true"]
        assert {p["peerCertMode"] for p in profiles} == {"require"}

    with w.api(w.alice) as api:
        assert api.delete(f"{LBS}/{lb}", params={"cascade": "true"}).status_code == 204
        wait_for(lambda: api.get(f"{LBS}/{lb}").status_code == 404, 90,
                 "the load balancer to be deleted")
    for dev in range(w.cluster.devices):
        for collection in TLS_COLLECTIONS:
            assert w.cluster.device_objects(dev, collection, part) == [], collection

    keys = [pki.pkcs12_key_lines(b[0]) for b in bundles.values()]
    for log in sorted(tmp_path.glob("*.log")):
        text = log.read_text(errors="replace")
        assert "PRIVATE KEY" not in text, log
        assert w.alice.password not in text and w.keystone.token(w.alice) not in text, log
        for lines in keys:
            assert not any(line in text for line in lines), log


def test_a_store_the_agent_cannot_ask_is_retried_with_objects_pending(world: World) -> None:
    w, pki = world, Pki()
    wrong = w.keystone.service_auth_conf(w.octavia).replace(
        f"password = {w.octavia.password}", "password = NOT-THE-PASSWORD-7c1d")
    refused = w.cluster.start_agent("h1", extra=wrong)
    bundle, cert_pem = pki.pkcs12("www.example.com")
    ref = w.store(w.alice, "www", bundle)
    subnet = vip_subnet(w)
    with w.api(w.alice) as api:
        r = api.post(LBS, json={"loadbalancer": {"name": "tlsb-r", "vip_subnet_id": subnet}})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]["id"]
        wait_active(w, lb)  # nothing to fetch yet
        r = api.post("/v2/lbaas/listeners", json={"listener": {
            "loadbalancer_id": lb, "name": "tlsb-r", "protocol": "TERMINATED_HTTPS",
            "protocol_port": 443, "default_tls_container_ref": ref}})
        assert r.status_code == 201, r.text  # the API's own credentials are right
        listener = r.json()["listener"]["id"]

        # More attempts than max_retries (3), each refused by Keystone: still pending.
        log = w.cluster.workdir / "agent-h1.log"
        reason = "Keystone refused the [service_auth] credentials"
        wait_for(lambda: log.read_text(errors="replace").count(reason) >= 5, 60,
                 "the agent to retry the refused store")
        shown = api.get(f"/v2/lbaas/listeners/{listener}").json()["listener"]
        assert shown["provisioning_status"] == "PENDING_CREATE", shown
        assert lb_status(w, lb) == "PENDING_UPDATE"
        assert "NOT-THE-PASSWORD-7c1d" not in log.read_text(errors="replace")

        # An agent that can ask takes over and finishes.
        refused.terminate()
        w.cluster.start_agent("h2")
        wait_active(w, lb)
        shown = api.get(f"/v2/lbaas/listeners/{listener}").json()["listener"]
        assert shown["provisioning_status"] == "ACTIVE", shown
    part = f"Project_{w.alice.project.id}"
    for dev in range(w.cluster.devices):
        # the certificate, and its bundle's intermediate (the CA) as its chain
        assert fingerprints(w.cluster, dev, part) == {fingerprint(cert_pem),
                                                      fingerprint(pki.ca_pem)}
