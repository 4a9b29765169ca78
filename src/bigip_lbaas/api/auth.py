"""Who is asking, and may they: the request context under each `[api_settings] auth_strategy`.

- noauth: everyone is admin (Octavia's `is_admin:True`); the project is the body's, else
  X-Project-Id, else the configured default project.
- header: an authenticating proxy in front sets X-Project-Id, X-Roles (and X-User-Id,
  OpenStack-System-Scope, X-Domain-Id when it has them).
- keystone: keystonemiddleware's auth_token validates the token and sets the same headers; it is
  an optional extra (`bigip-lbaas[keystone]`).

What the roles allow is Octavia's policy (`api/policy.py`, oslo.policy, overridable by a
`policy.yaml`). Each request is one action; the context checks it against the caller's project
at once, or against the project of the object the handler loads (another project's object is a
403, as in Octavia: it loads the object and checks the policy with the object's project).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from bigip_lbaas.api.errors import InvalidInput, MissingProject, NotAuthorized
from bigip_lbaas.api.policy import Action, Check, Policy, credentials

# Octavia's project_id columns are 36 characters; a longer id could only be cut or refused later.
MAX_PROJECT_ID = 36


@dataclass(frozen=True)
class Context:
    project_id: str | None
    is_admin: bool
    creds: Mapping[str, Any] = field(default_factory=dict)
    action: Action | None = None
    policy: Policy | None = None
    # Refuse changes for an environment with no agent alive within this many seconds (M11,
    # `[api_settings] refuse_unserved`); None: do not check.
    agent_lease: float | None = None

    def allowed(self, project_id: str | None, rule: str | None = None) -> bool:
        """May the caller do this request's action (or `rule`) on `project_id`'s objects?
        Without a policy or an action (an unguarded route): an admin, or the own project."""
        name = rule or (self.action.name if self.action is not None else None)
        if self.policy is None or name is None:
            return self.is_admin or (project_id is not None and project_id == self.project_id)
        return self.policy.allowed(name, project_id, self.creds)

    def authorize(self, project_id: str | None, rule: str | None = None) -> None:
        """403 (Octavia's PolicyForbidden) unless `allowed`."""
        if not self.allowed(project_id, rule):
            raise NotAuthorized()

    def visible(self, project_id: str) -> bool:
        return self.allowed(project_id)

    def project_for_create(self, body_project: str | None) -> str:
        """The project a new object belongs to (the body's, else the caller's), if the caller
        may create in it: a member may only name its own, an admin any."""
        project = body_project or self.project_id
        if not project:
            raise MissingProject()
        self.authorize(project)
        return project

    def list_project(self, requested: str | None) -> str | None:
        """Octavia's list rule (`_auth_get_all`): whoever passes `<resource>:get_all-global`
        lists every project (or the one asked for); anyone else lists one project, the one
        asked for or their own, if `<resource>:get_all` allows it; else 403."""
        if self.policy is None or self.action is None:
            return requested if self.is_admin else self.project_id
        global_rule = self.action.name.rsplit(":", 1)[0] + ":get_all-global"
        if self.policy.allowed(global_rule, requested, self.creds):
            return requested
        project = requested or self.project_id
        if project is None:
            raise NotAuthorized()
        self.authorize(project)
        return project

    def require_admin(self) -> None:
        """This request's action, which is an admin one (failover, the admin extension, flavor
        and quota writes); without an action, `context_is_admin`."""
        if self.action is None or self.policy is None:
            if not self.is_admin:
                raise NotAuthorized()
            return
        self.authorize(self.project_id)

    def check_at_entry(self, path_params: Mapping[str, Any]) -> None:
        """The checks whose target is known before the handler reads anything."""
        if self.action is None:
            return
        if self.action.check is Check.CALLER:
            self.authorize(self.project_id)
        elif self.action.check is Check.PATH:
            self.authorize(str(path_params.get("project_id") or "") or None)


def _roles(request: Request) -> set[str]:
    return {r.strip().lower() for r in request.headers.get("x-roles", "").split(",") if r.strip()}


def context_from_headers(request: Request, strategy: str, default_project: str,
                         policy: Policy | None = None, action: Action | None = None) -> Context:
    project = request.headers.get("x-project-id") or request.headers.get("x-tenant-id") or None
    if project is not None and len(project) > MAX_PROJECT_ID:
        raise InvalidInput(field="project_id", value=project[:64],
                           reason=f"Longer than {MAX_PROJECT_ID} characters.")
    noauth = strategy == "noauth"
    if noauth:
        project = project or default_project
        roles: set[str] = set()
    else:
        if (strategy == "keystone"
                and request.headers.get("x-identity-status", "").lower() != "confirmed"):
            raise NotAuthorized()
        roles = _roles(request)
    creds = credentials(project_id=project, roles=roles,
                        user_id=request.headers.get("x-user-id") or None,
                        system_scope=request.headers.get("openstack-system-scope") or None,
                        domain_id=request.headers.get("x-domain-id") or None, noauth=noauth)
    is_admin = noauth or (policy.is_admin(creds) if policy is not None else "admin" in roles)
    creds["is_admin"] = is_admin  # Octavia's `is_admin:True`: context_is_admin, or noauth
    if not project and not is_admin:
        raise NotAuthorized()
    return Context(project_id=project, is_admin=is_admin, creds=creds, action=action,
                   policy=policy)
