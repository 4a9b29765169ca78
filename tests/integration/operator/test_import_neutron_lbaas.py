"""`bigip-lbaas import neutron-lbaas` as an operator runs it, against neutron-lbaas's own schema.

The source schema is neutron-lbaas's own: its tables are created from neutron-lbaas 14.0.1's (the
last release, from PyPI) and Neutron's own SQLAlchemy models, in a cached virtualenv of their own
(tests/openstack/venvs.py) — the metadata neutron-lbaas hands to Neutron's migration tests, which
check it against its migrations. Replaying the migrations instead would need Neutron's whole
migration chain for the same tables; two one-line shims let the 2019 code import on SQLAlchemy 2
(details in `neutron_lbaas_source.py`). The database is filled with every kind of object: every
listener protocol, pool algorithm, session persistence type, monitor type, L7 policy action, L7
rule type and compare type, SNI entries, admin-down objects, an ERROR load balancer, a PENDING
one, two that cannot be carried over, objects under no load balancer, agent bindings to agents
of two environments, a VIP address known only from the VIP port's IP allocation. Source and
target are databases of the same kind, on SQLite, PostgreSQL and MariaDB.

The real CLI imports it (a subprocess), and the real API (in-process app on loopback) is asked
for every object, field by field. Then: a second import changes nothing and says so; a dry run
writes nothing; the pending load balancer is refused until it settles, then imported.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bigip_lbaas.db import desired
from bigip_lbaas.db import models as m
from bigip_lbaas.engine.render import render
from tests.cluster import PY
from tests.databases import KINDS, fresh_database
from tests.integration.api.server import Api, api_server
from tests.integration.operator.neutron_lbaas_source import NeutronDb, create_schema, new_id

PROVIDERS = ["LOADBALANCERV2:f5networks:f5lbaasdriver.v2.bigip.driver_v2.F5LBaaSV2Driver:default",
             "LOADBALANCERV2:dev1:f5lbaasdriver.v2.bigip.driver_v2.F5LBaaSV2Driver"]
LB_PATH = "/v2/lbaas/loadbalancers"


@dataclass
class World:
    src: NeutronDb
    src_url: str
    api: Api
    conf: Path
    p1: str
    p2: str
    ids: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    rows_after_dry_run: dict[str, int] = field(default_factory=dict)
    generations: dict[tuple[str, str], int] = field(default_factory=dict)

    def run(self, *extra: str, connection: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PY, "-m", "bigip_lbaas.cli", "import", "neutron-lbaas", "--config-file",
             str(self.conf), "--connection", connection or self.src_url, *extra],
            capture_output=True, text=True, timeout=300, check=False)


def fill(db: NeutronDb, p1: str, p2: str) -> dict[str, Any]:
    """Every kind of object; returns the rows by a name the tests use."""
    ids: dict[str, Any] = {}
    net1 = db.network(p1, "vip-net", shared=True, description="VIPs live here")
    sub1 = db.subnet(net1, "10.1.0.0/24", name="vip-sub", gateway="10.1.0.1",
                     pools=[("10.1.0.10", "10.1.0.200")], dns=["10.1.0.2", "10.1.0.3"],
                     routes=[("192.168.0.0/16", "10.1.0.254")], description="VIP subnet")
    net2 = db.network(p1, "members", external=True, mtu=9000)
    sub2 = db.subnet(net2, "10.2.0.0/24", name="member-sub", gateway="10.2.0.1",
                     pools=[("10.2.0.2", "10.2.0.254")])
    unused = db.network(p1, "unused")
    db.subnet(unused, "10.9.0.0/24", name="unused", gateway="10.9.0.1",
              pools=[("10.9.0.2", "10.9.0.9")])
    agent1 = db.agent("f5-agent-1", "Project")
    agent2 = db.agent("f5-agent-2", "dev1")
    ids.update(net1=net1, sub1=sub1, net2=net2, sub2=sub2, unused=unused)

    lb1 = db.loadbalancer(p1, sub1, "10.1.0.10", provider="f5networks", agent=agent1,
                          name="everything", description="every kind of object")
    hm_http = db.monitor(p1, "HTTP", method="GET", path="/health", codes="200-299",
                         retries_down=2, name="hm-http", delay=7, timeout=4, retries=5)
    hm_https = db.monitor(p1, "HTTPS", method="HEAD", codes="200,302", name="hm-https", up=False)
    hm_tcp = db.monitor(p1, "TCP", retries_down=None, name="hm-tcp")  # HTTP defaults stored
    hm_ping = db.monitor(p1, "PING", method=None, path=None, codes=None, name="hm-ping")
    pool_http = db.pool(lb1, "HTTP", "ROUND_ROBIN", name="web", monitor=hm_http,
                        persistence=("HTTP_COOKIE", None))
    pool_https = db.pool(lb1, "HTTPS", "LEAST_CONNECTIONS", name="secure", monitor=hm_https,
                         persistence=("SOURCE_IP", None))
    pool_tcp = db.pool(lb1, "TCP", "SOURCE_IP", name="ssh", monitor=hm_tcp, up=False,
                       persistence=("APP_COOKIE", "JSESSIONID"))
    pool_alt = db.pool(lb1, "HTTP", "ROUND_ROBIN", name="alt", monitor=hm_ping)
    # A pool from before pools had a load balancer column: reached through its listener.
    pool_legacy = db.pool(None, "HTTP", "LEAST_CONNECTIONS", name="legacy", project=p1)
    members = [db.member(pool_http, "10.2.0.11", 8080, subnet=sub2, name="web-1"),
               db.member(pool_http, "10.2.0.12", 8080, weight=None, up=False, oper="OFFLINE",
                         name="web-2"),
               db.member(pool_tcp, "10.2.0.13", 22, weight=5, subnet=sub2),
               db.member(pool_alt, "10.2.0.14", 80, status="ERROR", oper="ERROR"),
               db.member(pool_legacy, "10.2.0.15", 80, weight=0)]
    tls_ref = f"http://127.0.0.1:9311/v1/containers/{new_id()}"
    sni = [f"http://127.0.0.1:9311/v1/containers/{new_id()}" for _ in range(2)]
    l_http = db.listener(lb1, "HTTP", 80, pool=pool_http, name="http", limit=1000)
    l_https = db.listener(lb1, "HTTPS", 443, pool=pool_https, name="https")
    l_tcp = db.listener(lb1, "TCP", 22, pool=pool_tcp, name="ssh", up=False)
    l_tls = db.listener(lb1, "TERMINATED_HTTPS", 8443, pool=pool_legacy, name="tls", tls=tls_ref,
                        sni=sni)
    l_bare = db.listener(lb1, "HTTP", 8080, name="no-pool")
    p_reject = db.policy(l_http, "REJECT", 1, name="reject")
    p_pool = db.policy(l_http, "REDIRECT_TO_POOL", 2, pool=pool_alt, name="to-alt")
    p_url = db.policy(l_http, "REDIRECT_TO_URL", 3, url="https://example.com/moved", name="moved",
                      up=False)
    rules = [db.rule(p_reject, "HOST_NAME", "EQUAL_TO", "bad.example.com"),
             db.rule(p_reject, "PATH", "STARTS_WITH", "/admin", invert=True),
             db.rule(p_pool, "FILE_TYPE", "ENDS_WITH", "jpg"),
             db.rule(p_pool, "HEADER", "CONTAINS", "mobile", key="User-Agent"),
             db.rule(p_url, "COOKIE", "REGEX", "^beta.*", key="group", up=False)]
    ids.update(lb1=lb1, monitors=[hm_http, hm_https, hm_tcp, hm_ping],
               pools=[pool_http, pool_https, pool_tcp, pool_alt, pool_legacy], members=members,
               listeners=[l_http, l_https, l_tcp, l_tls, l_bare],
               policies=[p_reject, p_pool, p_url], rules=rules, sni=sni)

    # In ERROR, admin down, bound to an agent of another environment; its VIP address only on
    # the VIP port's IP allocation.
    lb2 = db.loadbalancer(p2, sub1, None, port_address="10.1.0.11", provider="dev1",
                          agent=agent2, name="broken", status="ERROR", oper="OFFLINE", up=False)
    pool2 = db.pool(lb2, "TCP", "ROUND_ROBIN", name="p2", status="ERROR")
    l2 = db.listener(lb2, "TCP", 9000, pool=pool2, name="l2", status="ERROR")
    ids.update(lb2=lb2, pool2=pool2, l2=l2)

    # Pending: refused until it settles.
    lb3 = db.loadbalancer(p1, sub1, "10.1.0.12", provider="f5networks", agent=agent1,
                          name="busy")
    l3 = db.listener(lb3, "HTTP", 80, name="l3", status="PENDING_UPDATE")
    ids.update(lb3=lb3, l3=l3)

    # Cannot be carried over: a TERMINATED_HTTPS listener without a certificate, and a
    # provider that is not configured here.
    lb4 = db.loadbalancer(p1, sub1, "10.1.0.13", provider="f5networks", agent=agent1,
                          name="no-cert")
    l4 = db.listener(lb4, "TERMINATED_HTTPS", 443, name="l4")
    lb5 = db.loadbalancer(p1, sub1, "10.1.0.14", provider="haproxy", agent=None, name="other")
    ids.update(lb4=lb4, l4=l4, lb5=lb5)

    # Under no load balancer.
    ids["orphan_monitor"] = db.monitor(p1, "TCP", name="orphan")
    ids["orphan_pool"] = db.pool(None, "TCP", "ROUND_ROBIN", name="lonely", project=p1)
    db.flush()
    return ids


@pytest.fixture(scope="module", params=KINDS)
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    kind = str(request.param)
    directory = tmp_path_factory.mktemp("import")
    with fresh_database(kind, directory) as src_url, \
            api_server(kind, directory, service_provider=PROVIDERS) as api:
        create_schema(src_url)
        src = NeutronDb(src_url)
        conf = directory / "import.conf"
        conf.write_text(f"[database]\nconnection = {api.db.url}\n[service_providers]\n"
                        + "".join(f"service_provider = {p}\n" for p in PROVIDERS))
        p1, p2 = uuid.uuid4().hex, uuid.uuid4().hex
        w = World(src, src_url, api, conf, p1, p2)
        w.ids = fill(src, p1, p2)
        try:
            w.runs["dry"] = w.run("--dry-run")
            w.rows_after_dry_run = _count(api)
            w.runs["first"] = w.run()
            w.generations = _generations(api)
            w.runs["second"] = w.run()
            yield w
        finally:
            src.dispose()


def _count(api: Api) -> dict[str, int]:
    with api.db.read() as s:
        return {t.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(t)) or 0
                for t in (m.LoadBalancer, m.Listener, m.Pool, m.Member, m.HealthMonitor,
                          m.L7Policy, m.L7Rule, m.Network, m.Subnet, m.Partition)}


def _generations(api: Api) -> dict[tuple[str, str], int]:
    with api.db.read() as s:
        return {(r.environment, r.project_id): r.desired_generation
                for r in s.execute(sa.select(m.Partition)).scalars()}


def _get(api: Api, path: str, key: str) -> dict[str, Any]:
    r = api.get(path)
    assert r.status_code == 200, (path, r.text)
    return dict(r.json()[key])


# --- the tests ------------------------------------------------------------------------------


def test_dry_run_lists_what_it_would_do_and_writes_nothing(world: World) -> None:
    dry = world.runs["dry"]
    assert dry.returncode == 1, dry.stderr  # the pending and refused ones are not carried
    assert f"load balancer {world.ids['lb1']['id']} (everything), project {world.p1}: would " \
           f"import into partition Project_{world.p1}" in dry.stdout
    assert "dry run: nothing was written" in dry.stdout
    assert "2 would be imported" in dry.stdout
    assert world.rows_after_dry_run == {t: 0 for t in world.rows_after_dry_run}


def test_first_import_reports_every_load_balancer(world: World) -> None:
    first, ids = world.runs["first"], world.ids
    out = first.stdout
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    assert (f"load balancer {ids['lb1']['id']} (everything), project {world.p1}: imported into "
            f"partition Project_{world.p1} (5 listeners, 5 pools, 5 members, 4 health monitors, "
            "3 L7 policies, 5 L7 rules)") in out
    assert (f"load balancer {ids['lb2']['id']} (broken), project {world.p2}: imported into "
            f"partition dev1_{world.p2}") in out
    assert (f"load balancer {ids['lb3']['id']} (busy), project {world.p1}: pending: listener "
            f"{ids['l3']['id']}: is PENDING_UPDATE: import it once it has settled") in out
    assert (f"load balancer {ids['lb4']['id']} (no-cert), project {world.p1}: left out: "
            f"listener {ids['l4']['id']}: ") in out
    assert "An SNI or default certificate container reference must be provided" in out
    assert (f"load balancer {ids['lb5']['id']} (other), project {world.p1}: left out: its "
            "provider 'haproxy' is not configured here") in out
    assert (f"health monitor {ids['orphan_monitor']['id']}: left out: no pool of a load "
            "balancer uses it") in out
    assert f"pool {ids['orphan_pool']['id']}: left out: it belongs to no load balancer" in out
    assert ("load balancers: 2 imported, 0 already imported and unchanged, 2 left out, "
            "1 pending") in out
    assert "networks registered: 2, subnets registered: 2" in out
    # Agents' reported configurations hold device passwords: never printed.
    assert "never-printed" not in out + first.stderr


def test_objects_the_agents_will_not_manage_are_named(world: World) -> None:
    """Each imported object the engine cannot express (rendered as an agent renders it) is
    named after the import, with the engine's reason; nothing else is."""
    with world.api.db.read() as s:
        partitions = list(s.scalars(sa.select(m.Partition.id)))
    failures = [f for snap in desired.load_many(world.api.db, partitions).values()
                for f in render(snap.state, snap.state.key.environment).failures]
    notes = [line for line in world.runs["first"].stdout.splitlines()
             if line.startswith("note: ") and "not manage it" in line]
    assert len(notes) == len(failures)
    for f in failures:
        assert any(f.object_id in n and n.endswith(f.reason) for n in notes), (f, notes)
    assert not [line for line in world.runs["second"].stdout.splitlines()
                if line.startswith("note: ")]
    # neutron-lbaas's certificate references are Barbican containers: named, in the dry run too.
    tls = next(li for li in world.ids["listeners"] if li["protocol"] == "TERMINATED_HTTPS")
    for run in ("dry", "first"):
        assert (f"note: listener {tls['id']}: its certificates are Barbican certificate "
                "containers") in world.runs[run].stdout


def test_every_field_through_the_api(world: World) -> None:
    api, ids = world.api, world.ids
    lb = _get(api, f"{LB_PATH}/{ids['lb1']['id']}", "loadbalancer")
    src = ids["lb1"]
    assert {k: lb[k] for k in ("id", "project_id", "name", "description", "vip_address",
                               "vip_subnet_id", "vip_port_id", "vip_network_id", "provider",
                               "admin_state_up", "provisioning_status", "operating_status",
                               "flavor_id")} == {
        "id": src["id"], "project_id": world.p1, "name": "everything",
        "description": "every kind of object", "vip_address": "10.1.0.10",
        "vip_subnet_id": ids["sub1"]["id"], "vip_port_id": src["vip_port_id"],
        "vip_network_id": ids["net1"]["id"], "provider": "f5networks", "admin_state_up": True,
        "provisioning_status": "ACTIVE", "operating_status": "ONLINE", "flavor_id": None}
    assert sorted(x["id"] for x in lb["listeners"]) == sorted(x["id"] for x in ids["listeners"])
    assert sorted(x["id"] for x in lb["pools"]) == sorted(x["id"] for x in ids["pools"])

    for li in ids["listeners"]:
        got = _get(api, f"/v2/lbaas/listeners/{li['id']}", "listener")
        sni = ids["sni"] if li["protocol"] == "TERMINATED_HTTPS" else []
        assert {k: got[k] for k in (
            "id", "project_id", "name", "description", "protocol", "protocol_port",
            "connection_limit", "default_pool_id", "default_tls_container_ref",
            "sni_container_refs", "admin_state_up", "provisioning_status", "operating_status",
            "loadbalancers", "timeout_client_data", "insert_headers")} == {
            "id": li["id"], "project_id": world.p1, "name": li["name"],
            "description": li["description"], "protocol": li["protocol"],
            "protocol_port": li["protocol_port"],
            "connection_limit": -1 if li["connection_limit"] is None else li["connection_limit"],
            "default_pool_id": li["default_pool_id"],
            "default_tls_container_ref": li["default_tls_container_id"],
            "sni_container_refs": sni, "admin_state_up": li["admin_state_up"],
            "provisioning_status": "ACTIVE", "operating_status": li["operating_status"],
            "loadbalancers": [{"id": src["id"]}], "timeout_client_data": 50000,
            "insert_headers": {}}, li["name"]

    persistence = {r["pool_id"]: r for r in _source_rows(world, "lbaas_sessionpersistences")}
    for pool in ids["pools"]:
        got = _get(api, f"/v2/lbaas/pools/{pool['id']}", "pool")
        sp = persistence.get(pool["id"])
        want_sp = None if sp is None else {
            "type": sp["type"], **({"cookie_name": sp["cookie_name"]} if sp["cookie_name"]
                                   else {})}
        assert {k: got[k] for k in ("id", "project_id", "name", "description", "protocol",
                                    "lb_algorithm", "admin_state_up", "provisioning_status",
                                    "operating_status", "loadbalancers", "healthmonitor_id")} == {
            "id": pool["id"], "project_id": world.p1, "name": pool["name"],
            "description": pool["description"], "protocol": pool["protocol"],
            "lb_algorithm": pool["lb_algorithm"], "admin_state_up": pool["admin_state_up"],
            "provisioning_status": "ACTIVE", "operating_status": pool["operating_status"],
            "loadbalancers": [{"id": src["id"]}], "healthmonitor_id": pool["healthmonitor_id"]}
        got_sp = {k: v for k, v in (got["session_persistence"] or {}).items() if v is not None}
        assert (got_sp or None) == want_sp, pool["name"]
        members = {x["pool_id"]: [] for x in ids["members"]}
        for x in ids["members"]:
            members[x["pool_id"]].append(x)
        for member in members.get(pool["id"], []):
            gm = _get(api, f"/v2/lbaas/pools/{pool['id']}/members/{member['id']}", "member")
            assert {k: gm[k] for k in ("id", "project_id", "name", "address", "protocol_port",
                                       "weight", "subnet_id", "admin_state_up", "backup",
                                       "provisioning_status", "operating_status")} == {
                "id": member["id"], "project_id": world.p1, "name": member["name"],
                "address": member["address"], "protocol_port": member["protocol_port"],
                "weight": 1 if member["weight"] is None else member["weight"],
                "subnet_id": member["subnet_id"], "admin_state_up": member["admin_state_up"],
                "backup": False, "provisioning_status": member["provisioning_status"],
                "operating_status": member["operating_status"]}

    pool_of = {p["healthmonitor_id"]: p["id"] for p in ids["pools"] if p["healthmonitor_id"]}
    for hm in ids["monitors"]:
        got = _get(api, f"/v2/lbaas/healthmonitors/{hm['id']}", "healthmonitor")
        http = hm["type"] in ("HTTP", "HTTPS")
        assert {k: got[k] for k in ("id", "project_id", "name", "type", "delay", "timeout",
                                    "max_retries", "max_retries_down", "http_method",
                                    "url_path", "expected_codes", "admin_state_up",
                                    "provisioning_status", "pools")} == {
            "id": hm["id"], "project_id": world.p1, "name": hm["name"], "type": hm["type"],
            "delay": hm["delay"], "timeout": hm["timeout"], "max_retries": hm["max_retries"],
            "max_retries_down": 3 if hm["max_retries_down"] is None else hm["max_retries_down"],
            "http_method": hm["http_method"] if http else None,
            "url_path": hm["url_path"] if http else None,
            "expected_codes": hm["expected_codes"] if http else None,
            "admin_state_up": hm["admin_state_up"], "provisioning_status": "ACTIVE",
            "pools": [{"id": pool_of[hm["id"]]}]}, hm["name"]

    for policy in ids["policies"]:
        got = _get(api, f"/v2/lbaas/l7policies/{policy['id']}", "l7policy")
        assert {k: got[k] for k in ("id", "project_id", "name", "description", "listener_id",
                                    "action", "position", "redirect_pool_id", "redirect_url",
                                    "redirect_http_code", "admin_state_up",
                                    "provisioning_status")} == {
            "id": policy["id"], "project_id": world.p1, "name": policy["name"],
            "description": policy["description"], "listener_id": policy["listener_id"],
            "action": policy["action"], "position": policy["position"],
            "redirect_pool_id": policy["redirect_pool_id"],
            "redirect_url": policy["redirect_url"],
            "redirect_http_code": 302 if policy["action"] == "REDIRECT_TO_URL" else None,
            "admin_state_up": policy["admin_state_up"], "provisioning_status": "ACTIVE"}
        assert sorted(r["id"] for r in got["rules"]) == sorted(
            r["id"] for r in ids["rules"] if r["l7policy_id"] == policy["id"])
    for rule in ids["rules"]:
        got = _get(api, f"/v2/lbaas/l7policies/{rule['l7policy_id']}/rules/{rule['id']}", "rule")
        assert {k: got[k] for k in ("id", "project_id", "type", "compare_type", "key", "value",
                                    "invert", "admin_state_up", "provisioning_status")} == {
            "id": rule["id"], "project_id": world.p1, "type": rule["type"],
            "compare_type": rule["compare_type"], "key": rule["key"], "value": rule["value"],
            "invert": rule["invert"], "admin_state_up": rule["admin_state_up"],
            "provisioning_status": "ACTIVE"}

    # The ERROR one, admin down, in the environment of the agent it was bound to, its VIP
    # address from the port's IP allocation.
    lb2 = _get(api, f"{LB_PATH}/{ids['lb2']['id']}", "loadbalancer")
    assert (lb2["provisioning_status"], lb2["operating_status"], lb2["admin_state_up"],
            lb2["vip_address"], lb2["provider"], lb2["project_id"]) == (
        "ERROR", "OFFLINE", False, "10.1.0.11", "dev1", world.p2)
    l2 = _get(api, f"/v2/lbaas/listeners/{ids['l2']['id']}", "listener")
    assert l2["provisioning_status"] == "ERROR"
    assert _generations(api) == {("Project", world.p1): 1, ("dev1", world.p2): 1}

    # Left out whole: nothing of them is here.
    for name in ("lb3", "lb4", "lb5"):
        assert api.get(f"{LB_PATH}/{ids[name]['id']}").status_code == 404
    for path in (f"/v2/lbaas/listeners/{ids['l3']['id']}",
                 f"/v2/lbaas/listeners/{ids['l4']['id']}",
                 f"/v2/lbaas/healthmonitors/{ids['orphan_monitor']['id']}",
                 f"/v2/lbaas/pools/{ids['orphan_pool']['id']}"):
        assert api.get(path).status_code == 404, path


def test_networks_and_subnets_registered(world: World) -> None:
    api, ids = world.api, world.ids
    net1 = _get(api, f"/v2.0/networks/{ids['net1']['id']}", "network")
    assert (net1["name"], net1["project_id"], net1["shared"], net1["router:external"],
            net1["description"], net1["mtu"]) == ("vip-net", world.p1, True, False,
                                                  "VIPs live here", 1450)
    net2 = _get(api, f"/v2.0/networks/{ids['net2']['id']}", "network")
    assert (net2["shared"], net2["router:external"], net2["mtu"]) == (False, True, 9000)
    sub1 = _get(api, f"/v2.0/subnets/{ids['sub1']['id']}", "subnet")
    assert {k: sub1[k] for k in ("name", "network_id", "cidr", "ip_version", "gateway_ip",
                                 "allocation_pools", "dns_nameservers", "host_routes",
                                 "description", "project_id")} == {
        "name": "vip-sub", "network_id": ids["net1"]["id"], "cidr": "10.1.0.0/24",
        "ip_version": 4, "gateway_ip": "10.1.0.1",
        "allocation_pools": [{"start": "10.1.0.10", "end": "10.1.0.200"}],
        "dns_nameservers": ["10.1.0.2", "10.1.0.3"],
        "host_routes": [{"destination": "192.168.0.0/16", "nexthop": "10.1.0.254"}],
        "description": "VIP subnet", "project_id": world.p1}
    assert api.get(f"/v2.0/subnets/{ids['sub2']['id']}").status_code == 200
    # Used by no VIP and no member: not registered.
    assert api.get(f"/v2.0/networks/{ids['unused']['id']}").status_code == 404


def test_second_import_changes_nothing_and_says_so(world: World) -> None:
    second = world.runs["second"]
    assert second.returncode == 1, second.stderr  # the same three are still left out
    assert " imported into " not in second.stdout
    assert ("load balancers: 0 imported, 2 already imported and unchanged, 2 left out, "
            "1 pending") in second.stdout
    assert "networks registered: 0, subnets registered: 0" in second.stdout
    assert _generations(world.api) == world.generations


def test_pending_is_imported_once_it_settles(world: World) -> None:
    world.src.update("lbaas_listeners", world.ids["l3"]["id"], provisioning_status="ACTIVE")
    third = world.run()
    assert f"load balancer {world.ids['lb3']['id']} (busy)" in third.stdout
    assert "1 imported, 2 already imported and unchanged, 2 left out, 0 pending" in third.stdout
    got = _get(world.api, f"/v2/lbaas/listeners/{world.ids['l3']['id']}", "listener")
    assert got["provisioning_status"] == "ACTIVE"
    # Everything else now carried: a fourth run has nothing to import.
    world.src.update("lbaas_listeners", world.ids["l4"]["id"],
                     default_tls_container_id="http://127.0.0.1:9311/v1/containers/x")
    _drop_orphans_and_foreign(world)
    fourth = world.run("--batch-size", "10")  # both in one transaction
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    assert "2 imported, 3 already imported and unchanged, 0 left out, 0 pending" in fourth.stdout
    fifth = world.run()
    assert fifth.returncode == 0, fifth.stdout
    assert "nothing to do: all 5 load balancers are already imported and unchanged" in \
        fifth.stdout


def test_differing_copy_is_left_as_it_is(world: World) -> None:
    """A load balancer already here under the same id but different (changed through this
    product's API since, say) is never overwritten: it is named with its differences."""
    pool = world.ids["pools"][0]
    r = world.api.put(f"/v2/lbaas/pools/{pool['id']}", {"pool": {"name": "renamed"}})
    assert r.status_code == 200, r.text
    world.api.settle()
    again = world.run()
    assert again.returncode == 1
    assert (f"load balancer {world.ids['lb1']['id']} (everything), project {world.p1}: left "
            f"out: already in the shared database and differs (pool {pool['id']} name: "
            "'renamed' here, 'web' in neutron-lbaas)") in again.stdout
    assert _get(world.api, f"/v2/lbaas/pools/{pool['id']}", "pool")["name"] == "renamed"


def _source_rows(world: World, table: str) -> list[dict[str, Any]]:
    t = world.src.meta.tables[table]
    with world.src.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(t)).mappings()]


def _drop_orphans_and_foreign(world: World) -> None:
    meta = world.src.meta.tables
    with world.src.engine.begin() as conn:
        conn.execute(meta["providerresourceassociations"].update()
                     .where(meta["providerresourceassociations"].c.resource_id
                            == world.ids["lb5"]["id"]).values(provider_name="f5networks"))
        conn.execute(meta["lbaas_pools"].delete()
                     .where(meta["lbaas_pools"].c.id == world.ids["orphan_pool"]["id"]))
        conn.execute(meta["lbaas_healthmonitors"].delete()
                     .where(meta["lbaas_healthmonitors"].c.id
                            == world.ids["orphan_monitor"]["id"]))


def test_bad_source_is_one_line_without_the_password(world: World) -> None:
    done = world.run(connection="postgresql://lbaas:S3cret@127.0.0.1:1/neutron")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "postgresql://127.0.0.1:1" in lines[0]
    assert "S3cret" not in done.stdout + done.stderr
    # A database that is not neutron-lbaas's names what is missing.
    empty = world.run(connection=str(world.api.db.url))
    assert empty.returncode == 2
    assert "is not a neutron-lbaas v2 database: table lbaas_healthmonitors is missing" in \
        empty.stderr


def test_taken_vip_and_conflicting_row_leave_out_only_their_load_balancer(world: World) -> None:
    """A VIP address another load balancer holds here, and an id some row here already has
    (found only by the database, mid-batch): each leaves out its own load balancer, named,
    while the rest of the batch is imported."""
    api, src, ids = world.api, world.src, world.ids
    held = api.post(LB_PATH, {"loadbalancer": {"vip_subnet_id": ids["sub1"]["id"],
                                               "vip_address": "10.1.0.50", "name": "held"}})
    assert held.status_code == 201, held.text
    taken = src.loadbalancer(world.p1, ids["sub1"], "10.1.0.50", provider="f5networks",
                             agent=None, name="taken")
    clash = src.loadbalancer(world.p1, ids["sub1"], "10.1.0.51", provider="f5networks",
                             agent=None, name="clash")
    clash_pool = src.pool(clash, "HTTP", "ROUND_ROBIN", name="clash-pool")
    fine = src.loadbalancer(world.p1, ids["sub1"], "10.1.0.52", provider="f5networks",
                            agent=None, name="fine")
    src.flush()
    # A row here already has the clashing pool's id (written straight into the shared
    # database: nothing in the API lets a client choose an id).
    with api.db.transaction() as s:
        s.add(m.Pool(id=clash_pool["id"], project_id=world.p1, provisioning_status="ACTIVE",
                     operating_status="ONLINE", load_balancer_id=ids["lb1"]["id"],
                     protocol="TCP", lb_algorithm="ROUND_ROBIN"))
    done = world.run("--batch-size", "10")
    assert done.returncode == 1
    assert (f"load balancer {taken['id']} (taken), project {world.p1}: left out: its VIP address "
            f"10.1.0.50 on subnet {ids['sub1']['id']} is taken by load balancer "
            f"{held.json()['loadbalancer']['id']}") in done.stdout
    assert (f"load balancer {clash['id']} (clash), project {world.p1}: left out: it conflicts "
            "with a row already in the shared database") in done.stdout
    assert f"load balancer {fine['id']} (fine), project {world.p1}: imported" in done.stdout
    assert api.get(f"{LB_PATH}/{clash['id']}").status_code == 404
    assert api.get(f"{LB_PATH}/{fine['id']}").status_code == 200
