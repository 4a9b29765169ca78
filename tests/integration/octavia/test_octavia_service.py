"""tests/openstack/octavia.py itself: a real Octavia API (gunicorn) and driver agent come up on a
fresh database, with Octavia's noop_driver, and answer the real `openstack` CLI in noauth mode."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.openstack.octavia import Octavia, octavia_service

OPENSTACK = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "openstack"


@pytest.fixture(scope="module")
def noop_octavia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Octavia]:
    with octavia_service(tmp_path_factory.mktemp("octavia-noop"), workers=2) as o:
        yield o


def osc(o: Octavia, home: Path, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(home)
    done = subprocess.run([str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint",
                           o.url + "/", *args], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if "-f" in args and done.stdout.strip() else done.stdout


def test_octavia_answers_the_cli_with_the_noop_provider(noop_octavia: Octavia,
                                                        tmp_path: Path) -> None:
    providers = osc(noop_octavia, tmp_path, "loadbalancer", "provider", "list", "-f", "json")
    assert [p["name"] for p in providers] == ["noop_driver"]
    # The CLI would resolve the subnet through Neutron; Octavia's no-op network driver takes
    # the VIP as given, so the create goes straight to Octavia's API.
    created = httpx.post(f"{noop_octavia.url}/v2/lbaas/loadbalancers", timeout=30, json={
        "loadbalancer": {"name": "svc-lb", "vip_address": "10.1.2.3",
                         "vip_subnet_id": "8b7c8a5e-7a1f-4f43-9a0c-1f2d3e4f5a6b"}})
    assert created.status_code == 201, created.text
    lb = created.json()["loadbalancer"]
    assert lb["provider"] == "noop_driver" and lb["provisioning_status"] == "PENDING_CREATE"
    assert lb["project_id"] == noop_octavia.project_id
    listed = osc(noop_octavia, tmp_path, "loadbalancer", "list", "-f", "json")
    assert [x["id"] for x in listed] == [lb["id"]]
    shown = httpx.get(f"{noop_octavia.url}/v2/lbaas/loadbalancers/{lb['id']}", timeout=10)
    assert shown.json()["loadbalancer"]["vip_address"] == "10.1.2.3"
    for path in (noop_octavia.status_socket, noop_octavia.stats_socket, noop_octavia.get_socket):
        assert Path(path).is_socket()
