"""`auth_strategy = keystone`: keystonemiddleware's auth_token as a gate in front of the ASGI app.

auth_token is WSGI middleware. It is called here, in a worker thread (it may ask Keystone over
HTTP), with a WSGI environ made from the request's headers and, as the application it protects,
a function that only records the environ it is handed. When auth_token lets the request through,
the app runs on the server's own event loop with the headers auth_token left: what a client sent
in X-Identity-Status, X-Project-Id, X-Roles, X-Tenant-Id, ... was removed and replaced with what
the token says. When it refuses (401, or 503 when Keystone cannot be reached), its answer goes to
the client and the app never sees the request.

No token reaches the app's headers: X-Auth-Token and X-Service-Token are dropped once checked.
The one call made on the user's behalf, barbican_cert_manager's ACL step
(`certstore.for_request`), gets the checked user token from `caller_token(scope)` (a scope key,
never a header, never logged). Version documents and the health check stay open. The project a
token proved is left for the access log in the scope's `middleware.REQUEST` dict.

Options are read from `[keystone_authtoken]` of the same configuration files, as for any
OpenStack service. It needs the optional extra `bigip-lbaas[keystone]`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any

from oslo_config import cfg
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from bigip_lbaas.api.middleware import REQUEST
from bigip_lbaas.core.errors import ConfigError

# /metrics is not here: it needs an admin token (`metrics.Metrics`).
OPEN_PATHS = frozenset({"/", "/v2", "/v2/", "/v2.0", "/v2.0/", "/healthcheck"})
# Credentials the app has no use for once auth_token has checked them.
DROPPED = frozenset({"HTTP_X_AUTH_TOKEN", "HTTP_X_SERVICE_TOKEN", "HTTP_X_STORAGE_TOKEN"})

# The scope key holding the user token auth_token accepted (see caller_token).
AUTH_TOKEN = "bigip_lbaas.auth_token"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def require_middleware() -> None:
    """Fail at start-up, with what to install, when the optional extra is missing."""
    try:
        import keystonemiddleware.auth_token  # noqa: F401
    except ImportError as err:
        raise ConfigError("[api_settings] auth_strategy = keystone needs keystonemiddleware: "
                          "install bigip-lbaas[keystone]") from err


def caller_token(scope: Scope) -> str | None:
    """The Keystone token auth_token accepted for this request (None outside keystone mode and
    on open paths). For calls on the caller's behalf only; never log or return it."""
    token = scope.get(AUTH_TOKEN)
    return str(token) if token else None


class _Passed:
    """The application auth_token protects: records the environ it lets through."""

    def __init__(self) -> None:
        self.environ: dict[str, Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        self.environ = environ
        start_response("204 No Content", [])
        return []


def _environ(scope: Scope) -> dict[str, Any]:
    """A WSGI environ with the request line and headers (no body: auth_token reads none)."""
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            continue
        key, value = f"HTTP_{name}", raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _headers(scope: Scope, environ: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """The request's headers as auth_token left them (it sets unused ones to None)."""
    kept = [(k, v) for k, v in scope["headers"] if k in (b"content-type", b"content-length")]
    for key, value in environ.items():
        if key.startswith("HTTP_") and key not in DROPPED and value is not None:
            name = key[5:].lower().replace("_", "-").encode("latin-1")
            kept.append((name, str(value).encode("latin-1")))
    return kept


class KeystoneAuth:
    """ASGI middleware: every request outside OPEN_PATHS passes auth_token first."""

    def __init__(self, app: ASGIApp, conf: cfg.ConfigOpts) -> None:
        require_middleware()
        from keystonemiddleware import auth_token

        self.app = app
        # One auth_token instance (its token cache, its Keystone session) for all requests; what
        # it protects is per request, so that goes in through the environ.
        self.auth: WsgiApp = auth_token.AuthProtocol(self._inner, {"oslo_config_config": conf})

    @staticmethod
    def _inner(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        passed: _Passed = environ["bigip_lbaas.passed"]
        return passed(environ, start_response)

    def _check(self, scope: Scope) -> tuple[_Passed, str, list[tuple[str, str]], bytes]:
        passed = _Passed()
        environ = _environ(scope)
        environ["bigip_lbaas.passed"] = passed
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> None:
            answer["status"], answer["headers"] = status, headers

        chunks = self.auth(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return passed, answer.get("status", "500 Internal Server Error"), \
            answer.get("headers", []), body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        passed, status, headers, body = await run_in_threadpool(self._check, scope)
        if passed.environ is not None:
            facts = scope.get(REQUEST)
            if facts is not None:
                facts["project"] = passed.environ.get("HTTP_X_PROJECT_ID")
            await self.app({**scope, "headers": _headers(scope, passed.environ),
                            AUTH_TOKEN: passed.environ.get("HTTP_X_AUTH_TOKEN")}, receive, send)
            return
        await send({"type": "http.response.start", "status": int(status.split(" ", 1)[0]),
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                for k, v in headers]})
        await send({"type": "http.response.body", "body": body})
