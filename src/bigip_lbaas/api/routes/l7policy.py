"""L7 policies and their rules (`/l7policies/{id}/rules`, wrapper key `rule`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api import create, quotas
from bigip_lbaas.api.handlers import (
    delete_child,
    env,
    list_resource,
    mark_deleting,
    respond,
    set_columns,
    show_resource,
    update_child,
)
from bigip_lbaas.api.lock import change_child, find, find_locked
from bigip_lbaas.api.resources import L7POLICY, L7RULE, LISTENER, wire_one
from bigip_lbaas.api.schemas.common import fault_responses
from bigip_lbaas.api.schemas.l7policy import (
    L7PoliciesRootResponse,
    L7PolicyRootPOST,
    L7PolicyRootPUT,
    L7PolicyRootResponse,
)
from bigip_lbaas.api.schemas.l7rule import (
    L7RuleRootPOST,
    L7RuleRootPUT,
    L7RuleRootResponse,
    L7RulesRootResponse,
)
from bigip_lbaas.db import models as m

router = APIRouter(tags=["l7policies"])
ONE = "/l7policies/{l7policy_id}"
RULES = ONE + "/rules"
RULE = RULES + "/{l7rule_id}"


@router.get("/l7policies", response_model=L7PoliciesRootResponse,
            responses=fault_responses(400, 401, 403))
def list_l7policies(request: Request) -> JSONResponse:
    return list_resource(request, L7POLICY)


@router.get(ONE, response_model=L7PolicyRootResponse, responses=fault_responses(401, 403, 404))
def show_l7policy(request: Request, l7policy_id: str) -> JSONResponse:
    return show_resource(request, L7POLICY, l7policy_id)


@router.post("/l7policies", status_code=201, response_model=L7PolicyRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409))
def create_l7policy(request: Request, body: L7PolicyRootPOST) -> JSONResponse:
    st, ctx = env(request)
    spec = body.l7policy

    def fn(session: Session) -> dict[str, Any]:
        listener, lb = find_locked(session, LISTENER, spec.listener_id, ctx)
        change_child(session, lb, (LISTENER, listener))
        quotas.check(session, st.conf, lb.project_id,
                     {L7POLICY: 1, L7RULE: len(spec.rules or [])})
        row = create.insert_l7policy(session, listener, spec.model_dump(exclude={"listener_id"}))
        session.flush()
        for rule in spec.rules or []:
            create.insert_l7rule(session, row, rule.model_dump())
        session.flush()
        return wire_one(session, L7POLICY, row)

    return respond(201, {"l7policy": st.write(fn)})


# Octavia's sanitize_l7policy_api_args on update: a new action drops the arguments of the others.
CLEARED_BY_ACTION = {
    "REJECT": ("redirect_url", "redirect_pool_id", "redirect_prefix", "redirect_http_code"),
    "REDIRECT_TO_URL": ("redirect_pool_id", "redirect_prefix"),
    "REDIRECT_TO_POOL": ("redirect_url", "redirect_prefix", "redirect_http_code"),
    "REDIRECT_PREFIX": ("redirect_url", "redirect_pool_id"),
}


def apply_changes(session: Session, row: m.L7Policy, changes: dict[str, Any]) -> None:
    for key in CLEARED_BY_ACTION.get(changes.get("action") or "", ()):
        changes[key] = None
    merged = {"action": row.action, "redirect_pool_id": row.redirect_pool_id,
              "redirect_url": row.redirect_url, "redirect_prefix": row.redirect_prefix,
              **changes}
    listener = session.get(m.Listener, row.listener_id)
    assert listener is not None
    create.l7policy_checks(session, listener, merged)
    set_columns(L7POLICY, row, {k: v for k, v in changes.items() if k != "position"})
    if changes.get("position") is not None:
        create.place_l7policy(session, row.listener_id, row, changes["position"])


@router.put(ONE, response_model=L7PolicyRootResponse,
            responses=fault_responses(400, 401, 403, 404, 409))
def update_l7policy(request: Request, l7policy_id: str, body: L7PolicyRootPUT) -> JSONResponse:
    return update_child(request, L7POLICY, l7policy_id,
                        body.l7policy.model_dump(exclude_unset=True), apply_changes)


@router.delete(ONE, status_code=204, responses=fault_responses(401, 403, 404, 409))
def delete_l7policy(request: Request, l7policy_id: str) -> Response:
    def cascade(session: Session, row: m.L7Policy) -> None:
        mark_deleting(session, L7RULE, "l7policy_id", row.id)
        create.place_l7policy(session, row.listener_id, row, 0)  # close the gap

    return delete_child(request, L7POLICY, l7policy_id, cascade)


def _in_policy(l7policy_id: str) -> Any:
    return lambda row: row.l7policy_id == l7policy_id


@router.get(RULES, response_model=L7RulesRootResponse,
            responses=fault_responses(400, 401, 403, 404))
def list_l7rules(request: Request, l7policy_id: str) -> JSONResponse:
    def check(session: Session, ctx: Any) -> None:
        find(session, L7POLICY, l7policy_id, ctx)

    return list_resource(request, L7RULE, lambda s: s.where(m.L7Rule.l7policy_id == l7policy_id),
                     check)


@router.get(RULE, response_model=L7RuleRootResponse, responses=fault_responses(401, 403, 404))
def show_l7rule(request: Request, l7policy_id: str, l7rule_id: str) -> JSONResponse:
    return show_resource(request, L7RULE, l7rule_id, _in_policy(l7policy_id))


@router.post(RULES, status_code=201, response_model=L7RuleRootResponse,
             responses=fault_responses(400, 401, 403, 404, 409))
def create_l7rule(request: Request, l7policy_id: str, body: L7RuleRootPOST) -> JSONResponse:
    st, ctx = env(request)

    def fn(session: Session) -> dict[str, Any]:
        policy, lb = find_locked(session, L7POLICY, l7policy_id, ctx)
        change_child(session, lb, (L7POLICY, policy))
        quotas.check(session, st.conf, lb.project_id, {L7RULE: 1})
        row = create.insert_l7rule(session, policy, body.rule.model_dump())
        session.flush()
        return wire_one(session, L7RULE, row)

    return respond(201, {"rule": st.write(fn)})


@router.put(RULE, response_model=L7RuleRootResponse,
            responses=fault_responses(400, 401, 403, 404, 409))
def update_l7rule(request: Request, l7policy_id: str, l7rule_id: str,
                  body: L7RuleRootPUT) -> JSONResponse:
    return update_child(request, L7RULE, l7rule_id, body.rule.model_dump(exclude_unset=True),
                        parent=_in_policy(l7policy_id))


@router.delete(RULE, status_code=204, responses=fault_responses(401, 403, 404, 409))
def delete_l7rule(request: Request, l7policy_id: str, l7rule_id: str) -> Response:
    return delete_child(request, L7RULE, l7rule_id, parent=_in_policy(l7policy_id))
