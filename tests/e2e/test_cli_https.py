"""The API over HTTPS: the real `bigip-lbaas api` process with `[api_settings] cert_file` and
`key_file` (a CA and a server certificate made for the test), driven by the real `openstack` CLI
with `--os-cacert`; version documents link to https://."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from bigip_lbaas.sim.tls import TlsFiles, generate
from tests.cluster import PY, Proc, free_ports, port_open, wait_for
from tests.e2e.test_openstack_cli import OPENSTACK


@dataclass
class Served:
    url: str
    tls: TlsFiles
    db_url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not OPENSTACK.exists():
        pytest.skip(f"{OPENSTACK} is not installed")
    work = tmp_path_factory.mktemp("https")
    tls = generate(work / "tls", "api")
    db_url = f"sqlite:///{work / 'api.sqlite'}"
    db = Database(db_url)
    try:
        schema.upgrade(db)
    finally:
        db.dispose()
    port = free_ports(1)
    conf = work / "api.conf"
    conf.write_text(f"[database]\nconnection = {db_url}\n[api_settings]\n"
                    f"bind_host = 127.0.0.1\nbind_port = {port}\nauth_strategy = noauth\n"
                    "refuse_unserved = false\n"  # no agent: the API alone is under test
                    f"cert_file = {tls.cert_file}\nkey_file = {tls.key_file}\n")
    proc = Proc("api", [PY, "-m", "bigip_lbaas.cli", "api", "--config-file", str(conf)],
                work / "api.log").start()
    try:
        wait_for(lambda: port_open(port) or not proc.alive, 30, "API port")
        assert proc.alive, proc.output()
        yield Served(f"https://127.0.0.1:{port}", tls, db_url)
    finally:
        proc.terminate()


def osc(served: Served, tmp_path: Path, *args: str, cacert: bool = True,
        ok: bool = True) -> Any:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OS_") and k not in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    env["HOME"] = str(tmp_path)
    trust = ["--os-cacert", str(served.tls.ca_file)] if cacert else []
    cmd = [str(OPENSTACK), *trust, "--os-auth-type", "none", "--os-endpoint", served.url, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    if not ok:
        assert done.returncode != 0, done.stdout
        return done.stderr
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if "-f" in args and done.stdout.strip() else done.stdout


def test_version_documents_link_to_https(served: Served) -> None:
    with httpx.Client(base_url=served.url, verify=ssl.create_default_context(
            cafile=str(served.tls.ca_file))) as client:
        root = client.get("/")
        assert root.status_code == 200
        links = [link["href"] for v in root.json()["versions"] for link in v["links"]]
        assert links and all(h == f"{served.url}/v2" for h in links), links
        assert client.get("/v2").json()["version"]["links"][0]["href"] == f"{served.url}/v2"
        assert client.get("/healthcheck").json() == {"status": "OK"}
    # Plain HTTP is not served on the HTTPS port.
    with pytest.raises(httpx.HTTPError):
        httpx.get(served.url.replace("https://", "http://") + "/", timeout=5)


def test_cli_over_https_with_os_cacert(served: Served, tmp_path: Path) -> None:
    osc(served, tmp_path, "network", "create", "tls-net", "-f", "json")
    sub = osc(served, tmp_path, "subnet", "create", "--network", "tls-net", "--subnet-range",
              "10.81.0.0/24", "tls-sub", "-f", "json")
    assert sub["cidr"] == "10.81.0.0/24"
    lb = osc(served, tmp_path, "loadbalancer", "create", "--vip-subnet-id", "tls-sub", "--name",
             "tls-lb", "-f", "json")
    assert lb["provisioning_status"] == "PENDING_CREATE"
    listed = osc(served, tmp_path, "loadbalancer", "list", "-f", "json")
    assert [x["name"] for x in listed] == ["tls-lb"]
    # Without the CA the client does not trust the server (keystoneauth reports the failed
    # handshake as a failed discovery): it is really TLS, really verified.
    err = osc(served, tmp_path, "loadbalancer", "list", cacert=False, ok=False)
    assert any(w in err for w in ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed",
                                  "Unable to find a version discovery document")), err
