"""Types shared by every resource schema: names, ids, links, the fault body, the base configs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str | None, Field(default=None, max_length=255)]
Uuid = Annotated[str, Field(max_length=36)]
ProjectId = Annotated[str | None, Field(default=None, max_length=36)]
Tags = Annotated[list[Annotated[str, Field(max_length=255)]] | None, Field(default=None)]
Port = Annotated[int, Field(ge=1, le=65535)]


class Request(BaseModel):
    """Request bodies reject unknown attributes, as WSME does."""

    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    """Response bodies: every field optional, because `fields=` may select a subset; no field
    beyond the declared ones, so the OpenAPI document says `additionalProperties: false` and a
    body that grows a field its schema lacks fails the conformance check."""

    model_config = ConfigDict(extra="forbid")


class IdRef(Response):
    id: str | None = None


class Link(BaseModel):
    href: str
    rel: str


class Fault(BaseModel):
    faultcode: str
    faultstring: str
    debuginfo: Any = None


def fault_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the fault body for the given error status codes."""
    return {code: {"model": Fault} for code in codes}
