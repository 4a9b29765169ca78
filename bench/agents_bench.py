"""Agent redundancy benchmark: failover time and end-to-end scale-out throughput, as JSON.

Real processes on loopback: the simulator (a pair), the API and N agents, on a fresh database of
the kind `--db` names (sqlite, postgresql, mariadb). Two measurements (issue 4):

- failover: with default timings (heartbeat 2 s, lease 10 s), kill -9 the agent that holds the
  most partitions, change every one of its partitions at once, and time until all of those
  changes are ACTIVE (i.e. reconciled by the survivors). Repeated `--trials` times; a fresh agent
  joins after each trial so the next one has a victim.
- throughput: full load-balancer graphs (LB, listener, pool, 2 members, health monitor, one
  fully-populated create call each, each in its own project, so its own partition) per second
  from the first API call until the last is ACTIVE, with 1, 2 and 4 agents. Every agent, in every
  run, has the same concurrency limit (`--concurrency`, default 1 reconcile at a time) against
  devices with 50 ms latency per request, so that the agents, not this CPU, bound the rate.
  8 clients submit every graph at once (keep-alive connections); completion is checked 5 times a
  second with one query over one kept connection, and every graph is read back through the API
  (GET) once the clock has stopped. Each run records the CPU seconds of every process (API,
  simulator, each agent, the PostgreSQL backends of its database, the bench's own clients) and
  how busy the whole machine was, so a CPU-bound run shows as one. `--repeat` runs the series
  several times, interleaved; the ratio is taken between the median rates.

Usage: python bench/agents_bench.py [--trials 10] [--graphs 240] [--db postgresql]
       [--skip-failover | --skip-throughput] [--repeat 2] [--output FILE] [--keep-logs DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bigip_lbaas.db.models import Agent, LoadBalancer, Partition, PartitionLease
from bigip_lbaas.db.session import Database
from tests.cluster import Cluster, wait_for
from tests.databases import KINDS, fresh_database

SUBMITTERS = 8


def subnet(c: Cluster) -> str:
    with c.client("admin") as api:
        net = api.post("/v2.0/networks", json={"network": {"name": "public"}}).json()
        sub = api.post("/v2.0/subnets", json={"subnet": {
            "name": "public-subnet", "network_id": net["network"]["id"],
            "cidr": "10.200.0.0/16", "ip_version": 4}}).json()
        return str(sub["subnet"]["id"])


def full_graph(project: str, sub: str, n: int) -> dict[str, Any]:
    pool = {"name": "pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3},
            "members": [{"address": f"10.{100 + m}.{n // 250}.{n % 250 + 1}",
                         "protocol_port": 8080} for m in range(2)]}
    return {"loadbalancer": {
        "name": f"lb-{n}", "vip_subnet_id": sub, "project_id": project,
        "listeners": [{"name": "l80", "protocol": "HTTP", "protocol_port": 80,
                       "default_pool": {"name": "pool"}}],
        "pools": [pool]}}


def statuses(db: Database) -> dict[str, str]:
    """load balancer id -> provisioning status (on the bench's kept connection)."""
    with db.read() as s:
        return {lb_id: status for lb_id, status in s.execute(
            sa.select(LoadBalancer.id, LoadBalancer.provisioning_status))}


def owners(db: Database) -> dict[str, str]:
    """project -> host of the agent that validly holds its partition lease now."""
    with db.read() as s:
        return {project: host for project, host in s.execute(
            sa.select(Partition.project_id, Agent.host)
            .join(PartitionLease, PartitionLease.partition_id == Partition.id)
            .join(Agent, Agent.instance_id == PartitionLease.owner)
            .where(PartitionLease.expires_at > db.now()))}


@contextlib.contextmanager
def fresh_db(db: str | None, tmp: Path) -> Iterator[str]:
    """`sqlite` (default), `postgresql` or `mariadb`: a new throw-away database for one run."""
    with fresh_database(db or "sqlite", tmp) as url:
        yield url


def failover(trials: int, projects: int, db_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d, fresh_db(db_url, Path(d)) as url:
        tmp = Path(d)
        c = Cluster(tmp, url, devices=2, lease_seconds=10.0, heartbeat=2.0)
        db = Database(url)  # one kept connection for the bench's checks
        try:
            c.start(agents=("h1", "h2", "h3"))
            sub = subnet(c)
            lbs: dict[str, str] = {}
            for i in range(projects):
                p = f"fo{i:02d}"
                with c.client(p) as api:
                    r = api.post("/v2/lbaas/loadbalancers", json=full_graph(p, sub, i))
                    lbs[p] = r.json()["loadbalancer"]["id"]
            wait_for(lambda: set(statuses(db).values()) == {"ACTIVE"}, 120, "all ACTIVE")
            wait_for(lambda: len(owners(db)) == projects, 60, "all owned")
            times = []
            for t in range(trials):
                own = owners(db)
                counts: dict[str, int] = {}
                for h in own.values():
                    counts[h] = counts.get(h, 0) + 1
                victim = max(counts, key=lambda h: counts[h])
                moved = [p for p, h in own.items() if h == victim]
                c.agents[victim].kill9()
                killed = time.monotonic()
                for p in moved:
                    with c.client(p) as api:
                        api.put(f"/v2/lbaas/loadbalancers/{lbs[p]}",
                                json={"loadbalancer": {"description": f"trial {t}"}})
                wait_for(lambda moved=moved: all(statuses(db)[lbs[p]] == "ACTIVE" for p in moved),
                         120, "victim partitions reconciled", every=0.05)
                times.append(time.monotonic() - killed)
                c.start_agent(f"j{t}")  # a fresh host joins so the next trial has a victim
                wait_for(lambda t=t: f"j{t}" in owners(db).values(), 60, "joiner took a share")
        finally:
            db.dispose()
            c.close()
    return {"trials": trials, "partitions": projects, "lease_seconds": 10.0,
            "heartbeat_seconds": 2.0, "seconds_min": round(min(times), 2),
            "seconds_median": round(statistics.median(times), 2),
            "seconds_max": round(max(times), 2), "target_median_seconds": 15.0,
            "met": statistics.median(times) <= 15.0}


# --- CPU accounting ------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of one process so far (None once it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def db_server_pids(db_name: str | None) -> dict[str, int]:
    """The local PostgreSQL backends serving `db_name` (one per connection): their CPU is this
    run's database work. Other servers (MariaDB: one process for every database) are not split."""
    found: dict[str, int] = {}
    if not db_name:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if cmd.startswith(b"postgres: ") and f" {db_name} ".encode() in cmd:
            found[f"db:{entry.name}"] = int(entry.name)
    return found


class CpuMeter:
    """CPU seconds each process of the run used within a window: the API, the simulator, every
    agent, the database backends (PostgreSQL) and this process (the clients). Sampled every
    `every` seconds, so a backend that exits inside the window still counts to its last sample."""

    def __init__(self, procs: dict[str, int], db_name: str | None, every: float = 0.5) -> None:
        self.procs, self.db_name, self.every = procs, db_name, every
        self.base: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _pids(self) -> dict[str, int]:
        return {**self.procs, **db_server_pids(self.db_name)}

    def _sample(self) -> None:
        for name, pid in self._pids().items():
            value = process_cpu(pid)
            if value is not None:
                self.last[name] = value

    def _run(self) -> None:
        while not self.stop_flag.wait(self.every):
            self._sample()

    def __enter__(self) -> CpuMeter:
        for name, pid in self._pids().items():
            value = process_cpu(pid)
            if value is not None:
                self.base[name] = self.last[name] = value
        self.machine0 = machine_ticks()
        self.self0 = time.process_time()
        self.wall0 = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_flag.set()
        self.thread.join(timeout=10)
        self._sample()
        self.wall = time.monotonic() - self.wall0
        self.self_cpu = time.process_time() - self.self0
        busy1, total1 = machine_ticks()
        busy0, total0 = self.machine0
        self.machine_busy = (busy1 - busy0) / max(1, total1 - total0)

    def report(self, graphs: int) -> dict[str, Any]:
        used = {name: self.last[name] - self.base.get(name, 0.0) for name in self.last}
        per: dict[str, float] = {}
        for name, seconds in used.items():
            group = "database" if name.startswith("db:") else name
            per[group] = per.get(group, 0.0) + seconds
        per["bench_clients"] = self.self_cpu
        total = sum(per.values())
        cores = os.cpu_count() or 1
        return {
            "window_seconds": round(self.wall, 2),
            "cpu_seconds": {k: round(v, 2) for k, v in sorted(per.items())},
            "cpu_ms_per_graph": {k: round(v / graphs * 1000, 1) for k, v in sorted(per.items())},
            "cpu_seconds_total": round(total, 2),
            "cpu_ms_per_graph_total": round(total / graphs * 1000, 1),
            "cores_used_by_run": round(total / self.wall, 2),
            "machine_busy_fraction": round(self.machine_busy, 3),
            "machine_cores": cores,
            "database_server_counted": bool(self.db_name),
        }


# --- throughput ------------------------------------------------------------------------------

POLL_HZ = 5.0  # completion checks per second (one query covering every graph)
# Product defaults (heartbeat 2 s, lease 10 s, poll 0.1 s; on PostgreSQL NOTIFY wakes the agents)
# except operating-status collection, which is not part of provisioning and would otherwise read
# every partition every 10 s. The concurrency limit is the `--concurrency` flag.
AGENT_SETTINGS = {"heartbeat_interval": 2.0, "lease_seconds": 10.0, "poll_interval": 0.1,
                  "status_interval": 3600.0}


RECONCILE_LINE = re.compile(r"reconcile finished \[(.*)\]")


def reconciles(c: Cluster) -> dict[str, Any]:
    """What the agents logged: one line per reconcile, with its outcome and duration."""
    per_agent: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    seconds: list[float] = []
    for name, proc in c.agents.items():
        for match in RECONCILE_LINE.finditer(proc.output()):
            fields = dict(f.split("=", 1) for f in match.group(1).split(" ") if "=" in f)
            per_agent[name] = per_agent.get(name, 0) + 1
            outcomes[fields.get("outcome", "?")] = outcomes.get(fields.get("outcome", "?"), 0) + 1
            if "seconds" in fields:
                seconds.append(float(fields["seconds"]))
    seconds.sort()
    return {"per_agent": per_agent, "outcomes": outcomes,
            "seconds_median": round(statistics.median(seconds), 3) if seconds else None,
            "seconds_p90": round(seconds[int(len(seconds) * 0.9)], 3) if seconds else None}


def keep(tmp: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for log in tmp.glob("*.log"):
        shutil.copy(log, dest / log.name)


def throughput(agents: int, graphs: int, db_kind: str, latency_ms: float,
               concurrency: int, keep_logs: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d, fresh_db(db_kind, Path(d)) as url:
        tmp = Path(d)
        c = Cluster(tmp, url, devices=2, lease_seconds=AGENT_SETTINGS["lease_seconds"],
                    heartbeat=AGENT_SETTINGS["heartbeat_interval"],
                    extra_conf=f"max_concurrent_reconciles = {concurrency}\n"
                               f"poll_interval = {AGENT_SETTINGS['poll_interval']}\n"
                               f"status_interval = {AGENT_SETTINGS['status_interval']}\n")
        db = Database(url)  # the bench's own connection for completion checks, kept open
        try:
            c.upgrade_db()
            c.start_sim(latency_ms=latency_ms)
            c.start_api()
            for i in range(agents):
                c.start_agent(f"t{i}")
            wait_for(lambda: live_agents(db) == agents, 60, f"{agents} agent(s) registered")
            sub = subnet(c)
            projects = [f"tp{i:03d}" for i in range(graphs)]
            procs = {"api": pid_of(c.api), "simulator": pid_of(c.sim)}
            procs.update({f"agent:{h}": pid_of(p) for h, p in c.agents.items()})
            db_name = make_url(url).database if db_kind == "postgresql" else None
            lb_ids: dict[str, int] = {}
            done_at: dict[str, float] = {}
            submitted: list[float] = []
            opened: list[httpx.Client] = []
            time.sleep(3.0)  # let start-up settle (first heartbeats, probes) before measuring
            loadavg = [round(x, 2) for x in os.getloadavg()]
            with CpuMeter(procs, db_name) as meter:
                started = time.monotonic()

                clients = threading.local()

                def submit(i: int) -> None:
                    # One keep-alive client per submitter (a client per call would cost the
                    # bench more CPU, mostly TLS set-up, than the API spends on the create).
                    if not hasattr(clients, "api"):
                        clients.api = c.client()
                        opened.append(clients.api)
                    r = clients.api.post("/v2/lbaas/loadbalancers",
                                         json=full_graph(projects[i], sub, i),
                                         headers={"X-Project-Id": projects[i]})
                    assert r.status_code == 201, r.text
                    lb_ids[r.json()["loadbalancer"]["id"]] = i
                    submitted.append(time.monotonic())

                # Several API clients at once, so that the agents, not the submission, bound
                # the rate; completion is checked meanwhile at a fixed rate.
                with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
                    futures = [pool.submit(submit, i) for i in range(graphs)]
                    deadline = started + 600
                    while len(done_at) < graphs and time.monotonic() < deadline:
                        tick = time.monotonic()
                        finished = active_or_error(db)
                        seen = time.monotonic()  # when we knew: never earlier than the fact
                        for lb_id, status in finished:
                            if status == "ERROR":
                                raise RuntimeError(f"load balancer {lb_id} went to ERROR")
                            done_at.setdefault(lb_id, seen)
                        for f in futures:
                            if f.done() and f.exception() is not None:
                                f.result()  # a failed create: raise it now
                        time.sleep(max(0.0, 1 / POLL_HZ - (time.monotonic() - tick)))
                    for f in futures:
                        f.result()
                for client in opened:
                    client.close()
                if len(done_at) < graphs:
                    raise TimeoutError(f"only {len(done_at)} of {graphs} graphs ACTIVE")
                elapsed = max(done_at.values()) - started
            # Outside the measured window: every graph is ACTIVE as the API reports it.
            with c.client() as api:
                for lb_id, i in lb_ids.items():
                    body = api.get(f"/v2/lbaas/loadbalancers/{lb_id}",
                                   headers={"X-Project-Id": projects[i]}).json()["loadbalancer"]
                    assert body["provisioning_status"] == "ACTIVE", body
            done = reconciles(c)
            if keep_logs is not None:
                keep(tmp, keep_logs / f"throughput-{db_kind}-{agents}")
        finally:
            db.dispose()
            c.close()
    times = sorted(t - started for t in done_at.values())
    lo, hi = times[len(times) // 4], times[(3 * len(times)) // 4]
    steady = (len(times) // 2) / (hi - lo) if hi > lo else None
    return {"agents": agents, "graphs": graphs, "loadavg_before": loadavg,
            "seconds": round(elapsed, 2),
            "graphs_per_second": round(graphs / elapsed, 2),
            "steady_graphs_per_second": round(steady, 2) if steady else None,
            "first_active_seconds": round(times[0], 2),
            "all_submitted_seconds": round(max(submitted) - started, 2),
            "reconciles": done,
            "cpu": meter.report(graphs)}


def pid_of(proc: Any) -> int:
    assert proc is not None and proc.popen is not None
    return int(proc.popen.pid)


def live_agents(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Agent)
                            .where(Agent.stopped.is_(False))) or 0)


def active_or_error(db: Database) -> list[tuple[str, str]]:
    """Load balancers that have finished (ACTIVE or ERROR): one indexed query on one connection."""
    with db.read() as s:
        return [(lb_id, status) for lb_id, status in s.execute(
            sa.select(LoadBalancer.id, LoadBalancer.provisioning_status)
            .where(LoadBalancer.provisioning_status.in_(("ACTIVE", "ERROR"))))]


def git_state() -> dict[str, Any]:
    """Which code was measured: the commit, and files modified in the checkout (if any)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, check=True,
                               timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "modified": [line[3:] for line in dirty if line.strip()]}


def scale_out(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median rate per number of agents over the repeats, and the ratio last vs first."""
    counts = list(dict.fromkeys(r["agents"] for r in runs))
    median = {n: statistics.median(r["graphs_per_second"] for r in runs if r["agents"] == n)
              for n in counts}
    steady = {n: statistics.median(r["steady_graphs_per_second"] or 0.0 for r in runs
                                   if r["agents"] == n) for n in counts}
    ratio = median[counts[-1]] / median[counts[0]]
    return {"median_graphs_per_second": {str(n): round(v, 2) for n, v in median.items()},
            "median_steady_graphs_per_second": {str(n): round(v, 2) for n, v in steady.items()},
            "scale_out_4_vs_1": round(ratio, 2),
            "steady_scale_out_4_vs_1": round(steady[counts[-1]] / steady[counts[0]], 2)
            if steady[counts[0]] else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--projects", type=int, default=12)
    ap.add_argument("--graphs", type=int, default=240)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=1,
                    help="[bigip_lbaas] max_concurrent_reconciles of every agent, every run")
    ap.add_argument("--db", default="sqlite", choices=KINDS,
                    help="a fresh database of this kind for each run (default: sqlite)")
    ap.add_argument("--skip-failover", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--agent-counts", default="1,2,4",
                    help="throughput runs, by number of agents (the ratio is last vs first)")
    ap.add_argument("--status-interval", type=float, default=AGENT_SETTINGS["status_interval"],
                    help="[bigip_lbaas] status_interval of the agents (default: collection off; "
                         "10 is the product default)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the series this many times, interleaved (ratio of the medians)")
    ap.add_argument("--keep-logs", type=Path, default=None,
                    help="copy each throughput run's process logs under this directory")
    ap.add_argument("--output", type=Path, default=None,
                    help="also write the JSON to this file")
    args = ap.parse_args()
    AGENT_SETTINGS["status_interval"] = args.status_interval
    report: dict[str, Any] = {"benchmark": "agents", "database": args.db,
                              "command": " ".join(["bench/agents_bench.py", *sys.argv[1:]]),
                              "loadavg": os.getloadavg(), "code": git_state()}
    if not args.skip_failover:
        report["failover"] = failover(args.trials, args.projects, args.db)
    if not args.skip_throughput:
        counts = [int(n) for n in args.agent_counts.split(",")]
        runs = []
        for rep in range(args.repeat):
            for n in counts:
                logs = args.keep_logs / f"repeat{rep}" if args.keep_logs else None
                runs.append({"repeat": rep, **throughput(n, args.graphs, args.db,
                                                         args.latency_ms, args.concurrency,
                                                         logs)})
        report["throughput"] = {
            "latency_ms": args.latency_ms, "concurrency_per_agent": args.concurrency,
            "graphs": args.graphs, "submitters": SUBMITTERS,
            "completion_checks_per_second": POLL_HZ, "agent_settings": AGENT_SETTINGS,
            "repeats": args.repeat, "runs": runs, **scale_out(runs), "target_scale_out": 3.5,
        }
        report["throughput"]["met"] = report["throughput"]["scale_out_4_vs_1"] >= 3.5
    text = json.dumps(report, indent=2)
    if args.output is not None:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
