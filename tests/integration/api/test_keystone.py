"""Keystone mode end to end: the real `bigip-lbaas api` process with `auth_strategy = keystone`
(keystonemiddleware's auth_token around the app) against a stub Keystone v3 on loopback.

Proves: no token and an unknown token are 401; a member token scopes every request to the
token's project (headers a client sends cannot widen it); an admin-role token sees all; version
documents and the health check stay open; no token ever shows up in a response or the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.cluster import Proc, wait_for
from tests.databases import KINDS, fresh_database, in_ci
from tests.integration.api.keystone_stub import StubKeystone, keystone_api

LBS = "/v2/lbaas/loadbalancers"
ALICE, BOB, ADMIN, INVALID = "tok-alice-4c1d", "tok-bob-9e2b", "tok-admin-33aa", "tok-nope-0000"


@dataclass
class Keystoned:
    url: str
    stub: StubKeystone
    proc: Proc

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        if token is not None:
            headers["X-Auth-Token"] = token
        return httpx.Client(base_url=self.url, timeout=30, headers=headers)


@pytest.fixture(scope="module", params=KINDS)
def keystoned(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystoned]:
    if not in_ci():  # in the test extra: CI must run this
        pytest.importorskip("keystonemiddleware")
    work = tmp_path_factory.mktemp("keystone")
    users = {ALICE: ("alice", "member", "reader"), BOB: ("bob", "member"),
             ADMIN: ("ops", "admin", "member")}
    with fresh_database(str(request.param), work) as url, keystone_api(url, work, users) as api:
        yield Keystoned(api.url, api.stub, api.proc)


@pytest.fixture(scope="module")
def subnet_id(keystoned: Keystoned) -> str:
    with keystoned.client(ADMIN) as admin:
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
    with keystoned.client(INVALID) as stranger:
        assert stranger.get(LBS).status_code == 401
        assert stranger.get("/v2/lbaas/quotas").status_code == 401
    # It really was the identity service that said no.
    assert ("GET", "/v3/auth/tokens", True) in keystoned.stub.requests


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
    with keystoned.client(ALICE) as alice, keystoned.client(BOB) as bob, \
            keystoned.client(ADMIN) as admin:
        r = alice.post(LBS, json={"loadbalancer": {"name": "a1", "vip_subnet_id": subnet_id}})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
        assert lb["project_id"] == "alice"
        # A header naming another project does not change whose request it is.
        r = alice.post(LBS, json={"loadbalancer": {"name": "a2", "vip_subnet_id": subnet_id}},
                       headers={"X-Project-Id": "bob", "X-Roles": "admin"})
        assert r.status_code == 201, r.text
        assert r.json()["loadbalancer"]["project_id"] == "alice"
        lb2 = r.json()["loadbalancer"]

        assert alice.get(f"{LBS}/{lb['id']}").status_code == 200
        assert {x["id"] for x in alice.get(LBS).json()["loadbalancers"]} == {lb["id"], lb2["id"]}
        # Octavia loads the object, then checks the policy with its project: 403, not 404.
        assert bob.get(f"{LBS}/{lb['id']}").status_code == 403
        assert bob.delete(f"{LBS}/{lb['id']}").status_code == 403
        assert bob.get(LBS).json()["loadbalancers"] == []
        for spoof in ({"X-Project-Id": "alice"}, {"X-Tenant-Id": "alice"},
                      {"X_Project_Id": "alice"}, {"X-Roles": "admin"}):
            assert bob.get(LBS, headers=spoof).json()["loadbalancers"] == [], spoof
        r = bob.post(LBS, json={"loadbalancer": {"vip_subnet_id": subnet_id,
                                                 "project_id": "alice"}})
        assert r.status_code == 403
        # Admin-only calls are refused to a member, allowed to the admin role.
        assert alice.get("/v2/lbaas/agents").status_code == 403
        assert alice.post("/v2/networks", json={"network": {"name": "x",
                                                            "shared": True}}).status_code == 403
        assert admin.get("/v2/lbaas/agents").status_code == 200

        every = {x["id"] for x in admin.get(LBS).json()["loadbalancers"]}
        assert {lb["id"], lb2["id"]} <= every
        assert admin.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]["project_id"] == "alice"
        r = admin.post(LBS, json={"loadbalancer": {"vip_subnet_id": subnet_id,
                                                   "project_id": "bob"}})
        assert r.status_code == 201, r.text
        assert [x["id"] for x in bob.get(LBS).json()["loadbalancers"]] == \
            [r.json()["loadbalancer"]["id"]]


def test_tokens_are_never_logged_or_returned(keystoned: Keystoned, subnet_id: str) -> None:
    with keystoned.client(ALICE) as alice, keystoned.client(INVALID) as stranger:
        bodies = [alice.get(LBS).text, alice.get("/v2/lbaas/quotas/alice").text,
                  stranger.get(LBS).text, alice.get(f"{LBS}/nonexistent").text]
        for resp in (alice.get(LBS), stranger.get(LBS)):
            bodies.append(" ".join(f"{k}: {v}" for k, v in resp.headers.items()))
    log = keystoned.proc.output()
    for secret in (ALICE, BOB, ADMIN, INVALID, keystoned.stub.service_token,
                   keystoned.stub.service_password):
        assert secret not in log
        assert not [b for b in bodies if secret in b]


def test_metrics_need_an_admin_token(keystoned: Keystoned) -> None:
    with keystoned.client() as anonymous, keystoned.client(ALICE) as alice, \
            keystoned.client(ADMIN) as admin:
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
    with keystoned.client() as anonymous, keystoned.client(ALICE) as alice:
        refused = anonymous.get(LBS, headers={"X-Project-Id": "spoofed-project"})
        assert refused.status_code == 401
        assert refused.headers["x-openstack-request-id"].startswith("req-")
        ok = alice.get(LBS, headers={"X-Project-Id": "bob"})
        assert ok.status_code == 200
    ids = [r.headers["x-openstack-request-id"] for r in (refused, ok)]
    wait_for(lambda: all(i in keystoned.proc.output() for i in ids), 10, "the access log lines")
    lines = {line for line in keystoned.proc.output().splitlines() if "action=http" in line}
    [refused_line] = [x for x in lines if refused.headers["x-openstack-request-id"] in x]
    [ok_line] = [x for x in lines if ok.headers["x-openstack-request-id"] in x]
    assert "status=401" in refused_line and "project=None" in refused_line
    assert "status=200" in ok_line and "project=alice" in ok_line
    assert "spoofed-project" not in keystoned.proc.output()
