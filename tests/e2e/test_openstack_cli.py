"""The real `openstack` CLI (python-openstackclient + python-octaviaclient), unchanged, in noauth
mode against our API server: network/subnet create, then the load balancer life cycle."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api.server import Api, api_server

OPENSTACK = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "openstack"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    if not OPENSTACK.exists():
        pytest.skip(f"{OPENSTACK} is not installed")
    with api_server("sqlite", tmp_path_factory.mktemp("db")) as api:
        yield api


def osc(api: Api, tmp_path: Path, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(tmp_path)  # no clouds.yaml from the developer's home
    cmd = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint", api.url, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if "-f" in args and done.stdout.strip() else done.stdout


def test_cli_life_cycle(api: Api, tmp_path: Path) -> None:
    net = osc(api, tmp_path, "network", "create", "cli-net", "-f", "json")
    assert net["name"] == "cli-net"
    sub = osc(api, tmp_path, "subnet", "create", "--network", "cli-net", "--subnet-range",
              "10.80.0.0/24", "cli-sub", "-f", "json")
    assert sub["cidr"] == "10.80.0.0/24"
    lb = osc(api, tmp_path, "loadbalancer", "create", "--vip-subnet-id", "cli-sub", "--name",
             "cli-lb", "-f", "json")
    assert lb["provisioning_status"] == "PENDING_CREATE" and lb["vip_address"] == "10.80.0.2"
    api.settle()
    listed = osc(api, tmp_path, "loadbalancer", "list", "-f", "json")
    assert [x["name"] for x in listed] == ["cli-lb"]
    shown = osc(api, tmp_path, "loadbalancer", "show", "cli-lb", "-f", "json")
    assert shown["id"] == lb["id"] and shown["provisioning_status"] == "ACTIVE"

    lst = osc(api, tmp_path, "loadbalancer", "listener", "create", "--name", "cli-l",
              "--protocol", "HTTP", "--protocol-port", "80", "cli-lb", "-f", "json")
    assert lst["protocol_port"] == 80
    api.settle()
    pool = osc(api, tmp_path, "loadbalancer", "pool", "create", "--name", "cli-p", "--listener",
               "cli-l", "--protocol", "HTTP", "--lb-algorithm", "ROUND_ROBIN", "-f", "json")
    assert pool["lb_algorithm"] == "ROUND_ROBIN"
    api.settle()
    member = osc(api, tmp_path, "loadbalancer", "member", "create", "--address", "10.80.0.10",
                 "--protocol-port", "8080", "--name", "cli-m", "cli-p", "-f", "json")
    assert member["address"] == "10.80.0.10"
    api.settle()
    hm = osc(api, tmp_path, "loadbalancer", "healthmonitor", "create", "--delay", "5",
             "--timeout", "3", "--max-retries", "3", "--type", "HTTP", "--name", "cli-hm",
             "cli-p", "-f", "json")
    assert hm["type"] == "HTTP"
    api.settle()
    members = osc(api, tmp_path, "loadbalancer", "member", "list", "cli-p", "-f", "json")
    assert [x["address"] for x in members] == ["10.80.0.10"]
    status = osc(api, tmp_path, "loadbalancer", "status", "show", "cli-lb")
    assert "cli-hm" in status or "health_monitor" in status
    stats = osc(api, tmp_path, "loadbalancer", "stats", "show", "cli-lb", "-f", "json")
    assert stats["bytes_in"] == 0

    osc(api, tmp_path, "loadbalancer", "delete", "--cascade", "cli-lb")
    pending = osc(api, tmp_path, "loadbalancer", "show", lb["id"], "-f", "json")
    assert pending["provisioning_status"] == "PENDING_DELETE"
    api.settle()
    assert osc(api, tmp_path, "loadbalancer", "list", "-f", "json") == []
