"""Admin extension (admin only): agents, their partitions and load balancers, drain (admin-down).

Liveness and lease validity are db/models' rules (`Agent.is_alive`, `PartitionLease.valid_where`),
judged by the database clock with `[bigip_lbaas] lease_seconds`.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse

from bigip_lbaas.api.errors import NotFound
from bigip_lbaas.api.handlers import env, respond
from bigip_lbaas.api.lock import find
from bigip_lbaas.api.resources import LOADBALANCER, wire_list
from bigip_lbaas.api.schemas.admin import AgentRootPUT, AgentRootResponse, AgentsRootResponse
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.loadbalancer import LoadBalancersRootResponse
from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import session_now

router = APIRouter(tags=["admin"])
AgentId = Annotated[int, Path(ge=1, le=2147483647)]


def _now(session: Session) -> float:
    return float(session.scalar(sa.select(session_now(session))) or 0.0)


def _partitions(session: Session, instance_ids: list[str],
                now: float) -> dict[str, list[dict[str, Any]]]:
    rows = session.execute(
        sa.select(m.PartitionLease.owner, m.Partition.id, m.Partition.environment,
                  m.Partition.project_id, m.PartitionLease.epoch, m.PartitionLease.expires_at)
        .join(m.Partition, m.Partition.id == m.PartitionLease.partition_id)
        .where(m.PartitionLease.owner.in_(instance_ids), m.PartitionLease.valid_where(now))
        .order_by(m.Partition.id)).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for owner, pid, environment, project, epoch, _expires in rows:
        out.setdefault(str(owner), []).append({"id": pid, "environment": environment,
                                          "project_id": project, "epoch": epoch})
    return out


def agent_wire(agent: m.Agent, now: float, lease: float,
               partitions: list[dict[str, Any]]) -> dict[str, Any]:
    age = max(0.0, now - agent.heartbeat_at)
    return {"id": agent.id, "host": agent.host, "identity": agent.identity,
            "environment": agent.environment,
            "alive": agent.is_alive(now, lease),
            "operational": agent.operational, "admin_state_up": agent.admin_state_up,
            "heartbeat_age": round(age, 3), "started_at": agent.started_at,
            "status_reason": agent.status_reason, "ha_type": agent.ha_type,
            "partitions": partitions, "devices": agent.devices or []}


def _agents(session: Session, lease: float, agent_id: int | None = None) -> list[dict[str, Any]]:
    now = _now(session)
    stmt = sa.select(m.Agent).order_by(m.Agent.environment, m.Agent.host, m.Agent.id)
    if agent_id is not None:
        stmt = stmt.where(m.Agent.id == agent_id)
    agents = list(session.scalars(stmt))
    held = _partitions(session, [a.instance_id for a in agents], now)
    return [agent_wire(a, now, lease, held.get(a.instance_id, [])) for a in agents]


@router.get("/agents", response_model=AgentsRootResponse, responses=fault_responses(401, 403))
def list_agents(request: Request) -> JSONResponse:
    st, ctx = env(request)
    ctx.require_admin()
    return respond(200, {"agents": st.read(lambda s: _agents(s, st.lease_seconds))})


def _one(session: Session, lease: float, agent_id: AgentId) -> dict[str, Any]:
    found = _agents(session, lease, agent_id)
    if not found:
        raise NotFound(resource="Agent", id=agent_id)
    return found[0]


@router.get("/agents/{agent_id}", response_model=AgentRootResponse,
            responses=fault_responses(401, 403, 404))
def show_agent(request: Request, agent_id: AgentId) -> JSONResponse:
    st, ctx = env(request)
    ctx.require_admin()
    return respond(200, {"agent": st.read(lambda s: _one(s, st.lease_seconds, agent_id))})


@router.put("/agents/{agent_id}", response_model=AgentRootResponse,
            responses=fault_responses(400, 401, 403, 404))
def update_agent(request: Request, agent_id: AgentId, body: AgentRootPUT) -> JSONResponse:
    """admin_state_up=false drains the agent: its partitions move to the others."""
    st, ctx = env(request)
    ctx.require_admin()

    def fn(session: Session) -> dict[str, Any]:
        row = session.get(m.Agent, agent_id, with_for_update=True)
        if row is None:
            raise NotFound(resource="Agent", id=agent_id)
        row.admin_state_up = body.agent.admin_state_up
        session.flush()
        return _one(session, st.lease_seconds, agent_id)

    return respond(200, {"agent": st.write(fn)})


@router.get("/agents/{agent_id}/loadbalancers", response_model=LoadBalancersRootResponse,
            responses=fault_responses(401, 403, 404))
def agent_loadbalancers(request: Request, agent_id: AgentId) -> JSONResponse:
    st, ctx = env(request)
    ctx.require_admin()

    def fn(session: Session) -> list[dict[str, Any]]:
        agent = session.get(m.Agent, agent_id)
        if agent is None:
            raise NotFound(resource="Agent", id=agent_id)
        owned = sa.select(m.PartitionLease.partition_id).where(
            m.PartitionLease.owner == agent.instance_id,
            m.PartitionLease.valid_where(session_now(session)))
        rows = session.scalars(sa.select(m.LoadBalancer)
                               .where(m.LoadBalancer.partition_id.in_(owned))
                               .order_by(m.LoadBalancer.created_at, m.LoadBalancer.id)).all()
        return wire_list(session, LOADBALANCER, rows)

    return respond(200, {"loadbalancers": st.read(fn), "loadbalancers_links": []})


@router.get("/loadbalancers/{loadbalancer_id}/agent", response_model=AgentRootResponse,
            responses=fault_responses(401, 403, 404))
def loadbalancer_agent(request: Request, loadbalancer_id: str) -> JSONResponse:
    """The agent holding the lease on the load balancer's partition (null when none does)."""
    st, ctx = env(request)
    ctx.require_admin()

    def fn(session: Session) -> dict[str, Any] | None:
        lb = find(session, LOADBALANCER, loadbalancer_id, ctx)
        now = _now(session)
        lease = session.get(m.PartitionLease, lb.partition_id)
        if lease is None or not lease.is_valid(lease.owner, lease.expires_at, now):
            return None
        agent = session.scalar(sa.select(m.Agent).where(m.Agent.instance_id == lease.owner))
        if agent is None:
            return None
        return _one(session, st.lease_seconds, agent.id)

    return respond(200, {"agent": st.read(fn)})
