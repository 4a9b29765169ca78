"""Hypothesis strategies for desired partition states, with ids drawn from small pools so that two
drawn states overlap (and diffs contain creates, updates and deletes)."""

from __future__ import annotations

from hypothesis import strategies as st

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

KEY = PartitionKey("env", "proj")


def _ids(tag: str, n: int) -> st.SearchStrategy[str]:
    return st.sampled_from([f"{tag}{i:04d}-aaaa" for i in range(n)])


_HM_TYPES = ["PING", "TCP", "HTTP", "HTTPS"]


@st.composite
def health_monitors(draw: st.DrawFn) -> HealthMonitor:
    # Octavia never changes a monitor's type: derive it from the id.
    i = draw(st.integers(0, 3))
    return HealthMonitor(
        id=f"hm{i:04d}-aaaa",
        type=_HM_TYPES[i],
        delay=draw(st.integers(1, 30)),
        timeout=draw(st.integers(1, 10)),
        max_retries=draw(st.integers(1, 5)),
        max_retries_down=draw(st.integers(1, 5)),
        http_method=draw(st.sampled_from([None, "GET", "HEAD"])),
        url_path=draw(st.sampled_from([None, "/", "/health"])),
        expected_codes=draw(st.sampled_from([None, "200", "200-202", "200,301"])),
        enabled=draw(st.booleans()),
    )


members = st.builds(
    Member,
    id=_ids("mem", 12),
    address=st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::5"]),
    protocol_port=st.sampled_from([80, 8080]),
    weight=st.integers(0, 3),
    backup=st.booleans(),
    enabled=st.booleans(),
    monitor_port=st.sampled_from([None, None, 9000]),
)

persistence = st.one_of(
    st.none(),
    st.builds(SessionPersistence, type=st.sampled_from(["SOURCE_IP", "HTTP_COOKIE"])),
    st.builds(SessionPersistence, type=st.just("APP_COOKIE"), cookie_name=st.just("JSESSIONID")),
)


@st.composite
def pools(draw: st.DrawFn, pid: str) -> Pool:
    ms = draw(st.lists(members, max_size=3, unique_by=lambda m: (m.address, m.protocol_port)))
    ms = list({m.id: m for m in ms}.values())
    return Pool(
        id=pid,
        protocol=draw(st.sampled_from(["HTTP", "TCP", "PROXY"])),
        lb_algorithm=draw(
            st.sampled_from(["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"])
        ),
        enabled=draw(st.booleans()),
        session_persistence=draw(persistence),
        members=tuple(ms),
        health_monitor=draw(st.none() | health_monitors()),
    )


l7rules = st.builds(
    L7Rule,
    id=_ids("rule", 8),
    type=st.sampled_from(["HOST_NAME", "PATH", "FILE_TYPE", "HEADER", "COOKIE"]),
    compare_type=st.sampled_from(["STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"]),
    value=st.sampled_from(["a", "/api", "jpg"]),
    key=st.just("X-Key"),
    invert=st.booleans(),
)


@st.composite
def load_balancers(draw: st.DrawFn, lb_index: int) -> LoadBalancer:
    lb_id = f"lb{lb_index:04d}-aaaa"
    pool_ids = draw(
        st.lists(
            st.sampled_from([f"pool{lb_index}{i}-aaaa" for i in range(3)]), unique=True, max_size=2
        )
    )
    ps = [draw(pools(pid)) for pid in pool_ids]
    # Member and monitor ids are unique across the partition in Octavia.
    seen: set[str] = set()
    clean = []
    for p in ps:
        hm = p.health_monitor if p.health_monitor and p.health_monitor.id not in seen else None
        if hm:
            seen.add(hm.id)
        mems = tuple(m for m in p.members if m.id not in seen)
        seen.update(m.id for m in mems)
        clean.append(
            Pool(p.id, p.protocol, p.lb_algorithm, p.enabled, p.session_persistence, mems, hm)
        )
    # Additional VIPs: none, the IPv6 half of a dual-stack LB, or one more of each family.
    extra = draw(
        st.sampled_from(
            [
                (),
                (f"2001:db8::{lb_index + 10}",),
                (f"2001:db8::{lb_index + 10}", f"198.51.100.{lb_index + 10}"),
            ]
        )
    )
    v6 = bool(extra)
    listeners = []
    for i, port in enumerate(
        draw(st.lists(st.sampled_from([80, 443, 8080]), unique=True, max_size=2))
    ):
        http_pools = [p for p in clean if p.protocol == "HTTP"]
        proto = draw(st.sampled_from(["HTTP", "TCP", "HTTPS"]))
        candidates = [p.id for p in clean if (p.protocol == "HTTP") == (proto == "HTTP")]
        if proto != "HTTP":
            candidates = [
                p.id
                for p in clean
                if p.protocol in ("TCP", "PROXY")
                and (p.session_persistence is None or p.session_persistence.type == "SOURCE_IP")
            ]
        default = draw(st.none() | st.sampled_from(candidates)) if candidates else None
        l7: tuple[L7Policy, ...] = ()
        if proto == "HTTP":
            pol_n = draw(st.integers(0, 2))
            l7 = tuple(
                L7Policy(
                    id=f"l7{lb_index}{i}{j}-aaaa",
                    action=draw(st.sampled_from(["REJECT", "REDIRECT_TO_URL", "REDIRECT_TO_POOL"]))
                    if http_pools
                    else "REJECT",
                    position=j + 1,
                    redirect_url="http://example.com/",
                    redirect_pool_id=http_pools[0].id if http_pools else None,
                    enabled=draw(st.booleans()),
                    rules=tuple({r.id: r for r in draw(st.lists(l7rules, max_size=2))}.values()),
                )
                for j in range(pol_n)
            )
        # Valid ACLs only: one CIDR per IP version, of a version some VIP has.
        cidrs = draw(
            st.sampled_from(
                [(), ("10.0.0.0/8",), ("10.0.0.0/8", "2001:db8::/32"), ("2001:db8::/32",)]
                if v6
                else [(), ("10.0.0.0/8",)]
            )
        )
        # One virtual per VIP address (of an admitted IP version); a connection limit needs one.
        v4_addresses = 1 + sum(1 for a in extra if ":" not in a)
        v6_addresses = sum(1 for a in extra if ":" in a)
        virtuals = (v4_addresses if not cidrs or "10.0.0.0/8" in cidrs else 0) + (
            v6_addresses if not cidrs or "2001:db8::/32" in cidrs else 0
        )
        listeners.append(
            Listener(
                id=f"lst{lb_index}{i}-aaaa",
                protocol=proto,
                protocol_port=port,
                connection_limit=draw(st.sampled_from([-1, 100] if virtuals == 1 else [-1, 0])),
                allowed_cidrs=cidrs,
                enabled=draw(st.booleans()),
                default_pool_id=default,
                insert_headers=(("X-Forwarded-For", "true"),)
                if proto == "HTTP" and draw(st.booleans())
                else (),
                timeout_client_data=draw(st.sampled_from([None, 50000, 20000])),
                timeout_member_data=draw(st.sampled_from([None, 50000, 20000, 90000])),
                timeout_member_connect=draw(st.sampled_from([None, 5000, 1000, 12000])),
                timeout_tcp_inspect=draw(st.sampled_from([None, 0, 50])),
                l7policies=l7,
            )
        )
    return LoadBalancer(
        id=lb_id,
        vip_address=f"192.0.2.{lb_index + 10}",
        enabled=draw(st.booleans()),
        listeners=tuple(listeners),
        pools=tuple(clean),
        additional_vips=extra,
    )


@st.composite
def partition_states(draw: st.DrawFn) -> PartitionState:
    n = draw(st.integers(0, 2))
    lbs = tuple(draw(load_balancers(i)) for i in range(n))
    # Members share ids across LBs only when Octavia would not: dedupe globally.
    seen: set[str] = set()
    fixed = []
    for lb in lbs:
        pools_ = []
        for p in lb.pools:
            mems = tuple(m for m in p.members if m.id not in seen)
            seen.update(m.id for m in mems)
            hm = p.health_monitor if p.health_monitor and p.health_monitor.id not in seen else None
            if hm:
                seen.add(hm.id)
            pools_.append(
                Pool(p.id, p.protocol, p.lb_algorithm, p.enabled, p.session_persistence, mems, hm)
            )
        fixed.append(
            LoadBalancer(
                lb.id, lb.vip_address, lb.enabled, lb.listeners, tuple(pools_), lb.additional_vips
            )
        )
    return PartitionState(KEY, draw(st.integers(1, 100)), tuple(fixed))
