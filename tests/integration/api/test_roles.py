"""Octavia's roles: a role x operation matrix on the real API (`auth_strategy = keystone`) with a
real Keystone (tests/openstack/keystone.py), on each database.

Users of project A hold one role each: Octavia's own (`load-balancer_observer`,
`load-balancer_global_observer`, `load-balancer_member`, `load-balancer_admin`), Keystone's
defaults (`reader`, `member` — which implies reader —, `admin`), or a role no rule names
(`nolb`); `b-member` is a member of project B. Every cell is the status the API answers, and the
whole matrix is compared at once, so a failure shows every cell that differs. What it proves:
read-only roles read and do not write; another project's objects, quotas and secrets answer
403 (Octavia loads the object, then checks the policy with its project) or are not listed; the
admin extension is admin-only; a user with no load-balancer role gets 403, lists included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigip_lbaas.core.certs import generate_storage_key
from bigip_lbaas.db.session import Database
from tests.databases import KINDS, fresh_database
from tests.integration.api.keystone_api import KeystoneApi, keystone_api
from tests.integration.api.server import settle
from tests.openstack.keystone import Keystone, User

LBS = "/v2/lbaas/loadbalancers"
SECRETS = "/key-manager/v1/secrets"
ROLES = {"observer": "load-balancer_observer", "global": "load-balancer_global_observer",
         "lb-member": "load-balancer_member", "lb-admin": "load-balancer_admin",
         "reader": "reader", "member": "member", "admin": "admin", "nolb": "nolb-role"}
USERS = (*ROLES, "b-member")
WRITERS = {"lb-member", "lb-admin", "member", "admin"}
ADMINS = {"lb-admin", "admin"}
GLOBAL = {"global", "lb-admin", "admin"}
A_READERS = set(ROLES) - {"nolb"}


@dataclass
class Roles:
    api: KeystoneApi
    db: Database
    users: dict[str, User]
    project_a: str
    project_b: str
    subnet: str

    def client(self, who: str) -> httpx.Client:
        return self.api.client(self.users[who])


@pytest.fixture(scope="module")
def people(keystone: Keystone) -> dict[str, User]:
    a, b = keystone.project("roles-a"), keystone.project("roles-b")
    users = {who: keystone.user(f"roles-{who}", a, role) for who, role in ROLES.items()}
    users["b-member"] = keystone.user("roles-b-member", b, "member")
    return users


@pytest.fixture(scope="module", params=KINDS)
def roles(request: pytest.FixtureRequest, keystone: Keystone, people: dict[str, User],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roles]:
    work: Path = tmp_path_factory.mktemp("roles")
    key = work / "storage.key"
    key.write_text(generate_storage_key() + "\n")
    with fresh_database(str(request.param), work) as url, \
            keystone_api(keystone, url, work,
                         f"[certificates]\nstorage_key_file = {key}\n") as api:
        db = Database(url)
        try:
            with api.client(people["admin"]) as admin:
                net = admin.post("/v2/networks", json={"network": {"name": "pub",
                                                                   "shared": True}})
                assert net.status_code == 201, net.text
                sub = admin.post("/v2/subnets", json={"subnet": {
                    "network_id": net.json()["network"]["id"], "cidr": "10.91.0.0/24"}})
                assert sub.status_code == 201, sub.text
            yield Roles(api, db, people, people["member"].project.id,
                        people["b-member"].project.id, str(sub.json()["subnet"]["id"]))
        finally:
            db.dispose()


def _lb(r: Roles, who: str) -> dict[str, Any]:
    with r.client(who) as c:
        made = c.post(LBS, json={"loadbalancer": {"vip_subnet_id": r.subnet, "name": who}})
        assert made.status_code == 201, made.text
    settle(r.db)
    return dict(made.json()["loadbalancer"])


def test_role_operation_matrix(roles: Roles) -> None:
    r = roles
    lb_a, lb_b = _lb(r, "member"), _lb(r, "b-member")
    with r.client("member") as c:
        li = c.post("/v2/lbaas/listeners", json={"listener": {
            "loadbalancer_id": lb_a["id"], "protocol": "TCP", "protocol_port": 80}})
        assert li.status_code == 201, li.text
        secret = c.post(SECRETS, json={"name": "a-cert", "payload": "not-a-real-key",
                                       "payload_content_type": "text/plain"})
        assert secret.status_code == 201, secret.text
    settle(r.db)
    listener = li.json()["listener"]["id"]
    secret_id = secret.json()["secret_ref"].rsplit("/", 1)[1]

    got: dict[tuple[str, str], Any] = {}
    want: dict[tuple[str, str], Any] = {}
    for who in USERS:
        in_a = who != "b-member"
        reads_a = who in A_READERS
        with r.client(who) as c:
            def cell(op: str, answer: httpx.Response, expected: Any, who: str = who,
                     ) -> httpx.Response:
                got[(op, who)] = answer.status_code
                want[(op, who)] = expected
                return answer

            listed = cell("list LBs", c.get(LBS), 200 if who != "nolb" else 403)
            if listed.status_code == 200:
                ids = {x["id"] for x in listed.json()["loadbalancers"]}
                got[("list sees A", who)] = lb_a["id"] in ids
                got[("list sees B", who)] = lb_b["id"] in ids
                want[("list sees A", who)] = in_a
                want[("list sees B", who)] = who in GLOBAL or not in_a
            cell("list LBs of B", c.get(LBS, params={"project_id": r.project_b}),
                 200 if who in GLOBAL or who == "b-member" else 403)
            cell("show A's LB", c.get(f"{LBS}/{lb_a['id']}"), 200 if reads_a else 403)
            cell("show A's listener", c.get(f"/v2/lbaas/listeners/{listener}"),
                 200 if reads_a else 403)
            cell("A's LB stats", c.get(f"{LBS}/{lb_a['id']}/stats"), 200 if reads_a else 403)
            cell("list A's pools", c.get("/v2/lbaas/pools"), 403 if who == "nolb" else 200)
            cell("rename A's LB", c.put(f"{LBS}/{lb_a['id']}",
                                        json={"loadbalancer": {"name": f"by-{who}"}}),
                 200 if who in WRITERS else 403)
            settle(r.db)
            cell("listener on A's LB", c.post("/v2/lbaas/listeners", json={"listener": {
                "loadbalancer_id": lb_a["id"], "protocol": "TCP",
                "protocol_port": 1000 + USERS.index(who)}}),
                 201 if who in WRITERS else 403)
            settle(r.db)
            cell("create LB in own project", c.post(LBS, json={"loadbalancer": {
                "vip_subnet_id": r.subnet}}),
                 201 if who in WRITERS or who == "b-member" else 403)
            cell("create LB naming A", c.post(LBS, json={"loadbalancer": {
                "vip_subnet_id": r.subnet, "project_id": r.project_a}}),
                 201 if who in WRITERS and (in_a or who in ADMINS) else 403)
            settle(r.db)
            cell("show A's quota", c.get(f"/v2/lbaas/quotas/{r.project_a}"),
                 200 if reads_a else 403)
            cell("set A's quota", c.put(f"/v2/lbaas/quotas/{r.project_a}",
                                        json={"quota": {"pool": 50}}),
                 202 if who in ADMINS else 403)
            cell("list agents", c.get("/v2/lbaas/agents"), 200 if who in ADMINS else 403)
            cell("metrics", c.get("/metrics"), 200 if who in ADMINS else 403)
            cell("failover A's LB", c.put(f"{LBS}/{lb_a['id']}/failover"),
                 202 if who in ADMINS else 403)
            settle(r.db)
            cell("list flavors", c.get("/v2/lbaas/flavors"), 403 if who == "nolb" else 200)
            cell("list flavor profiles", c.get("/v2/lbaas/flavorprofiles"),
                 200 if who in ADMINS else 403)
            # The built-in secrets store: a project's own, readable by its readers, written by
            # its members; another project's answers 404 (Barbican's answer, nothing leaks).
            listed_secrets = cell("list secrets", c.get(SECRETS),
                                  403 if who == "nolb" else 200)
            if listed_secrets.status_code == 200:
                got[("secrets list has A's", who)] = any(
                    s["secret_ref"].endswith(secret_id) for s in listed_secrets.json()["secrets"])
                want[("secrets list has A's", who)] = in_a
            cell("A's secret metadata", c.get(f"{SECRETS}/{secret_id}"),
                 200 if reads_a else 403 if who == "nolb" else 404)
            cell("A's secret payload", c.get(f"{SECRETS}/{secret_id}/payload",
                                             headers={"Accept": "text/plain"}),
                 200 if who in WRITERS else 404 if who == "b-member" else 403)
            cell("store a secret", c.post(SECRETS, json={"name": "x", "payload": "y",
                                                        "payload_content_type": "text/plain"}),
                 201 if who in WRITERS or who == "b-member" else 403)
            if who not in WRITERS:
                cell("delete A's LB", c.delete(f"{LBS}/{lb_a['id']}"), 403)
    assert {k: got.get(k) for k in want} == want
    with r.client("member") as c:
        assert c.delete(f"{LBS}/{lb_a['id']}?cascade=true").status_code == 204
