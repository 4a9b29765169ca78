"""Keystone mode end to end: the real `bigip-lbaas api` process with `auth_strategy = keystone`
(keystonemiddleware's auth_token around the app) against a real Keystone (tests/openstack/keystone.py).

Proves: no token and an unknown token are 401; a member token scopes every request to the
token's project (headers a client sends cannot widen it); an admin-role token sees all; version
documents and the health check stay open; no token ever shows up in a response or the log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.cluster import wait_for
from tests.databases import KINDS, fresh_database
from tests.integration.api.keystone_api import KeystoneApi, keystone_api
from tests.openstack.keystone import Keystone, User

LBS = "/v2/lbaas/loadbalancers"
INVALID = "gAAAAABnot-a-token-0000"


@dataclass
class Keystoned(KeystoneApi):
    alice: User
    bob: User
    admin: User


@pytest.fixture(scope="module")
def people(keystone: Keystone) -> dict[str, User]:
    return {"alice": keystone.user("ksapi-alice", keystone.project("ksapi-alice"),
                                   "member", "reader"),
            "bob": keystone.user("ksapi-bob", keystone.project("ksapi-bob"), "member"),
            "admin": keystone.user("ksapi-ops", keystone.project("ksapi-ops"),
                                   "admin", "member")}


@pytest.fixture(scope="module", params=KINDS)
def keystoned(request: pytest.FixtureRequest, keystone: Keystone, people: dict[str, User],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystoned]:
    work = tmp_path_factory.mktemp("keystone-api")
    with fresh_database(str(request.param), work) as url, \
            keystone_api(keystone, url, work) as api:
        yield Keystoned(api.url, api.keystone, api.service_user, api.proc, **people)


@pytest.fixture(scope="module")
def subnet_id(keystoned: Keystoned) -> str:
    with keystoned.client(keystoned.admin) as admin:
        net = admin.post("/v2/networks", json={"network": {"name": "shared", "shared": True}})
        assert net.status_code == 201, net.text
        sub = admin.post("/v2/subnets", json={"subnet": {
            "network_id": net.json()["network"]["id"], "cidr": "10.90.0.0/24"}})
        assert sub.status_code == 201, sub.text
        return str(sub.json()["subnet"]["id"])


def test_no_token_is_401(keystoned: Keystoned) -> None:
    with keystoned.client() as anonymous:
        r = anonymous.get(LBS)
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Keystone uri=")
        # Headers alone prove nothing: auth_token strips what a client claims.
        spoof = anonymous.get(LBS, headers={"X-Identity-Status": "Confirmed",
                                            "X-Project-Id": "alice", "X-Roles": "admin"})
        assert spoof.status_code == 401
        assert anonymous.post(LBS, json={"loadbalancer": {"vip_subnet_id": "x"}}).status_code \
            == 401


def test_invalid_token_is_401(keystoned: Keystoned) -> None:
    with keystoned.client(token=INVALID) as stranger:
        assert stranger.get(LBS).status_code == 401
        assert stranger.get("/v2/lbaas/quotas").status_code == 401
    # It really was the identity service that said no (gunicorn's access log of Keystone).
    assert re.search(r'"GET /v3/auth/tokens HTTP/1\.[01]" 404', keystoned.keystone.proc.output())


def test_version_documents_and_healthcheck_stay_open(keystoned: Keystoned) -> None:
    with keystoned.client() as anonymous:
        root = anonymous.get("/")
        assert root.status_code == 200
        assert root.json()["versions"][-1]["status"] == "CURRENT"
        for path in ("/v2", "/v2.0", "/v2/", "/v2.0/"):
            r = anonymous.get(path)
            assert r.status_code == 200, path
            assert r.json()["version"]["status"] == "CURRENT"
        assert anonymous.get("/healthcheck").json() == {"status": "OK"}
        # What is not a version document is not open.
        assert anonymous.get("/v2/lbaas/providers").status_code == 401
        assert anonymous.get("/openapi.json").status_code == 401


def test_member_token_is_scoped_to_its_project(keystoned: Keystoned, subnet_id: str) -> None:
    with keystoned.client(keystoned.alice) as alice, keystoned.client(keystoned.bob) as bob, \
            keystoned.client(keystoned.admin) as admin:
        r = alice.post(LBS, json={"loadbalancer": {"name": "a1", "vip_subnet_id": subnet_id}})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
        assert lb["project_id"] == keystoned.alice.project.id
        # A header naming another project does not change whose request it is.
        r = alice.post(LBS, json={"loadbalancer": {"name": "a2", "vip_subnet_id": subnet_id}},
                       headers={"X-Project-Id": keystoned.bob.project.id, "X-Roles": "admin"})
        assert r.status_code == 201, r.text
        assert r.json()["loadbalancer"]["project_id"] == keystoned.alice.project.id
        lb2 = r.json()["loadbalancer"]

        assert alice.get(f"{LBS}/{lb['id']}").status_code == 200
        assert {x["id"] for x in alice.get(LBS).json()["loadbalancers"]} == {lb["id"], lb2["id"]}
        assert bob.get(f"{LBS}/{lb['id']}").status_code == 404
        assert bob.delete(f"{LBS}/{lb['id']}").status_code == 404
        assert bob.get(LBS).json()["loadbalancers"] == []
        alice_id = keystoned.alice.project.id
        for spoof in ({"X-Project-Id": alice_id}, {"X-Tenant-Id": alice_id},
                      {"X_Project_Id": alice_id}, {"X-Roles": "admin"}):
            assert bob.get(LBS, headers=spoof).json()["loadbalancers"] == [], spoof
        r = bob.post(LBS, json={"loadbalancer": {"vip_subnet_id": subnet_id,
                                                 "project_id": alice_id}})
        assert r.status_code == 403
        # Admin-only calls are refused to a member, allowed to the admin role.
        assert alice.get("/v2/lbaas/agents").status_code == 403
        assert alice.post("/v2/networks", json={"network": {"name": "x",
                                                            "shared": True}}).status_code == 403
        assert admin.get("/v2/lbaas/agents").status_code == 200

        every = {x["id"] for x in admin.get(LBS).json()["loadbalancers"]}
        assert {lb["id"], lb2["id"]} <= every
        assert admin.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]["project_id"] == alice_id
        r = admin.post(LBS, json={"loadbalancer": {"vip_subnet_id": subnet_id,
                                                   "project_id": keystoned.bob.project.id}})
        assert r.status_code == 201, r.text
        assert [x["id"] for x in bob.get(LBS).json()["loadbalancers"]] == \
            [r.json()["loadbalancer"]["id"]]


def test_tokens_are_never_logged_or_returned(keystoned: Keystoned, subnet_id: str) -> None:
    with keystoned.client(keystoned.alice) as alice, keystoned.client(token=INVALID) as stranger:
        bodies = [alice.get(LBS).text, alice.get(f"/v2/lbaas/quotas/{keystoned.alice.project.id}").text,
                  stranger.get(LBS).text, alice.get(f"{LBS}/nonexistent").text]
        for resp in (alice.get(LBS), stranger.get(LBS)):
            bodies.append(" ".join(f"{k}: {v}" for k, v in resp.headers.items()))
    log = keystoned.proc.output()
    tokens = [keystoned.keystone.token(u) for u in (keystoned.alice, keystoned.bob,
                                                    keystoned.admin, keystoned.service_user)]
    for secret in (*tokens, INVALID, keystoned.service_user.password):
        assert secret not in log
        assert not [b for b in bodies if secret in b]


def test_metrics_need_an_admin_token(keystoned: Keystoned) -> None:
    with keystoned.client() as anonymous, keystoned.client(keystoned.alice) as alice, \
            keystoned.client(keystoned.admin) as admin:
        assert anonymous.get("/metrics").status_code == 401
        refused = alice.get("/metrics", headers={"X-Roles": "admin"})
        assert refused.status_code == 403
        assert refused.json() == {"faultcode": "Client", "debuginfo": None, "faultstring":
                                  "Policy does not allow this request to be performed."}
        scraped = admin.get("/metrics")
        assert scraped.status_code == 200
        assert "bigip_lbaas_api_requests_total" in scraped.text


def test_request_id_on_refusals_and_proven_project_in_the_access_log(
        keystoned: Keystoned) -> None:
    with keystoned.client() as anonymous, keystoned.client(keystoned.alice) as alice:
        refused = anonymous.get(LBS, headers={"X-Project-Id": "spoofed-project"})
        assert refused.status_code == 401
        assert refused.headers["x-openstack-request-id"].startswith("req-")
        ok = alice.get(LBS, headers={"X-Project-Id": keystoned.bob.project.id})
        assert ok.status_code == 200
    ids = [r.headers["x-openstack-request-id"] for r in (refused, ok)]
    wait_for(lambda: all(i in keystoned.proc.output() for i in ids), 10, "the access log lines")
    lines = {line for line in keystoned.proc.output().splitlines() if "action=http" in line}
    [refused_line] = [x for x in lines if refused.headers["x-openstack-request-id"] in x]
    [ok_line] = [x for x in lines if ok.headers["x-openstack-request-id"] in x]
    assert "status=401" in refused_line and "project=None" in refused_line
    assert "status=200" in ok_line and f"project={keystoned.alice.project.id}" in ok_line
    assert "spoofed-project" not in keystoned.proc.output()
