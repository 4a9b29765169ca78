"""What core/capabilities.py lists as rendered reaches the simulator the way a real device takes
it, over real iControl REST: UDP and SCTP virtuals with their monitors and persistence, PROXY
protocol pools, SOURCE_IP_PORT, the listener timeouts; a second converge writes nothing; and the
simulator refuses a virtual whose profiles do not suit its protocol, as a BIG-IP does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from bigip_lbaas.core.model import (
    HealthMonitor,
    Listener,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
    SessionPersistence,
)
from bigip_lbaas.device.client import object_path
from bigip_lbaas.device.converge import converge
from bigip_lbaas.device.observe import observe
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import OPTIONAL_KINDS
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.render import render
from bigip_lbaas.sim.testing import SimHandle
from tests.integration.device.conftest import make_client, writes
from tests.integration.device.states import PREFIX


def l4_state() -> PartitionState:
    udp_sp = SessionPersistence("SOURCE_IP", persistence_timeout=360,
                                persistence_granularity="255.255.255.0")
    pools = (
        Pool("pool-udp", "UDP", "SOURCE_IP_PORT", session_persistence=udp_sp,
             members=(Member("mem-u1", "10.61.0.1", 53),),
             health_monitor=HealthMonitor("hm-udp", "UDP-CONNECT", 5, 3, 3)),
        Pool("pool-sctp", "SCTP", "ROUND_ROBIN",
             members=(Member("mem-s1", "10.61.0.2", 3868),),
             health_monitor=HealthMonitor("hm-sctp", "SCTP", 5, 3, 3)),
        Pool("pool-proxy", "PROXY", "SOURCE_IP_PORT",
             members=(Member("mem-p1", "10.61.0.3", 8080, weight=2),)),
    )
    listeners = (
        Listener("lst-udp", "UDP", 53, default_pool_id="pool-udp", timeout_client_data=1000),
        Listener("lst-sctp", "SCTP", 3868, default_pool_id="pool-sctp"),
        Listener("lst-http", "HTTP", 8080, insert_headers=(
            ("X-Forwarded-For", "true"), ("X-Forwarded-Port", "true"),
            ("X-Forwarded-Proto", "true"))),
        Listener("lst-tcp", "TCP", 80, default_pool_id="pool-proxy", timeout_client_data=1000,
                 timeout_member_connect=3000, timeout_member_data=2000, timeout_tcp_inspect=50),
    )
    lb = LoadBalancer("lb-l4", "192.0.2.61", listeners=listeners, pools=pools)
    return PartitionState(PartitionKey("test", "l4proj"), 1, (lb,))


def test_udp_sctp_proxy_and_source_ip_port_converge_and_stay_converged(sim: SimHandle) -> None:
    state = l4_state()
    part = names.partition(PREFIX, state.key.project_id)

    async def go() -> None:
        async with make_client(sim) as c:
            result = await converge(c, state, PREFIX)
            assert result.failures == ()
            observed = await observe(c, part)
            assert diff(render(state, PREFIX), observed, PREFIX).empty
            before = writes(sim)
            again = await converge(c, state, PREFIX)
            assert again.writes == 0 and writes(sim) == before

            async def get(kind: str, name: str) -> Any:
                return await c.get(object_path(kind, part, name),
                                   {"expandSubcollections": "true"})

            udp = await get("ltm/virtual", "Project_lst-udp")
            assert udp["ipProtocol"] == "udp"
            assert [p["fullPath"] for p in udp["profilesReference"]["items"]] == ["/Common/udp"]
            assert udp["persist"][0]["name"] == "Project_pool-udp_source_addr"
            sctp = await get("ltm/virtual", "Project_lst-sctp")
            assert sctp["ipProtocol"] == "sctp"
            tcp = await get("ltm/virtual", "Project_lst-tcp")
            assert tcp["rules"] == [f"/{part}/Project_pool-proxy_proxy_protocol"]
            assert tcp["persist"][0]["name"] == "Project_pool-proxy_source_ip_port"
            http = await get("ltm/virtual", "Project_lst-http")
            assert http["rules"] == [f"/{part}/Project_lst-http_headers"]
            server = await get("ltm/profile/tcp", "Project_lst-tcp_tcp_server")
            assert (server["synRtoBase"], server["synMaxRetrans"]) == (1000, 1)
            mon = await get("ltm/monitor/udp", "Project_hm-udp")
            assert mon["defaultsFrom"] == "/Common/udp"
            hashp = await get("ltm/persistence/hash", "Project_pool-proxy_source_ip_port")
            assert hashp["hashAlgorithm"] == "carp"

            # Back to plain TCP: the desired state has none of the optional kinds, but the
            # device's virtuals and pools still use them, so observe lists them (a second round)
            # and the converge removes them instead of leaving them behind.
            plain = PartitionState(state.key, 2, (LoadBalancer("lb-l4", "192.0.2.61", pools=(
                Pool("pool-proxy", "TCP", "ROUND_ROBIN",
                     members=(Member("mem-p1", "10.61.0.3", 8080),)),), listeners=(
                Listener("lst-tcp", "TCP", 80, default_pool_id="pool-proxy"),)),))
            assert (await converge(c, plain, PREFIX)).failures == ()
            left = await observe(c, part)
            assert diff(render(plain, PREFIX), left, PREFIX).empty
            assert not [k for k in left.objects if k[0] in OPTIONAL_KINDS], left.objects.keys()

    asyncio.run(go())


def test_the_simulator_refuses_profiles_that_do_not_suit_the_protocol(sim: SimHandle) -> None:
    base = f"https://127.0.0.1:{sim.ports[0]}/mgmt/tm/ltm/virtual"
    with httpx.Client(verify=str(sim.ca_file), auth=(sim.username, sim.password)) as http:
        for n, (proto, profiles) in enumerate([("udp", ["/Common/tcp"]),
                                               ("udp", ["/Common/http", "/Common/udp"]),
                                               ("sctp", ["/Common/udp"]),
                                               ("tcp", ["/Common/udp"]),
                                               ("udp", [])]):
            r = http.post(base, json={"name": f"bad{n}", "partition": "Common",
                                      "destination": f"/Common/198.51.100.{n + 1}:53",
                                      "ipProtocol": proto,
                                      **({"profiles": profiles} if profiles else {})})
            if profiles:
                assert r.status_code == 400, (proto, profiles, r.text)
                assert "01070097:3" in r.json()["message"], r.text
            else:  # no profiles: the device gives it fastL4, which suits any protocol
                assert r.status_code == 200, r.text
        r = http.post(base, json={"name": "bad-proto", "partition": "Common",
                                  "destination": "/Common/198.51.100.99:53", "ipProtocol": "xtp"})
        assert r.status_code == 400 and "ipProtocol" in r.text
        r = http.post(base, json={"name": "good-udp", "partition": "Common",
                                  "destination": "/Common/198.51.100.50:53", "ipProtocol": "udp",
                                  "profiles": ["/Common/udp"]})
        assert r.status_code == 200, r.text
