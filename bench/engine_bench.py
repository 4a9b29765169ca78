"""Engine benchmark against the simulator; prints JSON.

1. EMULATED (context): REST calls per device to build one full graph (LB, listener, pool,
   2 members, HM) through six successive `converge` calls on in-memory states, as the six API
   calls would: trusting what the previous converge left (as the agent does under one lease
   epoch) and with a fresh observe every time (anti-entropy).
2. EMULATED (context): calls for a no-change converge, cached and fresh.
R. REAL (the ≤ 40 and 0-writes targets): a simulator (1 device, standalone, 0 ms latency), the
   API and ONE real `bigip-lbaas agent` (product defaults except `status_interval = 3600`:
   operating-status collection off) on a fresh SQLite database; a network and subnet through the
   API; once the agent is idle (logged in, probing), the six API calls one after another (create
   LB, listener, pool as the listener's default, member, member, HTTP monitor), each waiting for
   the LB to be ACTIVE again. Device requests in that window come from the simulator's counters
   (and audit log); each is attributed by a recording TLS pass-through proxy in this process,
   through which the product reaches the device (the simulator records no GET paths): login,
   reconcile (observe GETs, writes, transactions) or background (probes, cluster checks). Then
   two no-change reconciles: a PUT of the LB's own name (bumps the generation; the agent
   reconciles under its lease epoch) and an agent restart (the new instance takes the partition
   and, as a new owner, reads the device afresh: the anti-entropy path), each counted the same
   way. `--graph-only` runs 1, 2 and R alone and, with `--out`, merges them into that file.
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
   sampler costs CPU, so such a run is not the recorded figure). `--agents-only` runs this section
   alone and, with `--out`, merges it into that file. `agent_cpu_ms_per_lb`: the agents' CPU
   seconds together per load balancer rebuilt.

L. L2/L3 mode (`--l2l3`, with section 4; the < 90 s target): the same cold rebuild with
   `f5_global_routed_mode = False` (F5's defaults otherwise: one route domain per project, one
   SNAT address per subnet). Each partition gets its own VLAN network (segmentation id
   100 + index) and one subnet 172.16.0.0/12 (the same CIDR in every project: overlapping, as
   tenants' are), which every load balancer of the partition has as its VIP subnet (members on
   it too). Before the clock starts nothing network-wise exists: every agent allocates the route
   domains in the database and books the self-IP and SNAT ports in the registry as part of the
   measured rebuild. Reported under `cold_rebuild_real_agents_l2l3`, with the route domains and
   ports found afterwards.

Usage: python bench/engine_bench.py [--partitions 1000] [--lbs 10] [--workers 2] [--inflight 8]
       [--repeat N] [--only-cold] [--agents 2] [--agents-db sqlite|postgresql]
       [--agents-only] [--graph-only] [--l2l3] [--out bench/results/engine.json]
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
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
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
from tests.cluster import Cluster, free_ports, wait_for
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
    """Six converges as six API calls would cause; ``cached``: each after the first trusts what
    the previous one left on the device (as the agent does under one lease epoch)."""
    sim.control("DELETE", "counters", device=device)
    async with client(sim, device) as c:
        known = None
        for state in steps(f"incr{device}"):
            r = await converge(c, state, PREFIX, known=known)
            assert r.ok, r.failures
            known = r.observed if cached else None
        build = device_counts(sim, device)
        sim.control("DELETE", "counters", device=device)
        again = await converge(c, steps(f"incr{device}")[-1], PREFIX, known=known)
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
                    r = await converge(c, bulk_state(p, lbs), PREFIX)
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


L2L3_AGENT = ("f5_global_routed_mode = False\n"
              "f5_external_physical_mappings = default:1.1:True\n")
L2L3_CIDR = "172.16.0.0/12"


def l2l3_networks(db: Database) -> int:
    """One VLAN network and one subnet (the same CIDR everywhere) per partition, set as the VIP
    subnet of every load balancer of the partition; returns the networks made."""
    with db.transaction() as s:
        parts = list(s.execute(sa.select(m.Partition.id, m.Partition.project_id)
                               .order_by(m.Partition.id)))
        for i, (pid, project) in enumerate(parts):
            net, sub = str(uuid.uuid4()), str(uuid.uuid4())
            s.add(m.Network(id=net, project_id=project, name=f"n{i}", shared=False,
                            external=False, network_type="vlan", physical_network="physnet1",
                            segmentation_id=100 + i, segment_key=f"vlan:physnet1:{100 + i}"))
            s.flush()
            s.add(m.Subnet(id=sub, network_id=net, project_id=project, cidr=L2L3_CIDR,
                           ip_version=4, gateway_ip="172.16.0.1", allocation_pools=[]))
            s.flush()
            s.execute(sa.update(m.LoadBalancer).where(m.LoadBalancer.partition_id == pid)
                      .values(vip_subnet_id=sub, vip_network_id=net))
    return len(parts)


def _l2l3_found(db: Database) -> dict[str, Any]:
    with db.transaction() as s:
        rds = list(s.scalars(sa.select(m.RouteDomain.id)))
        ports = s.scalar(sa.select(sa.func.count()).select_from(m.Port)) or 0
    return {"route_domains": len(rds), "route_domain_ids_unique": len(rds) == len(set(rds)),
            "route_domain_id_max": max(rds, default=0), "ports_booked": ports}


def agents_rebuild(partitions: int, lbs: int, agents: int, db_kind: str, timeout: float,
                   py_spy: Path | None = None, keep_logs: Path | None = None,
                   l2l3: bool = False) -> dict[str, Any]:
    """Cold rebuild by real agents from the database onto one empty simulated device (in L2/L3
    mode with ``l2l3``)."""
    with tempfile.TemporaryDirectory(prefix="rebuild-") as d, \
            fresh_database(db_kind, Path(d)) as url:
        tmp = Path(d)
        extra = AGENT_DEFAULTS + "".join(f"{k} = {v}\n" for k, v in AGENT_CHANGED.items())
        c = MemCluster(tmp, url, devices=1, lease_seconds=10.0, heartbeat=2.0, extra_conf=extra)
        db = Database(url)  # the bench's one kept connection for progress checks
        try:
            c.upgrade_db()
            loaded = load(db, partitions, lbs, f"r{uuid.uuid4().hex[:4]}-")
            if l2l3:
                loaded["networks"] = l2l3_networks(db)
            c.start_sim()
            assert c.sim is not None and c.sim.popen is not None
            with c.device(0) as ctl:
                ctl.delete("/sim/counters").raise_for_status()
                time.sleep(2.0)  # let the load's writes settle before reading the load average
                load_before = [round(x, 2) for x in os.getloadavg()]
                t0 = time.monotonic()
                for i in range(agents):
                    # product default for the pending timeout (the harness's is 20 s)
                    c.start_agent(f"rb{i + 1}", extra="f5_pending_services_timeout = 60\n"
                                  + (L2L3_AGENT if l2l3 else ""))
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
            found = _l2l3_found(db) if l2l3 else {}
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
    agent_cpu = sum(v for k, v in cpu["cpu_seconds"].items() if k.startswith("agent:"))
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
        "mode": "L2/L3 (f5_global_routed_mode = False), one VLAN network and subnet per "
                "partition, one route domain each, 1 SNAT address per subnet" if l2l3
                else "global routed",
        **({"l2l3": found} if l2l3 else {}),
        "target_seconds": 90 if l2l3 else 60,
        "met": elapsed < (90 if l2l3 else 60) and n_lbs >= 10_000,
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
        "agent_cpu_seconds": round(agent_cpu, 2),
        "agent_cpu_ms_per_lb": round(agent_cpu / max(1, n_lbs) * 1000, 3),
        "cpu_seconds_total": cpu["cpu_seconds_total"],
        "cores_used_by_run": cpu["cores_used_by_run"],
        "machine_busy_fraction": cpu["machine_busy_fraction"],
        "database_server_cpu_counted": cpu["database_server_counted"],
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "cpus": os.cpu_count(),
        "profiled_with_py_spy": bool(py_spy),
    }


# --- the six API calls through the real API and ONE real agent ----------------------------------

# Agent settings of the real-path graph run: product defaults, except status collection (every
# 10 s by default, reading the partition's stats and member states; not provisioning, so kept out
# of the window).
GRAPH_STATUS_INTERVAL = 3600.0
PROJECT = "graphbench"


@dataclass
class Seen:
    """One request the recording proxy forwarded to the device."""

    t: float
    method: str
    path: str  # without the query
    query: str
    client_id: str
    queued: bool  # carries X-F5-REST-Coordination-Id: a command queued into a transaction


class RecordingProxy:
    """TLS-terminating pass-through between the product and the simulated device, run in a thread
    of the bench: it records the method, path and client id of every request (the simulator keeps
    per-method counters and an audit log of writes, but no record of which GETs were made) and
    forwards bytes unchanged. It serves the simulator's own certificate, so the product verifies
    it with the simulator's CA as usual."""

    def __init__(self, port: int, upstream: int, cert: Path, key: Path, ca: Path) -> None:
        self.port, self.upstream = port, upstream
        self.server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_ctx.load_cert_chain(cert, key)
        self.client_ctx = ssl.create_default_context(cafile=str(ca))
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recording-proxy", daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("recording proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def since(self, n: int) -> list[Seen]:
        with self._lock:
            return list(self.seen[n:])

    def mark(self) -> int:
        with self._lock:
            return len(self.seen)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(
            self._serve, "127.0.0.1", self.port, ssl=self.server_ctx))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(
                "127.0.0.1", self.upstream, ssl=self.client_ctx, server_hostname="127.0.0.1")
        except OSError:
            writer.close()
            return
        back = asyncio.ensure_future(self._pipe(up_r, writer))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip()
                           for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                path, _, query = target.partition("?")
                with self._lock:
                    self.seen.append(Seen(time.monotonic(), method, path, query,
                                          headers.get("x-client-id", ""),
                                          "x-f5-rest-coordination-id" in headers))
                up_w.write(head + body)
                await up_w.drain()
        except (asyncio.IncompleteReadError, asyncio.CancelledError, ConnectionError,
                ssl.SSLError, ValueError):
            pass  # the connection ended (or the proxy is stopping)
        finally:
            for w in (up_w, writer):
                with contextlib.suppress(Exception):
                    w.close()
            back.cancel()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.CancelledError):
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        with contextlib.suppress(Exception):
            dst.close()


def path_class(r: Seen) -> tuple[str, str]:
    """(who, what) of one device request: who is "reconcile", "login" or "background"."""
    if r.path == "/mgmt/shared/authn/login":
        return "login", "POST authn/login"
    if r.path == "/mgmt/tm/sys/version":
        return "background", "GET sys/version (device probe, every heartbeat)"
    if r.path == "/mgmt/tm/sys/folder" and r.method == "GET":
        return "background", "GET sys/folder collection (returning-device check)"
    if r.path.startswith("/mgmt/tm/cm/"):
        return "background", f"{r.method} {r.path.removeprefix('/mgmt/tm/')} (cluster check)"
    if r.method == "GET" and r.path.startswith("/mgmt/tm/sys/folder/"):
        return "reconcile", "GET sys/folder/~P (observe: does the partition exist)"
    if r.method == "GET" and any(f in r.query for f in ("partition+eq", "partition%20eq",
                                                         "partition eq")):
        return "reconcile", "GET collection $filter=partition (observe)"
    if r.path.startswith("/mgmt/tm/transaction"):
        return "reconcile", f"{r.method} transaction ({'begin' if r.method == 'POST' else 'commit'})"
    if r.method != "GET":
        kind = "/".join(r.path.split("/")[3:5]).split("/~")[0]
        return "reconcile", (f"{r.method} {kind} (queued in a transaction)" if r.queued
                             else f"{r.method} {kind}")
    return "reconcile", f"GET {r.path}"


def attribute(seen: list[Seen]) -> dict[str, Any]:
    by_method: dict[str, int] = {}
    by_who: dict[str, dict[str, int]] = {}
    by_class: dict[str, int] = {}
    for r in seen:
        who, what = path_class(r)
        by_method[r.method] = by_method.get(r.method, 0) + 1
        w = by_who.setdefault(who, {})
        w[r.method] = w.get(r.method, 0) + 1
        by_class[f"{who}: {what}"] = by_class.get(f"{who}: {what}", 0) + 1
    total = {who: sum(v.values()) for who, v in by_who.items()}
    return {"total": len(seen), "by_method": by_method, "by_who": by_who,
            "total_by_who": total, "by_path_class": dict(sorted(by_class.items())),
            "client_ids": sorted({r.client_id for r in seen})}


@dataclass
class ProxiedCluster(Cluster):
    """The harness's cluster with every product process pointed at the recording proxy."""

    proxy_port: int = 0

    def write_common_conf(self) -> Path:
        path = super().write_common_conf()
        direct = f"icontrol_hostname = {self.sim_bind}:{self.sim_port}\n"
        text = path.read_text()
        assert direct in text, text
        path.write_text(text.replace(direct, f"icontrol_hostname = 127.0.0.1:{self.proxy_port}\n"))
        return path


class Window:
    """Device requests between two points: the simulator's counters and audit log (authoritative
    totals), and the proxy's record (what each request was)."""

    def __init__(self, c: Cluster, proxy: RecordingProxy) -> None:
        self.c, self.proxy = c, proxy
        self.t0 = time.monotonic()
        self.counts0 = self._counts()
        self.audit0 = len(c.audit(0))
        self.mark0 = proxy.mark()
        self.reconciles0 = self._reconciles()

    def _reconciles(self) -> int:
        return sum(p.output().count("reconcile finished") for p in self.c.agents.values())

    def _counts(self) -> dict[str, Any]:
        with self.c.device(0) as dev:
            data: dict[str, Any] = dev.get("/sim/counters").json()
            return data

    def close(self) -> dict[str, Any]:
        seconds = time.monotonic() - self.t0
        counts = self._counts()
        audit = self.c.audit(0)[self.audit0:]
        seen = self.proxy.since(self.mark0)
        methods = {k: v - self.counts0["methods"].get(k, 0)
                   for k, v in counts["methods"].items()}
        logins = counts["auth"].get("login", 0) - self.counts0["auth"].get("login", 0)
        # writes: every non-GET request but the login POST (the simulator counts it as a POST)
        writes = sum(v for k, v in methods.items() if k not in ("GET", "total")) - logins
        att = attribute(seen)
        return {
            "seconds": round(seconds, 2),
            "device_requests": methods.get("total", 0),
            "device_requests_by_method": {k: v for k, v in methods.items()
                                          if k != "total" and v},
            "writes": writes,
            "logins": logins,
            "agent_reconciles": self._reconciles() - self.reconciles0,
            "audit_entries": len(audit),
            "audit_clients": sorted({str(e.get("clientId")) for e in audit}),
            "attributed": att,
            "proxy_matches_simulator": att["total"] == methods.get("total", 0),
        }


def _wait_active(api: httpx.Client, lb_id: str, timeout: float) -> None:
    def active() -> bool:
        st = api.get(f"/v2/lbaas/loadbalancers/{lb_id}").json()["loadbalancer"]
        if st["provisioning_status"] == "ERROR":
            raise RuntimeError(f"load balancer in ERROR: {st}")
        return bool(st["provisioning_status"] == "ACTIVE")
    wait_for(active, timeout, "load balancer ACTIVE", every=0.02)


def _created(resp: httpx.Response, kind: str) -> str:
    if resp.status_code != 201:
        raise RuntimeError(f"create {kind}: {resp.status_code} {resp.text}")
    return str(resp.json()[kind]["id"])


def real_graph(timeout: float = 60.0) -> dict[str, Any]:
    """The six API calls through the real API and one real agent; see the module docstring."""
    with tempfile.TemporaryDirectory(prefix="graph-") as d, \
            fresh_database("sqlite", Path(d)) as url:
        tmp = Path(d)
        extra = AGENT_DEFAULTS + f"status_interval = {GRAPH_STATUS_INTERVAL}\n"
        c = ProxiedCluster(tmp, url, devices=1, lease_seconds=10.0, heartbeat=2.0,
                           extra_conf=extra, proxy_port=free_ports(1))
        agent_extra = "f5_pending_services_timeout = 60\n"  # product default (harness: 20)
        try:
            c.upgrade_db()
            c.start_sim()
            assert c.ca_file is not None
            state = tmp / "sim-state.json"
            with RecordingProxy(c.proxy_port, c.sim_port, Path(f"{state}-cert.pem"),
                                Path(f"{state}-key.pem"), c.ca_file) as proxy:
                c.start_api()
                with c.client("admin") as admin:
                    net = admin.post("/v2.0/networks", json={"network": {
                        "name": "public", "shared": True}})
                    sub = _created(admin.post("/v2.0/subnets", json={"subnet": {
                        "name": "public-subnet", "network_id": _created(net, "network"),
                        "cidr": "203.0.113.0/24", "ip_version": 4}}), "subnet")
                c.start_agent("g1", extra=agent_extra)
                # idle: logged in, probing, registered; no partition exists yet
                wait_for(lambda: sum(r.path == "/mgmt/tm/sys/version" for r in proxy.since(0))
                         >= 2, 30, "two device probes")
                time.sleep(1.0)
                before_window = attribute(proxy.since(0))
                out: dict[str, Any] = {}
                with c.client(PROJECT) as api:
                    win = Window(c, proxy)
                    per_call: list[dict[str, Any]] = []

                    def step(name: str, path: str, kind: str, body: dict[str, Any],
                             lb: str | None = None) -> str:
                        """One API create, then wait until the load balancer is ACTIVE."""
                        t0, m0 = time.monotonic(), proxy.mark()
                        made = _created(api.post(path, json={kind: body}), kind)
                        _wait_active(api, lb or made, timeout)
                        seen = proxy.since(m0)
                        per_call.append({
                            "call": name, "seconds": round(time.monotonic() - t0, 3),
                            "requests": len(seen),
                            "reconcile_requests": sum(path_class(r)[0] == "reconcile"
                                                      for r in seen),
                            "by_method": attribute(seen)["by_method"]})
                        return made

                    lb = step("create load balancer", "/v2/lbaas/loadbalancers", "loadbalancer",
                              {"name": "lb1", "vip_subnet_id": sub})
                    lst = step("create listener", "/v2/lbaas/listeners", "listener",
                               {"name": "l1", "loadbalancer_id": lb, "protocol": "HTTP",
                                "protocol_port": 80}, lb)
                    pool = step("create pool (the listener's default)", "/v2/lbaas/pools", "pool",
                                {"name": "p1", "listener_id": lst, "protocol": "HTTP",
                                 "lb_algorithm": "ROUND_ROBIN"}, lb)
                    for i in (1, 2):
                        step(f"create member {i}", f"/v2/lbaas/pools/{pool}/members", "member",
                             {"address": f"10.10.0.{i}", "protocol_port": 80}, lb)
                    step("create health monitor", "/v2/lbaas/healthmonitors", "healthmonitor",
                         {"pool_id": pool, "type": "HTTP", "delay": 5, "timeout": 3,
                          "max_retries": 3}, lb)
                    build = win.close()
                    build["per_call"] = per_call
                    out["build"] = build
                    with c.device(0) as dev:
                        part = f"{PREFIX}_{PROJECT}"
                        out["device_objects"] = {
                            k: len(dev.get(f"/mgmt/tm/ltm/{k}", params={
                                "$filter": f"partition eq {part}"}).json().get("items", []))
                            for k in ("virtual", "pool", "monitor/http", "node")}

                    # no change 1: PUT the LB's own name back (bumps the generation; the agent
                    # reconciles under its lease epoch, from what it last applied)
                    win = Window(c, proxy)
                    r = api.put(f"/v2/lbaas/loadbalancers/{lb}",
                                json={"loadbalancer": {"name": "lb1"}})
                    r.raise_for_status()
                    _wait_active(api, lb, timeout)
                    out["no_change_put"] = win.close()
                    out["no_change_put"]["status_after_put"] = r.json()["loadbalancer"][
                        "provisioning_status"]

                    # no change 2: the agent restarted (graceful stop releases its leases; the new
                    # instance takes the partition and, as a new owner, reads the device afresh)
                    c.agents["g1"].terminate()
                    n_lines = c.agents["g1"].output().count("reconcile finished")
                    win = Window(c, proxy)
                    c.start_agent("g1", extra=agent_extra)
                    wait_for(lambda: c.agents["g1"].output().count("reconcile finished")
                             > n_lines, timeout, "the restarted agent's reconcile")
                    time.sleep(0.5)
                    out["no_change_restart"] = win.close()
                    out["no_change_restart"]["reconcile_line"] = next(
                        ln for ln in c.agents["g1"].output().splitlines()[::-1]
                        if "reconcile finished" in ln)[-400:]
                out["before_window"] = before_window
        finally:
            c.close()
    b = out["build"]
    reconcile = b["attributed"]["total_by_who"].get("reconcile", 0)
    logins_in = b["attributed"]["total_by_who"].get("login", 0)
    out["reconcile_requests_incl_login"] = reconcile + max(1, logins_in)
    out["login_in_window"] = logins_in
    out["settings"] = (
        "1 simulated device (standalone, 0 ms latency), the API and ONE `bigip-lbaas agent` "
        "process on a fresh SQLite database; agent on product defaults (heartbeat 2 s, lease "
        "10 s, poll 0.1 s, resync 300 s) except status_interval = "
        f"{GRAPH_STATUS_INTERVAL:g} (operating-status collection off for the run); device "
        "traffic through a recording pass-through proxy in the bench (counts from the "
        "simulator's own counters)")
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def merge(part: dict[str, Any], path: str | None) -> None:
    """Print ``part``; with ``path``, also write it over the same keys of the JSON there (the
    cold-rebuild sections of an earlier full run are kept)."""
    text = json.dumps(part, indent=2)
    print(text)
    if path:
        p = Path(path)
        whole: dict[str, Any] = json.loads(p.read_text()) if p.exists() else {}
        whole.update(part)
        p.write_text(json.dumps(whole, indent=2) + "\n")


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
                    help="run only the real-agents cold rebuild; with --out, merge it into that "
                         "file, keeping its other keys")
    ap.add_argument("--py-spy", type=Path, default=None,
                    help="sample each agent with py-spy into this directory (profiling)")
    ap.add_argument("--keep-logs", type=Path, default=None,
                    help="copy the real-agents run's logs to this directory")
    ap.add_argument("--l2l3", action="store_true",
                    help="section 4 in L2/L3 mode (f5_global_routed_mode = False), reported as "
                         "cold_rebuild_real_agents_l2l3")
    ap.add_argument("--graph-only", action="store_true",
                    help="run only the graph and no-change sections (emulated and real API + "
                         "agent); with --out, merge them into that file, keeping its other keys")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    if args.agents_only and not args.agents:
        ap.error("--agents-only needs --agents N > 0")
    if args.graph_only and (args.only_cold or args.agents_only):
        ap.error("--graph-only excludes --only-cold and --agents-only")
    if not args.only_cold and not args.agents_only:
        with run_sim_in_thread(devices=3) as sim:
            out["graph_6_converges_cached"] = asyncio.run(incremental(sim, 1, cached=True))
            out["graph_6_converges_fresh_observe"] = asyncio.run(incremental(sim, 2, cached=False))
        out["graph_real_api_agent"] = real = real_graph()
        g = out["graph_6_converges_cached"]
        out["targets"] = {
            "graph_requests_le_40": real["reconcile_requests_incl_login"] <= 40,
            "no_change_zero_writes": real["no_change_put"]["writes"] == 0
            and real["no_change_restart"]["writes"] == 0,
            "emulated_graph_requests_le_40": g["build_requests_total"] <= 40,
            "emulated_no_change_zero_writes": g["no_change_writes"] == 0
            and out["graph_6_converges_fresh_observe"]["no_change_writes"] == 0,
        }
    if args.graph_only:
        merge(out, args.out)
        return
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
        key = "cold_rebuild_real_agents_l2l3" if args.l2l3 else "cold_rebuild_real_agents"
        out[key] = agents_rebuild(
            args.partitions, args.lbs, args.agents, args.agents_db, args.agents_timeout,
            args.py_spy, args.keep_logs, l2l3=args.l2l3)
    if args.agents_only:  # one section: merged into --out, its other sections kept
        merge(out, args.out)
        return
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
