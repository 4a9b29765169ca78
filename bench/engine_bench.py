"""Engine benchmark against the simulator; prints JSON.

1. REST calls per device to build one full graph (LB, listener, pool, 2 members, HM) through six
   successive converges, as the six API calls would (target ≤ 40 incl. login): with the lease-epoch
   cache (the agent's normal path) and with a fresh observe every time (anti-entropy).
2. Calls for a no-change converge (target 0 writes), cached and fresh.
3. Time and calls to converge N partitions x M LBs onto an empty simulated device with 2 workers
   (default 1,000 x 10; target < 60 s).

Usage: python bench/engine_bench.py [--partitions 1000] [--lbs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def bulk(partitions: int, lbs: int, workers: int, inflight: int) -> dict[str, Any]:
    """Cold rebuild against a simulator in its own process (as a real device is its own box)."""
    port = _free_port()
    proc = start_sim_process(["--port", str(port), "--devices", "1"])
    try:
        dev = wait_ready(proc)[0]
        ca = dev["ca"]
        ctl = httpx.Client(base_url=dev["url"], verify=ca, auth=("admin", "admin"), timeout=30)
        ctl.delete("/sim/devices/1/counters")
        queue: asyncio.Queue[int] = asyncio.Queue()
        for p in range(partitions):
            queue.put_nowait(p)
        failures = 0

        async def worker(n: int) -> None:
            nonlocal failures
            # Each worker is an agent with its own client (own login, own connections) and
            # converges up to `inflight` partitions at once, as the agent does.
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
                    while not queue.empty():
                        p = queue.get_nowait()
                        r = await converge(c, bulk_state(p, lbs), PREFIX, cache_token=1)
                        failures += len(r.failures)

                await asyncio.gather(*(lane() for _ in range(inflight)))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(workers)))
        elapsed = time.perf_counter() - t0
        counts = dict(ctl.get("/sim/devices/1/counters").json()["methods"])
        ctl.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return {
        "partitions": partitions,
        "load_balancers": partitions * lbs,
        "objects_per_lb": "LB, listener, pool, 2 members, HTTP monitor",
        "workers": workers,
        "partitions_in_flight_per_worker": inflight,
        "seconds": round(elapsed, 2),
        "requests_total": counts.get("total", 0),
        "requests_by_method": {k: v for k, v in counts.items() if k != "total"},
        "object_failures": failures,
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
    ap.add_argument("--inflight", type=int, default=4)
    args = ap.parse_args()
    with run_sim_in_thread(devices=3) as sim:
        out = {
            "graph_6_converges_cached": asyncio.run(incremental(sim, 1, cached=True)),
            "graph_6_converges_fresh_observe": asyncio.run(incremental(sim, 2, cached=False)),
        }
    out["cold_rebuild"] = asyncio.run(bulk(args.partitions, args.lbs, args.workers, args.inflight))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
