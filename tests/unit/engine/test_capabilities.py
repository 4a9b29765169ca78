"""The capability table (core/capabilities.py) and the engine agree: every value it lists as
rendered renders without a failure, every value it refuses fails its object with the table's
reason; and how the newly rendered values look on the device (UDP and SCTP virtuals, PROXY
protocol pools, SOURCE_IP_PORT, the listener timeouts, UDP/SCTP monitors and persistence)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bigip_lbaas.core import capabilities
from bigip_lbaas.core.model import (
    HealthMonitor,
    L7Policy,
    L7Rule,
    Listener,
    LoadBalancer,
    Member,
    PartitionState,
    Pool,
    SessionPersistence,
)
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceObject, Kind, Rendered
from bigip_lbaas.engine.render import render, syn_schedule
from tests.unit.engine.strategies import KEY

PREFIX = "Project"
PART = names.partition(PREFIX, KEY.project_id)
# Listener protocol -> a pool protocol it may use (Octavia's map).
POOL_FOR = {"TCP": "TCP", "HTTP": "HTTP", "HTTPS": "HTTPS", "UDP": "UDP", "SCTP": "SCTP"}


def one(listener: Listener | None = None, *pools: Pool) -> Rendered:
    lb = LoadBalancer("lb1", "192.0.2.10", listeners=(listener,) if listener else (),
                      pools=pools)
    return render(PartitionState(KEY, 1, (lb,)), PREFIX)


def obj(rendered: Rendered, kind: Kind, name: str) -> DeviceObject:
    found = rendered.config.get(kind, name)
    assert found is not None, (kind, name, sorted(rendered.config.objects))
    return found


def path(name: str) -> str:
    return names.full_path(PART, name)


# TERMINATED_HTTPS is rendered by the TLS part of the engine, with certificates.
@pytest.mark.parametrize("protocol", sorted(capabilities.LISTENER_PROTOCOLS - {"TERMINATED_HTTPS"}))
def test_every_listener_protocol_the_table_renders_renders(protocol: str) -> None:
    pool = Pool("p1", POOL_FOR[protocol], "ROUND_ROBIN", members=(Member("m1", "10.0.0.1", 80),))
    rendered = one(Listener("l1", protocol, 80, default_pool_id="p1"), pool)
    assert rendered.failures == ()
    assert obj(rendered, Kind.VIRTUAL, "Project_l1").body["pool"] == path("Project_p1")


@pytest.mark.parametrize("protocol", sorted(capabilities.POOL_PROTOCOLS))
@pytest.mark.parametrize("algorithm", sorted(capabilities.LB_ALGORITHMS))
def test_every_pool_protocol_and_algorithm_the_table_renders_renders(
    protocol: str, algorithm: str
) -> None:
    rendered = one(None, Pool("p1", protocol, algorithm, members=(Member("m1", "10.0.0.1", 80),)))
    assert rendered.failures == ()
    assert obj(rendered, Kind.POOL, "Project_p1")


@pytest.mark.parametrize("hm_type", sorted(capabilities.HEALTH_MONITOR_TYPES))
def test_every_monitor_type_the_table_renders_renders(hm_type: str) -> None:
    udp = hm_type in ("UDP-CONNECT", "SCTP")
    pool = Pool("p1", "UDP" if udp else "HTTP", "ROUND_ROBIN",
                health_monitor=HealthMonitor("hm1", hm_type, 5, 3, 3))
    rendered = one(None, pool)
    assert rendered.failures == ()
    assert obj(rendered, Kind.POOL, "Project_p1").body["monitor"] == path("Project_hm1")


REFUSED = [
    *[("listener protocol", v) for v in capabilities.REFUSED_LISTENER_PROTOCOLS],
    *[("pool protocol", v) for v in capabilities.REFUSED_POOL_PROTOCOLS],
    *[("lb_algorithm", v) for v in capabilities.REFUSED_LB_ALGORITHMS],
    *[("health monitor type", v) for v in capabilities.REFUSED_HEALTH_MONITOR_TYPES],
]


@pytest.mark.parametrize(("what", "value"), REFUSED)
def test_every_refused_value_fails_its_object_with_the_tables_reason(what: str, value: str) -> None:
    reason = capabilities.refusal(what, value)
    assert reason is not None and value in reason
    if what == "listener protocol":
        rendered, failed = one(Listener("l1", value, 80)), "l1"
    elif what == "health monitor type":
        hm = HealthMonitor("hm1", value, 5, 3, 3)
        rendered, failed = one(None, Pool("p1", "HTTP", "ROUND_ROBIN", health_monitor=hm)), "hm1"
    elif what == "pool protocol":
        rendered, failed = one(None, Pool("p1", value, "ROUND_ROBIN")), "p1"
    else:
        rendered, failed = one(None, Pool("p1", "TCP", value)), "p1"
    assert {f.object_id: f.reason for f in rendered.failures} == {failed: reason}


def test_the_table_names_nothing_both_rendered_and_refused() -> None:
    for rendered, refused in (
        (capabilities.LISTENER_PROTOCOLS, capabilities.REFUSED_LISTENER_PROTOCOLS),
        (capabilities.POOL_PROTOCOLS, capabilities.REFUSED_POOL_PROTOCOLS),
        (capabilities.LB_ALGORITHMS, capabilities.REFUSED_LB_ALGORITHMS),
        (capabilities.HEALTH_MONITOR_TYPES, capabilities.REFUSED_HEALTH_MONITOR_TYPES),
    ):
        assert not rendered & set(refused)
    assert capabilities.refusal("pool protocol", None) is None
    assert capabilities.refusal("pool protocol", "GOPHER") == (
        "pool protocol GOPHER: it is not one this provider renders on a BIG-IP.")


# --------------------------------------------------------------------------- UDP and SCTP


@pytest.mark.parametrize(("protocol", "ip", "profile"),
                         [("UDP", "udp", "/Common/udp"), ("SCTP", "sctp", "/Common/sctp")])
def test_udp_and_sctp_listeners_are_virtuals_of_their_protocol(
    protocol: str, ip: str, profile: str
) -> None:
    lst = Listener("l1", protocol, 53, default_pool_id="p1", timeout_client_data=1000,
                   timeout_member_connect=1000, timeout_member_data=1000, timeout_tcp_inspect=50)
    rendered = one(lst, Pool("p1", protocol, "SOURCE_IP"))
    body = obj(rendered, Kind.VIRTUAL, "Project_l1").body
    assert body["ipProtocol"] == ip
    assert body["profiles"] == [profile]  # no TCP profile: the timeouts are HAProxy's only
    assert body["persist"] == ["/Common/source_addr"]
    assert rendered.config.of_kind(Kind.PROFILE_TCP) == []


def test_a_udp_source_ip_persistence_with_timeout_and_granularity_gets_its_own_profile() -> None:
    sp = SessionPersistence("SOURCE_IP", persistence_timeout=360,
                            persistence_granularity="255.255.255.0")
    rendered = one(Listener("l1", "UDP", 53, default_pool_id="p1"),
                   Pool("p1", "UDP", "ROUND_ROBIN", session_persistence=sp))
    profile = obj(rendered, Kind.PERSISTENCE_SOURCE_ADDR, "Project_p1_source_addr")
    assert profile.body == {"defaultsFrom": "/Common/source_addr", "timeout": "360",
                            "mask": "255.255.255.0"}
    assert obj(rendered, Kind.VIRTUAL, "Project_l1").body["persist"] == [
        path("Project_p1_source_addr")]


@pytest.mark.parametrize(("hm_type", "kind", "parent"),
                         [("UDP-CONNECT", Kind.MONITOR_UDP, "/Common/udp"),
                          ("SCTP", Kind.MONITOR_SCTP, "/Common/sctp")])
def test_udp_connect_and_sctp_monitors(hm_type: str, kind: Kind, parent: str) -> None:
    pool = Pool("p1", "UDP", "ROUND_ROBIN", health_monitor=HealthMonitor("hm1", hm_type, 5, 3, 2))
    body = obj(one(None, pool), kind, "Project_hm1").body
    assert body == {"defaultsFrom": parent, "interval": 5, "timeout": 9, "timeUntilUp": 5}


# --------------------------------------------------------------------------- PROXY protocol


def test_a_proxy_pool_sends_a_proxy_v1_header_through_an_irule_on_the_virtual() -> None:
    rendered = one(Listener("l1", "TCP", 80, default_pool_id="p1"), Pool("p1", "PROXY",
                                                                          "ROUND_ROBIN"))
    rule = obj(rendered, Kind.RULE, "Project_p1_proxy_protocol")
    text = rule.body["apiAnonymous"]
    assert "when SERVER_CONNECTED" in text
    assert f'[LB::server pool] ne "{path("Project_p1")}"' in text
    assert 'TCP::respond "PROXY TCP$version $src $dst $sport $dport\\r\\n"' in text
    assert rule.owner == "p1"
    assert obj(rendered, Kind.VIRTUAL, "Project_l1").body["rules"] == [
        path("Project_p1_proxy_protocol")]


def test_an_l7_redirect_to_a_proxy_pool_attaches_its_irule_too() -> None:
    pol = L7Policy("pol1", "REDIRECT_TO_POOL", 1, redirect_pool_id="px",
                   rules=(L7Rule("r1", "PATH", "STARTS_WITH", "/x"),))
    lst = Listener("l1", "HTTP", 80, default_pool_id="p1", l7policies=(pol,))
    rendered = one(lst, Pool("p1", "HTTP", "ROUND_ROBIN"), Pool("px", "PROXY", "ROUND_ROBIN"))
    assert rendered.failures == ()
    assert obj(rendered, Kind.VIRTUAL, "Project_l1").body["rules"] == [
        path("Project_px_proxy_protocol")]


def test_a_plain_pool_adds_no_irule() -> None:
    rendered = one(Listener("l1", "TCP", 80, default_pool_id="p1"), Pool("p1", "TCP",
                                                                          "ROUND_ROBIN"))
    assert obj(rendered, Kind.VIRTUAL, "Project_l1").body["rules"] == []
    assert rendered.config.of_kind(Kind.RULE) == []


# --------------------------------------------------------------------------- SOURCE_IP_PORT


def test_source_ip_port_is_a_carp_hash_persistence_keyed_on_address_and_port() -> None:
    rendered = one(Listener("l1", "TCP", 80, default_pool_id="p1"),
                   Pool("p1", "TCP", "SOURCE_IP_PORT", members=(Member("m1", "10.0.0.1", 80),)))
    persistence = obj(rendered, Kind.PERSISTENCE_HASH, "Project_p1_source_ip_port")
    assert persistence.body == {"defaultsFrom": "/Common/hash", "hashAlgorithm": "carp",
                                "rule": path("Project_p1_source_ip_port")}
    text = obj(rendered, Kind.RULE, "Project_p1_source_ip_port").body["apiAnonymous"]
    assert 'persist hash "[IP::client_addr] [TCP::client_port]"' in text
    assert 'persist hash "[IP::client_addr] [UDP::client_port]"' in text
    virtual = obj(rendered, Kind.VIRTUAL, "Project_l1").body
    assert virtual["persist"] == [path("Project_p1_source_ip_port")]
    assert obj(rendered, Kind.POOL, "Project_p1").body["loadBalancingMode"] == "round-robin"


def test_source_ip_port_with_session_persistence_keeps_the_persistence() -> None:
    pool = Pool("p1", "HTTP", "SOURCE_IP_PORT",
                session_persistence=SessionPersistence("HTTP_COOKIE"))
    rendered = one(Listener("l1", "HTTP", 80, default_pool_id="p1"), pool)
    assert obj(rendered, Kind.VIRTUAL, "Project_l1").body["persist"] == ["/Common/cookie"]


def test_a_failed_pool_holds_its_extra_objects() -> None:
    pool = Pool("p1", "PROXY", "SOURCE_IP_PORT", members=(Member("m1", "not-an-ip", 80),))
    rendered = one(None, pool)
    assert [f.object_id for f in rendered.failures] == ["m1"]
    assert (Kind.RULE, "Project_p1_proxy_protocol") in rendered.hold
    assert (Kind.PERSISTENCE_HASH, "Project_p1_source_ip_port") in rendered.hold


# --------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize(
    ("connect", "base", "retrans"),
    [(5000, 1666, 1), (1000, 1000, 0), (999, 999, 0), (500, 500, 0), (3000, 1000, 1),
     (7000, 1000, 2), (60000, 1935, 4), (1, 1, 0)],
)
def test_the_syn_schedule_gives_up_after_the_member_connect_timeout(
    connect: int, base: int, retrans: int
) -> None:
    assert syn_schedule(connect) == {"synRtoBase": base, "synMaxRetrans": retrans}
    total = base * (2 ** (retrans + 1) - 1)
    assert connect - (2 ** (retrans + 1) - 1) < total <= connect


def test_member_connect_goes_to_a_serverside_profile_only() -> None:
    lst = Listener("l1", "HTTP", 80, timeout_member_connect=3000)
    rendered = one(lst)
    profiles = {o.name: o.body for o in rendered.config.of_kind(Kind.PROFILE_TCP)}
    assert profiles == {
        "Project_l1_tcp": {"defaultsFrom": "/Common/tcp", "idleTimeout": 50},
        "Project_l1_tcp_server": {"defaultsFrom": "/Common/tcp", "idleTimeout": 50,
                                  "synRtoBase": 1000, "synMaxRetrans": 1},
    }
    assert obj(rendered, Kind.VIRTUAL, "Project_l1").body["profiles"] == [
        "/Common/http",
        {"name": path("Project_l1_tcp"), "context": "clientside"},
        {"name": path("Project_l1_tcp_server"), "context": "serverside"},
    ]


@pytest.mark.parametrize("inspect", [None, 0, 50, 1000])
def test_tcp_inspect_renders_nothing(inspect: int | None) -> None:
    base = one(Listener("l1", "TCP", 80)).config
    assert one(replace(Listener("l1", "TCP", 80), timeout_tcp_inspect=inspect)).config == base


# --------------------------------------------------------------------------- inserted headers


def test_forwarded_port_and_proto_are_set_by_an_irule_of_the_listener() -> None:
    lst = Listener("l1", "HTTP", 80, insert_headers=(
        ("X-Forwarded-For", "true"), ("X-Forwarded-Port", "True"), ("X-Forwarded-Proto", "true")))
    rendered = one(lst)
    assert rendered.failures == ()
    text = obj(rendered, Kind.RULE, "Project_l1_headers").body["apiAnonymous"]
    assert text == ("when HTTP_REQUEST {\n"
                    "  HTTP::header replace X-Forwarded-Port [TCP::local_port]\n"
                    "  HTTP::header replace X-Forwarded-Proto http\n"
                    "}\n")
    virtual = obj(rendered, Kind.VIRTUAL, "Project_l1").body
    assert virtual["rules"] == [path("Project_l1_headers")]
    assert path("Project_http_xff") in virtual["profiles"]


def test_headers_set_false_add_no_irule() -> None:
    lst = Listener("l1", "HTTP", 80, insert_headers=(("X-Forwarded-Port", "false"),))
    rendered = one(lst)
    assert rendered.config.of_kind(Kind.RULE) == []
    assert obj(rendered, Kind.VIRTUAL, "Project_l1").body["rules"] == []
