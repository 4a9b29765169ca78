"""The pure mapping from neutron-lbaas rows to this product's rows (migrate/mapping.py)."""

from __future__ import annotations

import json
from typing import Any

from bigip_lbaas.api.providers import Provider, Providers
from bigip_lbaas.migrate.mapping import Source, plan

PROVIDERS = Providers({"f5": Provider("f5", "F5", "Project"), "dev": Provider("dev", "F5", "dev")},
                      default="f5")
SUBNET = {"id": "s1", "network_id": "n1", "project_id": "p", "cidr": "10.0.0.0/24",
          "ip_version": 4}
NETWORK = {"id": "n1", "project_id": "p", "name": "net"}


def obj(oid: str, **extra: Any) -> dict[str, Any]:
    return {"id": oid, "project_id": "p", "name": oid, "admin_state_up": True,
            "provisioning_status": "ACTIVE", "operating_status": "ONLINE", **extra}


def source(**tables: Any) -> Source:
    base: dict[str, Any] = {
        "loadbalancers": [obj("lb", vip_subnet_id="s1", vip_port_id="port",
                              vip_address="10.0.0.5")],
        "providers": [{"provider_name": "f5", "resource_id": "lb"}],
        "subnets": [SUBNET], "networks": [NETWORK]}
    return Source(**{**base, **tables})


def only(src: Source) -> Any:
    result = plan(src, PROVIDERS)
    assert len(result.load_balancers) == 1
    return result.load_balancers[0]


def test_monitor_http_defaults_dropped_on_tcp_and_kept_on_http() -> None:
    hm = {"type": "TCP", "delay": 5, "timeout": 3, "max_retries": 3, "max_retries_down": None,
          "http_method": "GET", "url_path": "/", "expected_codes": "200"}
    p = only(source(
        pools=[obj("tcp", loadbalancer_id="lb", healthmonitor_id="h1", protocol="TCP",
                   lb_algorithm="ROUND_ROBIN"),
               obj("web", loadbalancer_id="lb", healthmonitor_id="h2", protocol="HTTP",
                   lb_algorithm="ROUND_ROBIN")],
        healthmonitors=[obj("h1", **hm), obj("h2", **{**hm, "type": "HTTP", "url_path": "/x"})]))
    monitors = {r["id"]: r for r in p.rows["health_monitor"]}
    assert (monitors["h1"]["http_method"], monitors["h1"]["url_path"],
            monitors["h1"]["max_retries_down"]) == (None, None, 3)
    assert (monitors["h2"]["http_method"], monitors["h2"]["url_path"]) == ("GET", "/x")
    assert {r["pool_id"] for r in p.rows["health_monitor"]} == {"tcp", "web"}


def test_pending_child_refuses_the_tree_as_pending_naming_it() -> None:
    p = only(source(listeners=[obj("l1", loadbalancer_id="lb", protocol="HTTP",
                                   protocol_port=80, provisioning_status="PENDING_CREATE")]))
    assert p.pending and p.refused is not None
    assert (p.refused.kind, p.refused.id) == ("listener", "l1")
    assert p.rows == {}


def test_pending_wins_over_not_importable() -> None:
    p = only(source(listeners=[
        obj("l1", loadbalancer_id="lb", protocol="TERMINATED_HTTPS", protocol_port=443),
        obj("l2", loadbalancer_id="lb", protocol="HTTP", protocol_port=80,
            provisioning_status="PENDING_UPDATE")]))
    assert p.pending


def test_unknown_provider_and_missing_subnet_refuse() -> None:
    p = only(source(providers=[{"provider_name": "octavia", "resource_id": "lb"}]))
    assert p.refused is not None and "provider 'octavia' is not configured" in p.refused.reason
    p = only(source(subnets=[]))
    assert p.refused is not None and "VIP subnet s1" in p.refused.reason


def test_environment_follows_the_bound_agent_else_the_provider() -> None:
    bound = only(source(bindings=[{"loadbalancer_id": "lb", "host": "h",
                                   "configurations": json.dumps({"environment_prefix": "dev"})}]))
    assert bound.environment == "dev"
    assert only(source()).environment == "Project"


def test_vip_address_from_the_port_when_the_load_balancer_has_none() -> None:
    p = only(source(
        loadbalancers=[obj("lb", vip_subnet_id="s1", vip_port_id="port", vip_address=None)],
        vip_allocations=[{"port_id": "port", "ip_address": "10.0.0.9", "subnet_id": "s1",
                          "network_id": "n1"}]))
    lb = p.rows["load_balancer"][0]
    assert (lb["vip_address"], lb["vip_network_id"]) == ("10.0.0.9", "n1")
    assert [n["id"] for n in p.networks] == ["n1"]


def test_legacy_pool_comes_with_its_listener_and_orphans_are_listed() -> None:
    result = plan(source(
        pools=[obj("legacy", loadbalancer_id=None, healthmonitor_id=None, protocol="HTTP",
                   lb_algorithm="ROUND_ROBIN"),
               obj("lonely", loadbalancer_id=None, healthmonitor_id=None, protocol="HTTP",
                   lb_algorithm="ROUND_ROBIN")],
        listeners=[obj("l1", loadbalancer_id="lb", protocol="HTTP", protocol_port=80,
                       default_pool_id="legacy", connection_limit=None)],
        healthmonitors=[obj("h9", type="PING", delay=1, timeout=1, max_retries=1)]), PROVIDERS)
    p = result.load_balancers[0]
    assert [r["id"] for r in p.rows["pool"]] == ["legacy"]
    assert p.rows["pool"][0]["load_balancer_id"] == "lb"
    assert p.rows["listener"][0]["connection_limit"] == -1
    assert [(o.kind, o.id) for o in result.orphans] == [("health_monitor", "h9"),
                                                        ("pool", "lonely")]


def test_disabled_operating_status_is_offline() -> None:
    p = only(source(loadbalancers=[obj("lb", vip_subnet_id="s1", vip_port_id="port",
                                       vip_address="10.0.0.5", admin_state_up=False,
                                       operating_status="DISABLED")]))
    lb = p.rows["load_balancer"][0]
    assert (lb["operating_status"], lb["enabled"]) == ("OFFLINE", False)
