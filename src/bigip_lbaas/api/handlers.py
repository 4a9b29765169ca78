"""What every resource's route handlers share: list, show, child update/delete, the JSON response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import pagination
from bigip_lbaas.api.auth import Context
from bigip_lbaas.api.errors import InvalidParams, NotFound
from bigip_lbaas.api.lock import change_child, find, find_locked
from bigip_lbaas.api.resources import Resource, columns_from, wire_list, wire_one
from bigip_lbaas.api.state import AppState, base_url, context, state
from bigip_lbaas.core.status import Prov

Scope = Callable[[sa.Select[Any]], sa.Select[Any]]


def respond(status: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def no_content(status: int = 204) -> Response:
    return Response(status_code=status)


def env(request: Request) -> tuple[AppState, Context]:
    return state(request), context(request)


def list_resource(request: Request, res: Resource, scope: Scope | None = None,
              check: Callable[[Session, Context], None] | None = None) -> JSONResponse:
    st, ctx = env(request)
    q = pagination.parse(res, list(request.query_params.multi_items()), st.max_limit)
    url = base_url(request)

    def fn(session: Session) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        stmt = sa.select(res.model).where(res.model.provisioning_status != Prov.DELETED)
        if check is not None:  # listed below a parent: the parent's project decides (403)
            check(session, ctx)
        else:  # Octavia's list rule: everyone's, one asked for, or the caller's own (else 403)
            project = ctx.list_project(request.query_params.get("project_id"))
            if project is not None:
                stmt = stmt.where(res.model.project_id == project)
        if scope is not None:
            stmt = scope(stmt)
        rows = pagination.page(session, res, pagination.apply(res, stmt, q), q)
        bodies = [pagination.select_fields(b, q.fields) for b in wire_list(session, res, rows)]
        return bodies, pagination.links(url, q, rows)

    items, links = st.read(fn)
    return respond(200, {res.plural: items, f"{res.plural}_links": links})


def fields_of(request: Request, res: Resource) -> list[str]:
    fields = [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]
    if any(f not in res.fields for f in fields):
        raise InvalidParams()
    return fields


def show_resource(request: Request, res: Resource, obj_id: str,
              parent: Callable[[Any], bool] | None = None) -> JSONResponse:
    st, ctx = env(request)
    fields = fields_of(request, res)

    def fn(session: Session) -> dict[str, Any]:
        row = find(session, res, obj_id, ctx)
        if parent is not None and not parent(row):
            raise NotFound(resource=res.label, id=obj_id)
        return pagination.select_fields(wire_one(session, res, row), fields)

    return respond(200, {res.key: st.read(fn)})


def update_child(request: Request, res: Resource, obj_id: str, changes: dict[str, Any],
                 apply: Callable[[Session, Any, dict[str, Any]], None] | None = None,
                 parent: Callable[[Any], bool] | None = None) -> JSONResponse:
    """PUT on a child: lock its LB, require both unlocked, write the changes as PENDING_UPDATE."""
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, Any]:
        row = write_update(session, res, obj_id, ctx, changes, apply, parent)
        return wire_one(session, res, row)

    return respond(200, {res.key: st.write(fn)})


def write_update(session: Session, res: Resource, obj_id: str, ctx: Context,
                 changes: dict[str, Any],
                 apply: Callable[[Session, Any, dict[str, Any]], None] | None = None,
                 parent: Callable[[Any], bool] | None = None) -> Any:
    """The write of a child's update, in the caller's transaction (the API's PUT and the
    Octavia provider driver share it); returns the row."""
    row, lb = find_locked(session, res, obj_id, ctx, parent)
    change_child(session, lb, (res, row))
    if apply is not None:
        apply(session, row, changes)
    else:
        set_columns(res, row, changes)
    row.provisioning_status = Prov.PENDING_UPDATE
    session.flush()
    return row


def set_columns(res: Resource, row: Any, changes: dict[str, Any]) -> None:
    for col, value in columns_from(res, changes).items():
        setattr(row, col, [] if col == "tags" and value is None else value)


def delete_child(request: Request, res: Resource, obj_id: str,
                 cascade: Callable[[Session, Any], None] | None = None,
                 parent: Callable[[Any], bool] | None = None) -> Response:
    """DELETE on a child: it (and what hangs below it) goes PENDING_DELETE until an agent
    confirms removal from the devices."""
    st, ctx = env(request)
    st.write(lambda session: write_delete(session, res, obj_id, ctx, cascade, parent))
    return no_content()


def write_delete(session: Session, res: Resource, obj_id: str, ctx: Context,
                 cascade: Callable[[Session, Any], None] | None = None,
                 parent: Callable[[Any], bool] | None = None) -> Any:
    """The write of a child's delete, in the caller's transaction (shared as `write_update`)."""
    row, lb = find_locked(session, res, obj_id, ctx, parent)
    change_child(session, lb, (res, row), deleting=True)
    if cascade is not None:
        cascade(session, row)
    row.provisioning_status = Prov.PENDING_DELETE
    return row


def mark_deleting(session: Session, res: Resource, column: str, value: Any) -> None:
    """Every row of `res` whose `column` equals `value` goes PENDING_DELETE."""
    session.execute(sa.update(res.model).where(getattr(res.model, column) == value)
                    .values(provisioning_status=Prov.PENDING_DELETE)
                    .execution_options(synchronize_session=False))
