"""Who is asking: the request context under each `[api_settings] auth_strategy`.

- noauth: everyone is admin; the project is the body's, else X-Project-Id, else the configured
  default project.
- header: an authenticating proxy in front sets X-Project-Id and X-Roles; role `admin` is admin.
- keystone: keystonemiddleware's auth_token validates the token and sets the same headers
  (X-Project-Id, X-Roles); it is an optional extra (`bigip-lbaas[keystone]`).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bigip_lbaas.api.errors import InvalidInput, MissingProject, NotAuthorized

# Octavia's project_id columns are 36 characters; a longer id could only be cut or refused later.
MAX_PROJECT_ID = 36


@dataclass(frozen=True)
class Context:
    project_id: str | None
    is_admin: bool

    def project_for_create(self, body_project: str | None) -> str:
        """The project a new object belongs to; a non-admin may only name its own."""
        if body_project and not self.is_admin and body_project != self.project_id:
            raise NotAuthorized()
        project = body_project or self.project_id
        if not project:
            raise MissingProject()
        return project

    def visible(self, project_id: str) -> bool:
        return self.is_admin or project_id == self.project_id

    def require_admin(self) -> None:
        if not self.is_admin:
            raise NotAuthorized()


def context_from_headers(request: Request, strategy: str, default_project: str) -> Context:
    project = request.headers.get("x-project-id") or request.headers.get("x-tenant-id") or None
    if project is not None and len(project) > MAX_PROJECT_ID:
        raise InvalidInput(field="project_id", value=project[:64],
                           reason=f"Longer than {MAX_PROJECT_ID} characters.")
    if strategy == "noauth":
        return Context(project_id=project or default_project, is_admin=True)
    roles = {r.strip().lower() for r in request.headers.get("x-roles", "").split(",")}
    if (
        strategy == "keystone"
        and request.headers.get("x-identity-status", "").lower() != "confirmed"
    ):
        raise NotAuthorized()
    if not project and "admin" not in roles:
        raise NotAuthorized()
    return Context(project_id=project, is_admin="admin" in roles)
