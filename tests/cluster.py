"""A real cluster on this machine for tests and benchmarks: simulator, API, agents as processes.

Nothing here is a stand-in: every process is the one an operator runs (`python -m bigip_lbaas.cli
api|agent`, `python -m bigip_lbaas.sim`), configured with files as an operator writes them, on
loopback ports. Everything started is stopped by `close()`, also when a test fails.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bigip_lbaas.db import schema
from bigip_lbaas.db.models import Agent, LoadBalancer, Partition, PartitionLease
from bigip_lbaas.db.session import Database

PY = sys.executable


def free_ports(n: int) -> int:
    """The first of `n` consecutive free loopback ports."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n >= 65000:
            continue
        ok = True
        for p in range(base, base + n):
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.1,
             explain: Callable[[], str] | None = None) -> Any:
    """Poll until `predicate()` is truthy; bounded by `timeout`. On a timeout, `explain()`
    (the state behind it: leases, sessions, logs) is added to the error."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every)
    message = f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})"
    if explain is not None:
        message += "\n" + explain()
    raise TimeoutError(message)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


@dataclass
class Proc:
    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=self.env,
                                          start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        if self.popen and self.alive:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 15.0) -> int | None:
        if self.popen is None:
            return None
        if self.alive:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        return self.popen.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """Simulator + database + API + agents, on loopback."""

    workdir: Path
    db_url: str
    devices: int = 2
    lease_seconds: float = 3.0
    heartbeat: float = 0.5
    extra_conf: str = ""
    sim_port: int = 0
    api_port: int = 0
    sim: Proc | None = None
    api: Proc | None = None
    agents: dict[str, Proc] = field(default_factory=dict)
    ca_file: Path | None = None
    # Multi-host runs (tests/multihost): where the simulator listens and how everyone addresses
    # it, extra simulator arguments (e.g. --cert/--key; then set ca_file up front), and a hook
    # that wraps an agent's argv (e.g. to run it inside a network namespace).
    sim_bind: str = "127.0.0.1"
    sim_argv: list[str] = field(default_factory=list)
    agent_wrap: Callable[[str, list[str]], list[str]] | None = None

    # --- start ----------------------------------------------------------------------------

    def start_sim(self, latency_ms: float = 0) -> None:
        self.sim_port = free_ports(self.devices)
        argv = [PY, "-m", "bigip_lbaas.sim", "--port", str(self.sim_port), "--devices",
                str(self.devices), "--state-file", str(self.workdir / "sim-state.json")]
        if latency_ms:
            argv += ["--latency-ms", str(latency_ms)]
        if self.sim_bind != "127.0.0.1":
            argv += ["--bind", self.sim_bind]
        self.sim = Proc("sim", argv + self.sim_argv, self.workdir / "sim.log").start()
        wait_for(lambda: all(port_open(self.sim_port + i, self.sim_bind)
                             for i in range(self.devices)), 30, "simulator ports")
        if self.ca_file is None:
            self.ca_file = wait_for(
                lambda: next(iter(sorted(self.workdir.glob("*ca*.pem"))), None), 10,
                "simulator CA file")

    def write_common_conf(self) -> Path:
        assert self.ca_file is not None
        devices = ",".join(f"{self.sim_bind}:{self.sim_port + i}" for i in range(self.devices))
        ha = {1: "standalone", 2: "pair"}.get(self.devices, "scalen")
        path = self.workdir / "common.conf"
        path.write_text(
            "[DEFAULT]\n"
            f"f5_ha_type = {ha}\n"
            f"icontrol_hostname = {devices}\n"
            "icontrol_username = admin\n"
            "icontrol_password = admin\n"
            f"icontrol_ca_bundle = {self.ca_file}\n"
            "f5_pending_services_timeout = 20\n"
            "[database]\n"
            f"connection = {self.db_url}\n"
            "[api_settings]\n"
            "bind_host = 127.0.0.1\n"
            f"bind_port = {self.api_port}\n"
            "[bigip_lbaas]\n"
            f"heartbeat_interval = {self.heartbeat}\n"
            f"lease_seconds = {self.lease_seconds}\n"
            f"renew_deadline = {self.lease_seconds * 0.7}\n"
            "poll_interval = 0.05\n"
            "status_interval = 2\n"
            "max_retries = 3\n"
            f"{self.extra_conf}"
        )
        return path

    def upgrade_db(self) -> None:
        db = Database(self.db_url)
        try:
            schema.upgrade(db)
        finally:
            db.dispose()

    def start_api(self) -> None:
        self.api_port = self.api_port or free_ports(1)
        conf = self.write_common_conf()
        self.api = Proc("api", [PY, "-m", "bigip_lbaas.cli", "api", "--config-file", str(conf)],
                        self.workdir / "api.log").start()
        wait_for(lambda: port_open(self.api_port) or not self.api.alive, 30,  # type: ignore[union-attr]
                 "API port")
        assert self.api.alive, self.api.output()

    def agent_conf(self, host: str, extra: str = "", set_host: bool = True) -> Path:
        """The host's own file; `set_host=False` leaves `host` to default to the hostname."""
        path = self.workdir / f"agent-{host}.conf"
        path.write_text(f"[DEFAULT]\nhost = {host}\n{extra}" if set_host else extra)
        return path

    def start_agent(self, host: str, extra: str = "", name: str | None = None,
                    set_host: bool = True) -> Proc:
        conf = self.write_common_conf()
        argv = [PY, "-m", "bigip_lbaas.cli", "agent", "--config-file", str(conf),
                "--config-file", str(self.agent_conf(host, extra, set_host))]
        if self.agent_wrap is not None:
            argv = self.agent_wrap(host, argv)
        proc = Proc(name or host, argv, self.workdir / f"agent-{name or host}.log").start()
        self.agents[name or host] = proc
        return proc

    def start(self, agents: Iterable[str] = ("h1", "h2")) -> Cluster:
        self.upgrade_db()
        self.start_sim()
        self.start_api()
        hosts = list(agents)
        for host in hosts:
            self.start_agent(host)
        if hosts:  # the API refuses work for an environment no live agent serves
            self.wait_agents_alive(hosts)
        return self

    def wait_agents_alive(self, hosts: Iterable[str], timeout: float = 30) -> None:
        wanted = set(hosts)

        def alive() -> bool:
            with httpx.Client(base_url=self.api_url, timeout=5,
                              headers={"X-Roles": "admin", "X-Project-Id": "admin"}) as api:
                r = api.get("/v2/lbaas/agents")
                return r.status_code == 200 and wanted <= {
                    a["host"] for a in r.json()["agents"] if a["alive"]}

        wait_for(alive, timeout, f"agents {sorted(wanted)} alive")

    def close(self) -> None:
        """Stop every process (agents, API, simulator), whatever happens to any one of them;
        the first error is raised once all are stopped."""
        errors: list[BaseException] = []
        for proc in [*self.agents.values(), self.api, self.sim]:
            if proc is None:
                continue
            try:
                proc.terminate()
            except BaseException as err:  # stop the rest first, then raise
                errors.append(err)
        if errors:
            raise errors[0]

    # --- talk -----------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def client(self, project: str = "demo") -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=30,
                            headers={"X-Project-Id": project})

    def device(self, index: int) -> httpx.Client:
        assert self.ca_file is not None
        return httpx.Client(base_url=f"https://{self.sim_bind}:{self.sim_port + index}",
                            verify=str(self.ca_file), auth=("admin", "admin"), timeout=30,
                            trust_env=False)

    def add_vtep(self, index: int, address: str) -> None:
        """Give simulated device `index` what F5's L2/L3 mode expects an operator to have made:
        an `underlay` VLAN and on it the VTEP self IP `vtep` (`address`, with its prefix), both
        in /Common."""
        with self.device(index) as dev:
            r = dev.post("/mgmt/tm/net/vlan", json={
                "name": "underlay", "partition": "Common",
                "interfaces": [{"name": "1.2", "untagged": True}]})
            assert r.is_success, r.text
            r = dev.post("/mgmt/tm/net/self", json={
                "name": "vtep", "partition": "Common", "vlan": "/Common/underlay",
                "address": address})
            assert r.is_success, r.text

    def device_objects(self, index: int, collection: str, partition: str) -> list[dict[str, Any]]:
        with self.device(index) as dev:
            r = dev.get(f"/mgmt/tm/{collection}", params={"$filter": f"partition eq {partition}"})
            r.raise_for_status()
            items: list[dict[str, Any]] = r.json().get("items", [])
            return items

    def owners(self) -> dict[str, str]:
        """project → host of the agent that validly holds its partition lease now."""
        db = Database(self.db_url)
        try:
            with db.transaction() as s:
                rows = s.execute(
                    sa.select(Partition.project_id, Agent.host)
                    .join(PartitionLease, PartitionLease.partition_id == Partition.id)
                    .join(Agent, Agent.instance_id == PartitionLease.owner)
                    .where(PartitionLease.expires_at > db.now())
                ).all()
                return {project: host for project, host in rows}
        finally:
            db.dispose()

    def lb_statuses(self) -> dict[str, str]:
        """load balancer id → provisioning status, straight from the database."""
        db = Database(self.db_url)
        try:
            with db.transaction() as s:
                rows = s.execute(sa.select(LoadBalancer.id, LoadBalancer.provisioning_status))
                return {lb_id: status for lb_id, status in rows}
        finally:
            db.dispose()

    def audit(self, index: int) -> list[dict[str, Any]]:
        with self.device(index) as dev:
            r = dev.get("/sim/audit")
            r.raise_for_status()
            items: list[dict[str, Any]] = r.json()["items"]
            return items


def write_interval(entry: dict[str, Any]) -> tuple[float, float]:
    """When the writer of an audit entry was writing its partitions: from the creation of its
    transaction (`txStart`, a commit's entry) or else from the request's arrival, to the answer."""
    start = entry.get("txStart")
    return (float(entry["start"] if start is None else start), float(entry["end"]))


def overlapping_writers(audit: list[dict[str, Any]]) -> list[str]:
    """Partitions that two different clients (`X-Client-Id`) were writing at overlapping times
    (should be none). A client writes a partition from the creation of a transaction until its
    commit is answered (`write_interval`); a long interval hides nothing: every interval is
    compared with the latest end so far of every other client on that partition."""
    by_part: dict[str, list[tuple[float, float, str]]] = {}
    for e in audit:
        start, end = write_interval(e)
        for p in e.get("partitions") or ([e["partition"]] if e.get("partition") else []):
            by_part.setdefault(p, []).append((start, end, str(e.get("clientId"))))
    bad = []
    for part, spans in sorted(by_part.items()):
        latest: dict[str, float] = {}  # client -> latest end of its intervals started so far
        for start, end, client in sorted(spans):
            if any(other != client and until > start for other, until in latest.items()):
                bad.append(part)
                break
            latest[client] = max(end, latest.get(client, end))
    return bad


_pools = itertools.count(1)  # pool names of `two_writers`, unique per process


def two_writers(dev: httpx.Client, partition: str, interleave: bool,
                clients: tuple[str, str] = ("writer-a", "writer-b")) -> None:
    """Two clients (`X-Client-Id`) each create a pool in `partition` (which must exist) in a
    transaction of their own on device `dev`: one after the other, or interleaved (A creates its
    transaction and queues its write, B creates, queues and commits, then A commits). Real
    requests, so the device's audit log shows what `overlapping_writers` must judge."""
    def begin(client: str) -> tuple[int, dict[str, str]]:
        hdr = {"X-Client-Id": client}
        r = dev.post("/mgmt/tm/transaction", json={}, headers=hdr)
        r.raise_for_status()
        tid = int(r.json()["transId"])
        r = dev.post("/mgmt/tm/ltm/pool", headers={**hdr, "X-F5-REST-Coordination-Id": str(tid)},
                     json={"name": f"two-writers-{next(_pools)}", "partition": partition})
        r.raise_for_status()
        return tid, hdr

    def commit(tid: int, hdr: dict[str, str]) -> None:
        r = dev.patch(f"/mgmt/tm/transaction/{tid}", json={"state": "VALIDATING"}, headers=hdr)
        r.raise_for_status()
        assert r.json()["state"] == "COMPLETED", r.text

    if interleave:
        a, b = begin(clients[0]), begin(clients[1])
        commit(*b)
        commit(*a)
    else:
        commit(*begin(clients[0]))
        commit(*begin(clients[1]))


