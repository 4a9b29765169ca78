"""The fully populated load balancer: its create (pools with members and monitor, listeners with
L7 policies and rules) and its response body (LoadBalancerFullResponse), from the rows it added."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bigip_lbaas.api import create, tls
from bigip_lbaas.api.errors import ValidationFailure
from bigip_lbaas.api.resources import (
    HEALTHMONITOR,
    L7POLICY,
    L7RULE,
    LISTENER,
    LOADBALANCER,
    MEMBER,
    POOL,
    Resource,
    created_order,
    wire_known,
)
from bigip_lbaas.api.schemas.loadbalancer import LoadBalancerPOST
from bigip_lbaas.api.schemas.pool import PoolSingleCreate
from bigip_lbaas.db import models as m


def check_named_pools(spec: LoadBalancerPOST) -> None:
    """Pools that listeners or policies refer to by name must have distinct names."""
    names = [p.name for p in spec.pools]
    referenced = any(lst.default_pool for lst in spec.listeners) or any(
        pol.redirect_pool for lst in spec.listeners for pol in (lst.l7policies or []))
    if spec.pools and (not all(names) or len(set(names)) != len(names)) and referenced:
        raise ValidationFailure(detail="Pools must be named when creating a fully "
                                       "populated loadbalancer.")


def counts(spec: LoadBalancerPOST) -> dict[Resource, int]:
    """How many objects of each resource the graph adds, for the quota check."""
    pools = list(spec.pools)
    pools += [lst.default_pool for lst in spec.listeners  # type: ignore[misc]
              if lst.default_pool and "protocol" in lst.default_pool]
    members = sum(len(p.members or []) for p in spec.pools)
    hms = sum(1 for p in spec.pools if p.healthmonitor)
    policies = [pol for lst in spec.listeners for pol in (lst.l7policies or [])]
    return {LOADBALANCER: 1, LISTENER: len(spec.listeners), POOL: len(pools), MEMBER: members,
            HEALTHMONITOR: hms, L7POLICY: len(policies),
            L7RULE: sum(len(p.rules or []) for p in policies)}


def insert(session: Session, lb: m.LoadBalancer, spec: LoadBalancerPOST,
           tls_checks: tls.Checks | None = None) -> list[Any]:
    """The single-call create: pools (with members and monitor), then listeners and policies.
    Returns every row it added. The load balancer is new, so what it already holds is known
    without asking the database."""
    by_name: dict[str, m.Pool] = {}
    added: list[Any] = []
    listeners: list[m.Listener] = []

    def add_pool(pool_spec: dict[str, Any]) -> m.Pool:
        body = {k: v for k, v in pool_spec.items() if k not in ("members", "healthmonitor")}
        pool = create.insert_pool(session, lb, body, tls_checks=tls_checks)
        session.flush()
        added.append(pool)
        has_hm = bool(pool_spec.get("healthmonitor"))
        if has_hm:
            added.append(create.insert_healthmonitor(session, pool, pool_spec["healthmonitor"],
                                                     new_pool=True))
        for member in pool_spec.get("members") or []:
            added.append(create.insert_member(session, pool, member, has_hm=has_hm))
        if pool.name:
            by_name[pool.name] = pool
        return pool

    for pool_spec in spec.pools:
        add_pool(pool_spec.model_dump())

    def pool_ref(ref: dict[str, Any] | None) -> m.Pool | None:
        if not ref:
            return None
        name = ref.get("name")
        if isinstance(name, str) and name in by_name:
            return by_name[name]
        if "protocol" in ref and "lb_algorithm" in ref:
            return add_pool(PoolSingleCreate.model_validate(ref).model_dump())
        raise ValidationFailure(detail=f"Pool {name!r} is not among the load balancer's pools.")

    for lst_spec in spec.listeners:
        body = lst_spec.model_dump(exclude={"default_pool", "l7policies"})
        pool = pool_ref(lst_spec.default_pool)
        if pool is not None:
            create.check_pool_protocol(lst_spec.protocol, pool.protocol)
            body["default_pool_id"] = pool.id
        listener = create.insert_listener(session, lb, body, siblings=listeners,
                                          tls_checks=tls_checks)
        listeners.append(listener)
        added.append(listener)
        session.flush()
        for pol_spec in lst_spec.l7policies or []:
            pol_body = pol_spec.model_dump(exclude={"redirect_pool"})
            redirect = pool_ref(pol_spec.redirect_pool)
            if redirect is not None:
                pol_body["redirect_pool_id"] = redirect.id
            policy = create.insert_l7policy(session, listener, pol_body)
            added.append(policy)
            session.flush()
            for rule in pol_spec.rules or []:
                added.append(create.insert_l7rule(session, policy, rule.model_dump()))
    return added


def full_body(lb: m.LoadBalancer, added: list[Any]) -> dict[str, Any]:
    """LoadBalancerFullResponse: listeners and pools as full objects, nested all the way down.
    Rendered from the rows the create added (all of the new load balancer's children, and all
    that refers to them), in the order the database would list them."""
    known = [lb, *added]

    def children(res: Resource, column: str, value: str) -> list[dict[str, Any]]:
        rows = sorted((r for r in added if type(r) is res.model and getattr(r, column) == value),
                      key=created_order)
        return wire_known(res, rows, known)

    body = wire_known(LOADBALANCER, [lb], known)[0]
    listeners = children(LISTENER, "load_balancer_id", lb.id)
    for lst in listeners:
        lst["l7policies"] = children(L7POLICY, "listener_id", lst["id"])
        for pol in lst["l7policies"]:
            pol["rules"] = children(L7RULE, "l7policy_id", pol["id"])
    pools = children(POOL, "load_balancer_id", lb.id)
    for pool in pools:
        pool["members"] = children(MEMBER, "pool_id", pool["id"])
        hms = children(HEALTHMONITOR, "pool_id", pool["id"])
        pool["healthmonitor"] = hms[0] if hms else None
    body["listeners"], body["pools"] = listeners, pools
    return body
