"""L7 policy wire types."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from bigip_lbaas.api.schemas.common import IdRef, Link, Name, ProjectId, Request, Response, Tags
from bigip_lbaas.api.schemas.l7rule import L7RulePOST, L7RuleResponse

Action = Literal["REJECT", "REDIRECT_TO_URL", "REDIRECT_TO_POOL", "REDIRECT_PREFIX"]
RedirectCode = Literal[301, 302, 303, 307, 308]
Position = Field(default=2147483647, ge=1, le=2147483647)
# Octavia's validate.url: no control characters or spaces, an http or https scheme and a host.
BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f]")


def _url(value: str) -> str:
    try:
        parts = urlsplit(value)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 -- a bad port raises ValueError
    except ValueError:
        ok = False
    if not ok or BAD_URL_CHARS.search(value):
        raise PydanticCustomError("url", "Value must be a valid URL string")
    return value


Url = Annotated[str, Field(max_length=255), AfterValidator(_url)]


class L7PolicyPOST(Request):
    name: Name = None
    description: Name = None
    admin_state_up: bool = True
    project_id: ProjectId = None
    tenant_id: ProjectId = None
    action: Action
    redirect_pool_id: str | None = Field(default=None, max_length=36)
    redirect_url: Url | None = None
    redirect_prefix: Url | None = None
    position: int = Position
    listener_id: str = Field(max_length=36)
    rules: list[L7RulePOST] | None = None
    redirect_http_code: RedirectCode | None = None
    tags: Tags = None


class L7PolicySingleCreate(Request):
    """An L7 policy inside a fully populated load balancer: the redirect pool is named."""

    name: Name = None
    description: Name = None
    admin_state_up: bool = True
    action: Action
    redirect_pool: dict[str, object] | None = None
    redirect_url: Url | None = None
    redirect_prefix: Url | None = None
    position: int = Position
    rules: list[L7RulePOST] | None = None
    redirect_http_code: RedirectCode | None = None
    tags: Tags = None


class L7PolicyPUT(Request):
    name: Name = None
    description: Name = None
    admin_state_up: bool | None = None
    action: Action | None = None
    redirect_pool_id: str | None = Field(default=None, max_length=36)
    redirect_url: Url | None = None
    redirect_prefix: Url | None = None
    position: int | None = Field(default=None, ge=1, le=2147483647)
    redirect_http_code: RedirectCode | None = None
    tags: Tags = None


class L7PolicyRootPOST(Request):
    l7policy: L7PolicyPOST


class L7PolicyRootPUT(Request):
    l7policy: L7PolicyPUT


class L7PolicyResponse(Response):
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
    action: str | None = None
    listener_id: str | None = None
    redirect_pool_id: str | None = None
    redirect_url: str | None = None
    redirect_prefix: str | None = None
    position: int | None = None
    rules: list[IdRef] | None = None
    redirect_http_code: int | None = None


class L7PolicyFullResponse(L7PolicyResponse):
    """In a fully populated load balancer's response: rules as full objects."""

    rules: list[L7RuleResponse] | None = None  # type: ignore[assignment]


class L7PolicyRootResponse(Response):
    l7policy: L7PolicyResponse


class L7PoliciesRootResponse(Response):
    l7policies: list[L7PolicyResponse]
    l7policies_links: list[Link]
