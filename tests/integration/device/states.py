"""Desired states used by the device tests: the full feature matrix and a few variants."""

from __future__ import annotations

import zlib

from bigip_lbaas.core.model import (
    HealthMonitor,
    L7Policy,
    L7Rule,
    Listener,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
    SessionPersistence,
)

PREFIX = "Project"


def key(project: str) -> PartitionKey:
    return PartitionKey("test", project)


def feature_matrix(project: str = "matrix") -> PartitionState:
    hm_http = HealthMonitor(
        "hm-http", "HTTP", 5, 3, 3, http_method="HEAD", url_path="/health", expected_codes="200-204"
    )
    hm_https = HealthMonitor("hm-https", "HTTPS", 10, 5, 2, expected_codes="200,301")
    hm_tcp = HealthMonitor("hm-tcp", "TCP", 3, 2, 3)
    hm_ping = HealthMonitor("hm-ping", "PING", 3, 2, 3, enabled=False)
    p_rr = Pool(
        "pool-rr",
        "HTTP",
        "ROUND_ROBIN",
        session_persistence=SessionPersistence("HTTP_COOKIE"),
        members=(
            Member("mem-1", "10.1.0.1", 80, weight=3),
            Member("mem-2", "10.1.0.2", 80, weight=0),
            Member("mem-3", "10.1.0.3", 80, backup=True),
            Member(
                "mem-4",
                "10.1.0.4",
                80,
                enabled=False,
                monitor_address="10.9.9.9",
                monitor_port=8081,
            ),
        ),
        health_monitor=hm_http,
    )
    p_lc = Pool(
        "pool-lc",
        "HTTP",
        "LEAST_CONNECTIONS",
        session_persistence=SessionPersistence("APP_COOKIE", "JSESSIONID"),
        members=(Member("mem-5", "10.1.0.1", 8080), Member("mem-6", "2001:db8::6", 8080)),
        health_monitor=hm_https,
    )
    p_src = Pool(
        "pool-src",
        "TCP",
        "SOURCE_IP",
        session_persistence=SessionPersistence("SOURCE_IP"),
        members=(Member("mem-7", "10.1.0.7", 22),),
        health_monitor=hm_tcp,
    )
    p_ping = Pool(
        "pool-ping", "TCP", "ROUND_ROBIN", members=(), health_monitor=hm_ping, enabled=False
    )
    l7 = (
        L7Policy(
            "l7-pool",
            "REDIRECT_TO_POOL",
            1,
            redirect_pool_id="pool-lc",
            rules=(
                L7Rule("r-path", "PATH", "STARTS_WITH", "/api"),
                L7Rule("r-hdr", "HEADER", "EQUAL_TO", "beta", key="X-Channel", invert=True),
            ),
        ),
        L7Policy(
            "l7-url",
            "REDIRECT_TO_URL",
            2,
            redirect_url="https://example.com/",
            rules=(L7Rule("r-host", "HOST_NAME", "ENDS_WITH", ".example.org"),),
        ),
        L7Policy(
            "l7-reject",
            "REJECT",
            3,
            rules=(
                L7Rule("r-ext", "FILE_TYPE", "EQUAL_TO", "php"),
                L7Rule("r-cookie", "COOKIE", "CONTAINS", "bad", key="session"),
            ),
        ),
    )
    lb1 = LoadBalancer(
        "lb-1",
        "192.0.2.10",
        listeners=(
            Listener(
                "lst-http",
                "HTTP",
                80,
                connection_limit=1000,
                default_pool_id="pool-rr",
                insert_headers=(("X-Forwarded-For", "true"),),
                timeout_client_data=20000,
                l7policies=l7,
            ),
            Listener("lst-https", "HTTPS", 443, default_pool_id="pool-src", enabled=False),
            Listener(
                "lst-tcp", "TCP", 22, default_pool_id="pool-src", allowed_cidrs=("10.0.0.0/8",)
            ),
        ),
        pools=(p_rr, p_lc, p_src, p_ping),
    )
    lb2 = LoadBalancer(
        "lb-2", "2001:db8::10", enabled=False, listeners=(Listener("lst-v6", "TCP", 80),)
    )
    return PartitionState(key(project), 1, (lb1, lb2))


def small(project: str, n_lbs: int = 1) -> PartitionState:
    """One full graph per load balancer: listener, pool, two members, a monitor."""
    lbs = []
    net = 20 + zlib.crc32(project.encode()) % 200  # node addresses are device-wide: keep apart
    for i in range(n_lbs):
        hm = HealthMonitor(f"{project}-hm{i}", "HTTP", 5, 3, 3)
        pool = Pool(
            f"{project}-pool{i}",
            "HTTP",
            "ROUND_ROBIN",
            members=(
                Member(f"{project}-m{i}a", f"10.{net}.{i % 250}.1", 80),
                Member(f"{project}-m{i}b", f"10.{net}.{i % 250}.2", 80),
            ),
            health_monitor=hm,
        )
        lst = Listener(f"{project}-l{i}", "HTTP", 80, default_pool_id=pool.id)
        lbs.append(
            LoadBalancer(
                f"{project}-lb{i}",
                f"100.{net}.{i // 250}.{i % 250 + 1}",
                listeners=(lst,),
                pools=(pool,),
            )
        )
    return PartitionState(key(project), 1, tuple(lbs))
