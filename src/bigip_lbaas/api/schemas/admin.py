"""Admin extension wire types: agents, where a load balancer is hosted."""

from __future__ import annotations

from typing import Any

from bigip_lbaas.api.schemas.common import Request, Response


class AgentPUT(Request):
    admin_state_up: bool


class AgentRootPUT(Request):
    agent: AgentPUT


class AgentResponse(Response):
    id: int | None = None
    host: str | None = None
    identity: str | None = None
    environment: str | None = None
    alive: bool | None = None
    operational: bool | None = None
    admin_state_up: bool | None = None
    heartbeat_age: float | None = None
    started_at: float | None = None
    status_reason: str | None = None
    ha_type: str | None = None
    partitions: list[dict[str, Any]] | None = None
    devices: list[dict[str, Any]] | None = None


class AgentRootResponse(Response):
    agent: AgentResponse | None


class AgentsRootResponse(Response):
    agents: list[AgentResponse]
