"""Neutron-shaped network and subnet bodies (a minimal registry so VIP subnets mean something).

Neutron clients send many optional attributes; unknown ones are ignored rather than rejected.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bigip_lbaas.api.schemas.common import Link, Name, ProjectId, Response


class NeutronRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class NetworkPOST(NeutronRequest):
    """Other attributes are kept aside (`model_extra`): the admin-only `provider:*` ones are
    validated and stored by api/segments.py; `segments` is refused; the rest is ignored."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: Name = None
    description: Name = None
    admin_state_up: bool = True
    shared: bool = False
    external: bool = Field(default=False, alias="router:external")
    mtu: int = Field(default=1500, ge=68, le=65535)
    project_id: ProjectId = None
    tenant_id: ProjectId = None


class NetworkRootPOST(NeutronRequest):
    network: NetworkPOST


class AllocationPool(BaseModel):
    start: str
    end: str


class SubnetPOST(NeutronRequest):
    name: Name = None
    description: Name = None
    network_id: str = Field(max_length=36)
    cidr: str = Field(max_length=64)
    ip_version: Literal[4, 6] = 4
    gateway_ip: str | None = "auto"
    allocation_pools: list[AllocationPool] | None = None
    enable_dhcp: bool = True
    dns_nameservers: list[str] | None = None
    project_id: ProjectId = None
    tenant_id: ProjectId = None


class SubnetRootPOST(NeutronRequest):
    subnet: SubnetPOST


class NetworkResponse(Response):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    tenant_id: str | None = None
    project_id: str | None = None
    admin_state_up: bool | None = None
    status: str | None = None
    subnets: list[str] | None = None
    shared: bool | None = None
    router_external: bool | None = Field(default=None, alias="router:external")
    provider_network_type: str | None = Field(default=None, alias="provider:network_type")
    provider_physical_network: str | None = Field(default=None,
                                                  alias="provider:physical_network")
    provider_segmentation_id: int | None = Field(default=None,
                                                 alias="provider:segmentation_id")
    mtu: int | None = None
    availability_zone_hints: list[str] | None = None
    availability_zones: list[str] | None = None
    port_security_enabled: bool | None = None
    is_default: bool | None = None
    revision_number: int | None = None
    ipv4_address_scope: str | None = None
    ipv6_address_scope: str | None = None
    tags: list[str] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class NetworkRootResponse(Response):
    network: NetworkResponse


class NetworksRootResponse(Response):
    networks: list[NetworkResponse]
    networks_links: list[Link]


class SubnetResponse(Response):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    network_id: str | None = None
    tenant_id: str | None = None
    project_id: str | None = None
    cidr: str | None = None
    ip_version: int | None = None
    gateway_ip: str | None = None
    allocation_pools: list[dict[str, Any]] | None = None
    enable_dhcp: bool | None = None
    dns_nameservers: list[str] | None = None
    host_routes: list[dict[str, Any]] | None = None
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None
    subnetpool_id: str | None = None
    segment_id: str | None = None
    service_types: list[str] | None = None
    tags: list[str] | None = None
    revision_number: int | None = None
    created_at: str | None = None
    updated_at: str | None = None


class SubnetRootResponse(Response):
    subnet: SubnetResponse


class SubnetsRootResponse(Response):
    subnets: list[SubnetResponse]
    subnets_links: list[Link]
