"""Load balancer wire types: POST (incl. the fully populated graph), PUT, responses, stats, status."""

from __future__ import annotations

from pydantic import Field

from bigip_lbaas.api.schemas.common import (
    IdRef,
    Link,
    Name,
    ProjectId,
    Request,
    Response,
    Tags,
    Uuid,
)
from bigip_lbaas.api.schemas.listener import ListenerFullResponse, ListenerSingleCreate
from bigip_lbaas.api.schemas.pool import PoolFullResponse, PoolSingleCreate


class AdditionalVip(Request):
    subnet_id: Uuid
    ip_address: str | None = Field(default=None, max_length=64)
    port_id: str | None = Field(default=None, max_length=36)


class LoadBalancerPOST(Request):
    name: Name = None
    description: Name = None
    admin_state_up: bool = True
    vip_address: str | None = Field(default=None, max_length=64)
    vip_port_id: str | None = Field(default=None, max_length=36)
    vip_subnet_id: str | None = Field(default=None, max_length=36)
    vip_network_id: str | None = Field(default=None, max_length=36)
    vip_qos_policy_id: str | None = Field(default=None, max_length=36)
    vip_sg_ids: list[Uuid] | None = None
    additional_vips: list[AdditionalVip] | None = None
    project_id: ProjectId = None
    tenant_id: ProjectId = None
    listeners: list[ListenerSingleCreate] = Field(default_factory=list)
    pools: list[PoolSingleCreate] = Field(default_factory=list)
    provider: str | None = Field(default=None, max_length=64)
    tags: Tags = None
    flavor_id: str | None = Field(default=None, max_length=36)
    availability_zone: str | None = Field(default=None, max_length=255)


class LoadBalancerPUT(Request):
    name: Name = None
    description: Name = None
    vip_qos_policy_id: str | None = Field(default=None, max_length=36)
    admin_state_up: bool | None = None
    vip_sg_ids: list[Uuid] | None = None
    tags: Tags = None


class LoadBalancerRootPOST(Request):
    loadbalancer: LoadBalancerPOST


class LoadBalancerRootPUT(Request):
    loadbalancer: LoadBalancerPUT


class LoadBalancerResponse(Response):
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
    vip_address: str | None = None
    vip_port_id: str | None = None
    vip_subnet_id: str | None = None
    vip_network_id: str | None = None
    vip_qos_policy_id: str | None = None
    vip_sg_ids: list[str] | None = None
    vip_vnic_type: str | None = None
    additional_vips: list[dict[str, str | None]] | None = None
    listeners: list[IdRef] | None = None
    pools: list[IdRef] | None = None
    provider: str | None = None
    flavor_id: str | None = None
    availability_zone: str | None = None


class LoadBalancerRootResponse(Response):
    loadbalancer: LoadBalancerResponse


class LoadBalancerFullResponse(LoadBalancerResponse):
    """The create's answer (Octavia's LoadBalancerFullResponse): the graph it made, in full."""

    listeners: list[ListenerFullResponse] | None = None  # type: ignore[assignment]
    pools: list[PoolFullResponse] | None = None  # type: ignore[assignment]


class LoadBalancerFullRootResponse(Response):
    loadbalancer: LoadBalancerFullResponse


class LoadBalancersRootResponse(Response):
    loadbalancers: list[LoadBalancerResponse]
    loadbalancers_links: list[Link]


class StatsResponse(Response):
    bytes_in: int
    bytes_out: int
    active_connections: int
    total_connections: int
    request_errors: int


class StatsRootResponse(Response):
    stats: StatsResponse


class StatusResponse(Response):
    """One object of the status tree (Octavia's *StatusResponse types)."""

    id: str | None = None
    name: str | None = None
    provisioning_status: str | None = None
    operating_status: str | None = None


class HealthMonitorStatusResponse(StatusResponse):
    type: str | None = None


class MemberStatusResponse(StatusResponse):
    address: str | None = None
    protocol_port: int | None = None


class PoolStatusResponse(StatusResponse):
    health_monitor: HealthMonitorStatusResponse | None = None  # absent without a monitor
    members: list[MemberStatusResponse] | None = None


class ListenerStatusResponse(StatusResponse):
    pools: list[PoolStatusResponse] | None = None


class LoadBalancerStatusResponse(StatusResponse):
    """Octavia's tree holds pools only below their listeners: one without a listener is not
    in it."""

    listeners: list[ListenerStatusResponse] | None = None


class StatusesResponse(Response):
    loadbalancer: LoadBalancerStatusResponse


class StatusesRootResponse(Response):
    statuses: StatusesResponse
