"""TLS termination end to end, on each database: the real simulator pair, API and two agents as
processes; secrets stored in the built-in store with python-barbicanclient; the load balancer,
TERMINATED_HTTPS listener (a default and two SNI certificates, client authentication MANDATORY
with a CA and a CRL) and a pool re-encrypting with CA validation made with the real `openstack`
CLI. Everything goes ACTIVE and every device holds exactly the stored certificates (by
fingerprint); the owner is killed and its successor, fetching the secrets itself, rotates the
default certificate; a delete leaves no TLS object; no agent or API log holds key material."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bigip_lbaas.core.certs import generate_storage_key
from tests.cluster import Cluster, wait_for
from tests.pki import Pki, fingerprint

OPENSTACK = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "openstack"
PROJECT = "admin"  # the project noauth requests without X-Project-Id land in
PART = f"Project_{PROJECT}"
TLS_COLLECTIONS = ("sys/file/ssl-cert", "sys/file/ssl-key", "sys/file/ssl-crl",
                   "ltm/profile/client-ssl", "ltm/profile/server-ssl")


@pytest.fixture
def cluster(db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    if not OPENSTACK.exists():
        pytest.skip(f"{OPENSTACK} is not installed")
    pytest.importorskip("barbicanclient")
    key_file = tmp_path / "storage.key"
    key_file.write_text(generate_storage_key() + "\n")
    c = Cluster(tmp_path, db_url, devices=2,
                extra_conf=f"[certificates]\nstorage_key_file = {key_file}\n")
    try:
        c.start(agents=("h1", "h2"))
        yield c
    finally:
        c.close()


def osc(c: Cluster, home: Path, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(home)
    cmd = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint", c.api_url, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if "-f" in args and done.stdout.strip() else done.stdout


def store(c: Cluster, payload: bytes, name: str) -> str:
    from barbicanclient import client

    bc = client.Client(endpoint=f"{c.api_url}/key-manager", project_id=PROJECT)
    return str(bc.secrets.create(name=name, payload=payload).store())  # type: ignore[attr-defined]


def lb_status(c: Cluster, home: Path, lb: str) -> str:
    return str(osc(c, home, "loadbalancer", "show", lb, "-f", "json")["provisioning_status"])


def wait_active(c: Cluster, home: Path, lb: str) -> None:
    status = wait_for(lambda: (s := lb_status(c, home, lb)) in ("ACTIVE", "ERROR") and s, 90,
                      f"{lb} to leave PENDING")
    assert status == "ACTIVE", status


def fingerprints(c: Cluster, dev: int) -> set[str]:
    return {str(x["fingerprint"]) for x in c.device_objects(dev, "sys/file/ssl-cert", PART)}


def test_tls_listener_lifecycle_failover_and_logs(cluster: Cluster, tmp_path: Path) -> None:
    c, home = cluster, tmp_path / "home"
    home.mkdir()
    pki = Pki()
    bundles = {n: pki.pkcs12(f"{n}.example.com") for n in ("www", "a", "b", "rotated")}
    refs = {n: store(c, b[0], n) for n, b in bundles.items()}
    ca_ref, crl_ref = store(c, pki.ca_pem, "ca"), store(c, pki.crl_pem(), "crl")

    osc(c, home, "network", "create", "tls-net", "-f", "json")
    osc(c, home, "subnet", "create", "--network", "tls-net", "--subnet-range", "10.90.0.0/24",
        "tls-sub", "-f", "json")
    lb = osc(c, home, "loadbalancer", "create", "--vip-subnet-id", "tls-sub", "--name", "tls-lb",
             "-f", "json")["id"]
    wait_active(c, home, lb)
    lst = osc(c, home, "loadbalancer", "listener", "create", "--name", "tls-l", "--protocol",
              "TERMINATED_HTTPS", "--protocol-port", "443",
              "--default-tls-container-ref", refs["www"],
              "--sni-container-refs", refs["a"], refs["b"],
              "--client-authentication", "MANDATORY", "--client-ca-tls-container-ref", ca_ref,
              "--client-crl-container-ref", crl_ref, "--hsts-max-age", "31536000",
              "tls-lb", "-f", "json")
    assert lst["tls_versions"] == ["TLSv1.2", "TLSv1.3"]
    wait_active(c, home, lb)
    osc(c, home, "loadbalancer", "pool", "create", "--name", "tls-p", "--listener", "tls-l",
        "--protocol", "HTTP", "--lb-algorithm", "ROUND_ROBIN", "--enable-tls",
        "--ca-tls-container-ref", ca_ref, "-f", "json")
    wait_active(c, home, lb)
    osc(c, home, "loadbalancer", "member", "create", "--address", "10.90.0.10",
        "--protocol-port", "443", "tls-p", "-f", "json")
    wait_active(c, home, lb)
    shown = osc(c, home, "loadbalancer", "listener", "show", "tls-l", "-f", "json")
    assert shown["provisioning_status"] == "ACTIVE", shown

    stored = {fingerprint(bundles[n][1]) for n in ("www", "a", "b")} | {fingerprint(pki.ca_pem)}
    for dev in range(c.devices):
        # leaf certificates, the CA file and the chain (the CA again): exactly the stored ones
        assert fingerprints(c, dev) == stored
        profiles = c.device_objects(dev, "ltm/profile/client-ssl", PART)
        assert sorted(p["sniDefault"] for p in profiles) == ["false", "false", "true"]
        assert {p["peerCertMode"] for p in profiles} == {"require"}
        assert len(c.device_objects(dev, "ltm/profile/server-ssl", PART)) == 1

    # The owner dies; its successor fetches the secrets itself and rotates the certificate.
    owner = wait_for(lambda: c.owners().get(PROJECT), 30, "an owner")
    c.agents[owner].kill9()
    other = wait_for(lambda: (o := c.owners().get(PROJECT)) not in (None, owner) and o, 60,
                     "the other agent to take over")
    osc(c, home, "loadbalancer", "listener", "set", "--default-tls-container-ref",
        refs["rotated"], "tls-l")
    wait_active(c, home, lb)
    assert c.owners().get(PROJECT) == other
    rotated = (stored - {fingerprint(bundles["www"][1])}) | {fingerprint(bundles["rotated"][1])}
    for dev in range(c.devices):
        assert fingerprints(c, dev) == rotated

    osc(c, home, "loadbalancer", "delete", "--cascade", "tls-lb")
    wait_for(lambda: osc(c, home, "loadbalancer", "list", "-f", "json") == [], 90,
             "the load balancer to be deleted")
    for dev in range(c.devices):
        for collection in TLS_COLLECTIONS:
            assert c.device_objects(dev, collection, PART) == [], collection

    # No uploaded file is left on any device (the simulator's state file holds its upload area
    # too, written within a few seconds of a change).
    state = tmp_path / "sim-state.json"
    wait_for(lambda: state.exists() and "file-transfer/uploads" not in state.read_text(), 30,
             "no uploaded file left on the devices")

    # No log line of any agent or the API carries key material.
    keys = [pki.pkcs12_key_lines(b[0]) for b in bundles.values()]
    for log in sorted(tmp_path.glob("*.log")):
        text = log.read_text(errors="replace")
        assert "PRIVATE KEY" not in text, log
        for lines in keys:
            assert not any(line in text for line in lines), log
