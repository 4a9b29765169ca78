"""Pool wire types."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bigip_lbaas.api.schemas.common import IdRef, Link, Name, ProjectId, Request, Response, Tags
from bigip_lbaas.api.schemas.healthmonitor import HealthMonitorResponse, HealthMonitorSingleCreate
from bigip_lbaas.api.schemas.member import MemberResponse, MemberSingleCreate

PoolProtocol = Literal["TCP", "HTTP", "HTTPS", "PROXY", "PROXYV2", "UDP", "SCTP"]
Algorithm = Literal["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"]


class SessionPersistence(Request):
    type: Literal["SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"]
    cookie_name: str | None = Field(default=None, max_length=255)
    persistence_timeout: int | None = Field(default=None, ge=0, le=2147483647)
    persistence_granularity: str | None = None


class PoolSingleCreate(Request):
    name: Name = None
    description: Name = None
    admin_state_up: bool = True
    protocol: PoolProtocol
    lb_algorithm: Algorithm
    session_persistence: SessionPersistence | None = None
    healthmonitor: HealthMonitorSingleCreate | None = None
    members: list[MemberSingleCreate] | None = None
    tls_enabled: bool = False
    tls_container_ref: str | None = Field(default=None, max_length=255)
    ca_tls_container_ref: str | None = Field(default=None, max_length=255)
    crl_container_ref: str | None = Field(default=None, max_length=255)
    tls_ciphers: str | None = Field(default=None, max_length=2048)
    tls_versions: list[str] | None = None
    alpn_protocols: list[str] | None = None
    tags: Tags = None


class PoolPOST(PoolSingleCreate):
    listener_id: str | None = Field(default=None, max_length=36)
    loadbalancer_id: str | None = Field(default=None, max_length=36)
    project_id: ProjectId = None
    tenant_id: ProjectId = None


class PoolPUT(Request):
    name: Name = None
    description: Name = None
    admin_state_up: bool | None = None
    lb_algorithm: Algorithm | None = None
    session_persistence: SessionPersistence | None = None
    tls_enabled: bool | None = None
    tls_container_ref: str | None = Field(default=None, max_length=255)
    ca_tls_container_ref: str | None = Field(default=None, max_length=255)
    crl_container_ref: str | None = Field(default=None, max_length=255)
    tls_ciphers: str | None = Field(default=None, max_length=2048)
    tls_versions: list[str] | None = None
    alpn_protocols: list[str] | None = None
    tags: Tags = None


class PoolRootPOST(Request):
    pool: PoolPOST


class PoolRootPUT(Request):
    pool: PoolPUT


class PoolResponse(Response):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    provisioning_status: str | None = None
    operating_status: str | None = None
    admin_state_up: bool | None = None
    project_id: str | None = None
    tenant_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    tags: list[str] | None = None
    protocol: str | None = None
    lb_algorithm: str | None = None
    session_persistence: dict[str, object] | None = None
    loadbalancers: list[IdRef] | None = None
    listeners: list[IdRef] | None = None
    healthmonitor_id: str | None = None
    members: list[IdRef] | None = None
    tls_container_ref: str | None = None
    ca_tls_container_ref: str | None = None
    crl_container_ref: str | None = None
    tls_enabled: bool | None = None
    tls_ciphers: str | None = None
    tls_versions: list[str] | None = None
    alpn_protocols: list[str] | None = None


class PoolFullResponse(PoolResponse):
    """In a fully populated load balancer's response: members and health monitor in full."""

    members: list[MemberResponse] | None = None  # type: ignore[assignment]
    healthmonitor: HealthMonitorResponse | None = None


class PoolRootResponse(Response):
    pool: PoolResponse


class PoolsRootResponse(Response):
    pools: list[PoolResponse]
    pools_links: list[Link]
