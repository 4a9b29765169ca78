"""Health monitors (one per pool)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import create, quotas
from bigip_lbaas.api.handlers import (
    delete_child,
    env,
    list_resource,
    respond,
    set_columns,
    show_resource,
    update_child,
)
from bigip_lbaas.api.lock import change_child, find_locked
from bigip_lbaas.api.resources import HEALTHMONITOR, POOL, wire_one
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.healthmonitor import (
    HealthMonitorRootPOST,
    HealthMonitorRootPUT,
    HealthMonitorRootResponse,
    HealthMonitorsRootResponse,
)
from bigip_lbaas.core.status import Oper
from bigip_lbaas.db import models as m

router = APIRouter(tags=["healthmonitors"])
ONE = "/healthmonitors/{healthmonitor_id}"


@router.get("/healthmonitors", response_model=HealthMonitorsRootResponse,
            responses=fault_responses(400, 401, 403))
def list_healthmonitors(request: Request) -> JSONResponse:
    return list_resource(request, HEALTHMONITOR)


@router.get(ONE, response_model=HealthMonitorRootResponse,
            responses=fault_responses(401, 403, 404))
def show_healthmonitor(request: Request, healthmonitor_id: str) -> JSONResponse:
    return show_resource(request, HEALTHMONITOR, healthmonitor_id)


@router.post("/healthmonitors", status_code=201, response_model=HealthMonitorRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409))
def create_healthmonitor(request: Request, body: HealthMonitorRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.healthmonitor

    def fn(session: Session) -> dict[str, Any]:
        pool, lb = find_locked(session, POOL, spec.pool_id, ctx)
        change_child(session, lb, (POOL, pool))
        quotas.check(session, st.conf, lb.project_id, {HEALTHMONITOR: 1})
        row = create.insert_healthmonitor(session, pool, spec.model_dump(exclude={"pool_id"}))
        # Members of a monitored pool start OFFLINE rather than NO_MONITOR.
        session.execute(sa.update(m.Member).where(m.Member.pool_id == pool.id,
                                                  m.Member.operating_status == Oper.NO_MONITOR)
                        .values(operating_status=Oper.OFFLINE)
                        .execution_options(synchronize_session=False))
        session.flush()
        return wire_one(session, HEALTHMONITOR, row)

    return respond(201, {"healthmonitor": st.write(fn)})


def apply_changes(session: Session, row: m.HealthMonitor, changes: dict[str, Any]) -> None:
    pool = session.get(m.Pool, row.pool_id)
    create.hm_checks(pool.protocol if pool is not None else "", row.type, changes, stored=row)
    values = create.hm_values(changes, row.type, creating=False)
    set_columns(HEALTHMONITOR, row, values)


@router.put(ONE, response_model=HealthMonitorRootResponse,
            responses=fault_responses(400, 401, 403, 404, 409))
def update_healthmonitor(request: Request, healthmonitor_id: str,
                         body: HealthMonitorRootPUT) -> JSONResponse:
    return update_child(request, HEALTHMONITOR, healthmonitor_id,
                        body.healthmonitor.model_dump(exclude_unset=True), apply_changes)


@router.delete(ONE, status_code=204, responses=fault_responses(401, 403, 404, 409))
def delete_healthmonitor(request: Request, healthmonitor_id: str) -> Response:
    return delete_child(request, HEALTHMONITOR, healthmonitor_id)

