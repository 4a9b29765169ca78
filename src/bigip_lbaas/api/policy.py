"""Who may do what: Octavia's policy rules and role names, enforced with oslo.policy.

The rules are Octavia 19's (`octavia/policies/*.py`), name for name and check for check, so a
`policy.yaml` written for Octavia works here unchanged (`[oslo_policy] policy_file`, default
`policy.yaml` beside the configuration files):

- the API rules every action maps to: `load-balancer:read`, `load-balancer:read-global`,
  `load-balancer:write`, `load-balancer:read-quota`, `load-balancer:read-quota-global`,
  `load-balancer:write-quota`, `load-balancer:admin`;
- the role rules under them, in Keystone's default roles (`reader`, `member`, `admin`), with
  Octavia's own roles (`load-balancer_observer`, `load-balancer_global_observer`,
  `load-balancer_member`, `load-balancer_quota_admin`, `load-balancer_admin`) as the deprecated
  alternatives: honoured unless `[oslo_policy] enforce_new_defaults = True`, as in Octavia;
- one rule per action, `os_load-balancer_api:<resource>:<verb>`.

Ours, in the same style: the admin extension (`bigip_lbaas:agent:*`, admin) and the built-in
secrets store (`bigip_lbaas:secret:*`: reading needs `load-balancer:read`, anything else
`load-balancer:write`).

Which action a request is, is a table keyed by method and route (`ACTIONS`), with when its
target is known (`Check`): at once (the caller's project, or the project in the path), or later,
by the handler, with the project of the object it loaded (another project's object is a 403, as
in Octavia), the project a create names, or Octavia's list rule (`list_project`).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

LOG = logging.getLogger(__name__)

API = "os_load-balancer_api"
OURS = "bigip_lbaas"
READ, READ_GLOBAL, WRITE = "rule:load-balancer:read", "rule:load-balancer:read-global", \
    "rule:load-balancer:write"
READ_QUOTA, READ_QUOTA_GLOBAL, WRITE_QUOTA = ("rule:load-balancer:read-quota",
                                              "rule:load-balancer:read-quota-global",
                                              "rule:load-balancer:write-quota")
ADMIN = "rule:load-balancer:admin"
DEPRECATED_REASON = ("The Octavia API now requires the OpenStack default roles and scoped "
                     "tokens.")
PROJECT = ["project"]


def _deprecated(name: str, check: str) -> oslo_policy.DeprecatedRule:
    return oslo_policy.DeprecatedRule(name=name, check_str=check,
                                      deprecated_reason=DEPRECATED_REASON,
                                      deprecated_since="W")


def _rule(name: str, check: str, deprecated: str | None = None) -> oslo_policy.RuleDefault:
    return oslo_policy.RuleDefault(
        name=name, check_str=check, scope_types=PROJECT,
        deprecated_rule=_deprecated(name, deprecated) if deprecated else None)


# octavia/policies/base.py, keystone_default_roles.py and advanced_rbac.py.
BASE_RULES = [
    _rule("load-balancer:read", "rule:load-balancer:observer_and_owner or "
          "rule:load-balancer:global_observer or rule:load-balancer:member_and_owner or "
          "rule:load-balancer:admin"),
    _rule("load-balancer:read-global", "rule:load-balancer:global_observer or "
          "rule:load-balancer:admin"),
    _rule("load-balancer:write", "rule:load-balancer:member_and_owner or "
          "rule:load-balancer:admin"),
    _rule("load-balancer:read-quota", "rule:load-balancer:observer_and_owner or "
          "rule:load-balancer:global_observer or rule:load-balancer:member_and_owner or "
          "rule:load-balancer:quota-admin or rule:load-balancer:admin"),
    _rule("load-balancer:read-quota-global", "rule:load-balancer:global_observer or "
          "rule:load-balancer:quota-admin or rule:load-balancer:admin"),
    _rule("load-balancer:write-quota", "rule:load-balancer:quota-admin or "
          "rule:load-balancer:admin"),
    _rule("project-member", "role:member and project_id:%(project_id)s"),
    _rule("project-reader", "role:reader and project_id:%(project_id)s"),
    _rule("context_is_admin", "role:admin", "role:admin or role:load-balancer_admin"),
    _rule("load-balancer:admin", "is_admin:True or role:admin",
          "is_admin:True or role:admin or role:load-balancer_admin"),
    _rule("service", "role:service"),
    _rule("load-balancer:global_observer", "role:admin", "role:load-balancer_global_observer"),
    _rule("load-balancer:member_and_owner", "rule:project-member",
          "role:load-balancer_member and rule:load-balancer:owner"),
    _rule("load-balancer:observer_and_owner", "rule:project-reader",
          "role:load-balancer_observer and rule:load-balancer:owner"),
    _rule("load-balancer:quota-admin", "role:admin", "role:load-balancer_quota_admin"),
    _rule("load-balancer:owner", "project_id:%(project_id)s"),
]


class Check(enum.Enum):
    """When, and against which project, an action is checked."""

    CALLER = "caller"    # at once, against the caller's own project
    PATH = "path"        # at once, against the path's {project_id}
    OBJECT = "object"    # by the handler, against the loaded object's (or its parent's) project
    CREATE = "create"    # by the handler, against the project the new object belongs to
    LIST = "list"        # by the handler: Octavia's get_all / get_all-global rule


@dataclass(frozen=True)
class Action:
    name: str
    check: Check


LB = "/loadbalancers"
LB1 = LB + "/{loadbalancer_id}"
LI, LI1 = "/listeners", "/listeners/{listener_id}"
PO, PO1 = "/pools", "/pools/{pool_id}"
ME, ME1 = PO1 + "/members", PO1 + "/members/{member_id}"
HM, HM1 = "/healthmonitors", "/healthmonitors/{healthmonitor_id}"
L7P, L7P1 = "/l7policies", "/l7policies/{l7policy_id}"
L7R, L7R1 = L7P1 + "/rules", L7P1 + "/rules/{l7rule_id}"
FL, FL1 = "/flavors", "/flavors/{flavor_id}"
FP, FP1 = "/flavorprofiles", "/flavorprofiles/{flavorprofile_id}"
AZ, AZ1 = "/availabilityzones", "/availabilityzones/{name}"
AZP, AZP1 = "/availabilityzoneprofiles", "/availabilityzoneprofiles/{availabilityzoneprofile_id}"
SECRETS, SECRET = "/v1/secrets", "/v1/secrets/{secret_id}"
OB, C, P, N, L = Check.OBJECT, Check.CALLER, Check.PATH, Check.CREATE, Check.LIST


def _crud(many: str, one: str, *, children: bool = False,
          ) -> dict[tuple[str, str], tuple[str, str, Check]]:
    """The five verbs of a resource below a load balancer: (method, path) -> (rule, verb, check).
    A resource listed under a parent (members, L7 rules) lists by the parent's project."""
    return {("GET", many): (READ, "get_all", OB if children else L),
            ("POST", many): (WRITE, "post", OB),
            ("GET", one): (READ, "get_one", OB),
            ("PUT", one): (WRITE, "put", OB),
            ("DELETE", one): (WRITE, "delete", OB)}


ROUTES: dict[str, dict[tuple[str, str], tuple[str, str, Check]]] = {
    "loadbalancer": {
        **_crud(LB, LB1),
        ("POST", LB): (WRITE, "post", N),
        ("GET", LB1 + "/stats"): (READ, "get_stats", OB),
        ("GET", LB1 + "/status"): (READ, "get_status", OB),
        ("GET", LB1 + "/statuses"): (READ, "get_status", OB),
        ("PUT", LB1 + "/failover"): (ADMIN, "put_failover", OB),
    },
    "listener": {**_crud(LI, LI1), ("GET", LI1 + "/stats"): (READ, "get_stats", OB)},
    "pool": _crud(PO, PO1),
    "member": {**_crud(ME, ME1, children=True), ("PUT", ME): (WRITE, "put", OB)},
    "healthmonitor": _crud(HM, HM1),
    "l7policy": _crud(L7P, L7P1),
    "l7rule": _crud(L7R, L7R1, children=True),
    "quota": {
        ("GET", "/quotas"): (READ_QUOTA, "get_all", L),
        ("GET", "/quotas/defaults"): (READ_QUOTA, "get_defaults", C),
        ("GET", "/quotas/{project_id}/default"): (READ_QUOTA, "get_defaults", P),
        ("GET", "/quotas/{project_id}"): (READ_QUOTA, "get_one", P),
        ("PUT", "/quotas/{project_id}"): (WRITE_QUOTA, "put", P),
        ("DELETE", "/quotas/{project_id}"): (WRITE_QUOTA, "delete", P),
    },
    "provider": {("GET", "/providers"): (READ, "get_all", C)},
    "provider-flavor": {
        ("GET", "/providers/{provider}/flavor_capabilities"): (ADMIN, "get_all", C)},
    "provider-availability-zone": {
        ("GET", "/providers/{provider}/availability_zone_capabilities"): (ADMIN, "get_all", C)},
    "flavor": {("GET", FL): (READ, "get_all", C), ("POST", FL): (ADMIN, "post", C),
               ("GET", FL1): (READ, "get_one", C), ("PUT", FL1): (ADMIN, "put", C),
               ("DELETE", FL1): (ADMIN, "delete", C)},
    "flavor-profile": {("GET", FP): (ADMIN, "get_all", C), ("POST", FP): (ADMIN, "post", C),
                       ("GET", FP1): (ADMIN, "get_one", C), ("PUT", FP1): (ADMIN, "put", C),
                       ("DELETE", FP1): (ADMIN, "delete", C)},
    "availability-zone": {("GET", AZ): (READ, "get_all", C), ("POST", AZ): (ADMIN, "post", C),
                          ("GET", AZ1): (READ, "get_one", C), ("PUT", AZ1): (ADMIN, "put", C),
                          ("DELETE", AZ1): (ADMIN, "delete", C)},
    "availability-zone-profile": {
        ("GET", AZP): (ADMIN, "get_all", C), ("POST", AZP): (ADMIN, "post", C),
        ("GET", AZP1): (ADMIN, "get_one", C), ("PUT", AZP1): (ADMIN, "put", C),
        ("DELETE", AZP1): (ADMIN, "delete", C)},
}
# Ours: the admin extension and the built-in secrets store (its routes are under /key-manager).
OUR_ROUTES: dict[str, dict[tuple[str, str], tuple[str, str, Check]]] = {
    "agent": {("GET", "/agents"): (ADMIN, "get_all", C),
              ("GET", "/agents/{agent_id}"): (ADMIN, "get_one", C),
              ("PUT", "/agents/{agent_id}"): (ADMIN, "put", C),
              ("GET", "/agents/{agent_id}/loadbalancers"): (ADMIN, "get_loadbalancers", C),
              ("GET", LB1 + "/agent"): (ADMIN, "get_for_loadbalancer", C)},
    "secret": {("GET", SECRETS): (READ, "get_all", C), ("POST", SECRETS): (WRITE, "post", C),
               ("GET", SECRET): (READ, "get_one", C),
               ("GET", SECRET + "/payload"): (WRITE, "get_payload", C),
               ("PUT", SECRET): (WRITE, "put", C), ("DELETE", SECRET): (WRITE, "delete", C)},
}
# Octavia's get_all-global rules: what a global reader may list across projects.
GLOBAL_LISTS = {"loadbalancer": READ_GLOBAL, "listener": READ_GLOBAL, "pool": READ_GLOBAL,
                "healthmonitor": READ_GLOBAL, "l7policy": READ_GLOBAL,
                "quota": READ_QUOTA_GLOBAL}
SERVICE_READS = {f"{API}:member:get_all"}  # Octavia lets the `service` role list members


def _actions() -> tuple[dict[tuple[str, str], Action], list[oslo_policy.RuleDefault]]:
    actions: dict[tuple[str, str], Action] = {}
    rules: dict[str, oslo_policy.RuleDefault] = {}
    for prefix, table in ((API, ROUTES), (OURS, OUR_ROUTES)):
        for resource, routes in table.items():
            for (method, path), (default, verb, check) in routes.items():
                name = f"{prefix}:{resource}:{verb}"
                extra = " or rule:service" if name in SERVICE_READS else ""
                actions[(method, path)] = Action(name, check)
                rules.setdefault(name, _rule(name, default + extra))
            if resource in GLOBAL_LISTS:
                name = f"{prefix}:{resource}:get_all-global"
                rules[name] = _rule(name, GLOBAL_LISTS[resource])
    return actions, list(rules.values())


ACTIONS, ACTION_RULES = _actions()
MOUNTS = ("/v2.0/lbaas", "/v2/lbaas", "/key-manager", "/v2.0", "/v2")


def rules() -> list[oslo_policy.RuleDefault]:
    """Every registered default (for `oslopolicy-sample-generator`-style listings and tests)."""
    return [*BASE_RULES, *ACTION_RULES]


def action_for(method: str, route_path: str | None) -> Action | None:
    """The action of a request on the route `route_path`, or None (unguarded:
    version documents, the Neutron-shaped network registry, which keeps Neutron's own rule)."""
    if route_path is None:
        return None
    path = route_path  # as the router declares it; some FastAPI versions give it mounted
    for mount in MOUNTS:
        if path.startswith(mount + "/"):
            path = path[len(mount):]
            break
    path = path.rstrip("/") or "/"
    method = "GET" if method.upper() == "HEAD" else method.upper()
    return ACTIONS.get((method, path))


@oslo_policy.register("is_admin")
class IsAdminCheck(oslo_policy.Check):
    """Octavia's `is_admin:True`: true for everyone under `auth_strategy = noauth`."""

    def __init__(self, kind: str, match: str) -> None:
        self.expected = match.lower() == "true"
        super().__init__(kind, str(self.expected))

    def __call__(self, target: Any, creds: Mapping[str, Any], enforcer: Any,
                 current_rule: str | None = None) -> bool:
        return bool(creds.get("is_admin")) == self.expected


# How often the policy file is checked for changes (s), and how many decisions are remembered.
RELOAD_SECONDS = 1.0
CACHED_DECISIONS = 4096


class Policy:
    """One oslo.policy enforcer for the API process, with Octavia's defaults registered.

    A decision is a function of the rules, the rule's name, the target project and the
    credentials, so it is remembered (LRU) until the rules change: oslo.policy's `enforce` looks
    the policy file up on every call and inspects every check's signature, about 0.6 ms per
    decision here, two or three per request. The file is checked for changes once a second."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.enforcer = oslo_policy.Enforcer(conf)
        # Octavia's role names work out of the box; `enforce_new_defaults = True` in the
        # operator's file keeps only Keystone's default roles, as in Octavia 19.
        conf.set_default("enforce_new_defaults", False, group="oslo_policy")
        self.enforcer.suppress_deprecation_warnings = True
        self.enforcer.register_defaults(rules())
        self.enforcer.load_rules()
        self._lock = threading.Lock()
        self._decisions: OrderedDict[tuple[Any, ...], bool] = OrderedDict()
        self._rules_seen: object = self.enforcer.rules
        self._next_load = time.monotonic() + RELOAD_SECONDS

    def _current(self) -> None:
        """Re-read the policy file when due; forget every decision when the rules changed."""
        now = time.monotonic()
        if now < self._next_load:
            return
        self._next_load = now + RELOAD_SECONDS
        self.enforcer.load_rules()
        with self._lock:
            if self.enforcer.rules is not self._rules_seen:
                self._rules_seen = self.enforcer.rules
                self._decisions.clear()

    def allowed(self, rule: str, project_id: str | None, creds: Mapping[str, Any]) -> bool:
        self._current()
        key = (rule, project_id, *((k, tuple(v) if isinstance(v, list) else v)
                                   for k, v in sorted(creds.items())))
        with self._lock:
            known = self._decisions.get(key)
            if known is not None:
                self._decisions.move_to_end(key)
                return known
        try:
            decided = bool(self.enforcer.enforce(rule, {"project_id": project_id}, dict(creds),
                                                 do_raise=False))
        except oslo_policy.InvalidScope:
            decided = False
        with self._lock:
            self._decisions[key] = decided
            while len(self._decisions) > CACHED_DECISIONS:
                self._decisions.popitem(last=False)
        return decided

    def is_admin(self, creds: Mapping[str, Any]) -> bool:
        """Octavia's `context_is_admin` (plus everyone under noauth, via creds)."""
        return bool(creds.get("is_admin")) or self.allowed("context_is_admin", None, creds)


def credentials(*, project_id: str | None, roles: Iterable[str], user_id: str | None = None,
                system_scope: str | None = None, domain_id: str | None = None,
                noauth: bool = False) -> dict[str, Any]:
    """The credentials a rule is checked against, as oslo.context's `to_policy_values`."""
    creds: dict[str, Any] = {"project_id": project_id, "roles": sorted(set(roles)),
                             "user_id": user_id, "is_admin": noauth}
    if system_scope:
        creds["system_scope"] = system_scope
    if domain_id:
        creds["domain_id"] = domain_id
    return creds
