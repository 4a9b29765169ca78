"""`bigip-lbaas up`: the embedded default on one machine, as supervised child processes.

SQLite in the state directory, a simulated BIG-IP pair, the API and N agents with distinct
hosts (each serving its Prometheus metrics on its own port), plus a ready network `public` /
subnet `public-subnet`. A child that dies is reported and restarted after a back-off; Ctrl-C (or
SIGTERM) stops every child and waits for it. Running it again reuses the state directory: the
database, the simulator's configuration and its CA.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bigip_lbaas.core.certs import generate_storage_key
from bigip_lbaas.core.errors import BigipLbaasError
from bigip_lbaas.db import agents, schema
from bigip_lbaas.db.models import Network, Subnet
from bigip_lbaas.db.session import Database

# Restarts in a row before `up` gives up on a child. A child that has run for STABLE_SECONDS
# starts a fresh count: a crash loop is given up on, an agent killed now and then is not.
RESTART_LIMIT = 5
STABLE_SECONDS = 60.0
# Restart delays double from 1 s up to 10 s. A dead agent's row is marked exited first, so its
# restart is not refused as a duplicate host while the dead heartbeat is still fresh.
BACKOFF_CAP = 10.0
STOP_GRACE = 15.0
ENVIRONMENT = "Project"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agents", type=int, default=2, help="number of agents (default 2)")
    parser.add_argument(
        "--devices",
        type=int,
        default=2,
        help="simulated devices: 1 = standalone, 2 = pair, more = scalen",
    )
    parser.add_argument("--port", type=int, default=9876, help="API port (default 9876)")
    parser.add_argument(
        "--sim-port", type=int, default=8443, help="first simulated device's port (default 8443)"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=9877,
        help="first agent's Prometheus metrics port; agent N gets this + N - 1 (0: none; "
        "default 9877)",
    )
    parser.add_argument(
        "--state-dir",
        default="./bigip-lbaas-state",
        help="database, simulator state, configs and logs live here",
    )
    parser.add_argument(
        "--for-seconds", type=float, default=None, help=argparse.SUPPRESS
    )  # demos and tests: stop by itself


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    metrics: str | None = None
    # An agent's host: when the process exits, its row is marked so, and the restart is not
    # refused as a duplicate of the dead process (db.agents.mark_exited).
    identity: str | None = None
    restarts: int = 0
    gave_up: bool = False
    started: float = field(default=0.0)
    # When a restart is due (monotonic clock), while the child is backing off.
    next_start: float | None = None

    def start(self, now: float | None = None) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        out.close()
        self.started = time.monotonic() if now is None else now

    def stop(self) -> None:
        # Each child leads its own session: signal the whole group, so nothing it forked
        # outlives `up`.
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived while starting up."""


def _wait_port(
    port: int, timeout: float, child: Child, stopping: Callable[[], bool] = lambda: False
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopping():
            raise _Interrupted
        if child.proc is not None and child.proc.poll() is not None:
            raise BigipLbaasError(f"{child.name} exited at start-up; see {child.log}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise BigipLbaasError(f"{child.name} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


# `up` leaves [bigip_lbaas] lease_seconds at its default.
LEASE_SECONDS = 10.0


def _wait_agent(db_url: str, timeout: float, stopping: Callable[[], bool]) -> None:
    """Until an agent has heartbeat: the API refuses work for an environment no live agent
    serves, so a create made right after the banner must find one. Not fatal: `status` and
    the API's refusal say what is missing if none comes."""
    db = Database(db_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stopping():
            with contextlib.suppress(BigipLbaasError):
                if any(a.alive for a in agents.list_agents(db, LEASE_SECONDS)):
                    return
            time.sleep(0.2)
    finally:
        db.dispose()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _ha_type(devices: int) -> str:
    return {1: "standalone", 2: "pair"}.get(devices, "scalen")


def _metrics_port(args: argparse.Namespace, agent: int) -> int | None:
    return args.metrics_port + agent - 1 if args.metrics_port else None


def _storage_key_file(state: Path) -> Path:
    """The certificate store's key, made once (mode 0600) and kept with the database."""
    path = state / "storage.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate_storage_key() + "\n")
    return path


def _write_configs(state: Path, args: argparse.Namespace, db_url: str, ca: Path) -> list[Path]:
    devices = ",".join(f"127.0.0.1:{args.sim_port + i}" for i in range(args.devices))
    common = state / "bigip-lbaas.conf"
    common.write_text(
        "[DEFAULT]\n"
        f"f5_ha_type = {_ha_type(args.devices)}\n"
        f"icontrol_hostname = {devices}\n"
        "icontrol_username = admin\n"
        "icontrol_password = admin\n"
        f"icontrol_ca_bundle = {ca}\n"
        f"environment_prefix = {ENVIRONMENT}\n"
        "[database]\n"
        f"connection = {db_url}\n"
        "[api_settings]\n"
        "bind_host = 127.0.0.1\n"
        f"bind_port = {args.port}\n"
        "auth_strategy = noauth\n"
        "[bigip_lbaas]\n"
        "status_interval = 5\n"
        "[certificates]\n"
        f"storage_key_file = {_storage_key_file(state)}\n"
    )
    hosts = []
    for i in range(1, args.agents + 1):
        path = state / f"agent-{i}.conf"
        port = _metrics_port(args, i)
        metrics = f"[bigip_lbaas]\nmetrics_port = {port}\n" if port else ""
        path.write_text(f"[DEFAULT]\nhost = up-agent-{i}\n{metrics}")
        hosts.append(path)
    return [common, *hosts]


def _ensure_public_network(db: Database) -> None:
    """A network `public` with subnet `public-subnet` (203.0.113.0/24, TEST-NET-3)."""
    with db.transaction() as s:
        if s.query(Subnet).filter_by(name="public-subnet").first() is not None:
            return
        net = Network(
            id=str(uuid.uuid4()),
            project_id="admin",
            name="public",
            shared=True,
            external=True,
            admin_state_up=True,
            mtu=1500,
        )
        s.add(net)
        s.flush()
        s.add(
            Subnet(
                id=str(uuid.uuid4()),
                network_id=net.id,
                project_id="admin",
                name="public-subnet",
                cidr="203.0.113.0/24",
                ip_version=4,
                gateway_ip="203.0.113.1",
                allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.250"}],
                enable_dhcp=False,
                dns_nameservers=[],
                host_routes=[],
            )
        )


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.devices <= 8 or not 1 <= args.agents <= 16:
        raise BigipLbaasError("--devices must be 1..8 and --agents 1..16")
    metrics = [p for i in range(1, args.agents + 1) if (p := _metrics_port(args, i))]
    for port in [args.port, *(args.sim_port + i for i in range(args.devices)), *metrics]:
        if not _port_free(port):
            raise BigipLbaasError(f"port {port} on 127.0.0.1 is already in use")
    state = Path(args.state_dir).resolve()
    (state / "logs").mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{state / 'bigip-lbaas.sqlite'}"
    db = Database(db_url)
    schema.upgrade(db)
    _ensure_public_network(db)
    db.dispose()

    py = sys.executable
    logs = state / "logs"
    sim = Child(
        "simulator",
        [
            py,
            "-m",
            "bigip_lbaas.sim",
            "--port",
            str(args.sim_port),
            "--devices",
            str(args.devices),
            "--state-file",
            str(state / "sim-state.json"),
        ],
        logs / "sim.log",
    )
    children = [sim]
    stopping = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        sim.start()
        _wait_port(args.sim_port + args.devices - 1, 30, sim, lambda: stopping)
        ca = _find_ca(state)
        files = _write_configs(state, args, db_url, ca)
        common, agent_files = files[0], files[1:]
        api = Child(
            "api",
            [py, "-m", "bigip_lbaas.cli", "api", "--config-file", str(common)],
            logs / "api.log",
            metrics=f"http://127.0.0.1:{args.port}/metrics",
        )
        agent_children = [
            Child(
                f"agent up-agent-{i}",
                [
                    py,
                    "-m",
                    "bigip_lbaas.cli",
                    "agent",
                    "--config-file",
                    str(common),
                    "--config-file",
                    str(path),
                ],
                logs / f"agent-{i}.log",
                identity=f"up-agent-{i}",
                metrics=(
                    f"http://127.0.0.1:{port}/metrics"
                    if (port := _metrics_port(args, i))
                    else None
                ),
            )
            for i, path in enumerate(agent_files, start=1)
        ]
        children += [api, *agent_children]
        api.start()
        for a in agent_children:
            a.start()
        _wait_port(args.port, 30, api, lambda: stopping)
        _wait_agent(db_url, 30, lambda: stopping)
        _print_banner(args, state, children)
        deadline = None if args.for_seconds is None else time.monotonic() + args.for_seconds
        while not stopping and (deadline is None or time.monotonic() < deadline):
            _supervise(children, exited=lambda child: _mark_exited(db_url, child))
            time.sleep(0.5)
    except _Interrupted:
        pass
    finally:
        print("stopping...", flush=True)
        for child in reversed(children):
            child.stop()
        end = time.monotonic() + STOP_GRACE
        for child in reversed(children):
            child.wait(end)
        print("all processes stopped", flush=True)
    return 0


def _mark_exited(db_url: str, child: Child) -> None:
    """Tell the database an agent's process is gone, so its restart registers at once."""
    if child.identity is None:
        return
    db = Database(db_url)
    try:
        agents.mark_exited(db, ENVIRONMENT, child.identity)
    except Exception as err:  # the restart still comes, refused until the heartbeat is stale
        print(f"could not mark {child.name} as exited in the database: {err}", flush=True)
    finally:
        db.dispose()


def _find_ca(state: Path) -> Path:
    found = sorted(state.glob("*ca*.pem"))
    if not found:
        raise BigipLbaasError(f"the simulator wrote no CA certificate into {state}")
    return found[0]


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with code {code}"


def _supervise(
    children: list[Child],
    now: float | None = None,
    exited: Callable[[Child], None] = lambda child: None,
) -> None:
    """Report children that died and restart them: after 1, 2, 4, 8, 10, 10 ... s, at most
    RESTART_LIMIT times in a row; a child that ran for STABLE_SECONDS starts a fresh count.
    `exited` is told of each death once, before the restart is scheduled."""
    now = time.monotonic() if now is None else now
    for child in children:
        if child.proc is None or child.gave_up:
            continue
        if child.proc.poll() is None:
            if child.restarts and now - child.started >= STABLE_SECONDS:
                child.restarts = 0
            continue
        if child.next_start is not None:  # dead, backing off
            if now >= child.next_start:
                child.next_start = None
                child.start(now)
            continue
        code = child.proc.returncode
        exited(child)
        if now - child.started >= STABLE_SECONDS:
            child.restarts = 0
        if child.restarts >= RESTART_LIMIT:
            child.gave_up = True
            print(
                f"{child.name} {_exit_text(code)}; restarted {RESTART_LIMIT} times in a row "
                f"already, giving up; log: {child.log}",
                flush=True,
            )
            continue
        child.restarts += 1
        delay = min(BACKOFF_CAP, 2.0 ** (child.restarts - 1))
        child.next_start = now + delay
        print(
            f"{child.name} {_exit_text(code)}; restarting in {delay:g}s "
            f"({child.restarts}/{RESTART_LIMIT}), log: {child.log}",
            flush=True,
        )


def _print_banner(args: argparse.Namespace, state: Path, children: list[Child]) -> None:
    endpoint = f"http://127.0.0.1:{args.port}"
    print(f"bigip-lbaas is up (state in {state})", flush=True)
    for child in children:
        pid = child.proc.pid if child.proc else "-"
        metrics = f"  metrics {child.metrics}" if child.metrics else ""
        print(f"  {child.name:<22} pid {pid:<8} log {child.log}{metrics}")
    print(
        f"  devices: {', '.join(f'https://127.0.0.1:{args.sim_port + i}' for i in range(args.devices))}"
    )
    print("\nTry:")
    print(f"  export OS_AUTH_TYPE=none OS_ENDPOINT={endpoint}")
    print(
        f"  openstack --os-auth-type none --os-endpoint {endpoint} loadbalancer create "
        "--name lb1 --vip-subnet-id public-subnet"
    )
    print(f"  openstack --os-auth-type none --os-endpoint {endpoint} loadbalancer list")
    print(f"  bigip-lbaas status --config-file {state / 'bigip-lbaas.conf'}")
    print("\nCtrl-C stops everything.", flush=True)
