"""Peak memory (VmHWM) of the real processes at scale; prints JSON.

For each size in `--sizes` (partitions; default 100,300,1000) with `--lbs-per-partition` load
balancers each (default 10, so 1,000 partitions = 10,000 LBs):

1. load: desired state is inserted straight into a fresh database with SQLAlchemy (one full
   graph per LB: LB, HTTP listener, pool, 2 members, HTTP monitor — 6 rows), each partition
   created with `ensure_partition` and bumped with `mark_changed`, as the API would leave it;
2. reconcile: a single-device simulator (`f5_ha_type = standalone`, no state file), the API and
   ONE agent (status interval 20 s) start; the run waits (bounded) until every partition is
   applied and every LB is ACTIVE, then one more status pass;
3. serve: the API lists every LB, listener, pool, member and health monitor page by page
   (1,000 per page) and shows 100 status trees;
4. measure: VmHWM (peak RSS) and VmRSS from /proc/<pid>/status of the agent, the API and the
   simulator processes.

Targets at 1,000 partitions / 10,000 LBs (issue 6): agent < 250 MB, API < 200 MB, simulator
< 800 MB; growth with partitions linear (the marginal MB per partition does not grow with size).

    python bench/memory_bench.py [--sizes 100,300,1000] [--lbs-per-partition 10] [--db URL]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bigip_lbaas.db import models as m
from bigip_lbaas.db.partitions import ensure_partition, mark_changed
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Cluster, Proc, free_ports, wait_for

TARGETS_MB = {"agent": 250, "api": 200, "simulator": 800}
ENV = "Project"


def status_kb(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0])
    return out


def mem_mb(proc: Proc | None) -> dict[str, float]:
    assert proc is not None and proc.popen is not None and proc.alive, "process died"
    kb = status_kb(proc.popen.pid)
    return {"peak_rss_mb": round(kb["VmHWM"] / 1024, 1), "rss_mb": round(kb["VmRSS"] / 1024, 1)}


@dataclass
class MemCluster(Cluster):
    """The harness's cluster, with the simulator started without a state file (saving a large
    configuration to JSON would add its own peak; the simulator is measured holding state)."""

    def start_sim(self, latency_ms: float = 0) -> None:
        self.sim_port = free_ports(self.devices)
        argv = [PY, "-m", "bigip_lbaas.sim", "--port", str(self.sim_port), "--devices",
                str(self.devices)]
        self.sim = Proc("sim", argv, self.workdir / "sim.log").start()
        wait_for(lambda: "ready" in self.sim.output() or not self.sim.alive,  # type: ignore
                 30, "simulator ready")
        found = re.search(r"ca=(\S+)", self.sim.output())
        assert found, self.sim.output()
        self.ca_file = Path(found.group(1))


def load(db: Database, partitions: int, lbs: int, tag: str) -> dict[str, Any]:
    """Insert `partitions` x `lbs` full graphs as pending creates; one transaction a partition."""
    t0 = time.monotonic()
    n = 0
    for p in range(partitions):
        project = f"{tag}{p:05d}"
        rows: dict[type[m.Base], list[dict[str, Any]]] = {
            m.LoadBalancer: [], m.Listener: [], m.Pool: [], m.Member: [], m.HealthMonitor: []}
        with db.transaction() as s:
            pid = ensure_partition(s, ENV, project)
            for _ in range(lbs):
                a, b = divmod(n, 250)
                n += 1
                common = {"project_id": project, "provisioning_status": "PENDING_CREATE",
                          "operating_status": "OFFLINE", "enabled": True, "tags": []}
                lb, lst, pool = (str(uuid.uuid4()) for _ in range(3))
                rows[m.LoadBalancer].append({
                    **common, "id": lb, "name": f"lb{n}", "partition_id": pid, "provider": "f5",
                    "vip_port_id": str(uuid.uuid4()),  # NOT NULL since migration 0009
                    "vip_address": f"172.{16 + a // 250}.{a % 250}.{b + 1}"})
                rows[m.Pool].append({**common, "id": pool, "load_balancer_id": lb,
                                     "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"})
                rows[m.Listener].append({**common, "id": lst, "load_balancer_id": lb,
                                         "protocol": "HTTP", "protocol_port": 80,
                                         "connection_limit": -1, "default_pool_id": pool})
                for port in (80, 8080):
                    rows[m.Member].append({
                        **common, "id": str(uuid.uuid4()), "pool_id": pool,
                        "load_balancer_id": lb, "address": f"10.{100 + a // 250}.{a % 250}.{b + 1}",
                        "protocol_port": port, "weight": 1})
                rows[m.HealthMonitor].append({
                    **common, "id": str(uuid.uuid4()), "pool_id": pool, "load_balancer_id": lb,
                    "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3,
                    "http_method": "GET", "url_path": "/", "expected_codes": "200"})
            for model, batch in rows.items():
                s.execute(sa.insert(model), batch)
            mark_changed(s, pid)
    return {"load_balancers": n, "rows": n * 6, "load_seconds": round(time.monotonic() - t0, 1)}


def progress(db: Database) -> tuple[int, int, int]:
    """(partitions, partitions applied, LBs not ACTIVE)."""
    with db.transaction() as s:
        total = s.scalar(sa.select(sa.func.count()).select_from(m.Partition)) or 0
        done = s.scalar(sa.select(sa.func.count()).select_from(m.Partition).where(
            m.Partition.applied_generation >= m.Partition.desired_generation)) or 0
        waiting = s.scalar(sa.select(sa.func.count()).select_from(m.LoadBalancer).where(
            m.LoadBalancer.provisioning_status != "ACTIVE")) or 0
    return total, done, waiting


def serve(c: Cluster) -> dict[str, Any]:
    """List everything through the API, page by page, and show some status trees."""
    t0 = time.monotonic()
    counts: dict[str, int] = {}
    lbs: list[str] = []
    with c.client("admin") as api:
        api.timeout = 120
        for coll in ("loadbalancers", "listeners", "pools", "healthmonitors"):
            marker, seen = None, 0
            for _ in range(1000):  # bounded: 1,000 pages
                params: dict[str, Any] = {"limit": 1000}
                if marker:
                    params["marker"] = marker
                r = api.get(f"/v2/lbaas/{coll}", params=params)
                r.raise_for_status()
                items = r.json()[coll]
                seen += len(items)
                if coll == "loadbalancers":
                    lbs += [it["id"] for it in items]
                if len(items) < 1000:
                    break
                marker = items[-1]["id"]
            counts[coll] = seen
        with c.client("admin") as api2:
            r = api2.get("/v2/lbaas/pools", params={"limit": 100})
            members = 0
            for pool in r.json()["pools"]:
                members += len(api2.get(f"/v2/lbaas/pools/{pool['id']}/members").json()["members"])
            counts["members_of_100_pools"] = members
        step = max(1, len(lbs) // 100)
        for lb in lbs[::step][:100]:
            api.get(f"/v2/lbaas/loadbalancers/{lb}/status").raise_for_status()
        counts["status_trees"] = min(100, len(lbs[::step]))
    return {**counts, "serve_seconds": round(time.monotonic() - t0, 1)}


def measure(partitions: int, lbs: int, db_url: str | None, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="membench-") as d:
        tmp = Path(d)
        url = db_url or f"sqlite:///{tmp / 'mem.sqlite'}"
        c = MemCluster(tmp, url, devices=1, lease_seconds=10.0, heartbeat=2.0,
                       extra_conf="status_interval = 20\nmax_concurrent_reconciles = 8\n")
        db = Database(url)
        try:
            c.upgrade_db()
            loaded = load(db, partitions, lbs, f"m{uuid.uuid4().hex[:4]}-")
            c.start_sim()
            c.start_api()
            t0 = time.monotonic()
            c.start_agent("mem1")
            last: list[Any] = []

            def done() -> bool:
                total, applied, waiting = progress(db)
                last[:] = [total, applied, waiting]
                return applied == total and waiting == 0

            wait_for(done, timeout, "every partition applied", every=1.0)
            reconcile = time.monotonic() - t0
            time.sleep(25)  # one more status pass over everything (status_interval = 20 s)
            agent_mem = mem_mb(c.agents["mem1"])
            served = serve(c)
            result = {
                "partitions": partitions, "load_balancers": loaded["load_balancers"],
                "db_rows_octavia": loaded["rows"], "load_seconds": loaded["load_seconds"],
                "reconcile_seconds": round(reconcile, 1), "api_serve": served,
                "agent": agent_mem, "api": mem_mb(c.api), "simulator": mem_mb(c.sim),
                "loadavg": [round(x, 2) for x in os.getloadavg()],
            }
            with c.device(0) as dev:
                result["simulator_objects"] = dev.get("/sim/state").json()["objects"]
        finally:
            c.close()
            db.dispose()
    return result


def linearity(runs: list[dict[str, Any]], proc: str) -> dict[str, Any]:
    """Marginal MB per partition between successive sizes; linear if it does not grow."""
    pts = [(r["partitions"], r[proc]["peak_rss_mb"]) for r in runs]
    slopes = [round((b[1] - a[1]) / (b[0] - a[0]), 4) for a, b in itertools.pairwise(pts)
              if b[0] != a[0]]
    # allow noise: the last marginal cost may be at most 1.5x the first (+0.02 MB/partition)
    ok = len(slopes) < 2 or slopes[-1] <= slopes[0] * 1.5 + 0.02
    return {"peak_rss_mb_by_partitions": dict((str(p), mb) for p, mb in pts),
            "marginal_mb_per_partition": slopes, "linear_or_better": ok}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000", help="partition counts, comma-separated")
    ap.add_argument("--partitions", type=int, default=None,
                    help="shorthand for --sizes with one size")
    ap.add_argument("--lbs-per-partition", type=int, default=10)
    ap.add_argument("--db", default=None, help="database URL of an empty database (default: a "
                    "fresh SQLite file per size); with --db give one size only")
    ap.add_argument("--timeout", type=float, default=600.0, help="reconcile bound per size (s)")
    ap.add_argument("--output", default=None, help="also write the JSON to this file")
    args = ap.parse_args()
    sizes = [args.partitions] if args.partitions else [int(x) for x in args.sizes.split(",")]
    if args.db and len(sizes) > 1:
        ap.error("--db takes one size (--partitions N): each size needs an empty database")
    t0 = time.monotonic()
    runs = [measure(p, args.lbs_per_partition, args.db, args.timeout) for p in sorted(sizes)]
    top = runs[-1]
    report: dict[str, Any] = {
        "benchmark": "memory", "database": (args.db or "sqlite").split(":")[0],
        "lbs_per_partition": args.lbs_per_partition, "objects_per_lb":
            "LB, HTTP listener, pool, 2 members, HTTP monitor", "nproc": os.cpu_count(),
        "runs": runs,
        "at_largest": {
            "partitions": top["partitions"], "load_balancers": top["load_balancers"],
            **{proc: {"peak_rss_mb": top[proc]["peak_rss_mb"], "target_mb": TARGETS_MB[proc],
                      "met": top[proc]["peak_rss_mb"] < TARGETS_MB[proc]}
               for proc in TARGETS_MB},
            "targets_apply_at": "1,000 partitions / 10,000 load balancers",
            "at_target_size": top["partitions"] >= 1000 and top["load_balancers"] >= 10_000,
        },
        "growth": {proc: linearity(runs, proc) for proc in TARGETS_MB},
        "total_seconds": round(time.monotonic() - t0, 1),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
