"""Create-load-balancer latency (p50/p99) and throughput, 1 and 16 concurrent clients,
on SQLite and PostgreSQL. Prints JSON.

    .venv/bin/python bench/api_bench.py [--requests 200] [--kinds sqlite,postgresql]

Each run gets a fresh database and a real API server (uvicorn, loopback). Every request is the
full path: HTTP, validation, LB row lock/partition, VIP allocation, mark_changed, commit.
Each client creates load balancers in its own project (own partition), as tenants would.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import fresh_database
from tests.integration.api.server import make_conf, serve


def run_clients(base: str, subnet_id: str, clients: int, total: int) -> dict[str, float]:
    per_client = max(1, total // clients)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def worker(idx: int) -> None:
        nonlocal errors
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=base, timeout=60) as http:
            for _ in range(per_client):
                t0 = time.perf_counter()
                r = http.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
                    "vip_subnet_id": subnet_id, "project_id": f"bench-{idx}"}})
                mine.append(time.perf_counter() - t0)
                bad += r.status_code != 201
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"clients": clients, "requests": len(latencies), "errors": errors,
            "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2),
            "throughput_per_s": round(len(latencies) / wall, 1)}


def bench_kind(kind: str, total: int) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, Path(tmp)) as url:
        db = Database(url)
        schema.upgrade(db)
        try:
            with serve(make_conf(url), db) as base, httpx.Client(base_url=base) as http:
                net = http.post("/v2/networks", json={"network": {"name": "bench"}}).json()
                sub = http.post("/v2/subnets", json={"subnet": {
                    "network_id": net["network"]["id"], "cidr": "10.0.0.0/8"}}).json()
                run_clients(base, sub["subnet"]["id"], 4, 40)  # warm up
                for clients in (1, 16):
                    results.append({"db": kind, **run_clients(base, sub["subnet"]["id"],
                                                              clients, total)})
        finally:
            db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=320)
    parser.add_argument("--kinds", default="sqlite,postgresql")
    args = parser.parse_args()
    out = [r for kind in args.kinds.split(",") for r in bench_kind(kind, args.requests)]
    print(json.dumps({"benchmark": "api_create_loadbalancer", "results": out}, indent=2))


if __name__ == "__main__":
    main()
