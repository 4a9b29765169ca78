"""L7 rule wire types (wrapper key `rule` / `rules`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bigip_lbaas.api.schemas.common import Link, ProjectId, Request, Response, Tags

RuleType = Literal[
    "HOST_NAME",
    "PATH",
    "FILE_TYPE",
    "HEADER",
    "COOKIE",
    "SSL_CONN_HAS_CERT",
    "SSL_VERIFY_RESULT",
    "SSL_DN_FIELD",
]
CompareType = Literal["REGEX", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "EQUAL_TO"]
RuleValue = Field(max_length=255, pattern=r"^[^\r\n]*$")


class L7RulePOST(Request):
    type: RuleType
    compare_type: CompareType
    key: str | None = Field(default=None, max_length=255)
    value: str = RuleValue
    invert: bool = False
    admin_state_up: bool = True
    project_id: ProjectId = None
    tenant_id: ProjectId = None
    tags: Tags = None


class L7RulePUT(Request):
    type: RuleType | None = None
    compare_type: CompareType | None = None
    key: str | None = Field(default=None, max_length=255)
    value: str | None = Field(default=None, max_length=255, pattern=r"^[^\r\n]*$")
    invert: bool | None = None
    admin_state_up: bool | None = None
    tags: Tags = None


class L7RuleRootPOST(Request):
    rule: L7RulePOST


class L7RuleRootPUT(Request):
    rule: L7RulePUT


class L7RuleResponse(Response):
    id: str | None = None
    type: str | None = None
    compare_type: str | None = None
    key: str | None = None
    value: str | None = None
    invert: bool | None = None
    provisioning_status: str | None = None
    operating_status: str | None = None
    admin_state_up: bool | None = None
    project_id: str | None = None
    tenant_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    tags: list[str] | None = None


class L7RuleRootResponse(Response):
    rule: L7RuleResponse


class L7RulesRootResponse(Response):
    rules: list[L7RuleResponse]
    rules_links: list[Link]
