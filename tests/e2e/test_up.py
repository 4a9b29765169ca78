"""`bigip-lbaas up` as a newcomer runs it: one command, the real `openstack` CLI to ACTIVE, Ctrl-C
(SIGINT) stops everything with nothing left behind, and a second run reuses the state directory.
The quickstart's kill -9 walkthrough: an agent killed twice is restarted both times."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster import PY, free_ports, wait_for

OPENSTACK = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "openstack"


def processes_mentioning(text: str) -> list[str]:
    """`pid cmdline` of every live process whose command line contains `text` (via /proc)."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":  # a zombie has no cmdline; it is not running
            continue
        cmd = raw.replace(b"\0", b" ").decode(errors="replace")
        if text in cmd:
            found.append(f"{entry.name} {cmd}")
    return found


class Up:
    def __init__(self, state: Path, tmp: Path) -> None:
        self.state = state
        self.port = free_ports(1)
        self.sim_port = free_ports(2)
        self.metrics_port = free_ports(2)
        self.out = tmp / f"up-{time.monotonic_ns()}.out"
        with self.out.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bigip_lbaas.cli", "up", "--state-dir", str(state),
                 "--port", str(self.port), "--sim-port", str(self.sim_port),
                 "--metrics-port", str(self.metrics_port)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_banner(self) -> None:
        wait_for(lambda: "Ctrl-C stops everything" in self.text() or self.proc.poll() is not None,
                 90, "the `up` banner")
        assert self.proc.poll() is None, self.text()

    def interrupt(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def kill_all(self) -> None:
        """Last resort after a failed test: the `up` process and anything naming its state."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        for line in processes_mentioning(str(self.state)):
            pid = int(line.split()[0])
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def osc(up: Up, home: Path, *args: str, check: bool = True) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(home)
    cmd = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint",
           f"http://127.0.0.1:{up.port}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=False)
    if not check and done.returncode != 0:
        return None
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if "-f" in args and done.stdout.strip() else done.stdout


@pytest.mark.timeout(400)
def test_up_cli_to_active_sigint_clean_and_reuse(tmp_path: Path) -> None:
    if not OPENSTACK.exists():
        pytest.skip(f"{OPENSTACK} is not installed")
    state = tmp_path / "state"
    first = Up(state, tmp_path)
    try:
        started = time.monotonic()
        first.wait_banner()
        banner = first.text()
        startup = time.monotonic() - started
        assert f"--os-endpoint http://127.0.0.1:{first.port} loadbalancer create" in banner
        assert "agent up-agent-1" in banner and "agent up-agent-2" in banner
        for port in (first.metrics_port, first.metrics_port + 1):
            assert f"metrics http://127.0.0.1:{port}/metrics" in banner
        assert startup < 60, f"startup took {startup:.1f}s"

        lb = osc(first, tmp_path, "loadbalancer", "create", "--name", "lb1",
                 "--vip-subnet-id", "public-subnet", "-f", "json")
        assert lb["provisioning_status"] == "PENDING_CREATE"
        shown = wait_for(
            lambda: (s := osc(first, tmp_path, "loadbalancer", "show", "lb1", "-f", "json",
                              check=False))
            and s["provisioning_status"] in ("ACTIVE", "ERROR") and s,
            60, "lb1 to leave PENDING_CREATE", every=1)
        assert shown["provisioning_status"] == "ACTIVE", shown

        children = processes_mentioning(str(state))
        assert len(children) >= 5, children  # up + simulator + api + 2 agents

        stopping = time.monotonic()
        assert first.interrupt(timeout=30) == 0, first.text()
        assert time.monotonic() - stopping < 30
        assert "all processes stopped" in first.text()
        # Every child waited for: nothing that names the state directory is still running.
        assert processes_mentioning(str(state)) == []
        for log in ("agent-1.log", "agent-2.log"):
            assert "leases released" in (state / "logs" / log).read_text(), log
    finally:
        first.kill_all()

    second = Up(state, tmp_path)
    try:
        second.wait_banner()
        listed = osc(second, tmp_path, "loadbalancer", "list", "-f", "json")
        assert [x["name"] for x in listed] == ["lb1"]
        assert listed[0]["id"] == lb["id"]
        # The public subnet was not created twice: the name still resolves to one subnet.
        again = osc(second, tmp_path, "loadbalancer", "show", "lb1", "-f", "json")
        assert again["provisioning_status"] == "ACTIVE"
        assert second.interrupt(timeout=30) == 0, second.text()
        assert processes_mentioning(str(state)) == []
    finally:
        second.kill_all()


def status_json(state: Path) -> dict[str, Any]:
    done = subprocess.run(
        [PY, "-m", "bigip_lbaas.cli", "status", "--json", "--config-file",
         str(state / "bigip-lbaas.conf")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def agent_pids(state: Path, n: int) -> list[int]:
    return [int(line.split()[0]) for line in processes_mentioning(str(state / f"agent-{n}.conf"))]


@pytest.mark.timeout(400)
def test_up_restarts_an_agent_killed_twice(tmp_path: Path) -> None:
    """kill -9 twice, as in docs/quickstart.md: `up` marks the dead agent exited in the database,
    so each restart registers at once instead of being refused as a duplicate of the dead
    process while its last heartbeat is still fresh."""
    state = tmp_path / "state"
    up = Up(state, tmp_path)
    try:
        up.wait_banner()

        def agent(host: str) -> dict[str, Any] | None:
            return next((a for a in status_json(state)["agents"] if a["host"] == host), None)

        first = wait_for(lambda: (a := agent("up-agent-1")) and a["alive"] and a, 60,
                         "up-agent-1 alive", every=1)
        assert first["devices_reachable"] == 2
        # Its metrics, on the port the banner printed.
        metrics = wait_for(lambda: _get(f"http://127.0.0.1:{up.metrics_port}/metrics"), 30,
                           "up-agent-1's metrics")
        assert "bigip_lbaas_leases_held" in metrics

        for round_ in (1, 2):
            pids = agent_pids(state, 1)
            assert len(pids) == 1, pids
            killed_at = time.monotonic()
            os.kill(pids[0], signal.SIGKILL)

            def restarted(old: int = pids[0], since: float = killed_at) -> dict[str, Any] | None:
                assert up.proc.poll() is None, up.text()
                assert "giving up" not in up.text(), up.text()
                a = agent("up-agent-1")
                new = [p for p in agent_pids(state, 1) if p != old]
                # A new registration: alive, and started after the kill.
                fresh = (a is not None and a["alive"] and new
                         and a["uptime"] < time.monotonic() - since)
                return a if fresh else None

            back = wait_for(restarted, 90, f"up-agent-1 restarted after kill {round_}", every=1)
            assert back["devices_reachable"] == 2
            assert up.text().count("agent up-agent-1 was killed by SIGKILL; restarting") == round_

        out = up.text()
        assert "giving up" not in out
        assert "already running" not in (state / "logs" / "agent-1.log").read_text()
        assert out.count("up-agent-1 exited with code") == 0, out
        # The refusals in between were the duplicate-host check, not a crash.
        refused = out.count("agent up-agent-1 exited with code")
        assert refused == (state / "logs" / "agent-1.log").read_text().count("already running")
        assert up.interrupt(timeout=30) == 0, up.text()
        assert processes_mentioning(str(state)) == []
    finally:
        up.kill_all()


def _get(url: str) -> str | None:
    try:
        r = httpx.get(url, timeout=5, trust_env=False)
    except httpx.HTTPError:
        return None
    return r.text if r.status_code == 200 else None
