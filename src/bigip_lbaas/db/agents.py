"""Agent registration and heartbeats, judged by the database server's clock.

An identity (F5's `agent_id`, else `host`) is unique per environment. A second process claiming a
live identity is refused; a stale one (no heartbeat for a lease period) is taken over in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.errors import BigipLbaasError
from bigip_lbaas.db.models import Agent
from bigip_lbaas.db.session import Database


class DuplicateAgent(BigipLbaasError):
    """Another live agent already runs with this identity in this environment."""


@dataclass(frozen=True)
class AgentView:
    """One agent as placement and `status` see it."""

    id: int
    instance_id: str
    identity: str
    host: str
    environment: str
    admin_state_up: bool
    operational: bool
    alive: bool
    heartbeat_age: float
    uptime: float
    status_reason: str | None
    devices: list[dict[str, Any]]

    @property
    def eligible(self) -> bool:
        return self.alive and self.admin_state_up and self.operational


def register(
    db: Database,
    *,
    environment: str,
    identity: str,
    host: str,
    instance_id: str,
    lease_seconds: float,
    ha_type: str,
    devices: list[dict[str, Any]],
    configurations: dict[str, Any],
) -> None:
    """Insert or take over the agent row; raise DuplicateAgent if the identity is live."""

    def work(session: Session) -> None:
        now = session.scalar(sa.select(db.now()))
        assert now is not None
        row = session.scalars(
            sa.select(Agent)
            .where(Agent.environment == environment, Agent.identity == identity)
            .with_for_update()
        ).first()
        if row is not None and row.is_alive(now, lease_seconds):
            age = now - row.heartbeat_at
            raise DuplicateAgent(
                f"an agent with host/agent_id {identity!r} in environment {environment!r} is "
                f"already running on host {row.host!r} (started {now - row.started_at:.0f}s "
                f"ago, last heartbeat {age:.1f}s ago); each agent needs a unique host"
            )
        if row is None:
            row = Agent(environment=environment, identity=identity, admin_state_up=True)
            session.add(row)
        row.host = host
        row.instance_id = instance_id
        row.started_at = now
        row.heartbeat_at = now
        row.stopped = False
        row.operational = True
        row.status_reason = None
        row.ha_type = ha_type
        row.devices = devices
        row.configurations = configurations

    db.run(work)


def heartbeat(
    db: Database,
    instance_id: str,
    *,
    operational: bool,
    status_reason: str | None,
    devices: list[dict[str, Any]],
) -> bool:
    """Record liveness and device reachability. False if our row was taken over."""

    def work(session: Session) -> bool:
        result = session.execute(
            sa.update(Agent)
            .where(Agent.instance_id == instance_id)
            .values(
                heartbeat_at=db.now(),
                operational=operational,
                status_reason=status_reason,
                devices=devices,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    return db.run(work)


def mark_stopped(db: Database, instance_id: str) -> None:
    """Graceful stop: no longer alive, leases already released by the caller."""

    def work(session: Session) -> None:
        session.execute(
            sa.update(Agent)
            .where(Agent.instance_id == instance_id)
            .values(stopped=True, status_reason="stopped")
        )

    db.run(work)


def mark_exited(db: Database, environment: str, identity: str) -> bool:
    """A supervisor saw this identity's process exit (it reaped it): its row is no longer live,
    so a restart registers at once instead of being refused until the heartbeat goes stale.
    Its leases are left to expire as usual: nothing is handed over before the lease period.
    False if no live row had that identity."""

    def work(session: Session) -> bool:
        result = session.execute(
            sa.update(Agent)
            .where(Agent.environment == environment, Agent.identity == identity,
                   Agent.stopped.is_(False))
            .values(stopped=True, status_reason="process exited")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    return db.run(work)


def list_agents(
    db: Database, lease_seconds: float, environment: str | None = None
) -> list[AgentView]:
    """All agents with liveness judged by the DB clock."""

    def work(session: Session) -> list[AgentView]:
        now = session.scalar(sa.select(db.now()))
        assert now is not None
        query = sa.select(Agent).order_by(Agent.environment, Agent.identity)
        if environment is not None:
            query = query.where(Agent.environment == environment)
        return [
            AgentView(
                id=row.id,
                instance_id=row.instance_id,
                identity=row.identity,
                host=row.host,
                environment=row.environment,
                admin_state_up=row.admin_state_up,
                operational=row.operational,
                alive=row.is_alive(now, lease_seconds),
                heartbeat_age=max(0.0, now - row.heartbeat_at),
                uptime=max(0.0, now - row.started_at),
                status_reason=row.status_reason,
                devices=list(row.devices or []),
            )
            for row in session.scalars(query)
        ]

    return db.query(work)

