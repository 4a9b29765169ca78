"""Quotas: list, show (effective values), defaults, set (202) and reset (202). Who may read
and write them is Octavia's quota policy (api/policy.py), checked as the request arrives."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import quotas
from bigip_lbaas.api.errors import NotAuthorized
from bigip_lbaas.api.handlers import env, no_content, respond
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.quota import QuotaRootPUT, QuotaRootResponse, QuotasRootResponse
from bigip_lbaas.db import models as m

router = APIRouter(tags=["quotas"])


@router.get("/quotas", response_model=QuotasRootResponse, responses=fault_responses(401, 403))
def list_quotas(request: Request, project_id: str | None = None) -> JSONResponse:
    st, ctx = env(request)
    project = ctx.list_project(project_id or None)

    def fn(session: Session) -> list[dict[str, Any]]:
        stmt = sa.select(m.Quota.project_id).order_by(m.Quota.project_id)
        if project is not None:
            stmt = stmt.where(m.Quota.project_id == project)
        return [{"project_id": p, **quotas.to_wire(dict(quotas.effective(session, st.conf, p)))}
                for p in session.scalars(stmt)]

    return respond(200, {"quotas": st.read(fn), "quotas_links": []})


@router.get("/quotas/defaults", response_model=QuotaRootResponse,
            responses=fault_responses(401, 403))
@router.get("/quotas/{project_id}/default", response_model=QuotaRootResponse,
            responses=fault_responses(401, 403), include_in_schema=False)
def quota_defaults(request: Request, project_id: str | None = None) -> JSONResponse:
    st, _ = env(request)
    return respond(200, {"quota": quotas.to_wire(dict(quotas.defaults(st.conf)))})


@router.get("/quotas/{project_id}", response_model=QuotaRootResponse,
            responses=fault_responses(401, 403))
def show_quota(request: Request, project_id: str) -> JSONResponse:
    st, ctx = env(request)
    if not ctx.visible(project_id):
        raise NotAuthorized()
    values = st.read(lambda s: quotas.effective(s, st.conf, project_id))
    return respond(200, {"quota": {"project_id": project_id, **quotas.to_wire(dict(values))}})


@router.put("/quotas/{project_id}", status_code=202, response_model=QuotaRootResponse,
            responses=fault_responses(400, 401, 403))
def update_quota(request: Request, project_id: str, body: QuotaRootPUT) -> JSONResponse:
    st, ctx = env(request)
    ctx.require_admin()
    given = body.quota.model_dump(exclude_unset=True)
    changes: dict[str, int | None] = {}
    for col, (names, _) in quotas.QUOTA_FIELDS.items():
        for name in names:
            if name in given:
                changes[col] = given[name]

    def fn(session: Session) -> dict[str, int]:
        row = session.get(m.Quota, project_id, with_for_update=True)
        if row is None:
            row = m.Quota(project_id=project_id)
            session.add(row)
        for col, value in changes.items():
            setattr(row, col, value)
        session.flush()
        return quotas.effective(session, st.conf, project_id)

    values = st.write(fn)
    return respond(202, {"quota": {"project_id": project_id, **quotas.to_wire(dict(values))}})


@router.delete("/quotas/{project_id}", status_code=202, response_class=Response,
               responses=fault_responses(401, 403, 404))
def reset_quota(request: Request, project_id: str) -> Response:
    st, ctx = env(request)
    ctx.require_admin()
    st.write(lambda s: s.execute(sa.delete(m.Quota).where(m.Quota.project_id == project_id)))
    return no_content(202)
