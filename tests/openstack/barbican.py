"""A real Barbican (PyPI `barbican` 23.x) on loopback, behind the session's real Keystone.

How to use it
-------------

Ask for the session-scoped fixture `barbican` (tests/openstack/fixtures.py); it needs and starts
`keystone` too, registers itself in Keystone's catalog as `key-manager` (region RegionOne,
public/internal/admin at `barbican.url`) and is stopped at the end of the session::

    def test_something(keystone: Keystone, barbican: Barbican) -> None:
        alice = keystone.user("alice-mytest", keystone.project("proj-mytest"), "member")
        client = barbican.client(keystone, alice)    # python-barbicanclient via the catalog
        ref = client.secrets.create(name="x", payload=b"...").store()

What runs
---------

`barbican` and `gunicorn` in a virtualenv of their own (tests/openstack/venvs.py); a config with
the simple_crypto plugin and a KEK generated for this run, its own SQLite database (created on
start, `db_auto_create`), `host_href` at its loopback URL (so secret refs are addresses a client
can use), and keystonemiddleware's auth_token against the Keystone above as the service user
`barbican` (project `service`, roles `service` and `admin`); gunicorn serves Barbican's own paste
pipeline (`barbican-api-keystone` on `/v1`, version discovery on `/`). Barbican reads its
configuration from `~/.barbican/barbican.conf` (it parses no command line), so the process runs with
HOME set to its work directory.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.cluster import Proc, free_ports, wait_for
from tests.openstack.keystone import Keystone, User
from tests.openstack.venvs import bin_path, service_venv

REQUIREMENTS = ("barbican>=23,<24", "gunicorn>=23")
START_TIMEOUT = 180.0


@dataclass
class Barbican:
    """A running Barbican: `url` is its endpoint (version discovery at `/`, API at `/v1`)."""

    url: str
    service_user: User
    proc: Proc
    workdir: Path
    startup_seconds: float = 0.0
    venv_seconds: float = 0.0

    def client(self, keystone: Keystone, user: User) -> Any:
        """A python-barbicanclient Client acting as `user`, finding Barbican in the catalog."""
        from barbicanclient import client

        return client.Client(session=keystone.session(user), region_name=keystone.region)


def _conf(work: Path, url: str, keystone: Keystone, user: User) -> str:
    kek = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
    return ("[DEFAULT]\n"
            f"host_href = {url}\n"
            "db_auto_create = true\n"
            "debug = false\n"
            "use_stderr = true\n"
            "[database]\n"
            f"connection = sqlite:///{work / 'barbican.sqlite'}\n"
            "[secretstore]\n"
            "enabled_secretstore_plugins = store_crypto\n"
            "[crypto]\n"
            "enabled_crypto_plugins = simple_crypto\n"
            "[simple_crypto_plugin]\n"
            f"kek = {kek}\n"
            + keystone.authtoken_conf(user))


@contextmanager
def running_barbican(work: Path, keystone: Keystone) -> Iterator[Barbican]:
    """Build (once per machine) the venv, configure a fresh Barbican in `work` against
    `keystone`, serve it, put it in the catalog, yield it, stop it."""
    began = time.monotonic()
    venv = service_venv("barbican", REQUIREMENTS)
    venv_seconds = time.monotonic() - began
    started = time.monotonic()
    work.mkdir(parents=True, exist_ok=True)
    home = work / "home"
    (home / ".barbican").mkdir(parents=True, exist_ok=True)
    port = free_ports(1)
    url = f"http://127.0.0.1:{port}"
    user = keystone.service_user("barbican")
    (home / ".barbican" / "barbican.conf").write_text(_conf(work, url, keystone, user))
    # Barbican's own pipeline file, as its package ships it; loaded from here instead of /etc.
    paste = work / "barbican-api-paste.ini"
    shutil.copyfile(venv / "etc" / "barbican" / "barbican-api-paste.ini", paste)
    (work / "barbican_wsgi.py").write_text(
        "import sys\nsys.argv[1:] = []\nfrom paste import deploy\n"
        f"application = deploy.loadapp('config:{paste}')\n")
    env = {**os.environ, "HOME": str(home)}
    proc = Proc("barbican", [bin_path(venv, "gunicorn"), "--bind", f"127.0.0.1:{port}",
                             "--workers", "1", "--worker-class", "gthread", "--threads", "4",
                             "--timeout", "120", "--graceful-timeout", "5",
                             "--no-control-socket", "--access-logfile", "-",
                             "--pythonpath", str(work), "barbican_wsgi:application"],
                work / "barbican.log", env=env).start()
    try:
        def answering() -> bool:
            if not proc.alive:
                raise RuntimeError(f"barbican exited:\n{proc.output()[-3000:]}")
            try:
                return httpx.get(f"{url}/", timeout=5).status_code in (200, 300)
            except httpx.HTTPError:
                return False

        wait_for(answering, START_TIMEOUT, "barbican to answer", every=0.2)
        keystone.register_service("key-manager", "barbican", url)
        yield Barbican(url, user, proc, work, startup_seconds=time.monotonic() - started,
                       venv_seconds=venv_seconds)
    finally:
        proc.terminate()
