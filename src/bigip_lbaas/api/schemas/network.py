"""Neutron-shaped network and subnet bodies (a minimal registry so VIP subnets mean something).

Neutron clients send many optional attributes; unknown ones are ignored rather than rejected.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bigip_lbaas.api.schemas.common import Link, Name, ProjectId


class NeutronRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class NetworkPOST(NeutronRequest):
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


class NetworkResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None
    name: str | None = None
    subnets: list[str] | None = None


class NetworkRootResponse(BaseModel):
    network: NetworkResponse


class NetworksRootResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    networks: list[NetworkResponse]


class SubnetResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None
    name: str | None = None
    network_id: str | None = None
    cidr: str | None = None


class SubnetRootResponse(BaseModel):
    subnet: SubnetResponse


class SubnetsRootResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    subnets: list[SubnetResponse]


__all__ = ["Link"]
