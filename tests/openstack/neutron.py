"""A real Neutron (PyPI `neutron` 29.x) on loopback, behind the session's real Keystone.

How to use it
-------------

Ask for the session-scoped fixture `neutron` (tests/openstack/fixtures.py). It is parametrized
over Neutron's own database, `postgresql` and `mariadb` (ids `neutron-postgresql`,
`neutron-mariadb`): a test that asks for it runs once per database, and pytest keeps one Neutron
at a time (the first is stopped before the second starts). It registers itself in Keystone's
catalog as `network` (region RegionOne, public/internal/admin at `neutron.url`)::

    def test_something(keystone: Keystone, neutron: Neutron) -> None:
        admin = neutron.service_user                    # project `service`, admin role
        net = neutron.request(admin, "POST", "/v2.0/networks", {"network": {
            "name": "n1", "provider:network_type": "vlan",
            "provider:physical_network": "physnet1", "provider:segmentation_id": 120}})

`neutron.db_kind` says which database it runs on (tests put their own database on the same kind).

What runs
---------

`neutron` and `gunicorn` in a virtualenv of their own (tests/openstack/venvs.py). A fresh
database per Neutron (tests/databases.py `fresh_database`): on MariaDB migrated with Neutron's own
`neutron-db-manage upgrade heads`; on PostgreSQL, where Neutron's newer migrations no longer run
(MySQL-only `ALTER TABLE ... CONVERT TO CHARACTER SET`), built from Neutron's models
(`neutron.db.migration.models.head`, what its migration tests compare against) and stamped with
`neutron-db-manage stamp heads`. The ML2 plugin with the type drivers flat, vlan and vxlan
(tenant networks vxlan, VNIs 1000:1999; VLANs physnet1:100:199; any flat physical network) and no
mechanism driver at all: nothing binds ports (no agents run here), so ports stay unbound and
their `binding:host_id` is whatever the caller set. No service plugins (no routers, no
segments plugin). keystonemiddleware's auth_token validates tokens against the Keystone above as
the service user `neutron` (project `service`, roles `service` and `admin`). Notifications to
Nova are off; the oslo.messaging transport is the machine's RabbitMQ (Neutron's ML2 casts its
agent notifications there; no agent listens).

The API is Neutron's WSGI application (`neutron.wsgi.api:application`, as its uWSGI deployment
serves it) under gunicorn, one gthread worker: the WSGI entry point starts no RPC workers, which
nothing here needs. Neutron reads its files from `OS_NEUTRON_CONFIG_DIR` /
`OS_NEUTRON_CONFIG_FILES`, and parses the process's command line as its own, so a two-line module
hides gunicorn's arguments (as tests/openstack/keystone.py does for Keystone). The logs stay in
the work directory: `neutron-db-manage.log` (migration) and `neutron.log` (the server, with
gunicorn's access log); a start that fails names them with their tail.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.cluster import Proc, free_ports, wait_for
from tests.databases import fresh_database
from tests.openstack.keystone import Keystone, User
from tests.openstack.venvs import bin_path, service_venv

REQUIREMENTS = ("neutron==29.0.0", "gunicorn>=23", "pymysql>=1.1", "psycopg2-binary>=2.9")
START_TIMEOUT = 240.0
MIGRATE_TIMEOUT = 900.0
PHYSNET = "physnet1"
VLAN_RANGE = (100, 199)
VNI_RANGE = (1000, 1999)
TRANSPORT_URL = "rabbit://guest:guest@127.0.0.1:5672/"

# Neutron's newer migrations are MySQL-only (`ALTER TABLE ... CONVERT TO CHARACTER SET utf8mb4`),
# so on PostgreSQL the schema is built from Neutron's models (the metadata its migration tests
# compare the migrations with, neutron/db/migration/models/head.py), then stamped at heads.
MODELS_SCHEMA = """\
import sys
from sqlalchemy import create_engine
from neutron.db.migration.models import head

engine = create_engine(sys.argv[1])
head.get_metadata().create_all(engine)
engine.dispose()
"""

WSGI_MODULE = "import sys\nsys.argv[1:] = []\nfrom neutron.wsgi.api import application  # noqa\n"


@dataclass
class Neutron:
    """A running Neutron: `url` is its endpoint (version discovery at `/`, API at `/v2.0`)."""

    url: str
    keystone: Keystone
    service_user: User
    db_kind: str
    db_url: str
    proc: Proc
    workdir: Path
    timings: dict[str, float] = field(default_factory=dict)

    def request(self, user: User, method: str, path: str, json: dict[str, Any] | None = None,
                expect: tuple[int, ...] = (200, 201, 204)) -> dict[str, Any]:
        """Call Neutron's API (`path` from `/v2.0`) with `user`'s token; the JSON answer."""
        with httpx.Client(timeout=60) as client:
            r = client.request(method, f"{self.url}{path}", json=json,
                               headers={"X-Auth-Token": self.keystone.token(user)})
        if r.status_code not in expect:
            raise RuntimeError(f"neutron {method} {path}: {r.status_code} {r.text[:500]}")
        return dict(r.json()) if r.content else {}

    def ports(self, user: User, **query: str) -> list[dict[str, Any]]:
        """`GET /v2.0/ports` filtered by `query` (as `user` sees them)."""
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return list(self.request(user, "GET", f"/v2.0/ports?{qs}")["ports"])


def _ini(sections: dict[str, dict[str, str]]) -> str:
    out: list[str] = []
    for name, values in sections.items():
        out.append(f"[{name}]")
        out += [f"{k} = {v}" for k, v in values.items()]
        out.append("")
    return "\n".join(out)


def _db_url(kind: str, url: str) -> str:
    """Neutron (oslo.db) speaks PyMySQL and psycopg2: the drivers its venv has."""
    if kind == "postgresql":
        return url.replace("postgresql+psycopg://", "postgresql+psycopg2://", 1)
    return url.replace("mysql+mysqldb://", "mysql+pymysql://", 1).replace(
        "mariadb+pymysql://", "mysql+pymysql://", 1)


def _conf(work: Path, venv: Path, db_url: str) -> str:
    paste = next((venv / "etc" / "neutron").glob("api-paste.ini"), None)
    if paste is None:
        raise RuntimeError(f"no api-paste.ini under {venv / 'etc' / 'neutron'}")
    return _ini({
        "DEFAULT": {
            "core_plugin": "ml2",
            "service_plugins": "",
            "auth_strategy": "keystone",
            "transport_url": TRANSPORT_URL,
            "api_paste_config": str(paste),
            "state_path": str(work / "state"),
            "debug": "false",
            "use_stderr": "true",
            "notify_nova_on_port_status_changes": "false",
            "notify_nova_on_port_data_changes": "false",
            "api_workers": "1",
            "rpc_workers": "0",
            "rpc_state_report_workers": "0",
        },
        "database": {"connection": db_url},
        "oslo_concurrency": {"lock_path": str(work / "lock")},
        "agent": {"report_interval": "0"},
    })


def _ml2_conf() -> str:
    return _ini({
        "ml2": {"type_drivers": "flat,vlan,vxlan", "tenant_network_types": "vxlan",
                "mechanism_drivers": "", "extension_drivers": ""},
        "ml2_type_flat": {"flat_networks": "*"},
        "ml2_type_vlan": {"network_vlan_ranges": f"{PHYSNET}:{VLAN_RANGE[0]}:{VLAN_RANGE[1]}"},
        "ml2_type_vxlan": {"vni_ranges": f"{VNI_RANGE[0]}:{VNI_RANGE[1]}"},
    })


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


@contextmanager
def running_neutron(work: Path, keystone: Keystone, db_kind: str = "mariadb") -> Iterator[Neutron]:
    """Build (once per machine) the venv, migrate a fresh database of `db_kind`, serve Neutron
    against `keystone`, put it in the catalog, yield it, stop it and drop the database."""
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    venv = service_venv("neutron", REQUIREMENTS)
    timings["venv_s"] = time.monotonic() - t0
    work.mkdir(parents=True, exist_ok=True)
    for sub in ("state", "lock"):
        (work / sub).mkdir(exist_ok=True)
    with ExitStack() as stack:
        db_url = _db_url(db_kind, stack.enter_context(fresh_database(db_kind, work)))
        user = keystone.service_user("neutron")
        conf, ml2 = work / "neutron.conf", work / "ml2_conf.ini"
        conf.write_text(_conf(work, venv, db_url) + keystone.authtoken_conf(user))
        ml2.write_text(_ml2_conf())
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OS_NEUTRON_CONFIG_DIR": str(work),
               "OS_NEUTRON_CONFIG_FILES": "neutron.conf;ml2_conf.ini"}
        env.pop("VIRTUAL_ENV", None)
        t0 = time.monotonic()
        log = work / "neutron-db-manage.log"
        manage = [bin_path(venv, "neutron-db-manage"), "--config-file", str(conf),
                  "--config-file", str(ml2)]
        steps = [[*manage, "upgrade", "heads"]]
        if db_kind == "postgresql":
            steps = [[bin_path(venv, "python"), "-c", MODELS_SCHEMA, db_url],
                     [*manage, "stamp", "heads"]]
        for step in steps:
            with log.open("ab") as out:
                done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env,
                                      timeout=MIGRATE_TIMEOUT, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"Neutron's schema could not be built on {db_kind} "
                                   f"({' '.join(step[-2:])}; see {log}):\n{_tail(log)}")
        timings["db_upgrade_s"] = time.monotonic() - t0
        (work / "neutron_wsgi.py").write_text(WSGI_MODULE)
        port = free_ports(1)
        url = f"http://127.0.0.1:{port}"
        proc = Proc("neutron", [bin_path(venv, "gunicorn"), "--bind", f"127.0.0.1:{port}",
                                "--workers", "1", "--worker-class", "gthread", "--threads", "4",
                                "--timeout", "120", "--graceful-timeout", "5",
                                "--no-control-socket", "--access-logfile", "-",
                                "--pythonpath", str(work), "neutron_wsgi:application"],
                    work / "neutron.log", env=env)
        stack.callback(proc.terminate)
        t0 = time.monotonic()
        proc.start()

        def answering() -> bool:
            if not proc.alive:
                raise RuntimeError(f"neutron exited (see {proc.log}):\n{_tail(proc.log)}")
            try:
                return httpx.get(f"{url}/", timeout=5).status_code in (200, 300)
            except httpx.HTTPError:
                return False

        try:
            wait_for(answering, START_TIMEOUT, "neutron to answer", every=0.3)
        except TimeoutError as err:
            raise RuntimeError(f"{err}; see {proc.log}:\n{_tail(proc.log)}") from None
        timings["api_start_s"] = time.monotonic() - t0
        keystone.register_service("network", "neutron", url)
        yield Neutron(url, keystone, user, db_kind, db_url, proc, work, timings)
