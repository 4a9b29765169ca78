"""What each provider-driver call writes: desired state and pending marks, in one transaction,
through the API's own write functions (api/create.py, api/lock.py, api/handlers.py and the
route modules' shared writes), plus the statuses Octavia now shows (db/octavia.mark).

Objects arrive as octavia-lib provider dictionaries (`to_dict(render_unsets=False)`); ids are
Octavia's. Certificate data Octavia hands over (`*_data`) is never stored: agents fetch
certificates from the store by reference.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.api import create, tls, validate, vip
from bigip_lbaas.api.auth import Context
from bigip_lbaas.api.handlers import mark_deleting, write_delete, write_update
from bigip_lbaas.api.lock import change_child, change_lb, find_locked, lock_lb
from bigip_lbaas.api.resources import HEALTHMONITOR, L7POLICY, L7RULE, LISTENER, MEMBER, POOL
from bigip_lbaas.api.routes import healthmonitor as hm_routes
from bigip_lbaas.api.routes import l7policy as l7_routes
from bigip_lbaas.api.routes import listener as listener_routes
from bigip_lbaas.api.routes import loadbalancer as lb_routes
from bigip_lbaas.api.routes import member as member_routes
from bigip_lbaas.api.routes import pool as pool_routes
from bigip_lbaas.core.status import Oper, Prov
from bigip_lbaas.db import models as m
from bigip_lbaas.db import octavia as owed
from bigip_lbaas.db.partitions import ensure_partition, mark_changed

PROVIDER = "bigip"
ADMIN = Context(project_id=None, is_admin=True)
# octavia-lib's id attribute of each kind.
ID_KEYS = {"loadbalancer_id", "listener_id", "pool_id", "member_id", "healthmonitor_id",
           "l7policy_id", "l7rule_id"}
NESTED = {"listeners", "pools", "members", "healthmonitor", "l7policies", "rules",
          "default_pool", "flavor"}


def spec(obj: dict[str, Any], id_key: str, *, parents: Iterable[str] = ()) -> dict[str, Any]:
    """A provider dictionary as the API's wire form: `<kind>_id` -> `id`, certificate data and
    nested objects dropped; `parents` are the parent-id keys kept (e.g. `default_pool_id`)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key.endswith("_data") or key in NESTED:
            continue
        if key == id_key:
            out["id"] = value
        elif key in ID_KEYS and key not in parents:
            continue
        else:
            out[key] = value
    if "vnic_type" in out:  # a member's: "direct" is an SR-IOV port
        out["request_sriov"] = out.pop("vnic_type") == "direct"
    return out


def _tree_marks(session: Session, lb_id: str, *objects: tuple[str, str, str]) -> None:
    """Octavia shows the load balancer, its listeners, and the given objects pending."""
    marks = [("load_balancer", lb_id, str(Prov.PENDING_UPDATE)),
             *(("listener", lid, str(Prov.PENDING_UPDATE)) for lid in session.scalars(
                 sa.select(m.Listener.id).where(m.Listener.load_balancer_id == lb_id)))]
    marks += list(objects)
    # The object's own status wins over a parent's.
    final: dict[tuple[str, str], str] = {}
    for kind, oid, status in marks:
        final[(kind, oid)] = status
    owed.mark(session, lb_id, [(k, i, s) for (k, i), s in final.items()])


# --- load balancer ----------------------------------------------------------------------------


def create_loadbalancer(session: Session, lb: dict[str, Any], environment: str,
                        tls_checks: tls.Checks | None = None) -> None:
    vip.refuse_sg_ids(PROVIDER, lb.get("vip_sg_ids"))
    validate.vip_qos_policy(PROVIDER, lb.get("vip_qos_policy_id"))
    partition = ensure_partition(session, environment, lb["project_id"])
    extra = [{"subnet_id": a.get("subnet_id"), "ip_address": a.get("ip_address"),
              "port_id": a.get("port_id")} for a in lb.get("additional_vips") or []]
    row = m.LoadBalancer(
        id=lb["loadbalancer_id"], project_id=lb["project_id"], name=lb.get("name"),
        description=lb.get("description"), enabled=lb.get("admin_state_up", True) is not False,
        provisioning_status=Prov.PENDING_CREATE, operating_status=Oper.OFFLINE, tags=[],
        partition_id=partition, provider=PROVIDER, vip_address=lb.get("vip_address"),
        vip_port_id=lb.get("vip_port_id"), vip_subnet_id=lb.get("vip_subnet_id"),
        vip_network_id=lb.get("vip_network_id"), vip_qos_policy_id=lb.get("vip_qos_policy_id"),
        # Octavia hands providers the zone's metadata (a dict), not its name; none is honoured.
        availability_zone=None, additional_vips=extra or None)
    session.add(row)
    session.flush()
    if extra:
        vip.book_additional(session, row)
    marks = [("load_balancer", row.id, str(Prov.PENDING_CREATE))]
    pools: dict[str, m.Pool] = {}

    def add_pool(p: dict[str, Any]) -> None:
        if p["pool_id"] in pools:
            return
        pool = create.insert_pool(session, row, spec(p, "pool_id"), tls_checks=tls_checks)
        session.flush()
        pools[pool.id] = pool
        marks.append(("pool", pool.id, str(Prov.PENDING_CREATE)))
        hm = p.get("healthmonitor")
        if hm:
            create.insert_healthmonitor(session, pool, spec(hm, "healthmonitor_id"),
                                        new_pool=True)
            marks.append(("health_monitor", hm["healthmonitor_id"], str(Prov.PENDING_CREATE)))
        for member in p.get("members") or []:
            create.insert_member(session, pool, spec(member, "member_id"), has_hm=bool(hm))
            marks.append(("member", member["member_id"], str(Prov.PENDING_CREATE)))

    for p in lb.get("pools") or []:
        add_pool(p)
    listeners: list[m.Listener] = []
    for lst in lb.get("listeners") or []:
        if lst.get("default_pool"):
            add_pool(lst["default_pool"])
        listener = create.insert_listener(session, row, spec(
            lst, "listener_id", parents=("default_pool_id",)), siblings=listeners,
            tls_checks=tls_checks)
        listeners.append(listener)
        session.flush()
        marks.append(("listener", listener.id, str(Prov.PENDING_CREATE)))
        for pol in lst.get("l7policies") or []:
            _add_l7policy(session, listener, pol, marks)
    mark_changed(session, partition)
    owed.mark(session, row.id, marks)


def _add_l7policy(session: Session, listener: m.Listener, pol: dict[str, Any],
                  marks: list[tuple[str, str, str]]) -> None:
    policy = create.insert_l7policy(session, listener, spec(
        pol, "l7policy_id", parents=("redirect_pool_id",)))
    session.flush()
    marks.append(("l7policy", policy.id, str(Prov.PENDING_CREATE)))
    for rule in pol.get("rules") or []:
        create.insert_l7rule(session, policy, spec(rule, "l7rule_id"))
        marks.append(("l7rule", rule["l7rule_id"], str(Prov.PENDING_CREATE)))


def update_loadbalancer(session: Session, lb_id: str, changes: dict[str, Any]) -> None:
    lb = lock_lb(session, lb_id, ADMIN)
    change_lb(session, lb)
    vip.refuse_sg_ids(PROVIDER, changes.get("vip_sg_ids"))
    validate.vip_qos_policy(PROVIDER, changes.get("vip_qos_policy_id"))
    for attr in ("name", "description", "vip_qos_policy_id"):
        if attr in changes:
            setattr(lb, attr, changes[attr])
    if changes.get("admin_state_up") is not None:
        lb.enabled = changes["admin_state_up"]
    owed.mark(session, lb.id, [("load_balancer", lb.id, str(Prov.PENDING_UPDATE))])


def delete_loadbalancer(session: Session, lb_id: str, *, cascade: bool) -> None:
    lb = lb_routes.write_delete(session, lb_id, ADMIN, cascading=cascade)
    owed.mark(session, lb.id, [("load_balancer", lb.id, str(Prov.PENDING_DELETE))])


def failover_loadbalancer(session: Session, lb_id: str) -> None:
    lb = lb_routes.write_failover(session, lb_id, ADMIN)
    owed.mark(session, lb.id, [("load_balancer", lb.id, str(Prov.PENDING_UPDATE))])


# --- listeners, pools, members, monitors, L7 -----------------------------------------------------


def create_listener(session: Session, lst: dict[str, Any],
                    tls_checks: tls.Checks | None = None) -> None:
    lb = lock_lb(session, lst["loadbalancer_id"], ADMIN)
    change_child(session, lb)
    row = create.insert_listener(session, lb, spec(lst, "listener_id",
                                                   parents=("default_pool_id",)),
                                 tls_checks=tls_checks)
    session.flush()
    marks: list[tuple[str, str, str]] = [("listener", row.id, str(Prov.PENDING_CREATE))]
    for pol in lst.get("l7policies") or []:
        _add_l7policy(session, row, pol, marks)
    _tree_marks(session, lb.id, *marks)


def create_pool(session: Session, pool: dict[str, Any],
                tls_checks: tls.Checks | None = None) -> None:
    listener: m.Listener | None = None
    if pool.get("listener_id"):
        listener = session.get(m.Listener, pool["listener_id"])
    lb = lock_lb(session, pool["loadbalancer_id"], ADMIN)
    change_child(session, lb, (LISTENER, listener))
    row = create.insert_pool(session, lb, spec(pool, "pool_id"), tls_checks=tls_checks)
    session.flush()
    marks = [("pool", row.id, str(Prov.PENDING_CREATE))]
    hm = pool.get("healthmonitor")
    if hm:
        create.insert_healthmonitor(session, row, spec(hm, "healthmonitor_id"), new_pool=True)
        marks.append(("health_monitor", hm["healthmonitor_id"], str(Prov.PENDING_CREATE)))
    for member in pool.get("members") or []:
        create.insert_member(session, row, spec(member, "member_id"), has_hm=bool(hm))
        marks.append(("member", member["member_id"], str(Prov.PENDING_CREATE)))
    if listener is not None:
        create.check_pool_protocol(listener.protocol, row.protocol)
        listener.default_pool_id = row.id
        listener.provisioning_status = Prov.PENDING_UPDATE
    _tree_marks(session, lb.id, *marks)


def create_member(session: Session, member: dict[str, Any]) -> None:
    pool, lb = find_locked(session, POOL, member["pool_id"], ADMIN)
    change_child(session, lb, (POOL, pool))
    create.insert_member(session, pool, spec(member, "member_id"))
    _tree_marks(session, lb.id, ("pool", pool.id, str(Prov.PENDING_UPDATE)),
                ("member", member["member_id"], str(Prov.PENDING_CREATE)))


def batch_members(session: Session, pool_id: str, members: list[dict[str, Any]]) -> None:
    """Octavia's member batch update: `members` is the pool's whole new member list."""
    pool, lb = find_locked(session, POOL, pool_id, ADMIN)
    wanted = {(x["address"], x["protocol_port"]): spec(x, "member_id") for x in members}
    before = {r.id: r.provisioning_status for r in session.scalars(
        sa.select(m.Member).where(m.Member.pool_id == pool.id))}
    member_routes.write_batch(session, pool, lb, wanted, additive=False)
    session.flush()
    marks = [("pool", pool.id, str(Prov.PENDING_UPDATE))]
    for r in session.scalars(sa.select(m.Member).where(m.Member.pool_id == pool.id)):
        if r.provisioning_status in (Prov.PENDING_CREATE, Prov.PENDING_UPDATE,
                                     Prov.PENDING_DELETE) and \
                before.get(r.id) != r.provisioning_status:
            marks.append(("member", r.id, str(r.provisioning_status)))
    _tree_marks(session, lb.id, *marks)


def create_health_monitor(session: Session, hm: dict[str, Any]) -> None:
    pool, lb = find_locked(session, POOL, hm["pool_id"], ADMIN)
    change_child(session, lb, (POOL, pool))
    create.insert_healthmonitor(session, pool, spec(hm, "healthmonitor_id"))
    session.execute(sa.update(m.Member).where(m.Member.pool_id == pool.id,
                                              m.Member.operating_status == Oper.NO_MONITOR)
                    .values(operating_status=Oper.OFFLINE)
                    .execution_options(synchronize_session=False))
    _tree_marks(session, lb.id, ("pool", pool.id, str(Prov.PENDING_UPDATE)),
                ("health_monitor", hm["healthmonitor_id"], str(Prov.PENDING_CREATE)))


def create_l7policy(session: Session, pol: dict[str, Any]) -> None:
    listener, lb = find_locked(session, LISTENER, pol["listener_id"], ADMIN)
    change_child(session, lb, (LISTENER, listener))
    marks: list[tuple[str, str, str]] = []
    _add_l7policy(session, listener, pol, marks)
    _tree_marks(session, lb.id, *marks)


def create_l7rule(session: Session, rule: dict[str, Any]) -> None:
    policy, lb = find_locked(session, L7POLICY, rule["l7policy_id"], ADMIN)
    change_child(session, lb, (L7POLICY, policy))
    create.insert_l7rule(session, policy, spec(rule, "l7rule_id"))
    _tree_marks(session, lb.id, ("l7policy", policy.id, str(Prov.PENDING_UPDATE)),
                ("l7rule", rule["l7rule_id"], str(Prov.PENDING_CREATE)))


# Updates and deletes: (resource, our kind, the route's update and delete helpers).
CHILDREN: dict[str, tuple[Any, str, Any, Any]] = {
    "listener": (LISTENER, "listener", listener_routes.apply_changes, listener_routes.cascade),
    "pool": (POOL, "pool", pool_routes.apply_changes, pool_routes.cascade),
    "member": (MEMBER, "member", None, None),
    "healthmonitor": (HEALTHMONITOR, "health_monitor", hm_routes.apply_changes, None),
    "l7policy": (L7POLICY, "l7policy", l7_routes.apply_changes, None),
    "l7rule": (L7RULE, "l7rule", None, None),
}


def _parents(session: Session, row: Any) -> list[tuple[str, str, str]]:
    marks = []
    if getattr(row, "pool_id", None):
        marks.append(("pool", row.pool_id, str(Prov.PENDING_UPDATE)))
    if getattr(row, "l7policy_id", None):
        marks.append(("l7policy", row.l7policy_id, str(Prov.PENDING_UPDATE)))
    return marks


def update_child(session: Session, what: str, obj_id: str, changes: dict[str, Any],
                 tls_checks: tls.Checks | None = None) -> None:
    res, kind, apply, _ = CHILDREN[what]
    if what in ("listener", "pool") and tls_checks is not None:
        route_apply = apply

        def apply(s: Session, row: Any, ch: dict[str, Any]) -> None:
            route_apply(s, row, ch, tls_checks)

    row = write_update(session, res, obj_id, ADMIN, changes, apply)
    _tree_marks(session, row.load_balancer_id, *_parents(session, row),
                (kind, row.id, str(Prov.PENDING_UPDATE)))


def delete_child(session: Session, what: str, obj_id: str) -> None:
    res, kind, _, cascade = CHILDREN[what]
    if what == "l7policy":  # as the API's DELETE (a closure in its route)
        def cascade(s: Session, r: m.L7Policy) -> None:
            mark_deleting(s, L7RULE, "l7policy_id", r.id)
            create.place_l7policy(s, r.listener_id, r, 0)
    row = write_delete(session, res, obj_id, ADMIN, cascade)
    _tree_marks(session, row.load_balancer_id, *_parents(session, row),
                (kind, row.id, str(Prov.PENDING_DELETE)))



def adopt_l7policies(session: Session, lb_id: str, policies: list[dict[str, Any]]) -> int:
    """L7 policies (with their rules) Octavia holds for a load balancer it created but did not
    hand to the driver: Octavia 19's fully populated create passes its listeners without their
    L7 policies. The bridge reads them back through Octavia's driver agent and adds the
    missing ones here as a change of their own; returns how many were added."""
    known = set(session.scalars(sa.select(m.L7Policy.id).where(
        m.L7Policy.load_balancer_id == lb_id)))
    missing = [p for p in policies if p["l7policy_id"] not in known]
    if not missing:
        return 0
    lb = lock_lb(session, lb_id, ADMIN)
    change_child(session, lb)
    marks: list[tuple[str, str, str]] = []
    for pol in sorted(missing, key=lambda p: p.get("position") or 0):
        listener = session.get(m.Listener, pol["listener_id"])
        if listener is None:
            continue
        _add_l7policy(session, listener, pol, marks)
    # Octavia still shows the whole create pending: only the new objects are marked.
    owed.mark(session, lb.id, marks)
    return len(marks)
