"""The real `bigip-lbaas api` process with `auth_strategy = keystone` (keystonemiddleware's
auth_token) against the session's real Keystone (tests/openstack/keystone.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Proc, free_ports, port_open, wait_for
from tests.openstack.keystone import Keystone, User


@dataclass
class KeystoneApi:
    url: str
    keystone: Keystone
    service_user: User  # what auth_token authenticates as
    proc: Proc

    def client(self, user: User | None = None, token: str | None = None,
               **headers: str) -> httpx.Client:
        """A client sending `user`'s token, or `token` as it is (neither: anonymous)."""
        if user is not None:
            token = self.keystone.token(user)
        if token is not None:
            headers["X-Auth-Token"] = token
        return httpx.Client(base_url=self.url, timeout=30, headers=headers)


@contextmanager
def keystone_api(keystone: Keystone, db_url: str, work: Path, extra_conf: str = "",
                 *argv: str) -> Iterator[KeystoneApi]:
    """Start the API on a migrated `db_url`, authenticating tokens with `keystone` as its own
    service user `octavia`; `extra_conf` is appended to the API's config, `argv` to its
    command."""
    db = Database(db_url)
    try:
        schema.upgrade(db)
    finally:
        db.dispose()
    service = keystone.service_user("octavia")
    port = free_ports(1)
    conf = work / "api.conf"
    conf.write_text(
        "[database]\n"
        f"connection = {db_url}\n"
        "[api_settings]\n"
        "bind_host = 127.0.0.1\n"
        f"bind_port = {port}\n"
        "auth_strategy = keystone\n"
        + keystone.authtoken_conf(service)
        + extra_conf
    )
    proc = Proc("api", [PY, "-m", "bigip_lbaas.cli", "api", *argv, "--config-file", str(conf)],
                work / "api.log").start()
    try:
        wait_for(lambda: port_open(port) or not proc.alive, 30, "API port")
        assert proc.alive, proc.output()
        yield KeystoneApi(f"http://127.0.0.1:{port}", keystone, service, proc)
    finally:
        proc.terminate()
