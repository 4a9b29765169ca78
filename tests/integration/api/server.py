"""Test scaffolding: the real API server on loopback, and a stand-in for the agents' completion.

`settle(db)` is NOT a mock of our code: it plays the agents' part (which the API never does),
turning PENDING_CREATE/UPDATE into ACTIVE and removing PENDING_DELETE rows, as an agent does
after a successful reconcile.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from oslo_config import cfg

from bigip_lbaas.api.app import asgi_app
from bigip_lbaas.config.load import load
from bigip_lbaas.db import models as m
from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import fresh_database

# Children before parents, so that removing PENDING_DELETE rows never breaks a foreign key.
ORDER = (m.L7Rule, m.L7Policy, m.Member, m.HealthMonitor, m.Listener, m.Pool, m.LoadBalancer)
PENDING = ("PENDING_CREATE", "PENDING_UPDATE")


def settle(db: Database, *, error: str | None = None, online: bool = True) -> None:
    """Do what an agent does after a reconcile: every pending object reaches its terminal state.

    With `error`, pending creates/updates go to ERROR with that reason (and their LB to ACTIVE,
    as Octavia's revert does for children)."""
    with db.transaction() as s:
        for model in ORDER:
            s.execute(sa.delete(model).where(model.provisioning_status == "PENDING_DELETE"))
        for model in ORDER:
            if error and model is not m.LoadBalancer:
                s.execute(sa.update(model).where(model.provisioning_status.in_(PENDING))
                          .values(provisioning_status="ERROR", status_reason=error))
                continue
            values: dict[str, Any] = {"provisioning_status": "ACTIVE"}
            if online:
                values["operating_status"] = "ONLINE"
            s.execute(sa.update(model).where(model.provisioning_status.in_(PENDING))
                      .values(**values))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_conf(db_url: str, **api_settings: Any) -> cfg.ConfigOpts:
    conf = load([])
    conf.set_override("connection", db_url, group="database")
    # No agent runs beside these API tests (`settle` plays its part): accept work for an
    # environment without one, unless a test asks for the refusal.
    conf.set_override("refuse_unserved", False, group="api_settings")
    for key, value in api_settings.items():
        group = "service_providers" if key == "service_provider" else "api_settings"
        if key in ("default_project_id", "lease_seconds"):
            group = "bigip_lbaas"
        if key.startswith("default_") and key.endswith("_quota"):
            group = "quotas"
        conf.set_override(key, value, group=group)
    return conf


@contextmanager
def serve(conf: cfg.ConfigOpts, db: Database) -> Iterator[str]:
    """Run the API in a thread on a free loopback port; yield its base URL; stop it after."""
    port = free_port()
    config = uvicorn.Config(asgi_app(conf, db), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Api:
    """A thin httpx client that knows Octavia's paths and wrapper keys."""

    def __init__(self, url: str, db: Database, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.db = db
        self.http = httpx.Client(base_url=url, timeout=30, headers=headers or {})

    def as_project(self, project: str, *, admin: bool = False) -> Api:
        roles = "admin" if admin else "member"
        return Api(self.url, self.db, {"X-Project-Id": project, "X-Roles": roles})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.http.put(path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def settle(self, **kw: Any) -> None:
        settle(self.db, **kw)

    # --- builders that return the created object and leave everything ACTIVE ---------------

    def network(self, cidr: str = "10.0.0.0/24", **subnet: Any) -> dict[str, Any]:
        net = self.post("/v2.0/networks", {"network": {"name": "n"}})
        assert net.status_code == 201, net.text
        sub = self.post("/v2.0/subnets", {"subnet": {"network_id": net.json()["network"]["id"],
                                                     "cidr": cidr, "ip_version": 4, **subnet}})
        assert sub.status_code == 201, sub.text
        return dict(sub.json()["subnet"])

    def lb(self, subnet_id: str, **body: Any) -> dict[str, Any]:
        r = self.post("/v2/lbaas/loadbalancers",
                      {"loadbalancer": {"vip_subnet_id": subnet_id, **body}})
        assert r.status_code == 201, r.text
        self.settle()
        return dict(r.json()["loadbalancer"])

    def child(self, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(path, {key: body})
        assert r.status_code == 201, r.text
        self.settle()
        return dict(r.json()[key])


@contextmanager
def api_server(kind: str, directory: Path, **api_settings: Any) -> Iterator[Api]:
    """The real API (in a thread) on a fresh, migrated database of `kind`."""
    with fresh_database(kind, directory) as url:
        db = Database(url)
        schema.upgrade(db)
        try:
            with serve(make_conf(url, **api_settings), db) as base:
                yield Api(base, db)
        finally:
            db.dispose()
