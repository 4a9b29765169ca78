"""api/policy.py: every route is an action, the defaults are Octavia 19's, and the roles mean
what Octavia says (with and without `[oslo_policy] enforce_new_defaults`), overridable by a
policy.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from oslo_config import cfg

from bigip_lbaas.api.app import create_app
from bigip_lbaas.api.policy import ACTIONS, Policy, action_for, credentials, rules
from bigip_lbaas.config.load import load

# Routes no Octavia rule guards: version documents, and the Neutron-shaped network registry,
# which keeps Neutron's own owner rule (api/routes/network.py).
VERSIONS = ("/", "/v2", "/v2.0", "/v1", "/key-manager", "/key-manager/v1")
LB_GET = "os_load-balancer_api:loadbalancer:get_one"
LB_POST = "os_load-balancer_api:loadbalancer:post"
GLOBAL = "os_load-balancer_api:loadbalancer:get_all-global"
AGENTS = "bigip_lbaas:agent:get_all"


def _conf(**policy: object) -> cfg.ConfigOpts:
    conf = load([])
    conf.set_override("connection", "sqlite://", group="database")
    p = Policy(conf)  # registers [oslo_policy]
    del p
    for key, value in policy.items():
        conf.set_override(key, value, group="oslo_policy")
    return conf


def _allowed(policy: Policy, rule: str, target: str, *roles: str, project: str = "a") -> bool:
    creds = credentials(project_id=project, roles=roles)
    creds["is_admin"] = policy.is_admin(creds)
    return policy.allowed(rule, target, creds)


def test_every_api_route_is_an_action() -> None:
    app = create_app(_conf())
    missing = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        path = route.path.rstrip("/") or "/"
        unguarded = path in VERSIONS or "/networks" in path or "/subnets" in path
        for method in route.methods:
            if action_for(method, route.path) is None and not unguarded:
                missing.append(f"{method} {route.path}")
    assert missing == []


def test_the_defaults_are_octavias() -> None:
    by_name = {r.name: r.check_str for r in rules()}
    assert by_name["load-balancer:read"] == (
        "rule:load-balancer:observer_and_owner or rule:load-balancer:global_observer or "
        "rule:load-balancer:member_and_owner or rule:load-balancer:admin")
    assert by_name["load-balancer:write"] == (
        "rule:load-balancer:member_and_owner or rule:load-balancer:admin")
    assert by_name["load-balancer:admin"] == "is_admin:True or role:admin"
    assert by_name[LB_GET] == "rule:load-balancer:read"
    assert by_name[GLOBAL] == "rule:load-balancer:read-global"
    assert by_name["os_load-balancer_api:loadbalancer:put_failover"] == "rule:load-balancer:admin"
    assert by_name["os_load-balancer_api:member:get_all"] == "rule:load-balancer:read or " \
        "rule:service"
    assert by_name["os_load-balancer_api:quota:put"] == "rule:load-balancer:write-quota"
    assert by_name["os_load-balancer_api:flavor-profile:get_all"] == "rule:load-balancer:admin"
    assert by_name[AGENTS] == "rule:load-balancer:admin"
    assert {a.name for a in ACTIONS.values()} <= set(by_name)


# role -> (read own, read another's, write own, list all projects, admin extension)
MATRIX = {
    (): (False, False, False, False, False),
    ("reader",): (True, False, False, False, False),
    ("member", "reader"): (True, False, True, False, False),
    ("admin", "member", "reader"): (True, True, True, True, True),
    ("load-balancer_observer",): (True, False, False, False, False),
    ("load-balancer_global_observer",): (True, True, False, True, False),
    ("load-balancer_member",): (True, False, True, False, False),
    ("load-balancer_admin",): (True, True, True, True, True),
    ("nolb-role",): (False, False, False, False, False),
}


@pytest.mark.parametrize("roles", list(MATRIX))
def test_roles(roles: tuple[str, ...]) -> None:
    policy = Policy(_conf())
    got = (_allowed(policy, LB_GET, "a", *roles), _allowed(policy, LB_GET, "b", *roles),
           _allowed(policy, LB_POST, "a", *roles), _allowed(policy, GLOBAL, "", *roles),
           _allowed(policy, AGENTS, "a", *roles))
    assert got == MATRIX[roles]


def test_enforce_new_defaults_keeps_only_keystones_roles() -> None:
    policy = Policy(_conf(enforce_new_defaults=True))
    assert not _allowed(policy, LB_POST, "a", "load-balancer_member")
    assert not _allowed(policy, AGENTS, "a", "load-balancer_admin")
    assert _allowed(policy, LB_POST, "a", "member")
    assert _allowed(policy, AGENTS, "a", "admin")


def test_noauth_is_admin() -> None:
    policy = Policy(_conf())
    creds = credentials(project_id="a", roles=(), noauth=True)
    assert policy.is_admin(creds)
    assert policy.allowed(AGENTS, "b", creds) and policy.allowed(LB_POST, "b", creds)


def test_a_policy_file_overrides(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(f'"{LB_GET}": "rule:load-balancer:admin"\n'
                    '"load-balancer:write": "role:lb-writer and project_id:%(project_id)s"\n')
    policy = Policy(_conf(policy_file=str(path)))
    assert not _allowed(policy, LB_GET, "a", "member", "reader")
    assert _allowed(policy, LB_GET, "a", "admin")
    assert _allowed(policy, LB_POST, "a", "lb-writer")
    assert not _allowed(policy, LB_POST, "b", "lb-writer")
    assert not _allowed(policy, LB_POST, "a", "member")


def test_a_changed_policy_file_applies_without_a_restart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bigip_lbaas.api.policy.RELOAD_SECONDS", 0.0)
    path = tmp_path / "policy.yaml"
    path.write_text(f'"{LB_GET}": "rule:load-balancer:read"\n')
    policy = Policy(_conf(policy_file=str(path)))
    assert _allowed(policy, LB_GET, "a", "reader")  # and now remembered
    path.write_text(f'"{LB_GET}": "rule:load-balancer:admin"\n')
    stat = path.stat()
    os.utime(path, (stat.st_atime + 10, stat.st_mtime + 10))
    assert not _allowed(policy, LB_GET, "a", "reader")
    assert _allowed(policy, LB_GET, "a", "admin")


def test_decisions_are_remembered_per_credentials_and_target() -> None:
    policy = Policy(_conf())
    for _ in range(3):  # the same answers from the cache as from the rules
        assert _allowed(policy, LB_GET, "a", "reader")
        assert not _allowed(policy, LB_GET, "b", "reader")
        assert not _allowed(policy, LB_GET, "a", "reader", project="b")
        assert _allowed(policy, LB_GET, "b", "admin")
