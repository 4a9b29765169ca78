"""The ASGI application: routers mounted at /v2 and /v2.0, faults, the JSON-only rule.

`create_app(conf)` builds everything from configuration; it does not touch the schema (the
server checks that before serving).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from oslo_config import cfg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bigip_lbaas.api import keystone
from bigip_lbaas.api.errors import fault_body
from bigip_lbaas.api.metrics import Metrics
from bigip_lbaas.api.middleware import REQUEST, BodyLimit, RequestLog
from bigip_lbaas.api.policy import Policy
from bigip_lbaas.api.providers import load_providers
from bigip_lbaas.api.routes import (
    admin,
    catalog,
    healthmonitor,
    l7policy,
    listener,
    loadbalancer,
    member,
    network,
    pool,
    port,
    quota,
    secrets,
    version,
)
from bigip_lbaas.api.state import AppState
from bigip_lbaas.core.errors import ApiError, DatabaseError, DatabaseUnavailable
from bigip_lbaas.db.session import Database

LBAAS_ROUTERS = (loadbalancer.router, listener.router, pool.router, member.router,
                 healthmonitor.router, l7policy.router, quota.router, catalog.router,
                 admin.router)
JSON_TYPES = ("application/json", "application/*", "*/*")
KEY_MANAGER = "/key-manager"  # the built-in certificate store: Barbican's API, its own rules


def accepts_json(accept: str) -> bool:
    if not accept.strip():
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in JSON_TYPES or media.endswith("+json"):
            return True
    return False


class JsonOnly:
    """Octavia's ContentTypeHook: 406 for a non-JSON Accept; a `.json` suffix is tolerated."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.endswith(".json") and path != "/openapi.json":
                scope = {**scope, "path": path[: -len(".json")]}
            accept = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept"),
                          "")
            if not accepts_json(accept) and not path.startswith(KEY_MANAGER):
                body = {"errors": [{"status": 406, "title": "Not Acceptable",
                                    "detail": "Only application/json is supported.",
                                    "request_id": scope.get(REQUEST, {}).get("request_id")}]}
                await JSONResponse(body, status_code=406)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _fault(status: int, message: str) -> JSONResponse:
    return JSONResponse(fault_body(status, message), status_code=status)


async def _api_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ApiError)
    return _fault(err.status, str(err))


async def _validation_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)
    errors = err.errors()
    if not errors:
        return _fault(400, "Invalid input.")
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = loc[-1] if loc else "body"
    if first.get("type") == "json_invalid":
        return _fault(400, "Invalid input: the request body is not valid JSON.")
    if first.get("type") == "missing":
        value, reason = "None", "Mandatory field missing."
    elif first.get("type") == "extra_forbidden":
        return _fault(400, f"Unknown attribute for argument {'.'.join(loc[:-1]) or 'body'}: "
                           f"{field}")
    else:
        value, reason = str(first.get("input")), str(first.get("msg"))
    return _fault(400, f"Invalid input for field/attribute {field}. Value: '{value}'. {reason}")


async def _http_error(_: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, HTTPException)
    messages = {404: "The resource could not be found.",
                405: "The method is not allowed for the requested URL."}
    return _fault(err.status_code, messages.get(err.status_code, str(err.detail)))


async def _db_error(_: Request, err: Exception) -> JSONResponse:
    if isinstance(err, DatabaseUnavailable):
        return _fault(503, "The database is unavailable; retry later.")
    return _fault(500, "Internal Server Error")


async def _server_error(_: Request, err: Exception) -> JSONResponse:
    return _fault(500, "Internal Server Error")


# [api_settings] threads when unset, by database. Measured at 16 clients creating load balancers,
# 2 workers on 2 cores (bench/octavia_side_by_side.py, docs/benchmarks.md): on PostgreSQL 2
# threads gave a create p99 of 74-88 ms against 83-105 with 4 (5 alternating runs each, same
# rate); on SQLite 4 did better (95-122 ms against 119-133), on MariaDB neither.
def default_threads(dialect: str) -> int:
    """`[api_settings] threads` when unset, for a database of `dialect`."""
    return 2 if dialect == "postgresql" else 4


def threads_for(conf: cfg.ConfigOpts, dialect: str) -> int:
    """The worker's thread pool size: `[api_settings] threads`, else the default for the
    database."""
    configured = conf.api_settings.threads
    return default_threads(dialect) if configured is None else int(configured)


def _thread_pool(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: the request handlers (plain functions, run in anyio's thread pool)
    get `threads` threads ([api_settings] threads), and a request beyond them waits in
    arrival order (anyio's CapacityLimiter is first come, first served), as Starlette's docs
    set the pool's size."""
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def create_app(conf: cfg.ConfigOpts, db: Database | None = None) -> FastAPI:
    """The application for `conf`; `db` may be given to share an engine (tests, `up`)."""
    database = db or Database(str(conf.database.connection))
    strategy = str(conf.api_settings.auth_strategy)
    app = FastAPI(title="bigip-lbaas", version="2.30",
                  description="Octavia v2-compatible load-balancing API for F5 BIG-IP.",
                  docs_url=None, redoc_url=None,
                  lifespan=_thread_pool(threads_for(conf, database.dialect)))
    app.state.api = AppState(
        conf=conf, db=database, providers=load_providers(conf), auth_strategy=strategy,
        default_project=str(conf.bigip_lbaas.default_project_id),
        max_limit=int(conf.api_settings.pagination_max_limit),
        base_uri=conf.api_settings.api_base_uri, lease_seconds=float(conf.bigip_lbaas.lease_seconds),
        policy=Policy(conf), refuse_unserved=bool(conf.api_settings.refuse_unserved))
    app.include_router(version.router)
    app.include_router(secrets.router, prefix=KEY_MANAGER)
    for prefix, in_schema in (("/v2", True), ("/v2.0", False)):
        for router in LBAAS_ROUTERS:
            app.include_router(router, prefix=prefix + "/lbaas", include_in_schema=in_schema)
        app.include_router(network.router, prefix=prefix, include_in_schema=in_schema)
        app.include_router(port.router, prefix=prefix, include_in_schema=in_schema)
    handlers: dict[Any, Any] = {ApiError: _api_error, RequestValidationError: _validation_error,
                                HTTPException: _http_error, DatabaseError: _db_error,
                                Exception: _server_error}
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
    app.add_middleware(JsonOnly)
    app.add_middleware(Metrics, db=database, lease_seconds=float(conf.bigip_lbaas.lease_seconds),
                       admin_only=strategy == "keystone", policy=app.state.api.policy)
    if strategy == "keystone":
        keystone.require_middleware()  # fail now, at start-up, when the extra is missing
    return app


def asgi_app(conf: cfg.ConfigOpts, db: Database | None = None) -> ASGIApp:
    """What the server runs: request id and access log, body limit, then the app (behind
    auth_token under `auth_strategy = keystone`)."""
    app: ASGIApp = create_app(conf, db)
    keystoned = str(conf.api_settings.auth_strategy) == "keystone"
    if keystoned:
        app = keystone.KeystoneAuth(app, conf)
    app = BodyLimit(app, limit=int(conf.api_settings.max_request_body_size))
    return RequestLog(app, project_from_header=not keystoned)
