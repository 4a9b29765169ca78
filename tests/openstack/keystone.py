"""A real Keystone (PyPI `keystone` 30.x) on loopback, for every test that needs identity.

How to use it
-------------

Ask for the session-scoped fixture `keystone` (registered for every test directory by
tests/conftest.py through the plugin tests/openstack/fixtures.py); it is started once per test
session (per xdist worker) and stopped at the end::

    def test_something(keystone: Keystone) -> None:
        alice = keystone.user("alice-mytest", keystone.project("proj-mytest"), "member", "reader")
        token = keystone.token(alice)               # a project-scoped token (cached)
        octavia = keystone.service_user("octavia")  # in project `service`, roles service + admin
        conf = keystone.authtoken_conf(octavia)     # a `[keystone_authtoken]` section for our API
        keystone.register_service("load-balancer", "octavia", "http://127.0.0.1:9876")
        session = keystone.session(alice)           # a keystoneauth1 Session (password auth)

Names are global to the session's one Keystone: pick names unique to your test module (`project()`
and `user()` are get-or-create, so a name reused with other roles adds those roles). `role()`
creates any role that does not exist (e.g. `load-balancer_member`, see OCTAVIA_ROLES);
`reader`, `member`, `manager`, `admin` and `service` come from `keystone-manage bootstrap` (and
Keystone's implied roles hold: admin implies member implies reader). The bootstrap admin is
`keystone.admin` (project `admin`, role `admin`); `keystone.request()` calls the identity API as
that admin. To run our API in keystone mode against it: tests/integration/api/keystone_api.py
`keystone_api(keystone, db_url, work, extra_conf)` (auth_token as the service user `octavia`).

What runs
---------

`keystone` and `gunicorn` in a virtualenv of their own (tests/openstack/venvs.py), a config on a
throw-away SQLite database in the work directory, fernet and credential key repositories,
`keystone-manage db_sync`, `fernet_setup`, `credential_setup` and `bootstrap` (admin user, project,
roles; the identity endpoint at the chosen port in region RegionOne), then gunicorn serving
`keystone.wsgi.api:application` on 127.0.0.1:<free port>. Password hashing uses bcrypt's fewest
rounds so tokens are cheap on a small machine. Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import getpass
import grp
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.cluster import Proc, free_ports, wait_for
from tests.openstack.venvs import bin_path, service_venv

REQUIREMENTS = ("keystone>=30,<31", "gunicorn>=23")
# The driver Keystone needs for a database other than its default SQLite (`database_url`).
DRIVERS = {"postgresql": "psycopg2-binary>=2.9", "postgresql+psycopg2": "psycopg2-binary>=2.9",
           "mysql+pymysql": "PyMySQL>=1.1"}
REGION = "RegionOne"
# Octavia's own roles (its default policy); `role()` creates any of them on first use.
OCTAVIA_ROLES = ("load-balancer_observer", "load-balancer_global_observer",
                 "load-balancer_member", "load-balancer_quota_admin", "load-balancer_admin")
START_TIMEOUT = 180.0
DEFAULT_DOMAIN = "default"


@dataclass(frozen=True)
class Project:
    id: str
    name: str


@dataclass(frozen=True)
class User:
    id: str
    name: str
    password: str
    project: Project
    roles: tuple[str, ...]


@dataclass
class Keystone:
    """A running Keystone: `url` is the unversioned endpoint, `auth_url` the v3 one."""

    url: str
    admin: User
    proc: Proc
    workdir: Path
    region: str = REGION
    startup_seconds: float = 0.0
    venv_seconds: float = 0.0
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _roles: dict[str, str] = field(default_factory=dict)
    _users: dict[str, User] = field(default_factory=dict)

    @property
    def auth_url(self) -> str:
        return f"{self.url}/v3"

    # --- calls as the bootstrap admin -----------------------------------------------------

    def request(self, method: str, path: str, json: dict[str, Any] | None = None,
                expect: tuple[int, ...] = (200, 201, 204)) -> dict[str, Any]:
        """Call the identity API (`path` under /v3) with the admin's token; the JSON answer."""
        with httpx.Client(timeout=60) as client:
            r = client.request(method, f"{self.auth_url}{path}", json=json,
                               headers={"X-Auth-Token": self.token(self.admin)})
        if r.status_code not in expect:
            raise RuntimeError(f"keystone {method} {path}: {r.status_code} {r.text[:500]}")
        return dict(r.json()) if r.content else {}

    def role(self, name: str) -> str:
        """The id of role `name`, created if missing."""
        if name not in self._roles:
            found = self.request("GET", f"/roles?name={name}")["roles"]
            if found:
                self._roles[name] = found[0]["id"]
            else:
                self._roles[name] = self.request(
                    "POST", "/roles", {"role": {"name": name}})["role"]["id"]
        return self._roles[name]

    def project(self, name: str) -> Project:
        """Project `name` in the default domain, created if missing."""
        found = self.request("GET", f"/projects?name={name}&domain_id={DEFAULT_DOMAIN}")
        if found["projects"]:
            return Project(found["projects"][0]["id"], name)
        made = self.request("POST", "/projects", {"project": {
            "name": name, "domain_id": DEFAULT_DOMAIN, "enabled": True}})["project"]
        return Project(made["id"], name)

    def user(self, name: str, project: Project, *roles: str,
             password: str | None = None) -> User:
        """User `name` (default domain) with `roles` on `project` (default: member), created if
        missing. A user this object made before keeps its password (so running services that
        authenticate as it are not disturbed) and gets any new roles added; `password` sets a
        new one."""
        roles = roles or ("member",)
        known = self._users.get(name)
        if known is None or password is not None:
            password = password or (known.password if known else secrets.token_urlsafe(16))
            body = {"user": {"name": name, "password": password, "domain_id": DEFAULT_DOMAIN,
                             "default_project_id": project.id, "enabled": True}}
            found = self.request("GET", f"/users?name={name}&domain_id={DEFAULT_DOMAIN}")["users"]
            if found:
                user_id = found[0]["id"]
                self.request("PATCH", f"/users/{user_id}", body)
                self._tokens.pop(user_id, None)
            else:
                user_id = self.request("POST", "/users", body)["user"]["id"]
        else:
            user_id, password = known.id, known.password
        for role in roles:
            self.request("PUT", f"/projects/{project.id}/users/{user_id}/roles/{self.role(role)}")
        if known is not None and known.project == project:
            roles = tuple(dict.fromkeys((*known.roles, *roles)))
        user = User(user_id, name, password, project, tuple(roles))
        self._users[name] = user
        return user

    def service_user(self, name: str = "octavia", password: str | None = None) -> User:
        """A service's own user, as deployment guides make it: project `service`, roles
        `service` (needed to validate others' tokens) and `admin`."""
        return self.user(name, self.project("service"), "service", "admin", password=password)

    def register_service(self, service_type: str, name: str, url: str) -> str:
        """Put `service_type` in the catalog with public, internal and admin endpoints at `url`
        (an earlier registration of the same type is replaced); the service's id."""
        for old in self.request("GET", f"/services?type={service_type}")["services"]:
            self.request("DELETE", f"/services/{old['id']}")
        service_id = str(self.request("POST", "/services", {"service": {
            "type": service_type, "name": name, "enabled": True}})["service"]["id"])
        for interface in ("public", "internal", "admin"):
            self.request("POST", "/endpoints", {"endpoint": {
                "service_id": service_id, "interface": interface, "url": url,
                "region_id": self.region, "enabled": True}})
        return service_id

    # --- tokens and clients ----------------------------------------------------------------

    def token(self, user: User) -> str:
        """A token scoped to `user.project` (cached for a while)."""
        cached = self._tokens.get(user.id)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "id": user.id, "password": user.password}}},
            "scope": {"project": {"id": user.project.id}}}}
        with httpx.Client(timeout=60) as client:
            r = client.post(f"{self.auth_url}/auth/tokens", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"keystone token for {user.name}: {r.status_code} {r.text[:300]}")
        token = r.headers["X-Subject-Token"]
        self._tokens[user.id] = (token, time.monotonic() + 1800)
        return token

    def session(self, user: User) -> Any:
        """A keystoneauth1 Session authenticating as `user` on its project."""
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        auth = v3.Password(auth_url=self.auth_url, user_id=user.id, password=user.password,
                           project_id=user.project.id)
        return session.Session(auth=auth)

    def authtoken_conf(self, user: User) -> str:
        """A `[keystone_authtoken]` section for keystonemiddleware acting as `user`."""
        return ("[keystone_authtoken]\n"
                f"www_authenticate_uri = {self.auth_url}\n"
                f"auth_url = {self.auth_url}\n"
                "auth_type = password\n"
                f"username = {user.name}\n"
                f"password = {user.password}\n"
                "user_domain_name = Default\n"
                f"project_name = {user.project.name}\n"
                "project_domain_name = Default\n"
                f"region_name = {self.region}\n"
                "service_token_roles_required = true\n")

    def service_auth_conf(self, user: User) -> str:
        """A `[service_auth]` section (Octavia's option names) for `user`."""
        return ("[service_auth]\n"
                f"auth_url = {self.auth_url}\n"
                "auth_type = password\n"
                f"username = {user.name}\n"
                f"password = {user.password}\n"
                "user_domain_name = Default\n"
                f"project_name = {user.project.name}\n"
                "project_domain_name = Default\n")


def _conf(work: Path, database_url: str | None = None) -> str:
    connection = database_url or f"sqlite:///{work / 'keystone.sqlite'}"
    return ("[DEFAULT]\n"
            "debug = false\n"
            "use_stderr = true\n"
            "[database]\n"
            f"connection = {connection}\n"
            "[token]\n"
            "provider = fernet\n"
            "[fernet_tokens]\n"
            f"key_repository = {work / 'fernet-keys'}\n"
            "[fernet_receipts]\n"
            f"key_repository = {work / 'fernet-keys'}\n"
            "[credential]\n"
            f"key_repository = {work / 'credential-keys'}\n"
            "[identity]\n"
            "password_hash_rounds = 4\n"
            "[cache]\n"
            "enabled = false\n")


@contextmanager
def running_keystone(work: Path, database_url: str | None = None) -> Iterator[Keystone]:
    """Build (once per machine) the venv, set up a fresh Keystone in `work`, serve it, yield it,
    stop it. `database_url` (an empty PostgreSQL or MariaDB database, SQLAlchemy URL with the
    driver named, e.g. `postgresql://…` or `mysql+pymysql://…`) instead of SQLite: many clients
    at once then queue on row locks, not on SQLite's one file lock."""
    began = time.monotonic()
    driver = DRIVERS[database_url.split(":", 1)[0]] if database_url else None
    venv = service_venv("keystone", (*REQUIREMENTS, driver) if driver else REQUIREMENTS)
    venv_seconds = time.monotonic() - began
    work.mkdir(parents=True, exist_ok=True)
    conf = work / "keystone.conf"
    conf.write_text(_conf(work, database_url))
    port = free_ports(1)
    url = f"http://127.0.0.1:{port}"
    password = secrets.token_urlsafe(16)
    manage = [bin_path(venv, "keystone-manage"), "--config-file", str(conf)]
    user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    started = time.monotonic()
    with (work / "keystone-manage.log").open("ab") as log:
        for step in (["db_sync"],
                     ["fernet_setup", "--keystone-user", user, "--keystone-group", group],
                     ["credential_setup", "--keystone-user", user, "--keystone-group", group],
                     ["bootstrap", "--bootstrap-password", password,
                      "--bootstrap-admin-url", f"{url}/v3",
                      "--bootstrap-internal-url", f"{url}/v3",
                      "--bootstrap-public-url", f"{url}/v3",
                      "--bootstrap-region-id", REGION]):
            done = subprocess.run([*manage, *step], stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=300, check=False)
            if done.returncode != 0:
                tail = (work / "keystone-manage.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"keystone-manage {step[0]} failed:\n{tail}")
    # Keystone parses the process's command line as its own (oslo.config), which holds
    # gunicorn's arguments: a two-line module in the work directory hides them first.
    (work / "keystone_wsgi.py").write_text(
        "import sys\nsys.argv[1:] = []\nfrom keystone.wsgi.api import application  # noqa\n")
    env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(conf)}
    proc = Proc("keystone", [bin_path(venv, "gunicorn"), "--bind", f"127.0.0.1:{port}",
                             "--workers", "1", "--worker-class", "gthread", "--threads", "4",
                             "--timeout", "120", "--graceful-timeout", "5",
                             "--no-control-socket", "--access-logfile", "-",
                             "--pythonpath", str(work), "keystone_wsgi:application"],
                work / "keystone.log", env=env).start()
    try:
        def answering() -> bool:
            if not proc.alive:
                raise RuntimeError(f"keystone exited:\n{proc.output()[-3000:]}")
            try:
                return httpx.get(f"{url}/v3", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(answering, START_TIMEOUT, "keystone to answer", every=0.2)
        projects = httpx.post(f"{url}/v3/auth/tokens", timeout=60, json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": DEFAULT_DOMAIN}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": DEFAULT_DOMAIN}}}}})
        if projects.status_code != 201:
            raise RuntimeError(f"keystone admin token: {projects.status_code} {projects.text}")
        token = projects.json()["token"]
        admin = User(token["user"]["id"], "admin", password,
                     Project(token["project"]["id"], "admin"), ("admin",))
        keystone = Keystone(url, admin, proc, work, startup_seconds=time.monotonic() - started,
                            venv_seconds=venv_seconds)
        keystone._tokens[admin.id] = (projects.headers["X-Subject-Token"],
                                      time.monotonic() + 1800)
        yield keystone
    finally:
        proc.terminate()
