"""Members of a pool, including Octavia's batch update (`PUT /pools/{id}/members`, 202)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import create, quotas, validate
from bigip_lbaas.api.handlers import (
    delete_child,
    env,
    list_resource,
    no_content,
    respond,
    set_columns,
    show_resource,
    update_child,
)
from bigip_lbaas.api.lock import change_child, find, find_locked
from bigip_lbaas.api.pagination import parse_bool
from bigip_lbaas.api.resources import MEMBER, POOL, wire_one
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.member import (
    MemberPOST,
    MemberRootPOST,
    MemberRootPUT,
    MemberRootResponse,
    MembersRootPUT,
    MembersRootResponse,
)
from bigip_lbaas.core.status import Prov
from bigip_lbaas.db import models as m

router = APIRouter(tags=["members"])
MANY = "/pools/{pool_id}/members"
ONE = MANY + "/{member_id}"


def _in_pool(pool_id: str) -> Any:
    return lambda row: row.pool_id == pool_id


@router.get(MANY, response_model=MembersRootResponse,
            responses=fault_responses(400, 401, 403, 404))
def list_members(request: Request, pool_id: str) -> JSONResponse:
    def check(session: Session, ctx: Any) -> None:
        find(session, POOL, pool_id, ctx)

    return list_resource(request, MEMBER, lambda s: s.where(m.Member.pool_id == pool_id), check)


@router.get(ONE, response_model=MemberRootResponse, responses=fault_responses(401, 403, 404))
def show_member(request: Request, pool_id: str, member_id: str) -> JSONResponse:
    return show_resource(request, MEMBER, member_id, _in_pool(pool_id))


@router.post(MANY, status_code=201, response_model=MemberRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409, 501))
def create_member(request: Request, pool_id: str, body: MemberRootPOST) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, Any]:
        pool, lb = find_locked(session, POOL, pool_id, ctx)
        change_child(session, lb, (POOL, pool))
        quotas.check(session, st.conf, lb.project_id, {MEMBER: 1})
        row = create.insert_member(session, pool, body.member.model_dump())
        return wire_one(session, MEMBER, row)

    return respond(201, {"member": st.write(fn)})


@router.put(ONE, response_model=MemberRootResponse,
            responses=fault_responses(400, 401, 403, 404, 409))
def update_member(request: Request, pool_id: str, member_id: str,
                  body: MemberRootPUT) -> JSONResponse:
    return update_child(request, MEMBER, member_id, body.member.model_dump(exclude_unset=True),
                        parent=_in_pool(pool_id))


@router.delete(ONE, status_code=204, responses=fault_responses(401, 403, 404, 409))
def delete_member(request: Request, pool_id: str, member_id: str) -> Response:
    return delete_child(request, MEMBER, member_id, parent=_in_pool(pool_id))


@router.put(MANY, status_code=202, response_class=Response,
            responses=fault_responses(400, 401, 403, 404, 409, 501))
def batch_update_members(request: Request, pool_id: str, body: MembersRootPUT,
                         additive_only: str = "false") -> Response:
    """Match on (address, protocol_port): create the new, update the rest, delete the missing
    (unless additive_only)."""
    st, ctx = env(request)
    additive = parse_bool(additive_only)
    wanted = {(x.address, x.protocol_port): x.model_dump(exclude_unset=True)
              for x in body.members}

    def fn(session: Session) -> None:
        pool, lb = find_locked(session, POOL, pool_id, ctx)
        write_batch(session, pool, lb, wanted, additive=additive,
                    quota=lambda new: quotas.check(session, st.conf, lb.project_id,
                                                   {MEMBER: new}))

    st.write(fn)
    return no_content(202)


def write_batch(session: Session, pool: m.Pool, lb: m.LoadBalancer,
                wanted: dict[tuple[str, int], dict[str, Any]], *, additive: bool,
                quota: Callable[[int], None] | None = None) -> None:
    """A batch update's writes, in the caller's transaction, under the load balancer's lock:
    `wanted` maps (address, protocol_port) to the member as the request gave it (the attributes
    it sets); `quota` checks the number of new members. Shared with the provider driver."""
    existing = {(x.address, x.protocol_port): x for x in session.scalars(
        sa.select(m.Member).where(m.Member.pool_id == pool.id,
                                  m.Member.provisioning_status != Prov.PENDING_DELETE))}
    new = [k for k in wanted if k not in existing]
    gone = [] if additive else [k for k in existing if k not in wanted]
    kept = [k for k in wanted if k in existing]
    if not new and not gone and not kept:
        return
    change_child(session, lb, (POOL, pool))
    if quota is not None:
        quota(len(new))
    for spec in wanted.values():  # kept ones too: their update drops request_sriov
        validate.member(create.provider_of(lb), spec)
    for key in new:
        spec = {k: v for k, v in wanted[key].items() if k != "id"}
        create.insert_member(session, pool, MemberPOST.model_validate(spec).model_dump()
                             | {k: v for k, v in wanted[key].items() if k == "id"})
    for key in gone:
        existing[key].provisioning_status = Prov.PENDING_DELETE
    for key in kept:
        row = existing[key]
        changes = {k: v for k, v in wanted[key].items()
                   if k not in ("id", "address", "protocol_port", "subnet_id", "project_id",
                                "tenant_id", "request_sriov")}
        set_columns(MEMBER, row, changes)
        row.provisioning_status = Prov.PENDING_UPDATE
