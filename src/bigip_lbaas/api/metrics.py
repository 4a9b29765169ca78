"""Prometheus metrics for the API process, and who may read them.

Request counters and latencies are kept in memory; the state of the work (pending objects,
partitions behind, live agents) is read from the database at scrape time, so every API replica
reports the same cluster-wide figures. Under `auth_strategy = keystone` `/metrics` is served to an
admin token only (the auth gate has checked the token; the admin rule is the API's own); under
noauth and header it is open, as the API is to whoever reaches it. The access log line is
`middleware.RequestLog`'s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bigip_lbaas.api.auth import context_from_headers
from bigip_lbaas.api.errors import fault_body
from bigip_lbaas.api.policy import Policy
from bigip_lbaas.core.errors import ApiError, DatabaseError
from bigip_lbaas.core.status import PENDING
from bigip_lbaas.db import unserved
from bigip_lbaas.db.desired import MODELS
from bigip_lbaas.db.models import Agent, Partition
from bigip_lbaas.db.session import Database


class ClusterCollector(Collector):
    """Figures about the work, read from the shared database on every scrape."""

    def __init__(self, db: Database, lease_seconds: float) -> None:
        self.db = db
        self.lease_seconds = lease_seconds

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily("bigip_lbaas_pending_objects",
                                    "Objects in a PENDING_* provisioning status", labels=["kind"])
        behind = GaugeMetricFamily("bigip_lbaas_partitions_behind_total",
                                   "Partitions whose desired generation is ahead of applied")
        alive = GaugeMetricFamily("bigip_lbaas_agents_alive",
                                  "Agents with a heartbeat within one lease period")
        serving = GaugeMetricFamily("bigip_lbaas_environment_serving_agents",
                                    "Live, admin-up agents of each environment (0: changes "
                                    "are refused and waiting work ends in ERROR)",
                                    labels=["environment"])
        unserved_for = GaugeMetricFamily("bigip_lbaas_environment_unserved_seconds",
                                         "Seconds since an agent last served the environment "
                                         "(0 while served)", labels=["environment"])
        waiting = GaugeMetricFamily("bigip_lbaas_environment_partitions_behind",
                                    "Partitions of the environment with work not yet applied",
                                    labels=["environment"])
        try:
            with self.db.read() as s:
                for kind, table in MODELS.items():
                    count = s.scalar(sa.select(sa.func.count()).select_from(table).where(
                        table.provisioning_status.in_([p.value for p in PENDING])))
                    pending.add_metric([kind], float(count or 0))
                behind.add_metric([], float(s.scalar(
                    sa.select(sa.func.count()).select_from(Partition).where(
                        Partition.desired_generation > Partition.applied_generation)) or 0))
                alive.add_metric([], float(s.scalar(
                    sa.select(sa.func.count()).select_from(Agent).where(
                        Agent.alive_where(self.db.now(), self.lease_seconds))) or 0))
                for env in unserved.environments(s, self.lease_seconds):
                    serving.add_metric([env.name], float(env.live_agents))
                    unserved_for.add_metric([env.name], float(env.unserved_for or 0.0))
                    waiting.add_metric([env.name], float(env.pending_partitions))
        except DatabaseError:
            return  # database down: request metrics still scrape; these gauges are absent
        yield from (pending, behind, alive, serving, unserved_for, waiting)


class Metrics:
    """Middleware + endpoint: request count/latency by method, route and status."""

    def __init__(self, app: ASGIApp, db: Database, lease_seconds: float,
                 admin_only: bool = False, policy: Policy | None = None) -> None:
        self.app = app
        self.admin_only = admin_only
        self.policy = policy  # who is admin: Octavia's context_is_admin
        self.registry = CollectorRegistry()
        self.requests = Counter("bigip_lbaas_api_requests_total", "API requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("bigip_lbaas_api_request_seconds", "API request latency",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.registry.register(ClusterCollector(db, lease_seconds))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/metrics":
            refused = self._refusal(scope)
            if refused is not None:
                await refused(scope, receive, send)
                return
            body = generate_latest(self.registry)
            await Response(body, media_type=CONTENT_TYPE_LATEST)(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.latency.labels(scope["method"], route).observe(elapsed)

    def _refusal(self, scope: Scope) -> Response | None:
        """Under keystone, the 403 for a token that is not an admin's; else None."""
        if not self.admin_only:
            return None
        try:
            allowed = context_from_headers(Request(scope), "keystone", "", self.policy).is_admin
        except ApiError:
            allowed = False
        if allowed:
            return None
        message = "Policy does not allow this request to be performed."
        return JSONResponse(fault_body(403, message), status_code=403)


def _route(scope: Scope) -> str:
    """The path with its parameters named, not their values: bounded label values."""
    if scope.get("route") is None:
        return "unmatched"
    path = str(scope["path"])
    for name, value in scope.get("path_params", {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path

