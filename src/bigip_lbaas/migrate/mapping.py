"""neutron-lbaas v2 rows -> this product's desired-state rows: the pure part of the import.

No I/O. `plan(source, providers)` takes every row the import read from a
neutron-lbaas database (`Source`: one list of plain dicts per table, keyed by neutron-lbaas's
own column names) and returns, for each load balancer, either the rows to write (keyed by the
column names of `db/models.py`, ids kept) or why it cannot be carried over. A load balancer goes
in whole or not at all: one object of its tree that cannot be carried refuses the whole tree,
naming that object. Objects that belong to no load balancer are listed on their own.

The rules are the product's own, not copies: `api/validate.py` and the pure checks of
`api/create.py` decide what the API would refuse, with the same words.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bigip_lbaas.api import create, validate
from bigip_lbaas.api.providers import Providers
from bigip_lbaas.core.errors import ApiError
from bigip_lbaas.core.status import PENDING, Oper, Prov

Row = dict[str, Any]
# Target kinds, parents before children: the order rows are written in (db/desired.py's names).
KINDS = ("load_balancer", "pool", "member", "health_monitor", "listener", "l7policy", "l7rule")
LABELS = {"load_balancer": "load balancer", "listener": "listener", "pool": "pool",
          "member": "member", "health_monitor": "health monitor", "l7policy": "L7 policy",
          "l7rule": "L7 rule"}
# Provisioning statuses carried as they are; PENDING_* waits; anything else has no counterpart.
CARRIED = frozenset({Prov.ACTIVE, Prov.ERROR})
HTTP_MONITORS = ("HTTP", "HTTPS")
OPERATING = frozenset(o.value for o in Oper)
# Octavia's listener timeouts, which neutron-lbaas had no columns for (api/create.py).
TIMEOUTS = create.TLS_LISTENER_DEFAULT_TIMEOUTS


@dataclass(frozen=True)
class Source:
    """Rows read from the neutron-lbaas database, one list per table (column -> value)."""

    loadbalancers: list[Row] = field(default_factory=list)
    listeners: list[Row] = field(default_factory=list)
    pools: list[Row] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    healthmonitors: list[Row] = field(default_factory=list)
    sessionpersistences: list[Row] = field(default_factory=list)
    l7policies: list[Row] = field(default_factory=list)
    l7rules: list[Row] = field(default_factory=list)
    sni: list[Row] = field(default_factory=list)
    # lbaas_loadbalanceragentbindings joined to agents: loadbalancer_id, host, configurations
    bindings: list[Row] = field(default_factory=list)
    # providerresourceassociations: provider_name, resource_id
    providers: list[Row] = field(default_factory=list)
    # ipallocations of the VIP ports: port_id, ip_address, subnet_id, network_id
    vip_allocations: list[Row] = field(default_factory=list)
    # Neutron's subnets (with allocation_pools, dns_nameservers, host_routes, description
    # gathered from their own tables) and networks (with shared, external, description).
    subnets: list[Row] = field(default_factory=list)
    networks: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class LeftOut:
    kind: str
    id: str
    reason: str

    def __str__(self) -> str:
        return f"{LABELS.get(self.kind, self.kind)} {self.id}: {self.reason}"


@dataclass(frozen=True)
class LoadBalancerPlan:
    """One load balancer: `rows` to write when `refused` is None (and not `pending`)."""

    id: str
    name: str
    project_id: str
    environment: str
    rows: dict[str, list[Row]]
    networks: list[Row]
    subnets: list[Row]
    refused: LeftOut | None = None  # the object that stops the tree, and why
    pending: bool = False  # refused because something in it is PENDING_*: retry later
    notes: tuple[str, ...] = ()  # what the operator should know about what is carried

    @property
    def importable(self) -> bool:
        return self.refused is None

    def counts(self) -> dict[str, int]:
        return {kind: len(self.rows.get(kind, [])) for kind in KINDS}


@dataclass(frozen=True)
class Plan:
    load_balancers: list[LoadBalancerPlan]
    orphans: list[LeftOut]


class _Refuse(Exception):
    def __init__(self, kind: str, obj_id: str, reason: str, *, pending: bool = False) -> None:
        super().__init__(reason)
        self.left_out = LeftOut(kind, obj_id, reason)
        self.pending = pending


def _group(rows: Iterable[Row], key: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.get(key) is not None:
            out[row[key]].append(row)
    return out


def _status(kind: str, row: Row) -> str:
    status = str(row["provisioning_status"])
    if status in PENDING:
        raise _Refuse(kind, row["id"], f"is {status}: import it once it has settled",
                      pending=True)
    if status not in CARRIED:
        raise _Refuse(kind, row["id"], f"provisioning status {status} has no Octavia "
                                       "counterpart (only ACTIVE and ERROR are carried over)")
    return status


def _operating(value: Any, enabled: bool) -> str:
    """neutron-lbaas's operating status as Octavia names it: its DISABLED (an admin-down
    object) is Octavia's OFFLINE; a missing one is ONLINE, or OFFLINE when admin down."""
    if value in OPERATING:
        return str(value)
    return (Oper.ONLINE if enabled and value is None else Oper.OFFLINE).value


def _common(kind: str, row: Row, *, oper: str | None = None) -> Row:
    """The columns every Octavia object has."""
    enabled = bool(row["admin_state_up"])
    return {"id": row["id"], "project_id": row["project_id"], "name": row.get("name"),
            "description": row.get("description"),
            "provisioning_status": _status(kind, row),
            "operating_status": oper or _operating(row.get("operating_status"), enabled),
            "enabled": enabled, "tags": []}


def _checked(kind: str, obj_id: str, check: Any, *args: Any, **kwargs: Any) -> None:
    """Run one of the API's checks; its refusal refuses the object with the API's words."""
    try:
        check(*args, **kwargs)
    except ApiError as err:
        raise _Refuse(kind, obj_id, str(err)) from err


def environment_of(binding: Row | None) -> str | None:
    """The environment F5's agent named the partition with: `environment_prefix` from the
    configurations the bound agent reported (Neutron's `agents.configurations`, JSON)."""
    if binding is None:
        return None
    conf = binding.get("configurations")
    if isinstance(conf, str):
        try:
            conf = json.loads(conf)
        except ValueError:
            return None
    if isinstance(conf, Mapping) and conf.get("environment_prefix"):
        return str(conf["environment_prefix"])
    return None


class _Index:
    """The source rows grouped for one pass over the load balancers."""

    def __init__(self, src: Source) -> None:
        self.pools_of_lb = _group(src.pools, "loadbalancer_id")
        self.pools = {p["id"]: p for p in src.pools}
        self.listeners_of_lb = _group(src.listeners, "loadbalancer_id")
        self.members_of_pool = _group(src.members, "pool_id")
        self.monitors = {h["id"]: h for h in src.healthmonitors}
        self.persistence = {s["pool_id"]: s for s in src.sessionpersistences}
        self.policies_of_listener = _group(src.l7policies, "listener_id")
        self.rules_of_policy = _group(src.l7rules, "l7policy_id")
        self.sni_of_listener = _group(src.sni, "listener_id")
        self.binding = {b["loadbalancer_id"]: b for b in src.bindings}
        self.provider = {p["resource_id"]: p["provider_name"] for p in src.providers}
        self.allocations = _group(src.vip_allocations, "port_id")
        self.subnets = {s["id"]: s for s in src.subnets}
        self.networks = {n["id"]: n for n in src.networks}


def plan(src: Source, providers: Providers) -> Plan:
    idx = _Index(src)
    plans = [_plan_lb(lb, idx, providers) for lb in sorted(src.loadbalancers,
                                                          key=lambda r: str(r["id"]))]
    return Plan(plans, _orphans(src, idx))


def _plan_lb(lb: Row, idx: _Index, providers: Providers) -> LoadBalancerPlan:
    binding = idx.binding.get(lb["id"])
    provider = providers.get(idx.provider.get(lb["id"]))
    environment = environment_of(binding) or (provider.environment if provider else "")
    base = {"id": lb["id"], "name": lb.get("name") or "", "project_id": lb["project_id"],
            "environment": environment}
    try:
        rows, subnet_ids = _tree(lb, idx, providers)
    except _Refuse as refusal:
        return LoadBalancerPlan(**base, rows={}, networks=[], subnets=[],
                                refused=refusal.left_out, pending=refusal.pending)
    subnets = [idx.subnets[s] for s in sorted(subnet_ids)]
    networks = [idx.networks[n] for n in sorted({s["network_id"] for s in subnets})
                if n in idx.networks]
    return LoadBalancerPlan(**base, rows=rows, networks=[_network(n) for n in networks],
                            subnets=[_subnet(s) for s in subnets],
                            notes=tuple(_container_notes(rows["listener"])))


def _container_notes(listeners: list[Row]) -> list[str]:
    """neutron-lbaas referred to Barbican certificate containers; this product's certificate
    stores read PKCS12 secrets (as Octavia does), not containers."""
    out = []
    for row in listeners:
        refs = [row["default_tls_container_ref"] or "", *row["sni_container_refs"]]
        if any("/containers/" in ref for ref in refs):
            out.append(f"listener {row['id']}: its certificates are Barbican certificate "
                       "containers, which the certificate stores here do not read; the agents "
                       "cannot deploy them until they are stored as PKCS12 secrets and the "
                       "listener is updated to refer to those")
    return out


def _tree(lb: Row, idx: _Index, providers: Providers) -> tuple[dict[str, list[Row]], set[str]]:
    """Every row of the load balancer's tree, or _Refuse. Pending statuses are looked for
    first, so a tree that is both pending and not importable says "pending" (retry later)."""
    lb_id = lb["id"]
    listeners = sorted(idx.listeners_of_lb.get(lb_id, []), key=lambda r: str(r["id"]))
    pool_ids = {p["id"] for p in idx.pools_of_lb.get(lb_id, [])}
    # Pools made through a listener before pools had a load balancer column carry none.
    pool_ids |= {li["default_pool_id"] for li in listeners
                 if li.get("default_pool_id") in idx.pools
                 and idx.pools[li["default_pool_id"]].get("loadbalancer_id") is None}
    pools = [idx.pools[p] for p in sorted(pool_ids)]
    members = [m for p in pools for m in sorted(idx.members_of_pool.get(p["id"], []),
                                                key=lambda r: str(r["id"]))]
    monitors = [idx.monitors[p["healthmonitor_id"]] for p in pools
                if p.get("healthmonitor_id") in idx.monitors]
    policies = [p for li in listeners for p in sorted(
        idx.policies_of_listener.get(li["id"], []), key=lambda r: (r["position"], r["id"]))]
    rules = [r for p in policies for r in sorted(idx.rules_of_policy.get(p["id"], []),
                                                  key=lambda r: str(r["id"]))]
    tree = [("load_balancer", [lb]), ("listener", listeners), ("pool", pools),
            ("member", members), ("health_monitor", monitors), ("l7policy", policies),
            ("l7rule", rules)]
    for kind, objs in tree:
        for obj in objs:
            if str(obj["provisioning_status"]) in PENDING:
                _status(kind, obj)

    name = idx.provider.get(lb_id)
    provider = providers.get(name)
    if provider is None:
        raise _Refuse("load_balancer", lb_id,
                      f"its provider {name!r} is not configured here ([service_providers] "
                      f"service_provider; configured: {', '.join(providers.names())})")
    lb_row, subnet_ids = _load_balancer(lb, idx, provider.name)
    out: dict[str, list[Row]] = {"load_balancer": [lb_row]}
    pool_protocol = {p["id"]: str(p["protocol"]) for p in pools}
    out["pool"] = [_pool(p, idx, provider.name, lb_id) for p in pools]
    out["member"] = []
    for member in members:
        row, subnet = _member(member, idx.pools[member["pool_id"]], lb_id, idx)
        out["member"].append(row)
        if subnet:
            subnet_ids.add(subnet)
    out["health_monitor"] = [_monitor(h, p, lb_id) for p in pools
                             for h in monitors if p.get("healthmonitor_id") == h["id"]]
    vips = [lb_row["vip_address"]]
    out["listener"] = [_listener(li, idx, provider.name, pool_protocol, vips)
                       for li in listeners]
    listener_protocol = {li["id"]: str(li["protocol"]) for li in listeners}
    out["l7policy"] = [_policy(p, lb_id, listener_protocol, pool_protocol) for p in policies]
    out["l7rule"] = [_rule(r, lb_id) for r in rules]
    return out, subnet_ids


def _load_balancer(lb: Row, idx: _Index, provider: str) -> tuple[Row, set[str]]:
    subnet = idx.subnets.get(lb["vip_subnet_id"])
    if subnet is None:
        raise _Refuse("load_balancer", lb["id"], f"its VIP subnet {lb['vip_subnet_id']} is not "
                                                 "in the Neutron database's subnets")
    address = lb.get("vip_address")
    port_addresses = [a["ip_address"] for a in idx.allocations.get(lb.get("vip_port_id") or "", [])
                      if a["subnet_id"] == subnet["id"]]
    if not address and port_addresses:
        address = port_addresses[0]
    if not address:
        raise _Refuse("load_balancer", lb["id"], "it has no VIP address (none on the load "
                                                 "balancer, none allocated to its VIP port)")
    if lb.get("flavor_id"):
        raise _Refuse("load_balancer", lb["id"], f"it uses Neutron flavor {lb['flavor_id']}, "
                                                 "which has no counterpart here")
    row = {**_common("load_balancer", lb), "provider": provider,
           "vip_address": address, "vip_port_id": lb.get("vip_port_id"),
           "vip_subnet_id": subnet["id"], "vip_network_id": subnet["network_id"],
           "vip_qos_policy_id": None, "flavor_id": None, "availability_zone": None,
           "additional_vips": []}
    return row, {subnet["id"]}


def _pool(pool: Row, idx: _Index, provider: str, lb_id: str) -> Row:
    sp_row = idx.persistence.get(pool["id"])
    sp = None
    if sp_row is not None:
        sp = {"type": str(sp_row["type"])}
        if sp_row.get("cookie_name"):
            sp["cookie_name"] = sp_row["cookie_name"]
    _checked("pool", pool["id"], validate.pool, provider, str(pool["protocol"]),
             {"session_persistence": sp})
    return {**_common("pool", pool), "load_balancer_id": lb_id,
            "protocol": str(pool["protocol"]), "lb_algorithm": str(pool["lb_algorithm"]),
            "session_persistence": sp}


def _member(member: Row, pool: Row, lb_id: str, idx: _Index) -> tuple[Row, str | None]:
    subnet = member.get("subnet_id")
    if subnet and subnet not in idx.subnets:
        raise _Refuse("member", member["id"], f"its subnet {subnet} is not in the Neutron "
                                              "database's subnets")
    row = {**_common("member", member), "pool_id": pool["id"], "load_balancer_id": lb_id,
           "address": member["address"], "protocol_port": member["protocol_port"],
           "weight": 1 if member.get("weight") is None else member["weight"],
           "backup": False, "subnet_id": subnet or None,
           "monitor_address": None, "monitor_port": None}
    return row, subnet or None


def _monitor(hm: Row, pool: Row, lb_id: str) -> Row:
    kind = str(hm["type"])
    http = kind in HTTP_MONITORS
    # neutron-lbaas stored its HTTP defaults on every monitor; Octavia keeps them on HTTP(S)
    # monitors only (and refuses them on others), so they are dropped from TCP and PING ones.
    values = {"delay": hm["delay"], "timeout": hm["timeout"], "max_retries": hm["max_retries"],
              "http_method": (hm.get("http_method") or "GET") if http else None,
              "url_path": (hm.get("url_path") or "/") if http else None,
              "expected_codes": (hm.get("expected_codes") or "200") if http else None}
    _checked("health_monitor", hm["id"], create.hm_checks, str(pool["protocol"]), kind, values)
    return {**_common("health_monitor", hm), "pool_id": pool["id"], "load_balancer_id": lb_id,
            "type": kind, **values,
            "max_retries_down": 3 if hm.get("max_retries_down") is None
            else hm["max_retries_down"],
            "http_version": None, "domain_name": None}


def _listener(li: Row, idx: _Index, provider: str, pool_protocol: dict[str, str],
              vips: list[str | None]) -> Row:
    protocol = str(li["protocol"])
    sni = [s["tls_container_id"] for s in sorted(idx.sni_of_listener.get(li["id"], []),
                                                 key=lambda s: (s.get("position") or 0))]
    spec = {"default_tls_container_ref": li.get("default_tls_container_id"),
            "sni_container_refs": sni}
    _checked("listener", li["id"], validate.listener, provider, protocol, spec, vips=vips)
    pool = li.get("default_pool_id")
    if pool:
        if pool not in pool_protocol:
            raise _Refuse("listener", li["id"], f"its default pool {pool} is not one of its "
                                                "load balancer's pools")
        _checked("listener", li["id"], create.check_pool_protocol, protocol, pool_protocol[pool])
    limit = li.get("connection_limit")
    return {**_common("listener", li), "load_balancer_id": li["loadbalancer_id"],
            "protocol": protocol, "protocol_port": li["protocol_port"],
            "connection_limit": -1 if limit is None else limit, "default_pool_id": pool or None,
            "insert_headers": {}, **TIMEOUTS,
            "default_tls_container_ref": li.get("default_tls_container_id"),
            "sni_container_refs": sni}


def _policy(policy: Row, lb_id: str, listener_protocol: dict[str, str],
            pool_protocol: dict[str, str]) -> Row:
    action = str(policy["action"])
    pool = policy.get("redirect_pool_id") if action == "REDIRECT_TO_POOL" else None
    url = policy.get("redirect_url") if action == "REDIRECT_TO_URL" else None
    if action == "REDIRECT_TO_POOL":
        if pool not in pool_protocol:
            raise _Refuse("l7policy", policy["id"], f"its redirect pool {pool} is not one of "
                                                    "its load balancer's pools")
        _checked("l7policy", policy["id"], create.check_pool_protocol,
                 listener_protocol[policy["listener_id"]], pool_protocol[pool])
    if action == "REDIRECT_TO_URL" and not url:
        raise _Refuse("l7policy", policy["id"], "a REDIRECT_TO_URL policy without a redirect_url")
    enabled = bool(policy["admin_state_up"])
    return {**_common("l7policy", policy,
                      oper=(Oper.ONLINE if enabled else Oper.OFFLINE).value),
            "listener_id": policy["listener_id"], "load_balancer_id": lb_id,
            "action": action, "position": policy["position"], "redirect_pool_id": pool,
            "redirect_url": url, "redirect_prefix": None,
            "redirect_http_code": 302 if action == "REDIRECT_TO_URL" else None}


def _rule(rule: Row, lb_id: str) -> Row:
    kind = str(rule["type"])
    if kind in ("HEADER", "COOKIE") and not rule.get("key"):
        raise _Refuse("l7rule", rule["id"], f"a {kind} rule without a key")
    enabled = bool(rule["admin_state_up"])
    return {**_common("l7rule", rule, oper=(Oper.ONLINE if enabled else Oper.OFFLINE).value),
            "name": None, "description": None,
            "l7policy_id": rule["l7policy_id"], "load_balancer_id": lb_id, "type": kind,
            "compare_type": str(rule["compare_type"]), "key": rule.get("key"),
            "value": rule["value"], "invert": bool(rule["invert"])}


def _network(net: Row) -> Row:
    return {"id": net["id"], "project_id": net["project_id"], "name": net.get("name"),
            "description": net.get("description") or None,
            "admin_state_up": bool(net.get("admin_state_up", True)),
            "shared": bool(net.get("shared")), "external": bool(net.get("external")),
            "mtu": net.get("mtu") or 1500}


def _subnet(sub: Row) -> Row:
    return {"id": sub["id"], "network_id": sub["network_id"], "project_id": sub["project_id"],
            "name": sub.get("name"), "description": sub.get("description") or None,
            "cidr": sub["cidr"], "ip_version": sub["ip_version"],
            "gateway_ip": sub.get("gateway_ip"),
            "allocation_pools": list(sub.get("allocation_pools") or []),
            "enable_dhcp": bool(sub.get("enable_dhcp", True)),
            "dns_nameservers": list(sub.get("dns_nameservers") or []),
            "host_routes": list(sub.get("host_routes") or [])}


def _orphans(src: Source, idx: _Index) -> list[LeftOut]:
    """Objects under no load balancer: Octavia has no place for them."""
    lbs = {lb["id"] for lb in src.loadbalancers}
    reached_pools: set[str] = set()
    for lb in src.loadbalancers:
        reached_pools |= {p["id"] for p in idx.pools_of_lb.get(lb["id"], [])}
        reached_pools |= {li["default_pool_id"] for li in idx.listeners_of_lb.get(lb["id"], [])
                          if li.get("default_pool_id")}
    monitored = {p["healthmonitor_id"] for p in src.pools
                 if p["id"] in reached_pools and p.get("healthmonitor_id")}
    out = [LeftOut("listener", li["id"], "it belongs to no load balancer")
           for li in src.listeners if li.get("loadbalancer_id") not in lbs]
    out += [LeftOut("pool", p["id"], "it belongs to no load balancer and no listener uses it")
            for p in src.pools if p["id"] not in reached_pools]
    out += [LeftOut("health_monitor", h["id"], "no pool of a load balancer uses it")
            for h in src.healthmonitors if h["id"] not in monitored]
    return sorted(out, key=lambda x: (x.kind, x.id))
