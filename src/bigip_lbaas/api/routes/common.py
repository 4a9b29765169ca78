"""What every resource's routes share: list, show, child update/delete, the JSON response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import pagination
from bigip_lbaas.api.auth import Context
from bigip_lbaas.api.lock import change_child, find, find_locked
from bigip_lbaas.api.resources import Kind, render, render_one
from bigip_lbaas.api.state import AppState, base_url, context, state
from bigip_lbaas.core.status import Prov

Scope = Callable[[sa.Select[Any]], sa.Select[Any]]


def respond(status: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def no_content(status: int = 204) -> Response:
    return Response(status_code=status)


def env(request: Request) -> tuple[AppState, Context]:
    return state(request), context(request)


def list_kind(request: Request, kind: Kind, scope: Scope | None = None,
              check: Callable[[Session, Context], None] | None = None) -> JSONResponse:
    st, ctx = env(request)
    q = pagination.parse(kind, list(request.query_params.multi_items()), st.max_limit)
    url = base_url(request)

    def fn(session: Session) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        if check is not None:
            check(session, ctx)
        stmt = sa.select(kind.model).where(kind.model.provisioning_status != Prov.DELETED)
        if not ctx.is_admin:
            stmt = stmt.where(kind.model.project_id == ctx.project_id)
        if scope is not None:
            stmt = scope(stmt)
        rows = pagination.page(session, kind, pagination.apply(kind, stmt, q), q)
        bodies = [pagination.select_fields(b, q.fields) for b in render(session, kind, rows)]
        return bodies, pagination.links(url, q, rows)

    items, links = st.read(fn)
    return respond(200, {kind.plural: items, f"{kind.plural}_links": links})


def fields_of(request: Request, kind: Kind) -> list[str]:
    fields = [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]
    if any(f not in kind.fields for f in fields):
        from bigip_lbaas.api.errors import InvalidParams
        raise InvalidParams()
    return fields


def show_kind(request: Request, kind: Kind, obj_id: str,
              parent: Callable[[Any], bool] | None = None) -> JSONResponse:
    st, ctx = env(request)
    fields = fields_of(request, kind)

    def fn(session: Session) -> dict[str, Any]:
        row = find(session, kind, obj_id, ctx)
        if parent is not None and not parent(row):
            from bigip_lbaas.api.errors import NotFound
            raise NotFound(resource=kind.label, id=obj_id)
        return pagination.select_fields(render_one(session, kind, row), fields)

    return respond(200, {kind.key: st.read(fn)})


def update_child(request: Request, kind: Kind, obj_id: str, changes: dict[str, Any],
                 apply: Callable[[Session, Any, dict[str, Any]], None] | None = None,
                 parent: Callable[[Any], bool] | None = None) -> JSONResponse:
    """PUT on a child: lock its LB, require both unlocked, write the changes as PENDING_UPDATE."""
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, Any]:
        row, lb = find_locked(session, kind, obj_id, ctx, parent)
        change_child(session, lb, (kind, row))
        if apply is not None:
            apply(session, row, changes)
        else:
            set_columns(kind, row, changes)
        row.provisioning_status = Prov.PENDING_UPDATE
        session.flush()
        return render_one(session, kind, row)

    return respond(200, {kind.key: st.write(fn)})


def set_columns(kind: Kind, row: Any, changes: dict[str, Any]) -> None:
    from bigip_lbaas.api.resources import columns_from
    for col, value in columns_from(kind, changes).items():
        setattr(row, col, [] if col == "tags" and value is None else value)


def delete_child(request: Request, kind: Kind, obj_id: str,
                 cascade: Callable[[Session, Any], None] | None = None,
                 parent: Callable[[Any], bool] | None = None) -> Response:
    """DELETE on a child: it (and what hangs below it) goes PENDING_DELETE until an agent
    confirms removal from the devices."""
    st, ctx = env(request)

    def fn(session: Session) -> None:
        row, lb = find_locked(session, kind, obj_id, ctx, parent)
        change_child(session, lb, (kind, row))
        if cascade is not None:
            cascade(session, row)
        row.provisioning_status = Prov.PENDING_DELETE

    st.write(fn)
    return no_content()


def mark_deleting(session: Session, kind: Kind, column: str, value: Any) -> None:
    """Every row of `kind` whose `column` equals `value` goes PENDING_DELETE."""
    session.execute(sa.update(kind.model).where(getattr(kind.model, column) == value)
                    .values(provisioning_status=Prov.PENDING_DELETE)
                    .execution_options(synchronize_session=False))
