"""The resource table: one row per Octavia resource, and the one rename table wire <-> column.

Everything generic (listing, filtering, rendering, finding, quota counting) is keyed by `Resource`
instead of being written once per resource.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.api.schemas.common import Response
from bigip_lbaas.api.schemas.healthmonitor import HealthMonitorResponse
from bigip_lbaas.api.schemas.l7policy import L7PolicyResponse
from bigip_lbaas.api.schemas.l7rule import L7RuleResponse
from bigip_lbaas.api.schemas.listener import ListenerResponse
from bigip_lbaas.api.schemas.loadbalancer import LoadBalancerResponse
from bigip_lbaas.api.schemas.member import MemberResponse
from bigip_lbaas.api.schemas.pool import PoolResponse
from bigip_lbaas.db import models as m

# Octavia's `_type_to_db_map`: wire attribute -> column, for every resource.
TYPE_TO_DB = {
    "admin_state_up": "enabled",
    "tenant_id": "project_id",
    "loadbalancer_id": "load_balancer_id",
}

@dataclass(frozen=True, eq=False)
class Resource:
    key: str  # wrapper key of one object: "loadbalancer"
    plural: str  # wrapper key of a list: "loadbalancers"
    label: str  # how messages name it: "Load Balancer"
    model: type[Any]
    response: type[Response]  # the wire format: its fields, in Octavia's order, are the body's
    # attribute -> (model, column): ids of the rows of `model` whose `column` is this row's id
    id_lists: dict[str, tuple[type[Any], str]] = field(default_factory=dict)
    # attribute -> column holding the one related id, rendered as [{"id": ...}]
    parent_refs: dict[str, str] = field(default_factory=dict)
    # attribute -> (model, column): the id of the single related row, or None
    single_ids: dict[str, tuple[type[Any], str]] = field(default_factory=dict)
    # attribute -> constant value for things this product does not model
    constants: dict[str, Any] = field(default_factory=dict)
    # extra query filters: name -> column
    extra_filters: dict[str, str] = field(default_factory=dict)
    quota: str | None = None  # Quota column counting this resource

    @functools.cached_property
    def fields(self) -> tuple[str, ...]:
        """The response attributes, as the schema declares them (and so as OpenAPI shows them)."""
        return tuple(self.response.model_fields)

    def column_of(self, attr: str) -> str | None:
        """The column that holds wire attribute `attr`, or None if it is computed."""
        if attr in self.extra_filters:
            return self.extra_filters[attr]
        col = TYPE_TO_DB.get(attr, attr)
        return col if col in self.model.__table__.c else None


LOADBALANCER = Resource(
    "loadbalancer",
    "loadbalancers",
    "Load Balancer",
    m.LoadBalancer,
    LoadBalancerResponse,
    id_lists={"listeners": (m.Listener, "load_balancer_id"), "pools": (m.Pool, "load_balancer_id")},
    # vip_sg_ids: always [] (a non-empty list is refused with 501: nothing could enforce it).
    constants={"vip_sg_ids": [], "vip_vnic_type": "normal"},
    quota="load_balancer",
)
LISTENER = Resource(
    "listener",
    "listeners",
    "Listener",
    m.Listener,
    ListenerResponse,
    id_lists={"l7policies": (m.L7Policy, "listener_id")},
    parent_refs={"loadbalancers": "load_balancer_id"},
    extra_filters={"loadbalancer_id": "load_balancer_id", "load_balancer_id": "load_balancer_id"},
    quota="listener",
)
POOL = Resource(
    "pool",
    "pools",
    "Pool",
    m.Pool,
    PoolResponse,
    id_lists={"members": (m.Member, "pool_id"), "listeners": (m.Listener, "default_pool_id")},
    parent_refs={"loadbalancers": "load_balancer_id"},
    single_ids={"healthmonitor_id": (m.HealthMonitor, "pool_id")},
    extra_filters={"loadbalancer_id": "load_balancer_id", "load_balancer_id": "load_balancer_id"},
    quota="pool",
)
MEMBER = Resource(
    "member",
    "members",
    "Member",
    m.Member,
    MemberResponse,
    constants={"vnic_type": "normal"},
    extra_filters={"pool_id": "pool_id"},
    quota="member",
)
HEALTHMONITOR = Resource(
    "healthmonitor",
    "healthmonitors",
    "Health Monitor",
    m.HealthMonitor,
    HealthMonitorResponse,
    parent_refs={"pools": "pool_id"},
    extra_filters={"pool_id": "pool_id", "loadbalancer_id": "load_balancer_id"},
    quota="health_monitor",
)
L7POLICY = Resource(
    "l7policy",
    "l7policies",
    "L7 Policy",
    m.L7Policy,
    L7PolicyResponse,
    id_lists={"rules": (m.L7Rule, "l7policy_id")},
    quota="l7policy",
)
L7RULE = Resource(
    "rule",
    "rules",
    "L7 Rule",
    m.L7Rule,
    L7RuleResponse,
    extra_filters={"l7policy_id": "l7policy_id"},
    quota="l7rule",
)

RESOURCES = (LOADBALANCER, LISTENER, POOL, MEMBER, HEALTHMONITOR, L7POLICY, L7RULE)
# Children of a load balancer, deepest first: the order in which rows are removed.
CHILDREN_DEEPEST_FIRST = (L7RULE, L7POLICY, MEMBER, HEALTHMONITOR, LISTENER, POOL)


def timestamp(value: datetime | None) -> str | None:
    """Octavia's timestamp shape: `2017-02-28T00:41:44`, no fraction, no zone."""
    return None if value is None else value.replace(microsecond=0, tzinfo=None).isoformat()


def related(session: Session, res: Resource, ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """For each computed id list of `res`: row id -> related ids, in one query for all of them
    (each relation's ids in `created_at`, `id` order)."""
    out: dict[str, dict[str, list[str]]] = {attr: {} for attr in _relations(res)}
    if not ids or not out:
        return out
    for attr, owner, rid, _ in session.execute(_related_statement(res), {"ids": list(ids)}):
        out[attr].setdefault(owner, []).append(rid)
    return out


def _relations(res: Resource) -> dict[str, tuple[type[Any], str]]:
    return {**res.id_lists, **res.single_ids}


_RELATED: dict[str, sa.Executable] = {}


def _related_statement(res: Resource) -> sa.Executable:
    """SELECT relation, owner id, related id ... WHERE owner IN :ids, over every relation of
    `res` (UNION ALL), ordered by `created_at`, `id`; built once per res."""
    found = _RELATED.get(res.key)
    if found is None:
        parts = []
        for attr, (model, column) in _relations(res).items():
            col = getattr(model, column)
            parts.append(sa.select(sa.literal(attr, sa.String).label("relation"),
                                   col.label("owner"), model.id.label("id"),
                                   model.created_at.label("created_at"))
                         .where(col.in_(sa.bindparam("ids", expanding=True))))
        if len(parts) == 1:
            found = parts[0].order_by(sa.literal_column("created_at"), sa.literal_column("id"))
        else:
            found = sa.union_all(*parts).order_by(sa.literal_column("created_at"),
                                                  sa.literal_column("id"))
        _RELATED[res.key] = found
    return found


def to_wire(res: Resource, row: Any, rel: dict[str, dict[str, list[str]]]) -> dict[str, Any]:
    """One database row as Octavia's response body for it."""
    body: dict[str, Any] = {}
    for attr in res.fields:
        if attr in res.constants:
            body[attr] = res.constants[attr]
        elif attr in res.id_lists:
            body[attr] = [{"id": i} for i in rel.get(attr, {}).get(row.id, [])]
        elif attr in res.single_ids:
            found = rel.get(attr, {}).get(row.id, [])
            body[attr] = found[0] if found else None
        elif attr in res.parent_refs:
            body[attr] = [{"id": getattr(row, res.parent_refs[attr])}]
        elif attr in ("created_at", "updated_at"):
            body[attr] = timestamp(getattr(row, attr))
        else:
            value = getattr(row, TYPE_TO_DB.get(attr, attr))
            if value is None and attr in ("name", "description"):
                value = ""
            elif value is None and attr == "additional_vips":
                value = []  # load balancers from before it was stored
            body[attr] = value
    if res is LOADBALANCER and not body.get("provider"):
        body["provider"] = "octavia"
    return body


def wire_list(session: Session, res: Resource, rows: Sequence[Any]) -> list[dict[str, Any]]:
    rel = related(session, res, [r.id for r in rows])
    return [to_wire(res, r, rel) for r in rows]


def wire_one(session: Session, res: Resource, row: Any) -> dict[str, Any]:
    return wire_list(session, res, [row])[0]


def created_order(row: Any) -> tuple[Any, str]:
    """The order every query here sorts by: `created_at`, then `id`."""
    return (row.created_at, row.id)


def wire_known(res: Resource, rows: Sequence[Any], known: Sequence[Any]) -> list[dict[str, Any]]:
    """`wire_list` without queries, for rows whose related rows are all in `known` (rows a request
    has just created under a new load balancer, which nothing else can refer to yet)."""
    ids = {r.id for r in rows}
    rel: dict[str, dict[str, list[str]]] = {}
    for attr, (model, column) in _relations(res).items():
        grouped: dict[str, list[str]] = {}
        for other in sorted((x for x in known if type(x) is model), key=created_order):
            owner = getattr(other, column)
            if owner in ids:
                grouped.setdefault(owner, []).append(other.id)
        rel[attr] = grouped
    return [to_wire(res, r, rel) for r in rows]


def columns_from(res: Resource, body: dict[str, Any]) -> dict[str, Any]:
    """Wire attributes that are columns of `res`, renamed; everything else is dropped."""
    out: dict[str, Any] = {}
    for attr, value in body.items():
        col = TYPE_TO_DB.get(attr, attr)
        if col in res.model.__table__.c and attr not in res.id_lists:
            out[col] = value
    return out
