"""Listener wire types."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from bigip_lbaas.api.schemas.common import (
    IdRef,
    Link,
    Name,
    Port,
    ProjectId,
    Request,
    Response,
    Tags,
)
from bigip_lbaas.api.schemas.l7policy import L7PolicyFullResponse, L7PolicySingleCreate

Protocol = Literal["TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"]
ClientAuth = Literal["NONE", "OPTIONAL", "MANDATORY"]
Timeout = Field(default=None, ge=0, le=2147483647)


def _cidrs(value: list[str] | None) -> list[str] | None:
    """Octavia's CidrType: any IPv4 or IPv6 network, host bits allowed, stored in its canonical
    form ("10.0.0.5/24" becomes "10.0.0.0/24")."""
    if value is None:
        return None
    try:
        return [ipaddress.ip_network(v, strict=False).with_prefixlen for v in value]
    except ValueError as err:
        raise PydanticCustomError("cidr", "Value should be IPv4 or IPv6 CIDR format") from err


Cidrs = Annotated[list[str] | None, AfterValidator(_cidrs)]


class ListenerFields(Request):
    name: Name = None
    description: Name = None
    admin_state_up: bool = True
    protocol: Protocol
    protocol_port: Port
    connection_limit: int = Field(default=-1, ge=-1, le=2147483647)
    default_tls_container_ref: str | None = Field(default=None, max_length=255)
    sni_container_refs: list[str] | None = None
    insert_headers: dict[str, str] | None = None
    timeout_client_data: int | None = Timeout
    timeout_member_connect: int | None = Timeout
    timeout_member_data: int | None = Timeout
    timeout_tcp_inspect: int | None = Timeout
    client_ca_tls_container_ref: str | None = Field(default=None, max_length=255)
    client_authentication: ClientAuth = "NONE"
    client_crl_container_ref: str | None = Field(default=None, max_length=255)
    allowed_cidrs: Cidrs = None
    tls_ciphers: str | None = Field(default=None, max_length=2048)
    tls_versions: list[str] | None = None
    alpn_protocols: list[str] | None = None
    hsts_max_age: int | None = Field(default=None, ge=0, le=2147483647)
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False
    tags: Tags = None


class ListenerPOST(ListenerFields):
    project_id: ProjectId = None
    tenant_id: ProjectId = None
    loadbalancer_id: str = Field(max_length=36)
    default_pool_id: str | None = Field(default=None, max_length=36)
    default_pool: dict[str, object] | None = None
    l7policies: list[L7PolicySingleCreate] | None = None


class ListenerSingleCreate(ListenerFields):
    """A listener inside a fully populated load balancer: its default pool is named."""

    default_pool: dict[str, object] | None = None
    l7policies: list[L7PolicySingleCreate] | None = None


class ListenerPUT(Request):
    name: Name = None
    description: Name = None
    admin_state_up: bool | None = None
    connection_limit: int | None = Field(default=None, ge=-1, le=2147483647)
    default_tls_container_ref: str | None = Field(default=None, max_length=255)
    sni_container_refs: list[str] | None = None
    default_pool_id: str | None = Field(default=None, max_length=36)
    insert_headers: dict[str, str] | None = None
    timeout_client_data: int | None = Timeout
    timeout_member_connect: int | None = Timeout
    timeout_member_data: int | None = Timeout
    timeout_tcp_inspect: int | None = Timeout
    client_ca_tls_container_ref: str | None = Field(default=None, max_length=255)
    client_authentication: ClientAuth | None = None
    client_crl_container_ref: str | None = Field(default=None, max_length=255)
    allowed_cidrs: Cidrs = None
    tls_ciphers: str | None = Field(default=None, max_length=2048)
    tls_versions: list[str] | None = None
    alpn_protocols: list[str] | None = None
    hsts_max_age: int | None = Field(default=None, ge=0, le=2147483647)
    hsts_include_subdomains: bool | None = None
    hsts_preload: bool | None = None
    tags: Tags = None


class ListenerRootPOST(Request):
    listener: ListenerPOST


class ListenerRootPUT(Request):
    listener: ListenerPUT


class ListenerResponse(Response):
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
    protocol_port: int | None = None
    connection_limit: int | None = None
    default_tls_container_ref: str | None = None
    sni_container_refs: list[str] | None = None
    default_pool_id: str | None = None
    l7policies: list[IdRef] | None = None
    insert_headers: dict[str, str] | None = None
    loadbalancers: list[IdRef] | None = None
    timeout_client_data: int | None = None
    timeout_member_connect: int | None = None
    timeout_member_data: int | None = None
    timeout_tcp_inspect: int | None = None
    client_ca_tls_container_ref: str | None = None
    client_authentication: str | None = None
    client_crl_container_ref: str | None = None
    allowed_cidrs: list[str] | None = None
    tls_ciphers: str | None = None
    tls_versions: list[str] | None = None
    alpn_protocols: list[str] | None = None
    hsts_max_age: int | None = None
    hsts_include_subdomains: bool | None = None
    hsts_preload: bool | None = None


class ListenerFullResponse(ListenerResponse):
    """In a fully populated load balancer's response: L7 policies (and their rules) in full."""

    l7policies: list[L7PolicyFullResponse] | None = None  # type: ignore[assignment]


class ListenerRootResponse(Response):
    listener: ListenerResponse


class ListenersRootResponse(Response):
    listeners: list[ListenerResponse]
    listeners_links: list[Link]
