"""Agent redundancy benchmark: failover time and end-to-end scale-out throughput, as JSON.

Real processes on loopback: the simulator (a pair), the API and N agents, on SQLite by default or
`--db URL`. Two measurements (issue 4):

- failover: with default timings (heartbeat 2 s, lease 10 s), kill -9 the agent that holds the
  most partitions, change every one of its partitions at once, and time until all of those
  changes are ACTIVE (i.e. reconciled by the survivors). Repeated `--trials` times; a fresh agent
  joins after each trial so the next one has a victim.
- throughput: full load-balancer graphs (LB, listener, pool, 2 members, health monitor, one
  fully-populated create call each) per second from the first API call until all are ACTIVE,
  with 1, 2 and 4 agents, every agent with the same concurrency limit, against devices with
  50 ms latency per request, so that agents rather than this CPU are the bottleneck.

Usage: python bench/agents_bench.py [--trials 10] [--graphs 48] [--db URL] [--skip-failover]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def statuses(c: Cluster) -> dict[str, str]:
    return c.lb_statuses()


def owners(c: Cluster) -> dict[str, str]:
    return c.owners()


@contextlib.contextmanager
def fresh_db(db: str | None, tmp: Path) -> Iterator[str]:
    """`sqlite` (default), `postgresql` or `mariadb`: a new throw-away database for one run."""
    with fresh_database(db or "sqlite", tmp) as url:
        yield url


def failover(trials: int, projects: int, db_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d, fresh_db(db_url, Path(d)) as url:
        tmp = Path(d)
        c = Cluster(tmp, url, devices=2, lease_seconds=10.0, heartbeat=2.0)
        try:
            c.start(agents=("h1", "h2", "h3"))
            sub = subnet(c)
            lbs: dict[str, str] = {}
            for i in range(projects):
                p = f"fo{i:02d}"
                with c.client(p) as api:
                    r = api.post("/v2/lbaas/loadbalancers", json=full_graph(p, sub, i))
                    lbs[p] = r.json()["loadbalancer"]["id"]
            wait_for(lambda: set(statuses(c).values()) == {"ACTIVE"}, 120, "all ACTIVE")
            wait_for(lambda: len(owners(c)) == projects, 60, "all owned")
            times = []
            for t in range(trials):
                own = owners(c)
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
                wait_for(lambda moved=moved: all(statuses(c)[lbs[p]] == "ACTIVE" for p in moved),
                         120, "victim partitions reconciled", every=0.05)
                times.append(time.monotonic() - killed)
                c.start_agent(f"j{t}")  # a fresh host joins so the next trial has a victim
                wait_for(lambda t=t: f"j{t}" in owners(c).values(), 60, "joiner took a share")
        finally:
            c.close()
    return {"trials": trials, "partitions": projects, "lease_seconds": 10.0,
            "heartbeat_seconds": 2.0, "seconds_min": round(min(times), 2),
            "seconds_median": round(statistics.median(times), 2),
            "seconds_max": round(max(times), 2), "target_median_seconds": 15.0,
            "met": statistics.median(times) <= 15.0}


def throughput(agents: int, graphs: int, db_url: str | None, latency_ms: float,
               concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d, fresh_db(db_url, Path(d)) as url:
        tmp = Path(d)
        c = Cluster(tmp, url, devices=2, lease_seconds=10.0, heartbeat=1.0,
                    extra_conf=f"max_concurrent_reconciles = {concurrency}\n"
                               "status_interval = 60\n")
        try:
            c.upgrade_db()
            c.start_sim(latency_ms=latency_ms)
            c.start_api()
            for i in range(agents):
                c.start_agent(f"t{i}")
            sub = subnet(c)
            projects = [f"tp{i:03d}" for i in range(graphs)]
            started = time.monotonic()

            def submit(i: int) -> None:
                with c.client(projects[i]) as api:
                    r = api.post("/v2/lbaas/loadbalancers", json=full_graph(projects[i], sub, i))
                    assert r.status_code == 201, r.text

            # Several API clients at once, so that the agents, not the submission, bound the rate.
            with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
                list(pool.map(submit, range(graphs)))
            wait_for(lambda: (v := list(statuses(c).values())) and len(v) == graphs
                     and all(s == "ACTIVE" for s in v), 600, "all graphs ACTIVE", every=0.1)
            elapsed = time.monotonic() - started
        finally:
            c.close()
    return {"agents": agents, "graphs": graphs, "seconds": round(elapsed, 2),
            "graphs_per_second": round(graphs / elapsed, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--projects", type=int, default=12)
    ap.add_argument("--graphs", type=int, default=96)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--db", default="sqlite", choices=KINDS,
                    help="a fresh database of this kind for each run (default: sqlite)")
    ap.add_argument("--skip-failover", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    report: dict[str, Any] = {"benchmark": "agents", "database": args.db,
                              "command": " ".join(["bench/agents_bench.py", *sys.argv[1:]]),
                              "loadavg": os.getloadavg()}
    if not args.skip_failover:
        report["failover"] = failover(args.trials, args.projects, args.db)
    if not args.skip_throughput:
        runs = [throughput(n, args.graphs, args.db, args.latency_ms, args.concurrency)
                for n in (1, 2, 4)]
        base = runs[0]["graphs_per_second"]
        report["throughput"] = {
            "latency_ms": args.latency_ms, "concurrency_per_agent": args.concurrency,
            "runs": runs, "scale_out_4_vs_1": round(runs[-1]["graphs_per_second"] / base, 2),
            "target_scale_out": 3.5,
        }
        report["throughput"]["met"] = report["throughput"]["scale_out_4_vs_1"] >= 3.5
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
