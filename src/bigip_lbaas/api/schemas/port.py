"""Neutron-shaped port bodies (the built-in network registry's ports)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bigip_lbaas.api.schemas.common import Link, Name, ProjectId, Response
from bigip_lbaas.api.schemas.network import NeutronRequest


class FixedIp(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subnet_id: str | None = Field(default=None, max_length=36)
    ip_address: str | None = Field(default=None, max_length=64)


class PortPOST(NeutronRequest):
    name: Name = None
    description: Name = None
    network_id: str = Field(max_length=36)
    fixed_ips: list[FixedIp] | None = None
    device_owner: str = Field(default="", max_length=255)
    device_id: str = Field(default="", max_length=255)
    mac_address: str | None = Field(default=None, max_length=32)
    admin_state_up: bool = True
    binding_host_id: str | None = Field(default=None, alias="binding:host_id",
                                        max_length=255)
    project_id: ProjectId = None
    tenant_id: ProjectId = None


class PortRootPOST(NeutronRequest):
    port: PortPOST


class FixedIpResponse(Response):
    subnet_id: str | None = None
    ip_address: str | None = None


class PortResponse(Response):
    id: str | None = None
    name: str | None = None
    description: str | None = None
    network_id: str | None = None
    tenant_id: str | None = None
    project_id: str | None = None
    mac_address: str | None = None
    admin_state_up: bool | None = None
    status: str | None = None
    device_owner: str | None = None
    device_id: str | None = None
    fixed_ips: list[FixedIpResponse] | None = None
    allowed_address_pairs: list[dict[str, Any]] | None = None
    extra_dhcp_opts: list[dict[str, Any]] | None = None
    security_groups: list[str] | None = None
    binding_vnic_type: str | None = Field(default=None, alias="binding:vnic_type")
    binding_host_id: str | None = Field(default=None, alias="binding:host_id")
    binding_profile: dict[str, Any] | None = Field(default=None, alias="binding:profile")
    binding_vif_type: str | None = Field(default=None, alias="binding:vif_type")
    binding_vif_details: dict[str, Any] | None = Field(default=None,
                                                       alias="binding:vif_details")
    port_security_enabled: bool | None = None
    tags: list[str] | None = None
    revision_number: int | None = None
    created_at: str | None = None
    updated_at: str | None = None


class PortRootResponse(Response):
    port: PortResponse


class PortsRootResponse(Response):
    ports: list[PortResponse]
    ports_links: list[Link]
