"""A real Octavia (PyPI `octavia` 19.x) on this machine: its API under gunicorn and its driver agent.

How to use it
-------------
In a test, take the session-scoped fixture `octavia` (add `from tests.openstack.octavia import
octavia  # noqa: F401` to the test module or a conftest): one Octavia per test session, on a
fresh MariaDB database, with the `bigip` provider (this checkout, installed with its `[octavia]`
extra into Octavia's virtualenv) and Octavia's `noop_driver` enabled, `noauth`.

Anywhere else (a benchmark, a script), call the plain function:

    with octavia_service(workdir, providers={"noop_driver": "no-op"},
                         default_provider="noop_driver", workers=2) as o:
        httpx.post(o.url + "/v2/lbaas/loadbalancers", json=...)

`octavia_service` yields an `Octavia`: `url` (the API's root), `conf` (octavia.conf),
`status_socket`/`stats_socket`/`get_socket` (the driver agent's sockets, in a short temporary
directory), `venv`, `db_url` (Octavia's own database), the two `Proc`s (`api`, `driver_agent`)
and `timings` (seconds: venv, database migration, API start, driver agent start). Everything is
stopped and the database dropped when the block ends.

- The virtualenv comes from `tests/openstack/venvs.py` `service_venv` (built once per machine).
  `extra_requirements` are more pip arguments for it; `checkout_requirements(path)` gives those
  that install a checkout of this project with its `[octavia]` extra (editable, so the driver's
  code is the checkout's; the extra's requirements are spelled out so that changing them
  rebuilds the venv).
- The database: a fresh one per call (MariaDB by default, `db_kind="postgresql"` possible),
  migrated with `octavia-db-manage upgrade head`. `db_kind="sqlite"` or `"postgresql"`:
  Octavia's migrations run on MySQL/MariaDB only, so there the schema is built from its models
  as its own functional tests do (`MODELS_SCHEMA`).
- The API: `octavia.api.app.setup_app` served by gunicorn from the venv (`workers`), on a free
  loopback port. `auth_strategy = noauth` by default: Octavia then treats every caller as admin,
  and requests without `X-Project-Id` get `project_id` as their project (as keystonemiddleware
  would give one), so `openstack --os-auth-type none --os-endpoint <url> loadbalancer create`
  works without `--project`. `auth_strategy="keystone"` with `extra_conf={"keystone_authtoken":
  {...}}` runs it behind a real Keystone instead.
- `providers` is `[api_settings] enabled_provider_drivers` (name -> description), and
  `default_provider` its `default_provider_driver`. Network, compute and amphora drivers are
  Octavia's no-op ones (no Neutron, Nova or amphorae here): VIPs are taken as given.
- `extra_conf` adds or overrides sections of octavia.conf, e.g. `{"bigip_lbaas": {"config_file":
  "/path/bigip-lbaas.conf"}}` for the bigip provider.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import tomllib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.cluster import Proc, free_ports, wait_for
from tests.databases import fresh_database
from tests.openstack.venvs import bin_path, service_venv

OCTAVIA = "octavia==19.0.0"
BASE_REQUIREMENTS = (OCTAVIA, "gunicorn>=21", "pymysql>=1.1", "psycopg2-binary>=2.9")
CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_PROJECT = "octavia-test-project"
START_TIMEOUT = 120.0

# The WSGI module gunicorn serves: Octavia's app with this config file, behind a small filter
# that gives requests without a project (noauth) the default one.
WSGI_MODULE = '''\
from octavia.api import app as _app

_inner = _app.setup_app(argv=["octavia-api", "--config-file", {conf!r}])
_project = {project!r}


def application(environ, start_response):
    if _project and not environ.get("HTTP_X_PROJECT_ID"):
        environ["HTTP_X_PROJECT_ID"] = _project
    return _inner(environ, start_response)
'''


# Octavia's alembic migrations run on MySQL/MariaDB only: on SQLite they ALTER constraints, on
# PostgreSQL they drop MySQL's constraint name "PRIMARY". Its own functional tests build the
# schema from its models instead and seed the lookup tables; this does the same
# (octavia/tests/functional/db/base.py, OctaviaDBTestBase.setUp and _seed_lookup_tables), run by
# the venv's Python with the database URL as argument.
MODELS_SCHEMA = '''\
import sys
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from octavia.common import constants as c
from octavia.db import base_models, models as m

engine = create_engine(sys.argv[1])
base_models.BASE.metadata.create_all(engine)
with Session(engine) as s, s.begin():
    for names, model in ((c.SUPPORTED_PROVISIONING_STATUSES, m.ProvisioningStatus),
                         (c.SUPPORTED_HEALTH_MONITOR_TYPES, m.HealthMonitorType),
                         (c.SUPPORTED_LB_ALGORITHMS, m.Algorithm),
                         (c.SUPPORTED_PROTOCOLS, m.Protocol),
                         (c.SUPPORTED_OPERATING_STATUSES, m.OperatingStatus),
                         (c.SUPPORTED_SP_TYPES, m.SessionPersistenceType),
                         (c.SUPPORTED_AMPHORA_ROLES, m.AmphoraRoles),
                         (c.SUPPORTED_LB_TOPOLOGIES, m.LBTopology),
                         (c.SUPPORTED_VRRP_AUTH, m.VRRPAuthMethod),
                         (c.SUPPORTED_L7RULE_TYPES, m.L7RuleType),
                         (c.SUPPORTED_L7RULE_COMPARE_TYPES, m.L7RuleCompareType),
                         (c.SUPPORTED_L7POLICY_ACTIONS, m.L7PolicyAction),
                         (c.SUPPORTED_CLIENT_AUTH_MODES, m.ClientAuthenticationMode)):
        s.add_all(model(name=name) for name in names)
    s.add(m.FlavorProfile(id=c.NIL_UUID, name="DELETED-PLACEHOLDER", provider_name=c.DELETED,
                          flavor_data="{}"))
    s.flush()
    s.add(m.Flavor(id=c.NIL_UUID, flavor_profile_id=c.NIL_UUID, name="DELETED-PLACEHOLDER",
                   enabled=False, description="Placeholder for DELETED LBs with DELETED flavors"))
    s.add(m.AvailabilityZoneProfile(id=c.NIL_UUID, name="DELETED-PLACEHOLDER",
                                    provider_name=c.DELETED, availability_zone_data="{}"))
    s.flush()
    s.add(m.AvailabilityZone(availability_zone_profile_id=c.NIL_UUID, name=c.NIL_UUID,
                             enabled=False, description="Placeholder for DELETED LBs with "
                             "DELETED availability zones"))
'''


def checkout_requirements(checkout: Path = CHECKOUT) -> list[str]:
    """pip arguments installing `checkout` (editable) with its `[octavia]` extra, preceded by
    the extra's and the base install's requirements as written in its pyproject.toml."""
    project = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]
    extra = project.get("optional-dependencies", {}).get("octavia", [])
    return [*project["dependencies"], *extra, "-e", f"{checkout}[octavia]"]


@dataclass
class Octavia:
    url: str
    conf: Path
    venv: Path
    db_url: str
    status_socket: str
    stats_socket: str
    get_socket: str
    api: Proc
    driver_agent: Proc
    project_id: str
    timings: dict[str, float] = field(default_factory=dict)

    def restart_driver_agent(self) -> None:
        """kill -9 the driver agent and start it again (its sockets are re-created)."""
        self.driver_agent.kill9()
        for path in (self.status_socket, self.stats_socket, self.get_socket):
            Path(path).unlink(missing_ok=True)
        self.driver_agent.start()
        _wait_sockets(self)


def _ini(sections: Mapping[str, Mapping[str, str]]) -> str:
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {v}" for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def _conf(*, port: int, db_url: str, sockets: Path, providers: Mapping[str, str],
          default_provider: str, auth_strategy: str,
          extra_conf: Mapping[str, Mapping[str, str]]) -> str:
    sections: dict[str, dict[str, str]] = {
        "DEFAULT": {"debug": "false",
                    "transport_url": "rabbit://guest:guest@127.0.0.1:5672/"},
        "api_settings": {
            "bind_host": "127.0.0.1", "bind_port": str(port),
            "auth_strategy": auth_strategy,
            "enabled_provider_drivers": ", ".join(f"{k}: {v.replace(',', ' ')}"
                                                  for k, v in providers.items()),
            "default_provider_driver": default_provider,
        },
        "database": {"connection": db_url},
        "controller_worker": {"network_driver": "network_noop_driver",
                              "compute_driver": "compute_noop_driver",
                              "amphora_driver": "amphora_noop_driver"},
        "certificates": {"cert_manager": "noop_cert_manager"},
        "driver_agent": {"status_socket_path": str(sockets / "status.sock"),
                         "stats_socket_path": str(sockets / "stats.sock"),
                         "get_socket_path": str(sockets / "get.sock"),
                         "enabled_provider_agents": ""},
        "oslo_messaging": {"topic": f"octavia_prov_{uuid.uuid4().hex[:8]}"},
    }
    for name, values in extra_conf.items():
        sections.setdefault(name, {}).update(values)
    return _ini(sections)


def _wait_sockets(o: Octavia) -> None:
    def ready() -> bool:
        if not o.driver_agent.alive:
            raise RuntimeError(f"octavia-driver-agent exited:\n{o.driver_agent.output()[-3000:]}")
        return all(Path(p).exists() for p in (o.status_socket, o.stats_socket, o.get_socket))

    wait_for(ready, START_TIMEOUT, "octavia-driver-agent sockets")


@contextmanager
def octavia_service(workdir: Path, *, providers: Mapping[str, str] | None = None,
                    default_provider: str | None = None, workers: int = 1,
                    auth_strategy: str = "noauth", db_kind: str = "mariadb",
                    extra_requirements: Sequence[str] = (),
                    extra_conf: Mapping[str, Mapping[str, str]] | None = None,
                    project_id: str = DEFAULT_PROJECT) -> Iterator[Octavia]:
    """A running Octavia API (gunicorn, `workers`) and driver agent; see the module docstring."""
    providers = dict(providers or {"noop_driver": "The Octavia no-op provider driver"})
    default_provider = default_provider or next(iter(providers))
    workdir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    venv = service_venv("octavia", [*BASE_REQUIREMENTS, *extra_requirements])
    timings["venv_s"] = time.monotonic() - t0
    with ExitStack() as stack:
        db_url = stack.enter_context(fresh_database(db_kind, workdir))
        if db_kind == "postgresql":
            db_url = db_url.replace("postgresql+psycopg://", "postgresql+psycopg2://")
        # Unix socket paths must stay short (108 bytes): a directory of their own under /tmp.
        sockets = Path(tempfile.mkdtemp(prefix="octsock-"))
        stack.callback(shutil.rmtree, sockets, ignore_errors=True)
        port = free_ports(1)
        conf = workdir / "octavia.conf"
        extra = {name: dict(values) for name, values in (extra_conf or {}).items()}
        if db_kind == "sqlite":
            # As Octavia's functional tests do: SQLAlchemy 2 refuses pool_timeout with SQLite.
            extra.setdefault("database", {}).setdefault("pool_timeout", "")
        conf.write_text(_conf(port=port, db_url=db_url, sockets=sockets, providers=providers,
                              default_provider=default_provider, auth_strategy=auth_strategy,
                              extra_conf=extra))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("VIRTUAL_ENV", None)
        t0 = time.monotonic()
        migrate = [bin_path(venv, "octavia-db-manage"), "--config-file", str(conf), "upgrade",
                   "head"]
        if db_kind != "mariadb":  # no migrations there: the schema as Octavia's tests build it
            migrate = [bin_path(venv, "python"), "-c", MODELS_SCHEMA, db_url]
        done = subprocess.run(migrate, capture_output=True, text=True, env=env,
                              timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"Octavia's schema could not be created ({' '.join(migrate[1:2])}):"
                               f"\n{(done.stderr or done.stdout)[-3000:]}")
        timings["db_upgrade_s"] = time.monotonic() - t0
        wsgi_dir = workdir / "wsgi"
        wsgi_dir.mkdir(exist_ok=True)
        noauth_project = project_id if auth_strategy == "noauth" else ""
        (wsgi_dir / "octavia_wsgi.py").write_text(
            WSGI_MODULE.format(conf=str(conf), project=noauth_project))
        api = Proc("octavia-api", [bin_path(venv, "gunicorn"), "--workers", str(workers),
                                   "--bind", f"127.0.0.1:{port}", "--timeout", "120",
                                   "--chdir", str(wsgi_dir), "octavia_wsgi:application"],
                   workdir / "octavia-api.log", env=env)
        agent = Proc("octavia-driver-agent", [bin_path(venv, "octavia-driver-agent"),
                                              "--config-file", str(conf)],
                     workdir / "octavia-driver-agent.log", env=env)
        o = Octavia(url=f"http://127.0.0.1:{port}", conf=conf, venv=venv, db_url=db_url,
                    status_socket=str(sockets / "status.sock"),
                    stats_socket=str(sockets / "stats.sock"),
                    get_socket=str(sockets / "get.sock"), api=api, driver_agent=agent,
                    project_id=project_id, timings=timings)
        stack.callback(agent.terminate)
        stack.callback(api.terminate)
        t0 = time.monotonic()
        api.start()
        agent.start()

        def api_up() -> bool:
            if not api.alive:
                raise RuntimeError(f"the Octavia API exited:\n{api.output()[-3000:]}")
            try:
                return httpx.get(o.url + "/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(api_up, START_TIMEOUT, "the Octavia API", every=0.2)
        timings["api_start_s"] = time.monotonic() - t0
        _wait_sockets(o)
        timings["driver_agent_start_s"] = time.monotonic() - t0
        yield o


@pytest.fixture(scope="session")
def bigip_lbaas_conf() -> Path | None:
    """The bigip-lbaas config file the session's Octavia names in `[bigip_lbaas] config_file`;
    None (the default) enables only Octavia's noop_driver. Override it (session-scoped) to
    enable the `bigip` provider: Octavia loads its drivers once, at start-up, so the file must
    be written before Octavia starts."""
    return None


@pytest.fixture(scope="session")
def octavia(tmp_path_factory: pytest.TempPathFactory,
            bigip_lbaas_conf: Path | None) -> Iterator[Octavia]:
    """One Octavia for the session, `noauth`: with `bigip_lbaas_conf`, providers `bigip` (this
    checkout, the default) and `noop_driver`; without, `noop_driver` alone."""
    workdir = tmp_path_factory.mktemp("octavia")
    providers = {"noop_driver": "The Octavia no-op provider driver"}
    extra_conf: dict[str, dict[str, str]] = {}
    if bigip_lbaas_conf is not None:
        providers = {"bigip": "F5 BIG-IP through bigip-lbaas", **providers}
        extra_conf["bigip_lbaas"] = {"config_file": str(bigip_lbaas_conf)}
    with octavia_service(workdir, providers=providers, default_provider=next(iter(providers)),
                         extra_requirements=checkout_requirements(),
                         extra_conf=extra_conf) as o:
        yield o
