"""What every request handler needs from the running app, and the per-request dependencies."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

from oslo_config import cfg
from starlette.requests import Request

from bigip_lbaas.api import tls
from bigip_lbaas.api.auth import Context, context_from_headers
from bigip_lbaas.api.errors import DatabaseUnavailable, Unserved
from bigip_lbaas.api.policy import Policy, action_for
from bigip_lbaas.api.providers import Providers
from bigip_lbaas.core import errors
from bigip_lbaas.db import unserved
from bigip_lbaas.db.session import Database

T = TypeVar("T")


@dataclass(frozen=True)
class AppState:
    conf: cfg.ConfigOpts
    db: Database
    providers: Providers
    auth_strategy: str
    default_project: str
    max_limit: int
    base_uri: str | None
    lease_seconds: float
    policy: Policy | None = None  # Octavia's rules (api/policy.py); None: admin or own project
    refuse_unserved: bool = False  # [api_settings] refuse_unserved (M11)

    def require_served(self, session: Any, environment: str) -> None:
        """503 naming `environment` when no live agent serves it (and refuse_unserved is on)."""
        if self.refuse_unserved and not unserved.is_served(session, environment,
                                                           self.lease_seconds):
            raise Unserved(environment=environment)

    def write(self, fn: Any) -> Any:
        """Run `fn(session)` as one transaction, retrying the whole of it on transient errors
        (and after reading a certificate reference outside it, `tls.write`)."""
        try:
            return tls.write(lambda: self.db.run(fn, attempts=4))
        except errors.DatabaseUnavailable as err:
            raise DatabaseUnavailable() from err

    def read(self, fn: Any) -> Any:
        """Run `fn(session)` read-only: on SQLite it never waits for or blocks a writer."""
        try:
            return self.db.query(fn, attempts=3)
        except errors.DatabaseUnavailable as err:
            raise DatabaseUnavailable() from err


def state(request: Request) -> AppState:
    found: AppState = request.app.state.api
    return found


def context(request: Request) -> Context:
    """Who asks, for which action (by method and route), with the checks whose target is known
    before the handler reads anything already made (403 otherwise)."""
    st = state(request)
    route = request.scope.get("route")
    action = action_for(request.method, getattr(route, "path", None))
    ctx = context_from_headers(request, st.auth_strategy, st.default_project, st.policy, action)
    ctx.check_at_entry(request.path_params)
    if st.refuse_unserved:
        ctx = replace(ctx, agent_lease=st.lease_seconds)
    return ctx


def base_url(request: Request) -> str:
    """The request URL without its query, based on `[api_settings] api_base_uri` when set."""
    st = state(request)
    if st.base_uri:
        return st.base_uri.rstrip("/") + request.url.path
    return str(request.url.replace(query=""))


def host_url(request: Request) -> str:
    st = state(request)
    if st.base_uri:
        return st.base_uri.rstrip("/") + "/"
    return str(request.base_url)
