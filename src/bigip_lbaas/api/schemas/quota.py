"""Quota wire types (with Octavia's deprecated spellings load_balancer / health_monitor)."""

from __future__ import annotations

from pydantic import Field

from bigip_lbaas.api.schemas.common import Link, Request, Response

Limit = Field(default=None, ge=-1, le=2000000000)


class QuotaPUT(Request):
    loadbalancer: int | None = Limit
    load_balancer: int | None = Limit
    listener: int | None = Limit
    member: int | None = Limit
    pool: int | None = Limit
    healthmonitor: int | None = Limit
    health_monitor: int | None = Limit
    l7policy: int | None = Limit
    l7rule: int | None = Limit


class QuotaRootPUT(Request):
    quota: QuotaPUT


class QuotaResponse(Response):
    project_id: str | None = None
    loadbalancer: int | None = None
    load_balancer: int | None = None
    listener: int | None = None
    member: int | None = None
    pool: int | None = None
    healthmonitor: int | None = None
    health_monitor: int | None = None
    l7policy: int | None = None
    l7rule: int | None = None


class QuotaRootResponse(Response):
    quota: QuotaResponse


class QuotasRootResponse(Response):
    quotas: list[QuotaResponse]
    quotas_links: list[Link]
