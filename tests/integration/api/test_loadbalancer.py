"""Load balancers over HTTP: defaults, 409 while pending, cascade delete, status/stats/failover."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bigip_lbaas.db import models as m
from tests.integration.api.server import Api

LBS = "/v2/lbaas/loadbalancers"


def test_create_defaults_and_show(api: Api, subnet: dict[str, Any]) -> None:
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"]}})
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    assert lb["provisioning_status"] == "PENDING_CREATE"
    assert lb["operating_status"] == "OFFLINE"
    assert lb["admin_state_up"] is True
    assert lb["name"] == "" and lb["description"] == ""
    assert lb["listeners"] == [] and lb["pools"] == []
    assert lb["provider"] == "f5" and lb["project_id"] == "admin"
    assert lb["vip_network_id"] == subnet["network_id"]
    assert lb["vip_address"].startswith("10.0.")
    assert "T" in lb["created_at"] and "+" not in lb["created_at"]
    shown = api.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]
    assert shown["id"] == lb["id"]
    # same tree under /v2.0
    assert api.get(f"/v2.0/lbaas/loadbalancers/{lb['id']}").status_code == 200


def test_partition_generation_bumped(api: Api, subnet: dict[str, Any]) -> None:
    lb = api.lb(subnet["id"], project_id="gen-project")
    with api.db.read() as s:
        part = s.scalars(sa.select(m.Partition).where(m.Partition.project_id == "gen-project")).one()
        assert part.environment == "Project"
        before, pid = part.desired_generation, part.id
    assert api.put(f"{LBS}/{lb['id']}", {"loadbalancer": {"name": "x"}}).status_code == 200
    with api.db.read() as s:
        after = s.scalar(sa.select(m.Partition.desired_generation).where(m.Partition.id == pid))
        assert after == before + 1


def test_immutable_while_pending(api: Api, subnet: dict[str, Any]) -> None:
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"]}})
    lb_id = r.json()["loadbalancer"]["id"]
    r = api.put(f"{LBS}/{lb_id}", {"loadbalancer": {"name": "n"}})
    assert r.status_code == 409
    assert r.json() == {"faultcode": "Client", "debuginfo": None, "faultstring":
                        f"Invalid state PENDING_CREATE of loadbalancer resource {lb_id}"}
    r = api.post("/v2/lbaas/listeners", {"listener": {"loadbalancer_id": lb_id,
                                                       "protocol": "HTTP", "protocol_port": 80}})
    assert r.status_code == 409
    assert r.json()["faultstring"] == f"Load Balancer {lb_id} is immutable and cannot be updated."
    assert api.delete(f"{LBS}/{lb_id}").status_code == 409
    api.settle()
    r = api.put(f"{LBS}/{lb_id}", {"loadbalancer": {"name": "n", "admin_state_up": False}})
    assert r.status_code == 200
    body = r.json()["loadbalancer"]
    assert body["provisioning_status"] == "PENDING_UPDATE" and body["name"] == "n"
    assert body["admin_state_up"] is False


def test_put_rejects_unknown_and_immutable_attrs(api: Api, subnet: dict[str, Any]) -> None:
    lb = api.lb(subnet["id"])
    r = api.put(f"{LBS}/{lb['id']}", {"loadbalancer": {"vip_address": "10.0.9.9"}})
    assert r.status_code == 400 and "faultstring" in r.json()


def test_validation(api: Api, subnet: dict[str, Any]) -> None:
    r = api.post(LBS, {"loadbalancer": {"name": "x"}})
    assert r.status_code == 400
    assert r.json()["faultstring"] == ("Validation failure: VIP must contain one of: "
                                       "vip_port_id, vip_network_id, vip_subnet_id.")
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"], "provider": "nope"}})
    assert r.status_code == 400 and "f5" in r.json()["faultstring"]
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"], "admin_state_up": "x"}})
    assert r.status_code == 400
    assert r.json()["faultstring"].startswith("Invalid input for field/attribute admin_state_up")
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": "no-such-subnet"}})
    assert r.status_code == 400
    assert api.get(f"{LBS}/nope").status_code == 404
    assert api.get(f"{LBS}/nope").json()["faultstring"] == "Load Balancer nope not found."


def test_vip_address_given_and_duplicate(api: Api) -> None:
    sub = api.network("172.16.0.0/29")
    lb = api.lb(sub["id"], vip_address="172.16.0.5")
    assert lb["vip_address"] == "172.16.0.5"
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": sub["id"], "vip_address": "172.16.0.5"}})
    assert r.status_code == 409
    got = {api.lb(sub["id"])["vip_address"] for _ in range(4)}
    assert got == {"172.16.0.2", "172.16.0.3", "172.16.0.4", "172.16.0.6"}
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": sub["id"]}})
    assert r.status_code == 409  # pool exhausted
    by_net = api.post(LBS, {"loadbalancer": {"vip_network_id": sub["network_id"]}})
    assert by_net.status_code == 409


def test_delete_with_children_needs_cascade(api: Api, subnet: dict[str, Any]) -> None:
    lb = api.lb(subnet["id"])
    lst = api.child("/v2/lbaas/listeners", "listener",
                    {"loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80})
    pool = api.child("/v2/lbaas/pools", "pool", {"listener_id": lst["id"], "protocol": "HTTP",
                                                 "lb_algorithm": "ROUND_ROBIN"})
    api.child(f"/v2/lbaas/pools/{pool['id']}/members", "member",
              {"address": "10.1.0.1", "protocol_port": 80})
    r = api.delete(f"{LBS}/{lb['id']}")
    assert r.status_code == 400
    assert r.json()["faultstring"] == f"Cannot delete Load Balancer {lb['id']} - it has children"
    assert api.delete(f"{LBS}/{lb['id']}?cascade=true").status_code == 204
    # PENDING_DELETE rows stay visible until the agent removes them
    shown = api.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]
    assert shown["provisioning_status"] == "PENDING_DELETE"
    member = api.get(f"/v2/lbaas/pools/{pool['id']}/members").json()["members"][0]
    assert member["provisioning_status"] == "PENDING_DELETE"
    api.settle()
    assert api.get(f"{LBS}/{lb['id']}").status_code == 404
    assert api.get(f"/v2/lbaas/listeners/{lst['id']}").status_code == 404


def test_error_lb_deletable_not_updatable(api: Api, subnet: dict[str, Any]) -> None:
    lb = api.lb(subnet["id"])
    with api.db.transaction() as s:
        s.execute(sa.update(m.LoadBalancer).where(m.LoadBalancer.id == lb["id"])
                  .values(provisioning_status="ERROR"))
    assert api.put(f"{LBS}/{lb['id']}", {"loadbalancer": {"name": "z"}}).status_code == 409
    assert api.put(f"{LBS}/{lb['id']}/failover", None).status_code == 202
    api.settle()
    assert api.delete(f"{LBS}/{lb['id']}").status_code == 204


def test_fully_populated_create(api: Api, subnet: dict[str, Any]) -> None:
    body = {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "name": "full",
        "listeners": [{"name": "l1", "protocol": "HTTP", "protocol_port": 80,
                       "default_pool": {"name": "p1"},
                       "l7policies": [{"action": "REDIRECT_TO_POOL",
                                       "redirect_pool": {"name": "p2"},
                                       "rules": [{"type": "PATH", "compare_type": "STARTS_WITH",
                                                  "value": "/api"}]}]}],
        "pools": [{"name": "p1", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "members": [{"address": "10.2.0.1", "protocol_port": 8080}],
                   "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3,
                                     "max_retries": 2}},
                  {"name": "p2", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS"}]}}
    r = api.post(LBS, body)
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    assert len(lb["listeners"]) == 1 and len(lb["pools"]) == 2
    listener = lb["listeners"][0]
    p1 = next(p for p in lb["pools"] if p["name"] == "p1")
    assert listener["default_pool_id"] == p1["id"]
    assert listener["l7policies"][0]["rules"][0]["value"] == "/api"
    assert p1["members"][0]["operating_status"] == "OFFLINE"
    assert p1["healthmonitor"]["url_path"] == "/" and p1["healthmonitor"]["expected_codes"] == "200"
    api.settle()
    tree = api.get(f"{LBS}/{lb['id']}/status").json()["statuses"]["loadbalancer"]
    assert tree["provisioning_status"] == "ACTIVE"
    pools = tree["listeners"][0]["pools"]
    assert {p["name"] for p in pools} == {"p1", "p2"}
    p1_tree = next(p for p in pools if p["name"] == "p1")
    assert p1_tree["health_monitor"]["type"] == "HTTP"
    assert p1_tree["members"][0]["address"] == "10.2.0.1"
    assert api.get(f"{LBS}/{lb['id']}/statuses").status_code == 200
    unnamed = {"loadbalancer": {"vip_subnet_id": subnet["id"], "listeners": [
        {"protocol": "HTTP", "protocol_port": 81, "default_pool": {"name": "a"}}],
        "pools": [{"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}]}}
    r = api.post(LBS, unnamed)
    assert r.status_code == 400


def test_fully_populated_create_answers_what_show_then_shows(
        api: Api, subnet: dict[str, Any]) -> None:
    """The create renders its answer from the rows it wrote; every object, shown afterwards from
    the database, is the same (ids, nesting order, values)."""
    hm = {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2}
    body = {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "name": "same", "tags": ["t1"],
        "listeners": [
            {"name": "l1", "protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "p1"},
             "l7policies": [{"action": "REDIRECT_TO_POOL", "redirect_pool": {"name": "p2"},
                             "rules": [{"type": "PATH", "compare_type": "STARTS_WITH",
                                        "value": "/a"},
                                       {"type": "HEADER", "key": "X", "compare_type": "EQUAL_TO",
                                        "value": "v"}]},
                            {"action": "REJECT"}]},
            {"name": "l2", "protocol": "HTTP", "protocol_port": 81, "default_pool": {"name": "p1"}},
            {"name": "l3", "protocol": "HTTP", "protocol_port": 82,
             "default_pool": {"name": "inline", "protocol": "HTTP", "lb_algorithm": "SOURCE_IP"}}],
        "pools": [{"name": "p1", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "healthmonitor": {**hm, "http_version": 1.1, "domain_name": "a.example"},
                   "members": [{"address": f"10.3.0.{i}", "protocol_port": 80, "weight": i}
                               for i in range(1, 5)]},
                  {"name": "p2", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS",
                   "members": [{"address": "fd00::1", "protocol_port": 80}]}]}}
    r = api.post(LBS, body)
    assert r.status_code == 201, r.text
    created = r.json()["loadbalancer"]

    def ids(items: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [{"id": x["id"]} for x in items]

    def show(path: str, key: str) -> dict[str, Any]:
        got = api.get(path)
        assert got.status_code == 200, got.text
        shown: dict[str, Any] = got.json()[key]
        return shown

    assert show(f"{LBS}/{created['id']}", "loadbalancer") == {
        **created, "listeners": ids(created["listeners"]), "pools": ids(created["pools"])}
    for lst in created["listeners"]:
        assert show(f"/v2/lbaas/listeners/{lst['id']}", "listener") == {
            **lst, "l7policies": ids(lst["l7policies"])}
        for pol in lst["l7policies"]:
            assert show(f"/v2/lbaas/l7policies/{pol['id']}", "l7policy") == {
                **pol, "rules": ids(pol["rules"])}
            for rule in pol["rules"]:
                assert show(f"/v2/lbaas/l7policies/{pol['id']}/rules/{rule['id']}",
                            "rule") == rule
    for pool in created["pools"]:
        monitor = pool.pop("healthmonitor")
        assert show(f"/v2/lbaas/pools/{pool['id']}", "pool") == {
            **pool, "members": ids(pool["members"])}
        for member in pool["members"]:
            assert show(f"/v2/lbaas/pools/{pool['id']}/members/{member['id']}",
                        "member") == member
        if monitor is not None:
            assert show(f"/v2/lbaas/healthmonitors/{monitor['id']}", "healthmonitor") == monitor
            assert pool["healthmonitor_id"] == monitor["id"]


def test_stats_sum_listener_rows(api: Api, subnet: dict[str, Any]) -> None:
    lb = api.lb(subnet["id"])
    ids = [api.child("/v2/lbaas/listeners", "listener", {"loadbalancer_id": lb["id"],
                     "protocol": "TCP", "protocol_port": p})["id"] for p in (1000, 1001)]
    with api.db.transaction() as s:
        for i, lid in enumerate(ids):
            s.add(m.ListenerStats(listener_id=lid, load_balancer_id=lb["id"], bytes_in=10 + i,
                                  bytes_out=5, active_connections=1, total_connections=7,
                                  request_errors=0, updated_at=0.0))
    stats = api.get(f"{LBS}/{lb['id']}/stats").json()["stats"]
    assert stats == {"bytes_in": 21, "bytes_out": 10, "active_connections": 2,
                     "total_connections": 14, "request_errors": 0}
    one = api.get(f"/v2/lbaas/listeners/{ids[0]}/stats").json()["stats"]
    assert one["bytes_in"] == 10


def test_failover_sets_pending_update(api: Api, subnet: dict[str, Any]) -> None:
    lb = api.lb(subnet["id"])
    r = api.put(f"{LBS}/{lb['id']}/failover", None)
    assert r.status_code == 202 and r.content == b""
    assert api.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]["provisioning_status"] == \
        "PENDING_UPDATE"
    assert api.put(f"{LBS}/{lb['id']}/failover", None).status_code == 409
