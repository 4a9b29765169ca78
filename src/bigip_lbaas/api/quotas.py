"""Quota limits: per-project rows over `[quotas] default_*_quota` (config/options.py);
-1 is unlimited."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from sqlalchemy.orm import Session

from bigip_lbaas.api.errors import QuotaExceeded
from bigip_lbaas.api.resources import Kind
from bigip_lbaas.core.status import Prov
from bigip_lbaas.db import models as m

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
    values = defaults(conf)
    row = session.get(m.Quota, project_id)
    if row is not None:
        for col in values:
            if getattr(row, col) is not None:
                values[col] = getattr(row, col)
    return values


def to_wire(values: dict[str, int | None]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for col, (names, _) in QUOTA_FIELDS.items():
        for name in names:
            body[name] = values.get(col)
    return body


def check(session: Session, conf: cfg.ConfigOpts, project_id: str, adding: dict[Kind, int]) -> None:
    """403 when adding these objects would pass one of the project's limits."""
    limits = effective(session, conf, project_id)
    over: list[str] = []
    for kind, count in adding.items():
        if not count or kind.quota is None:
            continue
        limit = limits[kind.quota]
        if limit < 0:
            continue
        used = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(kind.model)
                .where(
                    kind.model.project_id == project_id,
                    kind.model.provisioning_status != Prov.DELETED,
                )
            )
            or 0
        )
        if used + count > limit:
            over.append(kind.label)
    if over:
        raise QuotaExceeded(resources=", ".join(over))
