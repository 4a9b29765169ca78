"""Take-over benchmark: devices configured by F5's agent, taken over by one agent, as JSON.

For `--lbs` load balancers (`--per-project` in each project, so each project's partition holds
several), the writes F5's agent 9.6.0 sends for the fixture's graph
(`../shared/fixtures/f5-agent-9.6.0/`) are replayed onto a simulated device, each load balancer
with its own ids and addresses (`tests.f5_fixture.variant`; a project's folder is created once,
as the agent does after its folder GET finds it). The same graphs are written into a fresh
database as an import would (same ids, ACTIVE). Then:

- `bigip-lbaas diff --adopt --format json`: its time, GETs and the plan (changes by kind and
  field, disruptive ones);
- one agent is started and timed until every partition has applied its generation; the
  simulator's audit log and every committed transaction's commands give the writes it made:
  by method and kind, deletes, creates, virtuals disabled, and the requests it sent.

Targets (issue 16): zero deletes during take-over. Import time is the importer's benchmark.

Usage: python bench/takeover_bench.py [--lbs 1000] [--per-project 10] [--db sqlite]
       [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from bigip_lbaas.db.models import Partition
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Cluster, wait_for
from tests.databases import KINDS, fresh_database
from tests.f5_fixture import variant, write_graph

REPLAYERS = 8


def replay_all(c: Cluster, lbs: list[list[dict[str, Any]]]) -> None:
    """Each load balancer's writes in order; load balancers in parallel, those of one project
    after its first (which creates the folder)."""

    def one(writes: list[dict[str, Any]]) -> None:
        with c.device(0) as dev:
            for w in writes:
                r = dev.request(w["method"], w["path"], json=w["body"])
                assert r.status_code == w["status"], (w["seq"], r.status_code, r.text)

    firsts = [w for w in lbs if w[0]["path"].startswith("/mgmt/tm/sys/folder")]
    rest = [w for w in lbs if not w[0]["path"].startswith("/mgmt/tm/sys/folder")]
    with ThreadPoolExecutor(REPLAYERS) as pool:
        list(pool.map(one, firsts))
        list(pool.map(one, rest))


def behind(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Partition).where(
            Partition.applied_generation < Partition.desired_generation)) or 0)


def commands(c: Cluster, entries: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    with c.device(0) as dev:
        for e in entries:
            if e["transaction"] is None:
                out.append((e["method"], e["path"], None))
                continue
            items = dev.get(f"/mgmt/tm/transaction/{e['transaction']}/commands").json()["items"]
            for cmd in items:
                out.append((cmd["method"], "/mgmt/tm/" + cmd["uri"].split("/mgmt/tm/", 1)[1],
                            cmd.get("body")))
    return out


def kind_of(path: str) -> str:
    rest = path.split("/mgmt/tm/", 1)[1].split("?", 1)[0]
    return "/".join(p for p in rest.split("/") if p and not p.startswith("~"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lbs", type=int, default=1000)
    ap.add_argument("--per-project", type=int, default=10)
    ap.add_argument("--db", choices=KINDS, default="sqlite")
    ap.add_argument("--output")
    args = ap.parse_args()
    result: dict[str, Any] = {"lbs": args.lbs, "per_project": args.per_project, "db": args.db}
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.db, Path(tmp)) as url:
        c = Cluster(Path(tmp), url, devices=1)
        try:
            c.upgrade_db()
            c.start_sim()
            graphs, lbs = [], []
            for n in range(args.lbs):
                project = uuid.uuid5(uuid.NAMESPACE_OID, f"p{n // args.per_project}").hex
                g, writes = variant(n, project)
                if n % args.per_project:
                    writes = [w for w in writes if not w["path"].startswith("/mgmt/tm/sys/folder")]
                graphs.append(g)
                lbs.append(writes)
            t0 = time.monotonic()
            replay_all(c, lbs)
            result["replay_seconds"] = round(time.monotonic() - t0, 1)
            result["replayed_writes"] = sum(len(w) for w in lbs)

            db = Database(url)
            t0 = time.monotonic()
            for i in range(0, len(graphs), 100):
                with db.transaction() as s:
                    for g in graphs[i:i + 100]:
                        write_graph(s, g)
            result["db_load_seconds"] = round(time.monotonic() - t0, 1)

            with c.device(0) as dev:
                dev.delete("/sim/audit")
                dev.delete("/sim/counters")
            conf = c.write_common_conf()
            t0 = time.monotonic()
            p = subprocess.run([PY, "-m", "bigip_lbaas.cli", "diff", "--adopt", "--format",
                                "json", "--config-file", str(conf)], check=False,
                               capture_output=True, text=True, timeout=1800)
            assert p.returncode in (0, 1), p.stderr
            plan = json.loads(p.stdout)
            changes = [ch for part in plan["partitions"] for ch in part["changes"]]
            result["adopt"] = {
                "seconds": round(time.monotonic() - t0, 1),
                "partitions": len(plan["partitions"]),
                "requests": plan["requests"],
                "changes": dict(Counter(f"{ch['action']} {ch['kind']}" for ch in changes)),
                "fields": dict(Counter(f"{ch['kind']}.{f['field']}" for ch in changes
                                       for f in ch["fields"])),
                "disruptive": sum(1 for ch in changes if ch["disruptive"]),
                "foreign": sum(len(part["foreign"]) for part in plan["partitions"]),
            }
            with c.device(0) as dev:
                assert dev.get("/sim/audit").json()["items"] == [], "diff wrote"

            c.start_api()
            t0 = time.monotonic()
            c.start_agent("takeover1")
            wait_for(lambda: behind(db) == 0, 1800, "every partition taken over", every=0.5)
            result["takeover_seconds"] = round(time.monotonic() - t0, 1)
            with c.device(0) as dev:
                audit = dev.get("/sim/audit").json()["items"]
                counters = dev.get("/sim/counters").json()["methods"]
            cmds = commands(c, audit)
            by = Counter(f"{m} {kind_of(path)}" for m, path, _ in cmds)
            result["takeover"] = {
                "requests": counters,
                "transactions": sum(1 for e in audit if e["transaction"] is not None),
                "writes_outside_transactions": sum(1 for e in audit if e["transaction"] is None),
                "commands": dict(by),
                "deletes": sum(1 for m, _, _ in cmds if m == "DELETE"),
                "creates": sum(1 for m, _, _ in cmds if m == "POST"),
                "virtuals_disabled": sum(
                    1 for m, path, body in cmds
                    if kind_of(path) == "ltm/virtual" and body and (
                        body.get("disabled") or body.get("enabled") is False)),
            }
            result["statuses"] = dict(Counter(c.lb_statuses().values()))
            db.dispose()
        finally:
            c.close()
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
