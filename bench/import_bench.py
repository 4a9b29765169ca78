"""`bigip-lbaas import neutron-lbaas` time for N load balancers (each: load balancer, listener,
pool, 2 members, health monitor), source and target databases of the same kind. Prints JSON.

    .venv/bin/python bench/import_bench.py [--lbs 1000] [--kinds sqlite,postgresql,mariadb]

The source is built with neutron-lbaas 14.0.1's and Neutron's own schema (the test's builder,
tests/integration/operator/neutron_lbaas_source.py; its virtualenv is built once per machine).
Each figure is the wall time of the real command (a subprocess, interpreter start included):
the dry run, the first import, and the second import (which finds everything unchanged and
writes nothing), for each `--batch-size` (1: one transaction per load balancer, the default;
50: fifty whole load balancers per transaction), each into a fresh target. Target: first import
under 30 s for 1,000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bigip_lbaas.db import models as m
from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import fresh_database
from tests.integration.operator.neutron_lbaas_source import NeutronDb, create_schema

PROVIDER = "LOADBALANCERV2:f5networks:f5lbaasdriver.v2.bigip.driver_v2.F5LBaaSV2Driver:default"
PROJECTS = 50


def fill(url: str, lbs: int) -> None:
    db = NeutronDb(url)
    try:
        agent = db.agent("f5-agent-1", "Project")
        projects = [uuid.uuid4().hex for _ in range(PROJECTS)]
        net = db.network(projects[0], "vips", shared=True)
        sub = db.subnet(net, "10.0.0.0/16", name="vips", gateway="10.0.0.1",
                        pools=[("10.0.0.2", "10.0.255.254")])
        for i in range(lbs):
            lb = db.loadbalancer(projects[i % PROJECTS], sub, f"10.0.{i // 250}.{i % 250 + 2}",
                                 provider="f5networks", agent=agent, name=f"lb-{i}")
            hm = db.monitor(lb["project_id"], "HTTP", path="/health")
            pool = db.pool(lb, "HTTP", "ROUND_ROBIN", name=f"pool-{i}", monitor=hm)
            db.member(pool, "10.0.250.10", 80, subnet=sub)
            db.member(pool, "10.0.250.11", 80, subnet=sub)
            db.listener(lb, "HTTP", 80, pool=pool, name=f"listener-{i}")
        db.flush()
    finally:
        db.dispose()


def timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    return round(time.perf_counter() - started, 2), done


def import_into(kind: str, tmp: Path, src_url: str, lbs: int, batch: int) -> dict[str, object]:
    with fresh_database(kind, tmp) as dst_url:
        db = Database(dst_url)
        schema.upgrade(db)
        db.dispose()
        conf = tmp / f"import-{batch}.conf"
        conf.write_text(f"[database]\nconnection = {dst_url}\n"
                        f"[service_providers]\nservice_provider = {PROVIDER}\n")
        argv = [sys.executable, "-m", "bigip_lbaas.cli", "import", "neutron-lbaas",
                "--config-file", str(conf), "--connection", src_url, "--batch-size", str(batch)]
        dry_s, dry = timed([*argv, "--dry-run"])
        first_s, first = timed(argv)
        second_s, second = timed(argv)
        for run in (dry, first, second):
            if run.returncode != 0:
                raise RuntimeError(f"import failed ({run.returncode}): {run.stderr[-2000:]}")
        db = Database(dst_url)
        with db.read() as s:
            counts = {t.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(t))
                      for t in (m.LoadBalancer, m.Listener, m.Pool, m.Member, m.HealthMonitor)}
        db.dispose()
        return {"db": kind, "load_balancers": lbs, "batch_size": batch,
                "rows_imported": counts, "dry_run_s": dry_s, "first_import_s": first_s,
                "per_lb_ms": round(first_s / lbs * 1000, 2),
                "first_says": first.stdout.strip().splitlines()[-1],
                "second_import_s": second_s,
                "second_says": second.stdout.strip().splitlines()[-1],
                "target_s": 30, "met": first_s < 30}


def bench_kind(kind: str, lbs: int, batches: list[int]) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp, fresh_database(kind, Path(tmp)) as src_url:
        create_schema(src_url)
        t0 = time.perf_counter()
        fill(src_url, lbs)
        fill_s = round(time.perf_counter() - t0, 2)
        return [{**import_into(kind, Path(tmp), src_url, lbs, batch), "source_fill_s": fill_s}
                for batch in batches]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lbs", type=int, default=1000)
    parser.add_argument("--kinds", default="sqlite,postgresql,mariadb")
    parser.add_argument("--batch-sizes", default="1,50",
                        help="--batch-size values to measure, each into a fresh target")
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    batches = [int(b) for b in args.batch_sizes.split(",")]
    results = [r for kind in args.kinds.split(",") for r in bench_kind(kind, args.lbs, batches)]
    print(json.dumps({"benchmark": "import_neutron_lbaas", "loadavg_start": load,
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
