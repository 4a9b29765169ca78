"""Engine benchmark against the simulator; prints JSON.

1. REST calls per device to build one full graph (LB, listener, pool, 2 members, HM) through six
   successive converges, as the six API calls would (target ≤ 40 incl. login): with the lease-epoch
   cache (the agent's normal path) and with a fresh observe every time (anti-entropy).
2. Calls for a no-change converge (target 0 writes), cached and fresh.
3. Time and calls to converge N partitions x M LBs onto an empty simulated device with 2 agents
   (default 1,000 x 10; target < 60 s): the simulator and each agent are separate processes, each
   agent converges its half of the partitions 8 at a time (the agent's defaults).

Usage: python bench/engine_bench.py [--partitions 1000] [--lbs 10] [--workers 2] [--inflight 8]
       [--repeat N] [--only-cold] [--out bench/results/engine.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import socket
import time
from typing import Any

import httpx

from bigip_lbaas.core.model import (
    HealthMonitor,
    Listener,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
)
from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.converge import converge
from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread, start_sim_process, wait_ready

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
    args = ap.parse_args()
    out: dict[str, Any] = {}
    if not args.only_cold:
        with run_sim_in_thread(devices=3) as sim:
            out["graph_6_converges_cached"] = asyncio.run(incremental(sim, 1, cached=True))
            out["graph_6_converges_fresh_observe"] = asyncio.run(incremental(sim, 2, cached=False))
        g = out["graph_6_converges_cached"]
        out["targets"] = {
            "graph_requests_le_40": g["build_requests_total"] <= 40,
            "no_change_zero_writes": g["no_change_writes"] == 0
            and out["graph_6_converges_fresh_observe"]["no_change_writes"] == 0,
        }
    runs = [
        bulk(args.partitions, args.lbs, args.workers, args.inflight, args.sim_state_file)
        for _ in range(args.repeat)
    ]
    # The median run is the headline (the machine is shared; every run is listed with its load).
    out["cold_rebuild"] = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    if len(runs) > 1:
        out["cold_rebuild_runs_seconds"] = [r["seconds"] for r in runs]
        out["cold_rebuild_runs_loadavg_1min"] = [r["loadavg_before"][0] for r in runs]
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
