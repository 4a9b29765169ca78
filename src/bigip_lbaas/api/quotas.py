"""Quota limits: per-project rows over `[quotas] default_*_quota` (config/options.py);
-1 is unlimited."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy.orm import Session

from bigip_lbaas.api.errors import QuotaExceeded
from bigip_lbaas.api.resources import Resource
from bigip_lbaas.core.status import Prov
from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import insert_if_missing

# Quota column -> (wire names, Octavia option name)
QUOTA_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "load_balancer": (("loadbalancer", "load_balancer"), "default_load_balancer_quota"),
    "listener": (("listener",), "default_listener_quota"),
    "member": (("member",), "default_member_quota"),
    "pool": (("pool",), "default_pool_quota"),
    "health_monitor": (("healthmonitor", "health_monitor"), "default_health_monitor_quota"),
    "l7policy": (("l7policy",), "default_l7policy_quota"),
    "l7rule": (("l7rule",), "default_l7rule_quota"),
}


def defaults(conf: cfg.ConfigOpts) -> dict[str, int]:
    return {col: int(getattr(conf.quotas, opt)) for col, (_, opt) in QUOTA_FIELDS.items()}


def effective(session: Session, conf: cfg.ConfigOpts, project_id: str) -> dict[str, int]:
    # A Core SELECT of the limit columns, built once: every create asks.
    return _limits(conf, session.execute(_LIMITS, {"project_id": project_id}).first())


_QUOTA = cast(sa.Table, m.Quota.__table__)
_LIMITS = (sa.select(*(_QUOTA.c[col] for col in QUOTA_FIELDS))
           .where(_QUOTA.c.project_id == sa.bindparam("project_id")))


def _limits(conf: cfg.ConfigOpts, row: Any) -> dict[str, int]:
    """The defaults, overridden by the non-NULL limits of `row` (a quota row, or a Core row of
    its limit columns; None: the project has none)."""
    values = defaults(conf)
    if row is not None:
        for col in values:
            if getattr(row, col) is not None:
                values[col] = getattr(row, col)
    return values


def _locked_row(session: Session, project_id: str) -> m.Quota:
    """The project's quota row, locked FOR UPDATE until the transaction ends; created (all
    NULL: the defaults, as Octavia does) if the project has none yet.

    Every quota check of one project queues on this lock, so each counts what the one before it
    committed. (SQLite ignores FOR UPDATE: its write transactions are serialised already.)"""
    def locked() -> m.Quota | None:
        return session.get(m.Quota, project_id, with_for_update=True, populate_existing=True)

    row = locked()
    if row is None:
        # Only the first time: a concurrent first insert makes this wait, then do nothing.
        insert_if_missing(session, m.Quota, {"project_id": project_id})
        row = locked()
    assert row is not None
    return row


def to_wire(values: dict[str, int | None]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for col, (names, _) in QUOTA_FIELDS.items():
        for name in names:
            body[name] = values.get(col)
    return body


def check(session: Session, conf: cfg.ConfigOpts, project_id: str, adding: dict[Resource, int]) -> None:
    """403 when adding these objects would pass one of the project's limits.

    Call it inside the transaction that inserts the objects: when a limit applies, it locks the
    project's quota row first, so concurrent creates cannot both take the last unit."""
    wanted = [(res, res.quota, n) for res, n in adding.items() if n and res.quota]
    if not wanted:
        return
    limits = effective(session, conf, project_id)
    if all(limits[column] < 0 for _, column, _ in wanted):
        return  # unlimited: nothing to count, so nothing to serialise
    limits = _limits(conf, _locked_row(session, project_id))
    over: list[str] = []
    for res, column, count in wanted:
        limit = limits[column]
        if limit < 0:
            continue
        used = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(res.model)
                .where(
                    res.model.project_id == project_id,
                    res.model.provisioning_status != Prov.DELETED,
                )
            )
            or 0
        )
        if used + count > limit:
            over.append(res.label)
    if over:
        raise QuotaExceeded(resources=", ".join(over))
