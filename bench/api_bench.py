"""Create-load-balancer latency (p50/p95/p99) and throughput, 1 and 16 concurrent clients,
on SQLite and PostgreSQL. Prints JSON.

    .venv/bin/python bench/api_bench.py [--requests 320] [--kinds sqlite,postgresql] [--workers 1]

Each run gets a fresh database and the real API server (`bigip-lbaas api`, its own process on
loopback, `[api_settings] workers`). Every request is the full path: HTTP, validation, LB row
lock/partition, VIP allocation, mark_changed, commit. Each client creates load balancers in its
own project (own partition), as tenants would. The clients are `bench/loadgen.py`'s, the same
`octavia_side_by_side.py` gives this API and Octavia's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import run_load
from bench.octavia_side_by_side import ours


def bench_kind(kind: str, total: int, workers: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, ours(kind, Path(tmp), workers) as (base, subnets):
        subnet = subnets[0]

        def body(idx: int) -> dict[str, Any]:
            return {"loadbalancer": {"vip_subnet_id": subnet, "project_id": f"bench-{idx}"}}

        def headers(idx: int) -> dict[str, str]:
            return {"X-Project-Id": f"bench-{idx}"}

        run_load(base, clients=4, creates=40, reads=4, create_body=body, headers=headers)
        for clients in (1, 16):
            create = run_load(base, clients=clients, creates=total, reads=clients,
                              create_body=body, headers=headers)["create"]
            results.append({"db": kind, "clients": clients, "workers": workers,
                            "requests": create["requests"], "errors": create["errors"],
                            "p50_ms": create["p50_ms"], "p95_ms": create["p95_ms"],
                            "p99_ms": create["p99_ms"], "throughput_per_s": create["per_s"]})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=320)
    parser.add_argument("--kinds", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    out = [r for kind in args.kinds.split(",")
           for r in bench_kind(kind, args.requests, args.workers)]
    print(json.dumps({"benchmark": "api_create_loadbalancer", "results": out}, indent=2))


if __name__ == "__main__":
    main()
