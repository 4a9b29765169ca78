"""Health monitor wire types."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from bigip_lbaas.api.schemas.common import IdRef, Link, Name, ProjectId, Request, Response, Tags

HmType = Literal["HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"]
HttpMethod = Literal["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]
# Octavia's patterns: codes may be spaced around the commas; a domain name as DOMAIN_NAME_REGEX.
Codes = Field(default=None, pattern=r"^(\d{3}(\s*,\s*\d{3})*)$|^(\d{3}-\d{3})$")
DOMAIN_NAME = re.compile(
    r"^(?=.{1,253}\.?$)(?:(?!-|[^.]+_)[A-Za-z0-9-_]{1,63}(?<!-)(?:\.|$))+$")


def _domain_name(value: str) -> str:
    """Octavia's DOMAIN_NAME_REGEX, with WSME's reason (Python's re: it looks around)."""
    if not DOMAIN_NAME.match(value):
        raise PydanticCustomError("string_pattern_mismatch",
                                  "Value should match the pattern {pattern}",
                                  {"pattern": DOMAIN_NAME.pattern})
    return value


DomainName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_domain_name)]
HTTP_VERSIONS = (1.0, 1.1)


def _http_version(value: float) -> float:
    """Octavia's wtypes.Enum(float, 1.0, 1.1): any other number (1.05 too) is refused, with
    WSME's reason."""
    if value not in HTTP_VERSIONS:
        raise PydanticCustomError("enum", "Value should be one of: 1.0, 1.1")
    return value


HttpVersion = Annotated[float, AfterValidator(_http_version),
                        Field(json_schema_extra={"enum": list(HTTP_VERSIONS)})]
UrlPath = Field(default=None, max_length=2048, pattern=r"^/.*$")


class HealthMonitorSingleCreate(Request):
    name: Name = None
    admin_state_up: bool = True
    type: HmType
    delay: int = Field(ge=0, le=2147483647)
    timeout: int = Field(ge=0, le=2147483647)
    max_retries: int = Field(ge=1, le=10)
    max_retries_down: int = Field(default=3, ge=1, le=10)
    http_method: HttpMethod | None = None
    url_path: str | None = UrlPath
    expected_codes: str | None = Codes
    http_version: HttpVersion | None = None
    domain_name: DomainName | None = None
    tags: Tags = None


class HealthMonitorPOST(HealthMonitorSingleCreate):
    pool_id: str = Field(max_length=36)
    project_id: ProjectId = None
    tenant_id: ProjectId = None


class HealthMonitorPUT(Request):
    name: Name = None
    admin_state_up: bool | None = None
    delay: int | None = Field(default=None, ge=0, le=2147483647)
    timeout: int | None = Field(default=None, ge=0, le=2147483647)
    max_retries: int | None = Field(default=None, ge=1, le=10)
    max_retries_down: int | None = Field(default=None, ge=1, le=10)
    http_method: HttpMethod | None = None
    url_path: str | None = UrlPath
    expected_codes: str | None = Codes
    http_version: HttpVersion | None = None
    domain_name: DomainName | None = None
    tags: Tags = None


class HealthMonitorRootPOST(Request):
    healthmonitor: HealthMonitorPOST


class HealthMonitorRootPUT(Request):
    healthmonitor: HealthMonitorPUT


class HealthMonitorResponse(Response):
    id: str | None = None
    name: str | None = None
    type: str | None = None
    delay: int | None = None
    timeout: int | None = None
    max_retries: int | None = None
    max_retries_down: int | None = None
    http_method: str | None = None
    url_path: str | None = None
    expected_codes: str | None = None
    admin_state_up: bool | None = None
    project_id: str | None = None
    tenant_id: str | None = None
    pools: list[IdRef] | None = None
    provisioning_status: str | None = None
    operating_status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    http_version: float | None = None
    domain_name: str | None = None
    tags: list[str] | None = None


class HealthMonitorRootResponse(Response):
    healthmonitor: HealthMonitorResponse


class HealthMonitorsRootResponse(Response):
    healthmonitors: list[HealthMonitorResponse]
    healthmonitors_links: list[Link]
