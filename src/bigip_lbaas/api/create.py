"""Inserting new desired-state rows (PENDING_CREATE), shared by single creates and the graph create.

Each `insert_*` validates what only the database can tell (duplicates, compatibility with the
parent) and adds the row; the caller holds the load balancer lock and calls `mark_changed`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached

from bigip_lbaas.api import tls, validate
from bigip_lbaas.api.errors import (
    DuplicateHealthMonitor,
    DuplicateListener,
    DuplicateMember,
    InvalidL7PolicyArgs,
    InvalidOption,
    ListenerNoChildren,
    NotFound,
    ValidationFailure,
)
from bigip_lbaas.api.resources import HEALTHMONITOR, L7POLICY, L7RULE, LISTENER, MEMBER, POOL
from bigip_lbaas.api.resources import columns_from as columns
from bigip_lbaas.core.status import Oper, Prov
from bigip_lbaas.db import models as m

# Octavia's VALID_LISTENER_POOL_PROTOCOL_MAP: listener protocol -> pool protocols it may use.
LISTENER_POOL_PROTOCOLS = {
    "TCP": {"HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"},
    "HTTP": {"HTTP", "PROXY", "PROXYV2"},
    "HTTPS": {"HTTPS", "PROXY", "PROXYV2", "TCP"},
    "TERMINATED_HTTPS": {"HTTP", "PROXY", "PROXYV2"},
    "UDP": {"UDP"},
    "SCTP": {"SCTP"},
    "PROMETHEUS": set(),
}
# Octavia's L4_PROTOCOL_MAP: one listener per port per L4 protocol on a load balancer.
L4_PROTOCOL = {"TCP": "TCP", "HTTP": "TCP", "HTTPS": "TCP", "TERMINATED_HTTPS": "TCP",
               "PROMETHEUS": "TCP", "UDP": "UDP", "SCTP": "SCTP"}
HTTP_MONITORS = {"HTTP", "HTTPS"}
# Octavia refuses these on other monitor types (http_version and domain_name it accepts).
HTTP_ONLY = ("http_method", "url_path", "expected_codes")
HM_HTTP_DEFAULTS = {"http_method": "GET", "url_path": "/", "expected_codes": "200"}
UDP_SCTP = ("UDP", "SCTP")
# The monitor types Octavia allows on a UDP or SCTP pool, in the order its message names them.
UDP_SCTP_MONITORS = ("UDP-CONNECT", "SCTP", "TCP", "HTTP")
# Octavia's [api_settings] udp_connect_min_interval_health_monitor default.
UDP_CONNECT_MIN_DELAY = 3
TLS_LISTENER_DEFAULT_TIMEOUTS = {"timeout_client_data": 50000, "timeout_member_connect": 5000,
                                 "timeout_member_data": 50000, "timeout_tcp_inspect": 0}


def new_id() -> str:
    return str(uuid.uuid4())


def _base(project_id: str, obj_id: str | None = None) -> dict[str, Any]:
    """The columns every new row starts with; `obj_id` when the caller names the id (the
    Octavia provider driver: Octavia chose it), else a new one."""
    return {"id": obj_id or new_id(), "project_id": project_id,
            "provisioning_status": Prov.PENDING_CREATE, "operating_status": Oper.OFFLINE}


def insert_loadbalancer(session: Session, values: dict[str, Any]) -> m.LoadBalancer:
    """Insert a load balancer row with one Core INSERT (no unit-of-work flush), reading the
    server's `created_at` back with RETURNING where the database has it (else with a SELECT,
    as the ORM would), and return it as a row of `session` as if just loaded: later `get`s find
    it without asking, and no attribute is left to load lazily. `values`: its columns (every
    column not named is NULL), `created_at` excepted."""
    table = cast(sa.Table, m.LoadBalancer.__table__)
    row: dict[str, Any] = {c.name: values.get(c.name) for c in table.c if c.name != "created_at"}
    # Parameters of one statement built once (its compiled form is cached); a JSON column left
    # out is SQL NULL, as the ORM stores a None (a None parameter would be JSON null).
    params = {k: v for k, v in row.items()
              if v is not None or not isinstance(table.c[k].type, sa.JSON)}
    if session.get_bind().dialect.insert_returning:
        created = session.execute(_LB_INSERT_RETURNING, params).scalar_one()
    else:
        session.execute(_LB_INSERT, params)
        created = session.scalar(_LB_CREATED_AT, {"id": row["id"]})
    lb = m.LoadBalancer(**row, created_at=created)
    make_transient_to_detached(lb)
    session.add(lb)
    return lb


_LB_TABLE = cast(sa.Table, m.LoadBalancer.__table__)
_LB_INSERT = sa.insert(_LB_TABLE)
_LB_INSERT_RETURNING = _LB_INSERT.returning(_LB_TABLE.c.created_at)
_LB_CREATED_AT = sa.select(_LB_TABLE.c.created_at).where(_LB_TABLE.c.id == sa.bindparam("id"))


def _clean(spec: dict[str, Any]) -> dict[str, Any]:
    spec = {k: v for k, v in spec.items() if k not in ("project_id", "tenant_id")}
    for key in ("tags", "sni_container_refs", "allowed_cidrs", "tls_versions", "alpn_protocols"):
        if key in spec and spec[key] is None:
            spec[key] = []
    if "insert_headers" in spec and spec["insert_headers"] is None:
        spec["insert_headers"] = {}
    return spec


def provider_of(lb: m.LoadBalancer | None) -> str:
    """The provider a load balancer was created with (Octavia's default when none is stored)."""
    return lb.provider if lb is not None and lb.provider else "octavia"


def provider_of_lb(session: Session, lb_id: str) -> str:
    return provider_of(session.get(m.LoadBalancer, lb_id))


def vip_addresses(lb: m.LoadBalancer) -> list[str | None]:
    """The load balancer's VIP addresses: the primary, then the additional ones."""
    return [lb.vip_address, *(a.get("ip_address") for a in lb.additional_vips or [])]


def check_pool_protocol(listener_protocol: str, pool_protocol: str) -> None:
    if listener_protocol == "PROMETHEUS":
        raise ListenerNoChildren(protocol=listener_protocol)
    if pool_protocol not in LISTENER_POOL_PROTOCOLS.get(listener_protocol, set()):
        raise ValidationFailure(
            detail=f"The pool protocol '{pool_protocol}' is invalid while the listener protocol "
                   f"is '{listener_protocol}'.")


def insert_listener(session: Session, lb: m.LoadBalancer, spec: dict[str, Any], *,
                    siblings: Sequence[m.Listener] | None = None,
                    tls_checks: tls.Checks | None = None) -> m.Listener:
    """`siblings`: when `lb` was created by this same request, the listeners added to it so far
    (then they are all it has, and the duplicate check needs no query). `tls_checks`: the
    request's TLS defaults and certificate checks (api/tls.py)."""
    validate.listener(provider_of(lb), spec["protocol"], spec, vips=vip_addresses(lb))
    if tls_checks is not None:
        tls_checks.listener_create(provider_of(lb), lb.project_id, spec)
    l4 = L4_PROTOCOL[spec["protocol"]]
    if siblings is None:
        taken = session.scalars(sa.select(m.Listener.protocol).where(
            m.Listener.load_balancer_id == lb.id,
            m.Listener.protocol_port == spec["protocol_port"],
            m.Listener.provisioning_status != Prov.DELETED)).all()
    else:
        taken = [x.protocol for x in siblings if x.protocol_port == spec["protocol_port"]
                 and x.provisioning_status != Prov.DELETED]
    dup = next((p for p in taken if L4_PROTOCOL[p] == l4), None)
    if dup is not None:
        raise DuplicateListener(protocol=dup, port=spec["protocol_port"])
    values = columns(LISTENER, _clean(spec))
    for key, default in TLS_LISTENER_DEFAULT_TIMEOUTS.items():
        if values.get(key) is None:
            values[key] = default
    if spec.get("default_pool_id"):
        pool = session.get(m.Pool, spec["default_pool_id"])
        if pool is None or pool.load_balancer_id != lb.id:
            raise ValidationFailure(detail=f"Pool {spec['default_pool_id']} is not on "
                                           f"load balancer {lb.id}")
        check_pool_protocol(spec["protocol"], pool.protocol)
    row = m.Listener(**{**values, **_base(lb.project_id, spec.get("id")), "load_balancer_id": lb.id})
    session.add(row)
    return row


def insert_pool(session: Session, lb: m.LoadBalancer, spec: dict[str, Any], *,
                tls_checks: tls.Checks | None = None) -> m.Pool:
    validate.pool(provider_of(lb), spec["protocol"], spec)
    if tls_checks is not None:
        tls_checks.pool_create(provider_of(lb), lb.project_id, spec)
    spec = _clean(spec)
    values = columns(POOL, spec)
    if spec.get("session_persistence") is not None:
        values["session_persistence"] = {k: v for k, v in spec["session_persistence"].items()
                                         if v is not None}
    row = m.Pool(**{**values, **_base(lb.project_id, spec.get("id")), "load_balancer_id": lb.id})
    session.add(row)
    return row


def insert_member(session: Session, pool: m.Pool, spec: dict[str, Any], *,
                  has_hm: bool | None = None) -> m.Member:
    """`has_hm`: whether the pool has a health monitor, when the caller knows (it created the
    pool in this request). The duplicate check stays a query: the address compares under the
    database's collation, as the unique constraint does."""
    dup = session.scalar(sa.select(m.Member.id).where(
        m.Member.pool_id == pool.id, m.Member.address == spec["address"],
        m.Member.protocol_port == spec["protocol_port"]))
    if dup is not None:
        raise DuplicateMember(address=spec["address"], port=spec["protocol_port"])
    validate.member(provider_of_lb(session, pool.load_balancer_id), spec)
    if has_hm is None:
        has_hm = session.scalar(sa.select(m.HealthMonitor.id).where(
            m.HealthMonitor.pool_id == pool.id)) is not None
    values = columns(MEMBER, _clean(spec))
    row = m.Member(**{**values, **_base(pool.project_id, spec.get("id")), "pool_id": pool.id,
                      "load_balancer_id": pool.load_balancer_id,
                      "operating_status": Oper.OFFLINE if has_hm else Oper.NO_MONITOR})
    session.add(row)
    session.flush()
    return row


def hm_checks(pool_protocol: str, hm_type: str, values: dict[str, Any], *,
              stored: m.HealthMonitor | None = None) -> None:
    """Octavia's health monitor rules, in its order: the pool's protocol against the monitor
    type (and UDP-CONNECT's minimum delay), the HTTP-only attributes, then domain_name against
    http_version. On create `values` is the whole body; on update (`stored` = the monitor
    row) the attributes the PUT names, where an explicit null counts as naming one."""
    if pool_protocol in UDP_SCTP:
        if hm_type not in UDP_SCTP_MONITORS:
            raise ValidationFailure(
                detail=f"The associated pool protocol is {pool_protocol}, so only a "
                       f"{'/'.join(UDP_SCTP_MONITORS)} health monitor is supported.")
        delay = values.get("delay")
        if hm_type == "UDP-CONNECT" and delay is not None and delay < UDP_CONNECT_MIN_DELAY:
            raise ValidationFailure(
                detail=f"The request delay value {delay} should be larger than "
                       f"{UDP_CONNECT_MIN_DELAY} for UDP-CONNECT health monitor type.")
    elif stored is None and hm_type in ("UDP-CONNECT", "SCTP"):
        raise ValidationFailure(
            detail=f"The {hm_type} type is only supported for pools of type "
                   f"{'/'.join(UDP_SCTP)}.")
    if hm_type not in HTTP_MONITORS:
        for key in HTTP_ONLY:
            named = key in values if stored is not None else bool(values.get(key))
            if named:
                raise InvalidOption(value=key, option=f"health monitors of type {hm_type}")
    if stored is not None:
        for key in ("delay", "max_retries", "timeout"):
            if key in values and values[key] is None:
                raise InvalidOption(value=None, option=key)
    version = values.get("http_version") or getattr(stored, "http_version", None)
    domain = values.get("domain_name")
    if domain and not version:
        raise ValidationFailure(
            detail="'http_version' must be specified when 'domain_name' is provided.")
    if version and (domain or getattr(stored, "domain_name", None)) and version < 1.1:
        raise InvalidOption(value=f"http_version {version}",
                            option="health monitors HTTP 1.1 domain name health check")


def hm_values(spec: dict[str, Any], hm_type: str, *, creating: bool) -> dict[str, Any]:
    """The columns of a health monitor body, with Octavia's defaults: on create, the HTTP
    defaults of an HTTP or HTTPS monitor; on update, null resets http_method, url_path,
    expected_codes and max_retries_down to theirs (Octavia's _set_default_on_none)."""
    spec = _clean(spec)
    if creating:
        if hm_type in HTTP_MONITORS:
            for key, default in HM_HTTP_DEFAULTS.items():
                spec[key] = spec.get(key) or default
    else:
        resets: dict[str, object] = {**HM_HTTP_DEFAULTS, "max_retries_down": 3}
        for key, reset in resets.items():
            if key in spec and spec[key] is None:
                spec[key] = reset
    return columns(HEALTHMONITOR, spec)


def insert_healthmonitor(session: Session, pool: m.Pool, spec: dict[str, Any], *,
                         new_pool: bool = False) -> m.HealthMonitor:
    """`new_pool`: the pool was created by this same request, so it has no monitor yet."""
    hm_checks(pool.protocol, spec["type"], spec)
    if not new_pool and session.scalar(sa.select(m.HealthMonitor.id).where(
            m.HealthMonitor.pool_id == pool.id)) is not None:
        raise DuplicateHealthMonitor()
    validate.capability(provider_of_lb(session, pool.load_balancer_id), "health monitor type",
                        spec["type"])
    values = hm_values(spec, spec["type"], creating=True)
    row = m.HealthMonitor(**{**values, **_base(pool.project_id, spec.get("id")), "pool_id": pool.id,
                             "load_balancer_id": pool.load_balancer_id})
    session.add(row)
    return row


def l7policy_checks(session: Session, listener: m.Listener, spec: dict[str, Any]) -> None:
    """Octavia's L7 policy rules: no policy on a PROMETHEUS listener; the action's argument
    present (validate.sanitize_l7policy_api_args); a redirect pool that exists on the load
    balancer and suits the listener's protocol."""
    if listener.protocol == "PROMETHEUS":
        raise ListenerNoChildren(protocol=listener.protocol)
    action = spec.get("action")
    needs = {"REDIRECT_TO_URL": ("redirect_url", "redirect_url must not be None"),
             "REDIRECT_TO_POOL": ("redirect_pool_id",
                                  "redirect_pool_id or redirect_pool must not be None"),
             "REDIRECT_PREFIX": ("redirect_prefix", "redirect_prefix must not be None")}
    if action in needs and not spec.get(needs[action][0]):
        raise InvalidL7PolicyArgs(msg=needs[action][1])
    if action == "REDIRECT_TO_POOL":
        pool = session.get(m.Pool, spec["redirect_pool_id"])
        if pool is None or pool.load_balancer_id != listener.load_balancer_id:
            raise NotFound(resource="Pool", id=spec["redirect_pool_id"])
        check_pool_protocol(listener.protocol, pool.protocol)


def insert_l7policy(session: Session, listener: m.Listener,
                    spec: dict[str, Any]) -> m.L7Policy:
    l7policy_checks(session, listener, spec)
    spec = {k: v for k, v in _clean(spec).items() if k != "rules"}
    if spec.get("action") in ("REDIRECT_TO_URL", "REDIRECT_PREFIX") and \
            not spec.get("redirect_http_code"):
        spec["redirect_http_code"] = 302
    row = m.L7Policy(**{**columns(L7POLICY, spec), **_base(listener.project_id, spec.get("id")),
                        "listener_id": listener.id,
                        "load_balancer_id": listener.load_balancer_id})
    place_l7policy(session, listener.id, row, spec.get("position"))
    session.add(row)
    return row


def place_l7policy(session: Session, listener_id: str, row: m.L7Policy,
                   position: int | None) -> None:
    """Octavia's ordering of a listener's L7 policies (an ordering_list on `position`): the
    policies are numbered 1..n without gaps; `row` goes in at `position` (a position beyond
    the end, or none, appends) and the ones at or after it move down one. With `position`
    0, `row` leaves the order (it is being deleted) and the ones after it move up."""
    siblings = list(session.scalars(
        sa.select(m.L7Policy).where(
            m.L7Policy.listener_id == listener_id, m.L7Policy.id != row.id,
            m.L7Policy.provisioning_status.not_in((Prov.PENDING_DELETE, Prov.DELETED)))
        .order_by(m.L7Policy.position, m.L7Policy.created_at, m.L7Policy.id)))
    if position != 0:
        at = len(siblings) if position is None else min(position, len(siblings) + 1) - 1
        siblings.insert(at, row)
    for number, policy in enumerate(siblings, start=1):
        if policy.position != number:
            policy.position = number


def insert_l7rule(session: Session, policy: m.L7Policy, spec: dict[str, Any]) -> m.L7Rule:
    if spec.get("type") in ("HEADER", "COOKIE", "SSL_DN_FIELD") and not spec.get("key"):
        raise ValidationFailure(detail=f"A key is required for rule type {spec['type']}.")
    row = m.L7Rule(**{**columns(L7RULE, _clean(spec)), **_base(policy.project_id, spec.get("id")),
                      "l7policy_id": policy.id, "load_balancer_id": policy.load_balancer_id})
    session.add(row)
    return row
