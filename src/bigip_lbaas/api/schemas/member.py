"""Member wire types, including the batch update body."""

from __future__ import annotations

from pydantic import Field

from bigip_lbaas.api.schemas.common import Link, Name, Port, ProjectId, Request, Response, Tags


class MemberSingleCreate(Request):
    name: Name = None
    admin_state_up: bool = True
    address: str = Field(max_length=64)
    protocol_port: Port
    weight: int = Field(default=1, ge=0, le=256)
    backup: bool = False
    subnet_id: str | None = Field(default=None, max_length=36)
    monitor_port: int | None = Field(default=None, ge=1, le=65535)
    monitor_address: str | None = Field(default=None, max_length=64)
    request_sriov: bool = False
    tags: Tags = None


class MemberPOST(MemberSingleCreate):
    project_id: ProjectId = None
    tenant_id: ProjectId = None


class MemberPUT(Request):
    name: Name = None
    admin_state_up: bool | None = None
    weight: int | None = Field(default=None, ge=0, le=256)
    backup: bool | None = None
    monitor_port: int | None = Field(default=None, ge=1, le=65535)
    monitor_address: str | None = Field(default=None, max_length=64)
    tags: Tags = None


class MemberRootPOST(Request):
    member: MemberPOST


class MemberRootPUT(Request):
    member: MemberPUT


class MembersRootPUT(Request):
    members: list[MemberPOST]


class MemberResponse(Response):
    id: str | None = None
    name: str | None = None
    operating_status: str | None = None
    provisioning_status: str | None = None
    admin_state_up: bool | None = None
    address: str | None = None
    protocol_port: int | None = None
    weight: int | None = None
    backup: bool | None = None
    subnet_id: str | None = None
    project_id: str | None = None
    tenant_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    monitor_address: str | None = None
    monitor_port: int | None = None
    vnic_type: str | None = None
    tags: list[str] | None = None


class MemberRootResponse(Response):
    member: MemberResponse


class MembersRootResponse(Response):
    members: list[MemberResponse]
    members_links: list[Link]
