"""What the agents reported, read back: a load balancer's status tree and summed listener stats."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.db import models as m

STAT_COLUMNS = ("bytes_in", "bytes_out", "active_connections", "total_connections",
                "request_errors")


def sum_stats(session: Session, where: sa.ColumnElement[bool]) -> dict[str, int]:
    row = session.execute(sa.select(*[sa.func.coalesce(sa.func.sum(
        getattr(m.ListenerStats, c)), 0) for c in STAT_COLUMNS]).where(where)).one()
    return {c: int(v) for c, v in zip(STAT_COLUMNS, row, strict=True)}


def tree(session: Session, lb: m.LoadBalancer) -> dict[str, Any]:
    """Octavia's LoadBalancerStatusResponse (the code's shape: key `health_monitor`): the load
    balancer, its listeners, each listener's pools (its default pool, then its L7 policies'
    redirect pools), their monitor and members. A pool no listener uses is not in it."""
    def st(row: Any) -> dict[str, Any]:
        return {"id": row.id, "name": row.name or "",
                "provisioning_status": row.provisioning_status,
                "operating_status": row.operating_status}

    def rows(model: Any, **where: Any) -> list[Any]:
        stmt = sa.select(model)
        for col, value in where.items():
            stmt = stmt.where(getattr(model, col) == value)
        return list(session.scalars(stmt.order_by(model.created_at, model.id)))

    pools = {p.id: p for p in rows(m.Pool, load_balancer_id=lb.id)}
    hms = {h.pool_id: h for h in rows(m.HealthMonitor, load_balancer_id=lb.id)}
    members: dict[str, list[Any]] = {}
    for mem in rows(m.Member, load_balancer_id=lb.id):
        members.setdefault(mem.pool_id, []).append(mem)

    def pool_tree(pool: m.Pool) -> dict[str, Any]:
        out = st(pool)
        if pool.id in hms:
            hm = hms[pool.id]
            out["health_monitor"] = {**st(hm), "type": hm.type}
        out["members"] = [{**st(x), "address": x.address, "protocol_port": x.protocol_port}
                          for x in members.get(pool.id, [])]
        return out

    listeners = []
    policies = rows(m.L7Policy, load_balancer_id=lb.id)
    for lst in rows(m.Listener, load_balancer_id=lb.id):
        pool_ids = [lst.default_pool_id] if lst.default_pool_id else []
        pool_ids += [p.redirect_pool_id for p in policies
                     if p.listener_id == lst.id and p.redirect_pool_id]
        lst_pools = [pool_tree(pools[i]) for i in dict.fromkeys(pool_ids) if i in pools]
        listeners.append({**st(lst), "pools": lst_pools})
    return {"loadbalancer": {**st(lb), "listeners": listeners}}
