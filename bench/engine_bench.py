"""Engine benchmark against the simulator; prints JSON.

1. REST calls per device to build one full graph (LB, listener, pool, 2 members, HM) through six
   successive converges, as the six API calls would (target ≤ 40 incl. login): with the lease-epoch
   cache (the agent's normal path) and with a fresh observe every time (anti-entropy).
2. Calls for a no-change converge (target 0 writes), cached and fresh.
3. Engine alone (context): time and calls to converge N partitions x M LBs onto an empty
   simulated device (default 1,000 x 10) by `--workers` processes calling
   `device.converge.converge` directly, 8 partitions at a time each: no database, leases,
   placement or status writes.
4. Real agents (the < 60 s target, `--agents N`, default 2; 0 skips it): the same cold rebuild
   by real `bigip-lbaas agent` processes (distinct hosts) from the database. Desired state is
   inserted straight into a fresh database as `memory_bench.load` does (per LB: LB, HTTP
   listener, pool, 2 members, HTTP monitor); a single simulated device (standalone, no state
   file) starts; the clock runs from starting the agents until every partition's applied
   generation equals its desired generation (polled every 0.2 s with one kept read-only
   connection; bounded by `--agents-timeout`). Agent settings are the product defaults except
   `status_interval = 3600` (operating-status collection would otherwise compete) and the
   bench's own device address, credentials and database. Reported: device requests by method
   (the simulator's /sim counters), requests per LB, reconciles per agent (from the agents' log
   lines), CPU seconds per process, the load average before the run. `--agents-db postgresql`
   uses a fresh PostgreSQL database instead of SQLite (the embedded default). `--py-spy DIR`
   additionally samples each agent with py-spy (if installed) into DIR (profiling only: the
   sampler costs CPU, so such a run is not the recorded figure).

Usage: python bench/engine_bench.py [--partitions 1000] [--lbs 10] [--workers 2] [--inflight 8]
       [--repeat N] [--only-cold] [--agents 2] [--agents-db sqlite|postgresql]
       [--agents-only] [--out bench/results/engine.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bigip_lbaas.core.model import (
    HealthMonitor,
    Listener,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
)
from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database
from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.converge import converge
from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread, start_sim_process, wait_ready

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents_bench import CpuMeter, reconciles
from memory_bench import MemCluster, load
from tests.databases import fresh_database

PREFIX = "Project"


def client(sim: SimHandle, device: int = 1, **kw: Any) -> BigipClient:
    return BigipClient(
        "127.0.0.1",
        sim.username,
        sim.password,
        port=sim.ports[device - 1],
        verify=str(sim.ca_file),
        **kw,
    )


def device_counts(sim: SimHandle, device: int = 1) -> dict[str, int]:
    return dict(sim.control("GET", "counters", device=device)["methods"])


def steps(project: str) -> list[PartitionState]:
    """The six API calls: create LB, listener, pool (as the listener's default), member, member, HM."""
    key = PartitionKey("bench", project)
    m1 = Member("m1-" + project, "10.10.0.1", 80)
    m2 = Member("m2-" + project, "10.10.0.2", 80)
    hm = HealthMonitor("hm-" + project, "HTTP", 5, 3, 3)
    out = []
    for i in range(6):
        pool_members = (m1, m2)[: max(0, i - 2)]
        pool = Pool(
            "pool-" + project,
            "HTTP",
            "ROUND_ROBIN",
            members=pool_members,
            health_monitor=hm if i >= 5 else None,
        )
        lst = Listener("lst-" + project, "HTTP", 80, default_pool_id=pool.id if i >= 2 else None)
        lb = LoadBalancer(
            "lb-" + project,
            "192.0.2.50",
            listeners=(lst,) if i >= 1 else (),
            pools=(pool,) if i >= 2 else (),
        )
        out.append(PartitionState(key, i + 1, (lb,)))
    return out


async def incremental(sim: SimHandle, device: int, cached: bool) -> dict[str, Any]:
    sim.control("DELETE", "counters", device=device)
    async with client(sim, device) as c:
        for state in steps(f"incr{device}"):
            r = await converge(c, state, PREFIX, cache_token=1 if cached else None)
            assert r.ok, r.failures
        build = device_counts(sim, device)
        sim.control("DELETE", "counters", device=device)
        again = await converge(
            c, steps(f"incr{device}")[-1], PREFIX, cache_token=1 if cached else None
        )
        nochange = device_counts(sim, device)
        await converge(c, PartitionState(PartitionKey("bench", f"incr{device}"), 9), PREFIX)
    return {
        "build_requests_total": build.get("total", 0),
        "build_requests_by_method": {k: v for k, v in build.items() if k != "total"},
        "no_change_requests": nochange.get("total", 0),
        "no_change_writes": sum(v for k, v in nochange.items() if k not in ("GET", "total")),
        "no_change_result_writes": again.writes,
    }


def bulk_state(p: int, lbs: int) -> PartitionState:
    items = []
    for i in range(lbs):
        tag = f"{p}-{i}"
        hm = HealthMonitor("hm" + tag, "HTTP", 5, 3, 3)
        a, b = divmod(p * lbs + i, 250)
        pool = Pool(
            "pool" + tag,
            "HTTP",
            "ROUND_ROBIN",
            health_monitor=hm,
            members=(
                Member("ma" + tag, f"10.{100 + a // 250}.{a % 250}.{b + 1}", 80),
                Member("mb" + tag, f"10.{100 + a // 250}.{a % 250}.{b + 1}", 81),
            ),
        )
        lst = Listener("lst" + tag, "HTTP", 80, default_pool_id=pool.id)
        items.append(
            LoadBalancer(
                "lb" + tag,
                f"172.{16 + a // 250}.{a % 250}.{b + 1}",
                listeners=(lst,),
                pools=(pool,),
            )
        )
    return PartitionState(PartitionKey("bench", f"bulk{p:05d}"), 1, tuple(items))


def _worker(
    n: int,
    workers: int,
    partitions: int,
    lbs: int,
    inflight: int,
    port: int,
    ca: str,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """One agent in its own process: converges every ``workers``-th partition, ``inflight`` at a
    time on one client with ``max_concurrency=inflight`` (the agent's max_concurrent_reconciles and
    device_concurrency defaults are both 8)."""
    mine = list(range(n, partitions, workers))

    async def run() -> dict[str, Any]:
        failures = 0
        queue = list(reversed(mine))
        async with BigipClient(
            "127.0.0.1",
            "admin",
            "admin",
            port=port,
            verify=ca,
            timeout=60.0,
            client_id=f"bench-agent-{n}",
            max_concurrency=inflight,
        ) as c:

            async def lane() -> None:
                nonlocal failures
                while queue:
                    p = queue.pop()
                    r = await converge(c, bulk_state(p, lbs), PREFIX, cache_token=1)
                    failures += len(r.failures)

            ready.set()
            go.wait()
            t0, cpu0 = time.perf_counter(), time.process_time()
            await asyncio.gather(*(lane() for _ in range(inflight)))
            return {
                "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - cpu0,
                "requests": c.counter.total,
                "failures": failures,
            }

    out.put((n, asyncio.run(run())))


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux), for the server's CPU cost per request."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def bulk(
    partitions: int, lbs: int, workers: int, inflight: int, state_file: str | None = None
) -> dict[str, Any]:
    """Cold rebuild: the simulator in its own process (a real device is its own box) and each
    agent in its own process, so the two cores are shared as they would be by two agents and a
    device; the clock runs from the moment all agents are ready until the last one is done."""
    port = _free_port()
    sim_args = ["--port", str(port), "--devices", "1"]
    if state_file:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(state_file)
        sim_args += ["--state-file", state_file]
    proc = start_sim_process(sim_args)
    ctx = mp.get_context("spawn")
    try:
        dev = wait_ready(proc)[0]
        ca = dev["ca"]
        ctl = httpx.Client(base_url=dev["url"], verify=ca, auth=("admin", "admin"), timeout=30)
        ctl.delete("/sim/devices/1/counters")
        go = ctx.Event()
        out = ctx.Queue()
        readies = [ctx.Event() for _ in range(workers)]
        procs = [
            ctx.Process(
                target=_worker,
                args=(n, workers, partitions, lbs, inflight, port, ca, readies[n], go, out),
            )
            for n in range(workers)
        ]
        for p in procs:
            p.start()
        for r in readies:
            if not r.wait(120):
                raise RuntimeError("a bench worker did not start")
        load_before = os.getloadavg()
        sim_cpu0 = _cpu_seconds(proc.pid)
        t0 = time.perf_counter()
        go.set()
        results = dict(out.get(timeout=3600) for _ in procs)
        elapsed = time.perf_counter() - t0
        sim_cpu = _cpu_seconds(proc.pid) - sim_cpu0
        load_after = os.getloadavg()
        for p in procs:
            p.join(30)
        counts = dict(ctl.get("/sim/devices/1/counters").json()["methods"])
        ctl.close()
    finally:
        proc.terminate()
        proc.wait(10)
    total = counts.get("total", 0)
    client_cpu = sum(r["cpu_seconds"] for r in results.values())
    return {
        "partitions": partitions,
        "load_balancers": partitions * lbs,
        "objects_per_lb": "LB, listener, pool, 2 members, HTTP monitor",
        "workers": workers,
        "worker_kind": "process",
        "sim_state_file": bool(state_file),
        "partitions_in_flight_per_worker": inflight,
        "seconds": round(elapsed, 2),
        "target_seconds": 60,
        "met": elapsed < 60 and partitions * lbs >= 10_000,
        "requests_total": total,
        "requests_per_partition": round(total / max(1, partitions), 2),
        "requests_per_second": round(total / elapsed, 1),
        "requests_by_method": {k: v for k, v in counts.items() if k != "total"},
        "client_cpu_us_per_request": round(client_cpu / max(1, total) * 1e6),
        "server_cpu_us_per_request": round(sim_cpu / max(1, total) * 1e6),
        "worker_seconds": [round(results[n]["seconds"], 2) for n in sorted(results)],
        "object_failures": sum(r["failures"] for r in results.values()),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
    }


# --- real agents ------------------------------------------------------------------------------

# Product defaults (heartbeat 2 s, lease 10 s, renew deadline 7 s, poll 0.1 s, 8 reconciles and 8
# device requests in flight per agent, 5 retries, pending timeout 60 s) except status collection,
# which is not provisioning and would read every held partition every 10 s.
AGENT_DEFAULTS = ("heartbeat_interval = 2.0\nlease_seconds = 10.0\nrenew_deadline = 7.0\n"
                  "poll_interval = 0.1\nmax_retries = 5\n")
AGENT_CHANGED = {"status_interval": 3600.0}
PROGRESS_EVERY = 0.2


def _applied(db: Database) -> tuple[int, int]:
    """(partitions, partitions whose applied generation equals the desired one), read-only."""
    with db.read() as s:
        total = s.scalar(sa.select(sa.func.count()).select_from(m.Partition)) or 0
        done = s.scalar(sa.select(sa.func.count()).select_from(m.Partition).where(
            m.Partition.applied_generation == m.Partition.desired_generation)) or 0
    return total, done


def _statuses(db: Database) -> dict[str, dict[str, int]]:
    """Provisioning status counts of every Octavia table the load wrote."""
    out: dict[str, dict[str, int]] = {}
    with db.read() as s:
        for model in (m.LoadBalancer, m.Listener, m.Pool, m.Member, m.HealthMonitor):
            rows = s.execute(sa.select(model.provisioning_status, sa.func.count())
                             .group_by(model.provisioning_status)).all()
            out[model.__tablename__] = {str(k): int(v) for k, v in rows}
    return out


def _log_counts(text: str, message: str) -> int:
    """Sum of `count=` over the log lines with `message` (e.g. acquisitions, handovers)."""
    total = 0
    for line in text.splitlines():
        if message in line:
            for field in line.rsplit("[", 1)[-1].rstrip("]").split(" "):
                if field.startswith("count="):
                    total += int(field[6:])
    return total


def _py_spy(pids: dict[str, int], out_dir: Path, seconds: float) -> list[subprocess.Popen[bytes]]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        raise SystemExit("--py-spy: py-spy is not installed")
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = []
    for name, pid in pids.items():
        tag = name.replace(":", "-")
        with (out_dir / f"{tag}.py-spy.log").open("wb") as log:
            spies.append(subprocess.Popen(
                [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate",
                 "50", "--format", "raw", "--nonblocking", "--output", str(out_dir / f"{tag}.txt")],
                stdout=log, stderr=subprocess.STDOUT))
    return spies


def agents_rebuild(partitions: int, lbs: int, agents: int, db_kind: str, timeout: float,
                   py_spy: Path | None = None, keep_logs: Path | None = None) -> dict[str, Any]:
    """Cold rebuild by real agents from the database onto one empty simulated device."""
    with tempfile.TemporaryDirectory(prefix="rebuild-") as d, \
            fresh_database(db_kind, Path(d)) as url:
        tmp = Path(d)
        extra = AGENT_DEFAULTS + "".join(f"{k} = {v}\n" for k, v in AGENT_CHANGED.items())
        c = MemCluster(tmp, url, devices=1, lease_seconds=10.0, heartbeat=2.0, extra_conf=extra)
        db = Database(url)  # the bench's one kept connection for progress checks
        try:
            c.upgrade_db()
            loaded = load(db, partitions, lbs, f"r{uuid.uuid4().hex[:4]}-")
            c.start_sim()
            assert c.sim is not None and c.sim.popen is not None
            with c.device(0) as ctl:
                ctl.delete("/sim/counters").raise_for_status()
                time.sleep(2.0)  # let the load's writes settle before reading the load average
                load_before = [round(x, 2) for x in os.getloadavg()]
                t0 = time.monotonic()
                for i in range(agents):
                    # product default for the pending timeout (the harness's is 20 s)
                    c.start_agent(f"rb{i + 1}", extra="f5_pending_services_timeout = 60\n")
                procs = {"simulator": c.sim.popen.pid}
                procs.update({f"agent:{h}": p.popen.pid for h, p in c.agents.items()
                              if p.popen is not None})
                spies = (_py_spy({k: v for k, v in procs.items() if k.startswith("agent:")},
                                 py_spy, timeout) if py_spy else [])
                db_name = sa.engine.make_url(url).database if db_kind == "postgresql" else None
                curve: list[tuple[float, int]] = []
                with CpuMeter(procs, db_name) as meter:
                    deadline = t0 + timeout
                    total = done = 0
                    while time.monotonic() < deadline:
                        total, done = _applied(db)
                        now = time.monotonic() - t0
                        if not curve or now - curve[-1][0] >= 5.0:
                            curve.append((round(now, 1), done))
                        if total and done == total:
                            break
                        dead = [h for h, p in c.agents.items() if not p.alive]
                        if dead:
                            raise RuntimeError(f"agent(s) exited: {dead}")
                        time.sleep(PROGRESS_EVERY)
                    elapsed = time.monotonic() - t0
                load_after = [round(x, 2) for x in os.getloadavg()]
                for spy in spies:  # SIGINT: py-spy writes what it sampled, then exits
                    spy.send_signal(signal.SIGINT)
                    spy.wait(60)
                counts = dict(ctl.get("/sim/counters").json()["methods"])
            if done != total:
                raise TimeoutError(f"{done} of {total} partitions applied after {timeout:.0f} s")
            statuses = _statuses(db)
            rec = reconciles(c)
            logs = {h: p.output() for h, p in c.agents.items()}
            cpu = meter.report(loaded["load_balancers"])
        finally:
            if keep_logs:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for log in tmp.glob("*.log"):
                    shutil.copy(log, keep_logs / log.name)
            c.close()
            db.dispose()
    requests = counts.get("total", 0)
    n_lbs = loaded["load_balancers"]
    not_active = {t: {k: v for k, v in st.items() if k != "ACTIVE"} for t, st in statuses.items()}
    return {
        "partitions": partitions,
        "load_balancers": n_lbs,
        "objects_per_lb": "LB, HTTP listener, pool, 2 members, HTTP monitor",
        "agents": agents,
        "database": db_kind,
        "devices": "1 simulated device, standalone, no state file",
        "agent_settings": "product defaults (heartbeat 2 s, lease 10 s, poll 0.1 s, "
                          "max_concurrent_reconciles 8, device_concurrency 8) except "
                          + ", ".join(f"{k} = {v:g}" for k, v in AGENT_CHANGED.items()),
        "clock": "from starting the agent processes until every partition's applied generation "
                 "equals its desired generation",
        "load_seconds": loaded["load_seconds"],
        "seconds": round(elapsed, 1),
        "target_seconds": 60,
        "met": elapsed < 60 and n_lbs >= 10_000,
        "partitions_applied": done,
        "applied_curve_every_5s": curve,
        "requests_total": requests,
        "requests_per_lb": round(requests / max(1, n_lbs), 2),
        "requests_per_second": round(requests / max(elapsed, 1e-9), 1),
        "requests_by_method": {k: v for k, v in counts.items() if k != "total"},
        "reconciles": rec,
        "partitions_acquired_per_agent": {h: _log_counts(t, "partitions acquired")
                                          for h, t in logs.items()},
        "partitions_handed_over_per_agent": {h: _log_counts(t, "handed partitions over")
                                             for h, t in logs.items()},
        "object_failures": sum(sum(st.values()) for st in not_active.values()),
        "provisioning_status_not_active": {t: st for t, st in not_active.items() if st},
        "cpu_seconds": cpu["cpu_seconds"],
        "cpu_seconds_total": cpu["cpu_seconds_total"],
        "cores_used_by_run": cpu["cores_used_by_run"],
        "machine_busy_fraction": cpu["machine_busy_fraction"],
        "database_server_cpu_counted": cpu["database_server_counted"],
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "cpus": os.cpu_count(),
        "profiled_with_py_spy": bool(py_spy),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--lbs", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--inflight", type=int, default=8)
    ap.add_argument(
        "--repeat", type=int, default=1, help="cold rebuilds to run (fresh device each)"
    )
    ap.add_argument("--only-cold", action="store_true", help="skip the graph/no-change sections")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--sim-state-file", help="run the simulator with --state-file (persistence on)")
    ap.add_argument("--agents", type=int, default=2,
                    help="real agents for the real-agents cold rebuild (0: skip it)")
    ap.add_argument("--agents-db", default="sqlite", choices=("sqlite", "postgresql"),
                    help="database of the real-agents cold rebuild (a fresh one)")
    ap.add_argument("--agents-timeout", type=float, default=900.0,
                    help="bound on the real-agents cold rebuild (s)")
    ap.add_argument("--agents-only", action="store_true",
                    help="run only the real-agents cold rebuild")
    ap.add_argument("--py-spy", type=Path, default=None,
                    help="sample each agent with py-spy into this directory (profiling)")
    ap.add_argument("--keep-logs", type=Path, default=None,
                    help="copy the real-agents run's logs to this directory")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    if args.agents_only and not args.agents:
        ap.error("--agents-only needs --agents N > 0")
    if not args.only_cold and not args.agents_only:
        with run_sim_in_thread(devices=3) as sim:
            out["graph_6_converges_cached"] = asyncio.run(incremental(sim, 1, cached=True))
            out["graph_6_converges_fresh_observe"] = asyncio.run(incremental(sim, 2, cached=False))
        g = out["graph_6_converges_cached"]
        out["targets"] = {
            "graph_requests_le_40": g["build_requests_total"] <= 40,
            "no_change_zero_writes": g["no_change_writes"] == 0
            and out["graph_6_converges_fresh_observe"]["no_change_writes"] == 0,
        }
    if not args.agents_only:
        runs = [
            bulk(args.partitions, args.lbs, args.workers, args.inflight, args.sim_state_file)
            for _ in range(args.repeat)
        ]
        # The median run is the headline (the machine is shared; every run is listed with its
        # load).
        out["cold_rebuild"] = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        if len(runs) > 1:
            out["cold_rebuild_runs_seconds"] = [r["seconds"] for r in runs]
            out["cold_rebuild_runs_loadavg_1min"] = [r["loadavg_before"][0] for r in runs]
    if args.agents:
        out["cold_rebuild_real_agents"] = agents_rebuild(
            args.partitions, args.lbs, args.agents, args.agents_db, args.agents_timeout,
            args.py_spy, args.keep_logs)
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
