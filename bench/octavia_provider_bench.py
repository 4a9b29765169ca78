"""The bigip provider inside a real Octavia 19: API create latency and time to ACTIVE, as JSON.

Real processes on loopback: Octavia's API (gunicorn, `--workers`) and driver agent
(tests/openstack/octavia.py), this product's simulator (a pair), two agents and one
`bigip-lbaas octavia-bridge`, this product's database on `--db` (a fresh one).

- create latency: `POST /v2/lbaas/loadbalancers` through Octavia's API, one at a time, with
  `provider: bigip` and with Octavia's own `noop_driver`, interleaved (`--creates` each). The
  driver's overhead is the difference of the medians (target: under 10 ms).
- time to ACTIVE: for each bigip load balancer, from the create call's return until its row is
  ACTIVE in this product's database, and until Octavia shows it ACTIVE (both polled every 10 ms);
  the lag is the second less the first (target: under 1 s).

Usage: python bench/octavia_provider_bench.py [--creates 20] [--workers 1] [--db postgresql]
       [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import sqlalchemy as sa

from bigip_lbaas.db.models import LoadBalancer
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Cluster, Proc, wait_for
from tests.databases import fresh_database
from tests.openstack.octavia import checkout_requirements, octavia_service


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 2),
            "min_ms": round(ordered[0] * 1000, 2), "max_ms": round(ordered[-1] * 1000, 2),
            "n": len(ordered)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--db", default="postgresql")
    parser.add_argument("--output")
    parser.add_argument("--keep-logs", help="copy every process's log here")
    args = parser.parse_args()
    result: dict[str, Any] = {"creates_per_provider": args.creates, "workers": args.workers,
                              "db": args.db}
    with tempfile.TemporaryDirectory(prefix="octavia-bench-") as tmp:
        work = Path(tmp)
        with fresh_database(args.db, work) as url:
            cluster = Cluster(work / "cluster", url)
            (work / "cluster").mkdir()
            try:
                cluster.start()
                conf = cluster.write_common_conf()
                with octavia_service(
                        work / "octavia", workers=args.workers,
                        providers={"bigip": "F5 BIG-IP", "noop_driver": "no-op"},
                        default_provider="bigip", extra_requirements=checkout_requirements(),
                        extra_conf={"bigip_lbaas": {"config_file": str(conf)}}) as o:
                    result["octavia_start"] = {k: round(v, 2) for k, v in o.timings.items()}
                    bridge_conf = work / "bridge.conf"
                    bridge_conf.write_text(
                        f"[bigip_lbaas_octavia]\nstatus_socket = {o.status_socket}\n"
                        f"stats_socket = {o.stats_socket}\nget_socket = {o.get_socket}\n"
                        "poll_interval = 0.05\n")
                    bridge = Proc("bridge", [PY, "-m", "bigip_lbaas.cli", "octavia-bridge",
                                             "--debug", "--config-file", str(conf),
                                             "--config-file", str(bridge_conf)],
                                  work / "bridge.log").start()
                    try:
                        result.update(measure(o.url, url, args.creates))
                    finally:
                        bridge.terminate()
            finally:
                cluster.close()
                if args.keep_logs:
                    keep = Path(args.keep_logs)
                    keep.mkdir(parents=True, exist_ok=True)
                    for log in work.rglob("*.log"):
                        shutil.copy(log, keep / log.name)
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


def measure(octavia_url: str, db_url: str, creates: int) -> dict[str, Any]:
    latency: dict[str, list[float]] = {"bigip": [], "noop_driver": []}
    to_db: list[float] = []
    to_octavia: list[float] = []
    db = Database(db_url)
    try:
        with httpx.Client(base_url=octavia_url, timeout=60) as client:
            for i in range(creates):
                for provider in ("noop_driver", "bigip"):
                    body = {"loadbalancer": {
                        "name": f"bench-{provider}-{i}", "provider": provider,
                        "vip_subnet_id": "8b7c8a5e-7a1f-4f43-9a0c-1f2d3e4f5a6b",
                        "vip_address": f"10.{100 if provider == 'bigip' else 101}.{i // 250}."
                                       f"{i % 250 + 2}"}}
                    t0 = time.perf_counter()
                    r = client.post("/v2/lbaas/loadbalancers", json=body)
                    done = time.perf_counter()
                    assert r.status_code == 201, r.text
                    latency[provider].append(done - t0)
                    if provider == "bigip":
                        db_at, oct_at = active_times(client, db, r.json()["loadbalancer"]["id"])
                        to_db.append(db_at - done)
                        to_octavia.append(oct_at - done)
    finally:
        db.dispose()
    overhead = (statistics.median(latency["bigip"]) - statistics.median(latency["noop_driver"]))
    return {
        "create_latency": {k: summary(v) for k, v in latency.items()},
        "driver_overhead_median_ms": round(overhead * 1000, 2),
        "create_to_active_in_db": summary(to_db),
        "create_to_active_in_octavia": summary(to_octavia),
        "octavia_lag_after_db": summary([b - a for a, b in zip(to_db, to_octavia, strict=True)]),
        "targets": {"driver_overhead_median_ms_below": 10, "octavia_lag_ms_below": 1000},
    }


def active_times(client: httpx.Client, db: Database, lb_id: str) -> tuple[float, float]:
    db_at: float | None = None
    oct_at: float | None = None

    def both() -> bool:
        nonlocal db_at, oct_at
        now = time.perf_counter()
        if db_at is None:
            with db.transaction() as s:
                if s.scalar(sa.select(LoadBalancer.provisioning_status)
                            .where(LoadBalancer.id == lb_id)) == "ACTIVE":
                    db_at = now
        if oct_at is None:
            shown = client.get(f"/v2/lbaas/loadbalancers/{lb_id}").json()["loadbalancer"]
            if shown["provisioning_status"] == "ACTIVE":
                oct_at = now
        return db_at is not None and oct_at is not None

    wait_for(both, 60, f"load balancer {lb_id} ACTIVE here and in Octavia", every=0.01)
    assert db_at is not None and oct_at is not None
    return db_at, oct_at


if __name__ == "__main__":
    sys.exit(main())
