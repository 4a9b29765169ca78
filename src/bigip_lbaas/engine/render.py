"""Render a partition's desired state (Octavia objects) into BIG-IP objects. Pure.

Global routed mode: no route domains (so no ``%id`` in any address), SNAT automap on every virtual,
every object in the partition ``<prefix>_<project_id>``. Anything the device cannot express
becomes an ``ObjectFailure`` naming the Octavia object and why, and the object's existing device
configuration is held as it is (never silently dropped, never half-changed). Nodes are not
rendered: the device creates them with the pool members that use them, and ``diff`` removes
the ones nothing uses any more.

Must not: do I/O, read clocks or randomness; output depends on the input only.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

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
from bigip_lbaas.core.network import NetworkSettings, PartitionNetwork
from bigip_lbaas.engine import names, tls
from bigip_lbaas.engine.config import (
    DeviceObject,
    Kind,
    ObjectFailure,
    ObjKey,
    Rendered,
    make_config,
)
from bigip_lbaas.engine.network import NetRender, render_network

DEFAULT_TRAFFIC_GROUP = "/Common/traffic-group-1"

# Octavia's API defaults: a value equal to these was not really "asked for".
OCTAVIA_TIMEOUT_DATA = capabilities.LISTENER_TIMEOUT_DEFAULTS["timeout_client_data"]
OCTAVIA_TIMEOUT_MEMBER_CONNECT = capabilities.LISTENER_TIMEOUT_DEFAULTS["timeout_member_connect"]

_MONITOR_KIND = {
    "PING": Kind.MONITOR_ICMP,
    "TCP": Kind.MONITOR_TCP,
    "HTTP": Kind.MONITOR_HTTP,
    "HTTPS": Kind.MONITOR_HTTPS,
    "UDP-CONNECT": Kind.MONITOR_UDP,
    "SCTP": Kind.MONITOR_SCTP,
}
_MONITOR_PARENT = {
    Kind.MONITOR_ICMP: "/Common/gateway_icmp",
    Kind.MONITOR_TCP: "/Common/tcp",
    Kind.MONITOR_HTTP: "/Common/http",
    Kind.MONITOR_HTTPS: "/Common/https",
    Kind.MONITOR_UDP: "/Common/udp",
    Kind.MONITOR_SCTP: "/Common/sctp",
}
_LB_MODE = {
    # (algorithm, weighted) -> loadBalancingMode
    ("ROUND_ROBIN", False): "round-robin",
    ("ROUND_ROBIN", True): "ratio-member",
    ("LEAST_CONNECTIONS", False): "least-connections-member",
    ("LEAST_CONNECTIONS", True): "ratio-least-connections-member",
    ("SOURCE_IP", False): "round-robin",
    ("SOURCE_IP", True): "ratio-member",
    # The member is picked by the pool's hash persistence (SOURCE_PORT_HASH_TCL); the mode
    # only orders the members it hashes over.
    ("SOURCE_IP_PORT", False): "round-robin",
    ("SOURCE_IP_PORT", True): "ratio-member",
}
_HTTP_LISTENERS = frozenset({"HTTP", "TERMINATED_HTTPS"})
_COMPARE = {
    "STARTS_WITH": "startsWith",
    "ENDS_WITH": "endsWith",
    "CONTAINS": "contains",
    "EQUAL_TO": "equals",
}
_TRUE = frozenset({"true", "True", "TRUE", "1", "yes"})

APP_COOKIE_TCL = (
    "when HTTP_RESPONSE {{\n"
    '  if {{ [HTTP::cookie exists "{name}"] }} {{ persist add uie [HTTP::cookie "{name}"] }}\n'
    "}}\n"
    "when HTTP_REQUEST {{\n"
    '  if {{ [HTTP::cookie exists "{name}"] }} {{ persist uie [HTTP::cookie "{name}"] }}\n'
    "}}\n"
)


class UnsupportedError(Exception):
    """Raised inside this module only; becomes an ObjectFailure."""

    def __init__(self, object_id: str, reason: str) -> None:
        self.object_id = object_id
        self.reason = reason
        super().__init__(f"{object_id}: {reason}")


@dataclass
class _Out:
    part: str
    prefix: str
    objects: list[DeviceObject] = field(default_factory=list)
    failures: list[ObjectFailure] = field(default_factory=list)
    hold: set[ObjKey] = field(default_factory=set)
    secrets: tls.Secrets = tls.NO_SECRETS
    files: dict[ObjKey, bytes] = field(default_factory=dict, repr=False)
    net: NetRender | None = None  # L2/L3 mode

    def address(self, address: str, subnet_id: str | None) -> str:
        """An address as the device gets it: with ``%rd`` in L2/L3 mode."""
        return address if self.net is None else self.net.address(address, subnet_id)

    def add_staged(self, staged: tls.Staged) -> None:
        """Emit TLS objects (engine/tls.py) with the content of their files. A file several
        objects use (a CA of a listener and a pool) stays with the first one's owner, so one
        user's failure does not hold it from the others."""
        for obj in staged.objects:
            if obj.key not in self.files:
                self.objects.append(obj)
        for key, content in staged.files.items():
            self.files.setdefault(key, content)

    def add(self, kind: Kind, name: str, body: dict[str, Any], owner: str | None) -> None:
        self.objects.append(DeviceObject(kind, name, body, owner))

    def path(self, name: str) -> str:
        return names.full_path(self.part, name)

    def fail(self, err: UnsupportedError, *held: ObjKey) -> None:
        self.failures.append(ObjectFailure(err.object_id, err.reason))
        self.hold.update(held)


def render(
    state: PartitionState,
    prefix: str,
    *,
    traffic_group: str = DEFAULT_TRAFFIC_GROUP,
    secrets: tls.Secrets = tls.NO_SECRETS,
    network: PartitionNetwork | None = None,
    settings: NetworkSettings | None = None,
    devices: tuple[str, ...] = (),
) -> Rendered:
    """Desired BIG-IP configuration for one partition, plus what could not be expressed.
    ``secrets``: the certificates, keys, CAs and CRLs the partition's TLS settings name, as the
    agent fetched them for this reconcile (``tls.wanted`` says which).

    ``network`` (L2/L3 mode, ``f5_global_routed_mode = False``): the partition's networking as
    the agent prepared it, rendered by ``engine.network`` with ``settings`` for ``devices`` (the
    names ``PartitionNetwork`` keys per-device facts by); every address then carries its route
    domain. None: global routed mode, exactly as before."""
    part = names.partition(prefix, state.key.project_id)
    out = _Out(part, prefix, secrets=secrets)
    per_device: dict[str, tuple[DeviceObject, ...]] = {}
    if state.load_balancers:
        out.add(Kind.FOLDER, part, {}, None)
    if network is not None and state.load_balancers:
        out.net = render_network(
            state, network, settings or NetworkSettings(global_routed_mode=False), prefix, part,
            traffic_group=traffic_group, devices=devices)
        out.objects.extend(out.net.objects)
        out.hold.update(out.net.hold)
        per_device = dict(out.net.per_device)
    for lb in sorted(state.load_balancers, key=lambda x: x.id):
        _render_lb(out, lb, traffic_group)
    if out.net is not None:
        known = {lb.id for lb in state.load_balancers} | {
            m.id for lb in state.load_balancers for p in lb.pools for m in p.members}
        out.failures += [ObjectFailure(i, r) for i, r in out.net.failures.items()
                         if i not in known]
    failures = tuple(sorted(set(out.failures), key=lambda f: (f.object_id, f.reason)))
    return Rendered(make_config(part, out.objects), failures, frozenset(out.hold), out.files,
                    per_device, network is not None)


# --------------------------------------------------------------------------- load balancer


def _mask(address: str) -> str:
    return (
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" if names.is_ipv6(address) else "255.255.255.255"
    )


def lb_addresses(lb: LoadBalancer) -> tuple[str, ...]:
    """The load balancer's VIP addresses: the primary first, then the additional ones by address
    (so the result does not depend on the order they were stored in)."""
    extra = sorted({a for a in lb.additional_vips if a != lb.vip_address})
    return (lb.vip_address, *extra)


def _cidr_is_v6(cidr: str) -> bool:
    return ":" in cidr


def listener_virtuals(
    prefix: str, lb: LoadBalancer, lst: Listener
) -> tuple[tuple[str, str, str], ...]:
    """(name, address, source) of each virtual server a listener is rendered to: one per address
    of its load balancer (the primary's is ``<prefix>_<listener_id>``, an additional address's
    ``<prefix>_<listener_id>_<address>``). With ``allowed_cidrs``, each virtual's source is the
    CIDR of its address family, and an address of a family no CIDR has gets no virtual: Octavia
    admits no client there. Shared by render and the status collection (``engine.health``)."""
    out = []
    for i, addr in enumerate(lb_addresses(lb)):
        v6 = names.is_ipv6(addr)
        if lst.allowed_cidrs:
            same = [c for c in lst.allowed_cidrs if _cidr_is_v6(c) == v6]
            if not same:
                continue
            source = same[0]
        else:
            source = "::/0" if v6 else "0.0.0.0/0"
        name = (
            names.virtual(prefix, lst.id)
            if i == 0
            else names.additional_virtual(prefix, lst.id, addr)
        )
        out.append((name, addr, source))
    return tuple(out)


def vip_subnet(lb: LoadBalancer, address: str) -> str | None:
    """The subnet of one of the load balancer's VIP addresses (L2/L3 mode)."""
    if address != lb.vip_address:
        for addr, subnet in lb.additional_vip_subnets:
            if addr == address:
                return subnet
    return lb.vip_subnet_id


def _hold_lb(out: _Out, lb: LoadBalancer) -> list[ObjKey]:
    """Everything of a load balancer on the device (when its network failed)."""
    held: list[ObjKey] = [(Kind.VIRTUAL_ADDRESS, names.virtual_address(out.prefix, lb.id))]
    for lst in lb.listeners:
        held += _listener_held(out.prefix, lst.id)
    for pool in lb.pools:
        held += _pool_held(out.prefix, pool.id)
    return held


def _pool_held(prefix: str, pool_id: str) -> list[ObjKey]:
    held = [(Kind.POOL, names.pool(prefix, pool_id))]
    held += [(Kind.RULE, names.app_cookie_rule(prefix, pool_id))]
    held += [(Kind.PERSISTENCE_UNIVERSAL, names.app_cookie_persistence(prefix, pool_id))]
    held += [(Kind.PROFILE_SERVER_SSL, names.pool(prefix, pool_id))]  # its family
    held += _pool_extras_held(prefix, pool_id)
    return held


def _listener_held(prefix: str, listener_id: str) -> list[ObjKey]:
    return [
        (Kind.VIRTUAL, names.virtual(prefix, listener_id)),
        (Kind.PROFILE_TCP, names.tcp_profile(prefix, listener_id)),
        (Kind.POLICY, names.virtual(prefix, listener_id)),  # family: <prefix>_<id>_*
        (Kind.PROFILE_CLIENT_SSL, names.virtual(prefix, listener_id)),  # family
        (Kind.PROFILE_HTTP, names.virtual(prefix, listener_id)),  # its HSTS one
        (Kind.RULE, names.header_rule(prefix, listener_id)),
    ]


def _render_lb(out: _Out, lb: LoadBalancer, traffic_group: str) -> None:
    if out.net is not None and lb.id in out.net.failures:
        out.fail(UnsupportedError(lb.id, out.net.failures[lb.id]), *_hold_lb(out, lb))
        out.failures += [ObjectFailure(m.id, out.net.failures[m.id]) for p in lb.pools
                         for m in p.members if m.id in out.net.failures]
        return
    for i, addr in enumerate(lb_addresses(lb)):
        out.add(
            Kind.VIRTUAL_ADDRESS,
            names.virtual_address(out.prefix, lb.id)
            if i == 0
            else names.additional_virtual_address(out.prefix, lb.id, addr),
            {
                "address": out.address(addr, vip_subnet(lb, addr)),
                "mask": _mask(addr),
                "enabled": "yes" if lb.enabled else "no",
                "trafficGroup": traffic_group,
                "autoDelete": "false",
            },
            lb.id,
        )
    pools = {p.id: p for p in lb.pools}
    failed_pools: dict[str, str] = {}
    for pool in sorted(lb.pools, key=lambda p: p.id):
        try:
            _render_pool(out, pool, lb.vip_subnet_id)
        except UnsupportedError as err:
            failed_pools[pool.id] = err.reason
            out.fail(err, *_pool_held(out.prefix, pool.id))
    for listener in sorted(lb.listeners, key=lambda x: x.id):
        try:
            _render_listener(out, lb, listener, pools, failed_pools)
        except UnsupportedError as err:
            out.fail(err, *_listener_held(out.prefix, listener.id))


# --------------------------------------------------------------------------- pool, members, monitor


def _expected_codes(hm: HealthMonitor) -> list[int]:
    spec = hm.expected_codes or "200"
    codes: list[int] = []
    for part in spec.replace(" ", "").split(","):
        m = re.fullmatch(r"(\d{3})(?:-(\d{3}))?", part)
        if not m:
            raise UnsupportedError(
                hm.id, f"expected_codes {spec!r} is not a list or range of HTTP codes"
            )
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi < lo or hi - lo > 100:
            raise UnsupportedError(hm.id, f"expected_codes range {part!r} is invalid")
        codes.extend(range(lo, hi + 1))
    return sorted(set(codes))


def _monitor_body(hm: HealthMonitor) -> tuple[Kind, dict[str, Any]]:
    kind = _MONITOR_KIND.get(hm.type)
    if kind is None:
        raise UnsupportedError(
            hm.id,
            capabilities.refusal("health monitor type", hm.type)
            or f"health monitor type {hm.type} has no BIG-IP monitor here",
        )
    body: dict[str, Any] = {
        "defaultsFrom": _MONITOR_PARENT[kind],
        "interval": hm.delay,
        # BIG-IP marks a member down after `timeout` seconds without a good probe.
        "timeout": hm.timeout * max(hm.max_retries_down, 1),
        # Octavia's rise threshold: max_retries good probes before ONLINE. BIG-IP counts time
        # instead: a member must keep passing for `timeUntilUp` seconds after its first good
        # probe, i.e. for the (max_retries - 1) probes that follow it.
        "timeUntilUp": hm.delay * max(hm.max_retries - 1, 0),
    }
    if kind in (Kind.MONITOR_HTTP, Kind.MONITOR_HTTPS):
        method = (hm.http_method or "GET").upper()
        if not re.fullmatch(r"[A-Z]+", method):
            raise UnsupportedError(hm.id, f"http_method {method!r} is invalid")
        url = hm.url_path or "/"
        if any(c in url for c in " \r\n\\"):
            raise UnsupportedError(
                hm.id, "url_path must not contain spaces, backslashes or line breaks"
            )
        if hm.http_version == 1.1:
            host = hm.domain_name or ""
            send = f"{method} {url} HTTP/1.1\\r\\nHost: {host}\\r\\nConnection: Close\\r\\n\\r\\n"
        else:
            if hm.domain_name:
                raise UnsupportedError(hm.id, "domain_name needs http_version 1.1")
            send = f"{method} {url} HTTP/1.0\\r\\n\\r\\n"
        codes = "|".join(str(c) for c in _expected_codes(hm))
        body["send"] = send
        body["recv"] = f"HTTP/1\\.(0|1) ({codes})"
    return kind, body


def _monitor_dest(m: Member) -> str:
    addr = m.monitor_address or "*"
    port = str(m.monitor_port) if m.monitor_port else "*"
    sep = "." if names.is_ipv6(addr) else ":"
    return f"{addr}{sep}{port}"


def _member_body(
    out: _Out, pool: Pool, m: Member, has_backup: bool, monitor: str, subnet: str | None
) -> dict[str, Any]:
    if not names.is_address(m.address):
        raise UnsupportedError(m.id, f"member address {m.address!r} is not an IP address")
    if out.net is not None and m.id in out.net.failures:
        raise UnsupportedError(m.id, out.net.failures[m.id])
    enabled = m.enabled and pool.enabled
    if not enabled:
        session, state = "user-disabled", "user-down"  # forced offline
    elif m.weight == 0:
        session, state = "user-disabled", "user-up"  # drain: existing connections only
    else:
        session, state = "user-enabled", "user-up"
    address = out.address(m.address, m.subnet_id or subnet)
    return {
        "name": names.member(address, m.protocol_port),
        "address": address,
        "ratio": max(m.weight, 1),
        "priorityGroup": (0 if m.backup else 1) if has_backup else 0,
        "session": session,
        "state": state,
        "monitor": monitor,
    }


def _render_pool(out: _Out, pool: Pool, subnet: str | None = None) -> None:
    reason = capabilities.refusal("pool protocol", pool.protocol) or capabilities.refusal(
        "lb_algorithm", pool.lb_algorithm
    )
    if reason is not None:
        raise UnsupportedError(pool.id, reason)
    weighted = any(m.weight > 1 for m in pool.members)
    mode = _LB_MODE[(pool.lb_algorithm, weighted)]
    sp = pool.session_persistence
    extras = _pool_extras(out, pool)
    if sp is not None:
        if sp.type not in ("SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"):
            raise UnsupportedError(pool.id, f"session persistence {sp.type} is not supported")
        if sp.type == "APP_COOKIE" and not re.fullmatch(r"[A-Za-z0-9_.\-]+", sp.cookie_name or ""):
            raise UnsupportedError(
                pool.id, "APP_COOKIE persistence needs a cookie_name of [A-Za-z0-9_.-]"
            )
    monitor_kind: Kind | None = None
    monitor_body: dict[str, Any] = {}
    hm = pool.health_monitor
    if hm is not None:
        try:
            monitor_kind, monitor_body = _monitor_body(hm)
        except UnsupportedError as err:
            out.fail(err)  # the pool still renders, unmonitored; the monitor is ERROR
    pool_monitor = ""
    staged: list[DeviceObject] = []
    if hm is not None and monitor_kind is not None:
        mon_name = names.monitor(out.prefix, hm.id)
        staged.append(DeviceObject(monitor_kind, mon_name, monitor_body, hm.id))
        if hm.enabled:
            pool_monitor = out.path(mon_name)
    has_backup = any(m.backup for m in pool.members)
    members = []
    seen: set[str] = set()
    for m in sorted(pool.members, key=lambda x: (x.address, x.protocol_port, x.id)):
        member_monitor = "default"
        if pool_monitor and monitor_kind is not None and (m.monitor_address or m.monitor_port):
            mm = names.member_monitor(out.prefix, m.id, monitor_kind.value.rsplit("/", 1)[1])
            staged.append(
                DeviceObject(
                    monitor_kind, mm, {**monitor_body, "destination": _monitor_dest(m)}, m.id
                )
            )
            member_monitor = out.path(mm)
        body = _member_body(out, pool, m, has_backup, member_monitor, subnet)
        if body["name"] in seen:
            raise UnsupportedError(m.id, f"duplicate member {body['name']} in pool {pool.id}")
        seen.add(body["name"])
        members.append(body)
    server_ssl = _pool_tls(out, pool)
    # Nothing below can fail: emit objects.
    out.objects.extend(staged)
    if server_ssl is not None:
        out.add_staged(server_ssl)
    out.objects.extend(extras)
    out.add(
        Kind.POOL,
        names.pool(out.prefix, pool.id),
        {
            "loadBalancingMode": mode,
            "monitor": pool_monitor,
            "minActiveMembers": 1 if has_backup else 0,
            "members": sorted(members, key=lambda b: str(b["name"])),
        },
        pool.id,
    )
    if sp is not None and sp.type == "APP_COOKIE" and sp.cookie_name:
        rule = names.app_cookie_rule(out.prefix, pool.id)
        out.add(
            Kind.RULE, rule, {"apiAnonymous": APP_COOKIE_TCL.format(name=sp.cookie_name)}, pool.id
        )
        out.add(
            Kind.PERSISTENCE_UNIVERSAL,
            names.app_cookie_persistence(out.prefix, pool.id),
            {"defaultsFrom": "/Common/universal", "rule": out.path(rule)},
            pool.id,
        )


# --------------------------------------------------------------------------- listener


def _is_true(value: str) -> bool:
    return value.strip() in _TRUE


def _persistence(out: _Out, pool: Pool) -> tuple[list[str], str]:
    """(persist, fallbackPersistence) for a virtual whose default pool is ``pool``."""
    sp = pool.session_persistence
    persist: list[str] = []
    if sp is not None:
        if sp.type == "SOURCE_IP" and _own_source_addr(sp):
            persist = [out.path(names.source_addr_persistence(out.prefix, pool.id))]
        elif sp.type == "SOURCE_IP":
            persist = ["/Common/source_addr"]
        elif sp.type == "HTTP_COOKIE":
            persist = ["/Common/cookie"]
        elif sp.type == "APP_COOKIE":
            persist = [out.path(names.app_cookie_persistence(out.prefix, pool.id))]
    fallback = ""
    if pool.lb_algorithm == "SOURCE_IP":
        if not persist:
            persist = ["/Common/source_addr"]
        elif persist != ["/Common/source_addr"]:
            fallback = "/Common/source_addr"
    if pool.lb_algorithm == "SOURCE_IP_PORT" and not persist:
        persist = [out.path(names.source_port_hash_persistence(out.prefix, pool.id))]
    return persist, fallback


Profile = str | dict[str, str]


def profile_path(profile: Profile) -> str:
    """A virtual's profile is its path (context ``all``) or ``{"name": path, "context": side}``."""
    return profile if isinstance(profile, str) else profile["name"]


def _tcp_profiles(out: _Out, lst: Listener) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, context, body) of the listener's own TCP profiles: none when its timeouts are
    Octavia's defaults (the virtual uses /Common/tcp), or for a UDP or SCTP listener (Octavia
    applies them to HAProxy only); else one for both sides when both sides' settings are
    equal, or a clientside and a serverside one (a side left at the default gets it).
    timeout_client_data and timeout_member_data are each side's idle timeout,
    timeout_member_connect the serverside SYN schedule (``syn_schedule``)."""
    if lst.protocol in _L4_PROFILE:
        return []
    client, member = (
        OCTAVIA_TIMEOUT_DATA if t is None else t
        for t in (lst.timeout_client_data, lst.timeout_member_data)
    )
    connect = lst.timeout_member_connect
    if connect == OCTAVIA_TIMEOUT_MEMBER_CONNECT:
        connect = None
    if client == member == OCTAVIA_TIMEOUT_DATA and connect is None:
        return []
    name = names.tcp_profile(out.prefix, lst.id)
    base = {"defaultsFrom": "/Common/tcp"}
    client_body = {**base, "idleTimeout": math.ceil(client / 1000)}
    server_body = {**base, "idleTimeout": math.ceil(member / 1000)}
    if connect is not None:
        server_body.update(syn_schedule(connect))
    if client_body == server_body:
        return [(name, "all", client_body)]
    return [
        (name, "clientside", client_body),
        (names.tcp_server_profile(out.prefix, lst.id), "serverside", server_body),
    ]


def _pool_tls(out: _Out, pool: Pool) -> tls.Staged | None:
    """A re-encrypting pool's server-ssl profile and files (engine/tls.py)."""
    if pool.tls is None:
        return None
    try:
        return tls.server_side(out.part, out.prefix, pool, out.secrets)
    except tls.TlsUnsupported as err:
        raise UnsupportedError(err.object_id, err.reason) from None


def _listener_tls(
    out: _Out, lst: Listener, pools: dict[str, Pool]
) -> tuple[tls.Staged | None, list[Profile]]:
    """A listener's TLS objects and the profiles they add to its virtual: client-ssl profiles
    (TERMINATED_HTTPS) and its pools' server-ssl profile (re-encryption)."""
    staged: tls.Staged | None = None
    profiles: list[Profile] = []
    try:
        if lst.protocol == "TERMINATED_HTTPS":
            staged, paths = tls.client_side(out.part, out.prefix, lst, out.secrets)
            profiles += [{"name": p, "context": "clientside"} for p in paths]
        server = tls.server_profile(out.part, out.prefix, lst, pools)
    except tls.TlsUnsupported as err:
        raise UnsupportedError(err.object_id, f"TERMINATED_HTTPS: {err.reason}"
                               if lst.protocol == "TERMINATED_HTTPS" else err.reason) from None
    if server is not None:
        profiles.append({"name": server, "context": "serverside"})
    return staged, profiles


def _render_listener(
    out: _Out, lb: LoadBalancer, lst: Listener, pools: dict[str, Pool], failed_pools: dict[str, str]
) -> None:
    reason = capabilities.refusal("listener protocol", lst.protocol)
    if reason is not None:
        raise UnsupportedError(lst.id, reason)
    http = lst.protocol in _HTTP_LISTENERS
    families = {names.is_ipv6(a) for a in lb_addresses(lb)}
    for cidr in lst.allowed_cidrs:
        if _cidr_is_v6(cidr) not in families:
            raise UnsupportedError(
                lst.id,
                f"allowed_cidr {cidr} is of an IP version none of the load balancer's VIPs has",
            )
    for v6 in families:
        if sum(1 for c in lst.allowed_cidrs if _cidr_is_v6(c) == v6) > 1:
            raise UnsupportedError(
                lst.id,
                "more than one allowed_cidr of one IP version cannot be expressed on a "
                "virtual server",
            )
    virtuals = listener_virtuals(out.prefix, lb, lst)
    if lst.connection_limit > 0 and len(virtuals) > 1:
        raise UnsupportedError(
            lst.id,
            f"connection_limit limits the listener as a whole, but BIG-IP would limit each of "
            f"its {len(virtuals)} virtual servers (one per VIP address) separately",
        )
    xff = False
    header_rule = ""
    for header, value in lst.insert_headers:
        if not _is_true(value):
            continue
        if header == "X-Forwarded-For" and http:
            xff = True
        elif header in HEADER_TCL and http:
            header_rule = names.header_rule(out.prefix, lst.id)
        else:
            raise UnsupportedError(
                lst.id, f"insert_headers {header} is not supported on a {lst.protocol} listener"
            )

    pool_path = ""
    persist: list[str] = []
    fallback = ""
    if lst.default_pool_id is not None:
        if lst.default_pool_id in failed_pools:
            raise UnsupportedError(
                lst.id,
                f"default pool {lst.default_pool_id} failed: {failed_pools[lst.default_pool_id]}",
            )
        pool = pools.get(lst.default_pool_id)
        if pool is None:
            raise UnsupportedError(
                lst.id, f"default pool {lst.default_pool_id} is not in this load balancer"
            )
        pool_path = out.path(names.pool(out.prefix, pool.id))
        persist, fallback = _persistence(out, pool)
        sp = pool.session_persistence
        if sp is not None and sp.type in ("HTTP_COOKIE", "APP_COOKIE") and not http:
            raise UnsupportedError(lst.id, f"{sp.type} persistence needs an HTTP listener")

    profiles: list[Profile] = []
    tcp = _tcp_profiles(out, lst)
    if lst.protocol in _L4_PROFILE:
        profiles.append(_L4_PROFILE[lst.protocol])
    elif tcp:
        profiles += [
            out.path(name) if context == "all" else {"name": out.path(name), "context": context}
            for name, context, _ in tcp
        ]
    else:
        profiles.append("/Common/tcp")
    hsts = tls.hsts(lst.tls) if lst.tls is not None else None
    if hsts is not None:
        profiles.append(out.path(names.listener_http_profile(out.prefix, lst.id)))
    elif http:
        profiles.append(out.path(names.xff_http_profile(out.prefix)) if xff else "/Common/http")
    tls_staged, tls_profiles = _listener_tls(out, lst, pools)
    profiles += tls_profiles

    policy_body = _l7_policy(out, lst, pools, failed_pools) if lst.l7policies else None
    if lst.l7policies and not http:
        raise UnsupportedError(lst.id, f"L7 policies need an HTTP listener, not {lst.protocol}")

    # Nothing below can fail: emit objects.
    for name, _, tcp_body in tcp:
        out.add(Kind.PROFILE_TCP, name, tcp_body, lst.id)
    if tls_staged is not None:
        out.add_staged(tls_staged)
    if hsts is not None:
        out.add(
            Kind.PROFILE_HTTP,
            names.listener_http_profile(out.prefix, lst.id),
            {
                "defaultsFrom": "/Common/http",
                "insertXforwardedFor": "enabled" if xff else "disabled",
                "hsts": hsts,
            },
            lst.id,
        )
    elif xff:
        out.add(
            Kind.PROFILE_HTTP,
            names.xff_http_profile(out.prefix),
            {"defaultsFrom": "/Common/http", "insertXforwardedFor": "enabled"},
            None,
        )
    if header_rule:
        out.add(Kind.RULE, header_rule, {"apiAnonymous": _header_tcl(lst)}, lst.id)
    policies: list[str] = []
    if policy_body is not None:
        content = json.dumps(policy_body, sort_keys=True)
        pname = names.ltm_policy(out.prefix, lst.id, content)
        out.add(Kind.POLICY, pname, policy_body, lst.id)
        policies.append(out.path(pname))
    body: dict[str, Any] = {
        "ipProtocol": _IP_PROTOCOL.get(lst.protocol, "tcp"),
        "pool": pool_path,
        "connectionLimit": max(lst.connection_limit, 0),
        "sourceAddressTranslation": (
            {"type": "automap"} if out.net is None else dict(out.net.snat)),
        "profiles": sorted(profiles, key=profile_path),
        "persist": persist,
        "fallbackPersistence": fallback,
        "policies": policies,
        "rules": sorted(_proxy_protocol_rules(out, lst, pools)
                        + ([out.path(header_rule)] if header_rule else [])),
    }
    body["enabled" if (lst.enabled and lb.enabled) else "disabled"] = True
    # One virtual per VIP address, identical but for destination, mask and source.
    for name, addr, any_source in virtuals:
        source = any_source
        if out.net is not None:
            net, _, plen = any_source.partition("/")
            source = f"{out.address(net, vip_subnet(lb, addr))}/{plen}"
        out.add(
            Kind.VIRTUAL,
            name,
            {
                "destination": out.path(
                    names.service(out.address(addr, vip_subnet(lb, addr)), lst.protocol_port)),
                "mask": _mask(addr),
                "source": source,
                **body,
            },
            lst.id,
        )


# --------------------------------------------------------------------------- L7


def _condition(rule: L7Rule) -> dict[str, Any]:
    op = _COMPARE.get(rule.compare_type)
    if op is None:
        raise UnsupportedError(
            rule.id, f"compare_type {rule.compare_type} is not supported by LTM policies"
        )
    cond: dict[str, Any] = {"request": True, op: True, "values": [rule.value]}
    if rule.type == "HOST_NAME":
        cond.update(httpHost=True, host=True, caseInsensitive=True)
    elif rule.type == "PATH":
        cond.update(httpUri=True, path=True)
    elif rule.type == "FILE_TYPE":
        cond.update(httpUri=True, extension=True)
    elif rule.type in ("HEADER", "COOKIE"):
        if not rule.key:
            raise UnsupportedError(rule.id, f"{rule.type} rules need a key")
        cond.update(
            {"httpHeader" if rule.type == "HEADER" else "httpCookie": True, "tmName": rule.key}
        )
    else:
        raise UnsupportedError(rule.id, f"L7 rule type {rule.type} is not supported")
    if rule.invert:
        cond["not"] = True
    return cond


def _action(
    out: _Out, pol: L7Policy, pools: dict[str, Pool], failed_pools: dict[str, str]
) -> dict[str, Any]:
    if pol.action == "REJECT":
        return {"name": "0", "request": True, "shutdown": True, "connection": True}
    if pol.action == "REDIRECT_TO_URL":
        if not pol.redirect_url:
            raise UnsupportedError(pol.id, "REDIRECT_TO_URL needs redirect_url")
        if pol.redirect_http_code not in (None, 302):
            raise UnsupportedError(
                pol.id, f"redirect_http_code {pol.redirect_http_code} is not supported (302 only)"
            )
        return {
            "name": "0",
            "request": True,
            "httpReply": True,
            "redirect": True,
            "location": pol.redirect_url,
        }
    if pol.action == "REDIRECT_TO_POOL":
        pid = pol.redirect_pool_id
        if pid is None or pid not in pools:
            raise UnsupportedError(pol.id, f"redirect pool {pid} is not in this load balancer")
        if pid in failed_pools:
            raise UnsupportedError(pol.id, f"redirect pool {pid} failed: {failed_pools[pid]}")
        return {
            "name": "0",
            "request": True,
            "forward": True,
            "pool": out.path(names.pool(out.prefix, pid)),
        }
    raise UnsupportedError(pol.id, f"L7 policy action {pol.action} is not supported")


def _l7_policy(
    out: _Out, lst: Listener, pools: dict[str, Pool], failed_pools: dict[str, str]
) -> dict[str, Any] | None:
    """One first-match LTM policy per listener; a rule per enabled Octavia L7 policy, in order."""
    rules: list[dict[str, Any]] = []
    problems: list[UnsupportedError] = []
    for pol in sorted(lst.l7policies, key=lambda p: (p.position, p.id)):
        try:
            action = _action(out, pol, pools, failed_pools)
            conds = []
            for r in sorted(pol.rules, key=lambda r: r.id):
                try:
                    if r.enabled:
                        conds.append(_condition(r))
                except UnsupportedError as err:
                    problems.append(err)
                    raise UnsupportedError(pol.id, f"rule {r.id}: {err.reason}") from None
        except UnsupportedError as err:
            problems.append(err)
            continue
        if not pol.enabled or not conds:
            continue  # Octavia: a disabled policy, or one without rules, never matches
        rules.append(
            {
                "name": names.l7_rule(out.prefix, pol.id),
                "ordinal": len(rules),
                "conditions": [{"name": str(i), **c} for i, c in enumerate(conds)],
                "actions": [action],
            }
        )
    if problems:
        for p in problems:
            out.failures.append(ObjectFailure(p.object_id, p.reason))
        raise UnsupportedError(
            lst.id, "an L7 policy of this listener cannot be expressed: " + problems[0].reason
        )
    if not rules:
        return None
    return {
        "strategy": "/Common/first-match",
        "requires": ["http"],
        "controls": ["forwarding"],
        "rules": rules,
    }


# --------------------------------------------------------------------------- L4 protocols, PROXY
# protocol, SOURCE_IP_PORT, the listener timeouts (what core/capabilities.py lists as rendered)

# A UDP or SCTP listener's virtual carries that ipProtocol and the protocol's built-in profile;
# every other listener is TCP.
_IP_PROTOCOL = {"UDP": "udp", "SCTP": "sctp"}
_L4_PROFILE = {"UDP": "/Common/udp", "SCTP": "/Common/sctp"}

# PROXY protocol version 1 (haproxy.org/download/1.8/doc/proxy-protocol.txt, section 2.1), sent
# by the BIG-IP to the member as the first bytes of the server-side connection, as Octavia's
# amphora does with HAProxy's `send-proxy` and SAP's F5 provider with its "proxy_protocol_
# initiator" iRule: the client's address and port and the address and port it connected to.
# The rule may be attached to a virtual whose L7 policies send only some requests to the PROXY
# pool, so it acts only when the connection goes to that pool. Route-domain suffixes (%id) are
# not part of an address on the wire.
PROXY_PROTOCOL_TCL = (
    "when SERVER_CONNECTED {{\n"
    '  if {{ [LB::server pool] ne "{pool}" }} {{ return }}\n'
    "  clientside {{\n"
    "    set version [IP::version]\n"
    '    set src [getfield [IP::remote_addr] "%" 1]\n'
    '    set dst [getfield [IP::local_addr] "%" 1]\n'
    "    set sport [TCP::remote_port]\n"
    "    set dport [TCP::local_port]\n"
    "  }}\n"
    '  TCP::respond "PROXY TCP$version $src $dst $sport $dport\\r\\n"\n'
    "}}\n"
)

# SOURCE_IP_PORT (Octavia: the member is chosen by a hash of the client's address and port, as
# OVN's and LoxiLB's providers do; the same client address and port always reach the same
# member while the member set is unchanged, and nothing is remembered). On a BIG-IP: a hash
# persistence profile with the CARP algorithm, which maps a key straight to a member with no
# persistence record (consistent hashing: removing a member moves only its own keys), keyed on
# the client address and source port by this iRule.
SOURCE_PORT_HASH_TCL = (
    "when CLIENT_ACCEPTED {\n"
    "  switch -- [IP::protocol] {\n"
    '    17 { persist hash "[IP::client_addr] [UDP::client_port]" }\n'
    '    132 { persist hash "[IP::client_addr] [SCTP::client_port]" }\n'
    '    default { persist hash "[IP::client_addr] [TCP::client_port]" }\n'
    "  }\n"
    "}\n"
)

# The initial SYN retransmission timeout a schedule starts from (Linux's, which HAProxy's
# connection attempts ride on).
SYN_RTO_BASE_MS = 1000


def syn_schedule(connect_ms: int) -> dict[str, int]:
    """The serverside TCP profile settings under which a connection attempt to a member gives up
    after ``connect_ms`` (Octavia's timeout_member_connect, HAProxy's `timeout connect`): the
    initial SYN and ``synMaxRetrans`` retransmissions, the RTO starting at ``synRtoBase`` and
    doubling each time, wait ``synRtoBase * (2 ** (synMaxRetrans + 1) - 1)`` ms in all. As many
    retransmissions as fit with an initial RTO of at least SYN_RTO_BASE_MS (so a lost SYN is
    retried as the kernel under HAProxy would), the base stretched to end at ``connect_ms``
    (rounded down to the millisecond); below SYN_RTO_BASE_MS, one SYN that waits that long."""
    retrans = 0
    while connect_ms // (2 ** (retrans + 2) - 1) >= SYN_RTO_BASE_MS:
        retrans += 1
    base = max(connect_ms // (2 ** (retrans + 1) - 1), 1)
    return {"synRtoBase": base, "synMaxRetrans": retrans}


def _own_source_addr(sp: SessionPersistence) -> bool:
    """A SOURCE_IP persistence with a timeout or granularity (Octavia allows them on UDP and
    SCTP pools) needs a source-address persistence profile of its own."""
    return sp.persistence_timeout is not None or bool(sp.persistence_granularity)


def _pool_extras(out: _Out, pool: Pool) -> list[DeviceObject]:
    """A pool's own iRules and persistence profiles beside the pool: the PROXY protocol iRule of
    a PROXY pool, the hash persistence of a SOURCE_IP_PORT pool, the source-address persistence
    of a SOURCE_IP persistence with a timeout or granularity."""
    objs: list[DeviceObject] = []
    if pool.protocol == "PROXY":
        text = PROXY_PROTOCOL_TCL.format(pool=out.path(names.pool(out.prefix, pool.id)))
        objs.append(DeviceObject(Kind.RULE, names.proxy_protocol_rule(out.prefix, pool.id),
                                 {"apiAnonymous": text}, pool.id))
    if pool.lb_algorithm == "SOURCE_IP_PORT":
        rule = names.source_port_hash_rule(out.prefix, pool.id)
        objs.append(DeviceObject(Kind.RULE, rule, {"apiAnonymous": SOURCE_PORT_HASH_TCL},
                                 pool.id))
        objs.append(DeviceObject(
            Kind.PERSISTENCE_HASH, names.source_port_hash_persistence(out.prefix, pool.id),
            {"defaultsFrom": "/Common/hash", "hashAlgorithm": "carp", "rule": out.path(rule)},
            pool.id))
    sp = pool.session_persistence
    if sp is not None and sp.type == "SOURCE_IP" and _own_source_addr(sp):
        body: dict[str, Any] = {"defaultsFrom": "/Common/source_addr"}
        if sp.persistence_timeout is not None:
            body["timeout"] = str(sp.persistence_timeout)
        if sp.persistence_granularity:
            body["mask"] = sp.persistence_granularity
        objs.append(DeviceObject(Kind.PERSISTENCE_SOURCE_ADDR,
                                 names.source_addr_persistence(out.prefix, pool.id), body, pool.id))
    return objs


def _pool_extras_held(prefix: str, pool_id: str) -> list[ObjKey]:
    """What ``_pool_extras`` may have put on the device for a pool that now failed."""
    return [
        (Kind.RULE, names.proxy_protocol_rule(prefix, pool_id)),
        (Kind.RULE, names.source_port_hash_rule(prefix, pool_id)),
        (Kind.PERSISTENCE_HASH, names.source_port_hash_persistence(prefix, pool_id)),
        (Kind.PERSISTENCE_SOURCE_ADDR, names.source_addr_persistence(prefix, pool_id)),
    ]


def _proxy_protocol_rules(out: _Out, lst: Listener, pools: dict[str, Pool]) -> list[str]:
    """The PROXY protocol iRules a listener's virtual runs: one for each PROXY pool it sends
    connections to (its default pool, its L7 policies' redirect pools)."""
    used = [lst.default_pool_id] if lst.default_pool_id else []
    used += [p.redirect_pool_id for p in lst.l7policies
             if p.enabled and p.action == "REDIRECT_TO_POOL" and p.redirect_pool_id]
    return sorted({
        out.path(names.proxy_protocol_rule(out.prefix, pid))
        for pid in used
        if pid in pools and pools[pid].protocol == "PROXY"
    })


# insert_headers other than X-Forwarded-For (the HTTP profile's own option) on an HTTP listener:
# set on every request as Octavia's HAProxy does (`http-request set-header`, replacing what the
# client sent), by one iRule of the listener's.
HEADER_TCL = {
    "X-Forwarded-Port": "  HTTP::header replace X-Forwarded-Port [TCP::local_port]\n",
    "X-Forwarded-Proto": "  HTTP::header replace X-Forwarded-Proto http\n",
}


def _header_tcl(lst: Listener) -> str:
    lines = [HEADER_TCL[h] for h, v in sorted(lst.insert_headers) if h in HEADER_TCL
             and _is_true(v)]
    if lst.protocol == "TERMINATED_HTTPS":  # the client spoke TLS to the virtual
        lines = [line.replace("X-Forwarded-Proto http", "X-Forwarded-Proto https")
                 for line in lines]
    return "when HTTP_REQUEST {\n" + "".join(lines) + "}\n"
