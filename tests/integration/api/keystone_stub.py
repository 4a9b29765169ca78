"""A minimal Keystone identity v3 on loopback: just what keystonemiddleware's auth_token calls.

auth_token (keystonemiddleware 10+, keystoneauth1 password plugin, keystoneclient v3) does:

- `GET <auth_url>` (here `/v3`): version discovery for the password plugin;
- `POST /v3/auth/tokens`: the service user's own token (`X-Subject-Token` header, body with a
  catalog: auth_token finds the identity endpoint for its `interface` there);
- `GET /v3` again on the catalog URL: discovery before validating;
- `GET /v3/auth/tokens` with `X-Auth-Token` (the service token) and `X-Subject-Token` (the user's):
  200 with the token body, 404 for an unknown token, 401 when the service token is wrong.

`/` answers Keystone's 300 version list as well. Every request is recorded (method, path,
whether a subject token was sent) so a test can tell validation really went through here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class User:
    token: str
    user_id: str
    project_id: str
    roles: tuple[str, ...]


@dataclass
class StubKeystone:
    """Start with `start()`, stop with `close()`; `url` is the unversioned endpoint."""

    service_user: str = "octavia"
    service_password: str = "service-secret"
    users: dict[str, User] = field(default_factory=dict)
    requests: list[tuple[str, str, bool]] = field(default_factory=list)
    service_token: str = "svc-token-7f3a"
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def add_user(self, token: str, project_id: str, *roles: str) -> User:
        user = User(token, f"user-{project_id}", project_id, roles or ("member",))
        self.users[token] = user
        return user

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StubKeystone:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                stub.record(self)
                path = self.path.split("?", 1)[0].rstrip("/")
                if path == "":
                    self.reply(300, {"versions": {"values": [stub.v3_doc()]}})
                elif path == "/v3":
                    self.reply(200, {"version": stub.v3_doc()})
                elif path == "/v3/auth/tokens":
                    self.validate()
                else:
                    self.reply(404, {"error": {"code": 404, "title": "Not Found",
                                               "message": "no such path"}})

            def do_POST(self) -> None:
                stub.record(self)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.split("?", 1)[0].rstrip("/") != "/v3/auth/tokens":
                    self.reply(404, {"error": {"code": 404, "message": "no such path"}})
                    return
                user = body.get("auth", {}).get("identity", {}).get("password", {}).get("user", {})
                if (user.get("name") != stub.service_user
                        or user.get("password") != stub.service_password):
                    self.reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                               "message": "The request you have made requires "
                                                          "authentication."}})
                    return
                service = User(stub.service_token, "user-octavia", "project-service",
                               ("service", "admin"))
                self.reply(201, stub.token_body(service), subject=stub.service_token)

            def validate(self) -> None:
                if self.headers.get("X-Auth-Token") != stub.service_token:
                    self.reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                               "message": "service token not valid"}})
                    return
                subject = self.headers.get("X-Subject-Token", "")
                user = stub.users.get(subject)
                if user is None:
                    self.reply(404, {"error": {"code": 404, "title": "Not Found",
                                               "message": "Could not find token."}})
                    return
                self.reply(200, stub.token_body(user), subject=subject)

            def reply(self, status: int, body: dict[str, Any], subject: str | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if subject is not None:
                    self.send_header("X-Subject-Token", subject)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def record(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests.append((handler.command, handler.path.split("?", 1)[0],
                              "X-Subject-Token" in handler.headers))

    def v3_doc(self) -> dict[str, Any]:
        return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": f"{self.url}/v3/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.identity-v3+json"}]}

    def token_body(self, user: User) -> dict[str, Any]:
        now = datetime.now(UTC)
        stamp = "%Y-%m-%dT%H:%M:%S.000000Z"
        domain = {"id": "default", "name": "Default"}
        endpoints = [{"id": f"ep-{iface}", "interface": iface, "region": "RegionOne",
                      "region_id": "RegionOne", "url": f"{self.url}/v3"}
                     for iface in ("public", "internal", "admin")]
        return {"token": {
            "methods": ["password"],
            "user": {"id": user.user_id, "name": user.user_id, "domain": domain,
                     "password_expires_at": None},
            "audit_ids": [f"audit-{user.user_id}"],
            "issued_at": now.strftime(stamp),
            "expires_at": (now + timedelta(hours=1)).strftime(stamp),
            "project": {"id": user.project_id, "name": user.project_id, "domain": domain},
            "is_domain": False,
            "roles": [{"id": f"role-{r}", "name": r} for r in user.roles],
            "catalog": [{"type": "identity", "name": "keystone", "id": "svc-identity",
                         "endpoints": endpoints}],
        }}


@dataclass
class KeystoneApi:
    """The real `bigip-lbaas api` process with `auth_strategy = keystone` against a stub."""

    url: str
    stub: StubKeystone
    proc: Any  # tests.cluster.Proc


@contextmanager
def keystone_api(db_url: str, work: Path, users: dict[str, tuple[str, ...]],
                 extra_conf: str = "", *argv: str) -> Iterator[KeystoneApi]:
    """Start a stub Keystone with `users` (token -> (project, *roles)) and the API on a migrated
    `db_url` behind it; `extra_conf` is appended to the API's config, `argv` to its command."""
    from bigip_lbaas.db import schema
    from bigip_lbaas.db.session import Database
    from tests.cluster import PY, Proc, free_ports, port_open, wait_for

    db = Database(db_url)
    try:
        schema.upgrade(db)
    finally:
        db.dispose()
    stub = StubKeystone().start()
    for token, (project, *roles) in users.items():
        stub.add_user(token, project, *roles)
    port = free_ports(1)
    conf = work / "api.conf"
    conf.write_text(
        "[database]\n"
        f"connection = {db_url}\n"
        "[api_settings]\n"
        "bind_host = 127.0.0.1\n"
        f"bind_port = {port}\n"
        "auth_strategy = keystone\n"
        "refuse_unserved = false\n"  # no agent runs beside these tests
        "[keystone_authtoken]\n"
        f"www_authenticate_uri = {stub.url}/v3\n"
        f"auth_url = {stub.url}/v3\n"
        "auth_type = password\n"
        f"username = {stub.service_user}\n"
        f"password = {stub.service_password}\n"
        "user_domain_name = Default\n"
        "project_name = service\n"
        "project_domain_name = Default\n"
        "service_token_roles_required = true\n"
        + extra_conf
    )
    proc = Proc("api", [PY, "-m", "bigip_lbaas.cli", "api", *argv, "--config-file", str(conf)],
                work / "api.log").start()
    try:
        wait_for(lambda: port_open(port) or not proc.alive, 30, "API port")
        assert proc.alive, proc.output()
        yield KeystoneApi(f"http://127.0.0.1:{port}", stub, proc)
    finally:
        proc.terminate()
        stub.close()
