"""This API and Octavia's, side by side: create-load-balancer throughput and p50/p95/p99, then
GET and list latency, at 1 and 16 clients, on SQLite and PostgreSQL. Prints JSON (stdout) and
the two products next to each other (stderr).

    .venv/bin/python bench/octavia_side_by_side.py [--creates 320] [--reads 160]
        [--kinds sqlite,postgresql] [--clients 1,16] [--workers 1] [--threads 4] [--subnets 1]
        [--products ours,octavia]
        [--out bench/results/side_by_side.json]

Both products run as real servers on loopback, each on a fresh database of the same kind, and get
the same client (`bench/loadgen.py`): this API as `bigip-lbaas api` (`[api_settings] workers`
and `threads`, noauth); Octavia 19 from PyPI in its own virtualenv under gunicorn with 2 workers, noop drivers
(`tests/openstack/octavia.py`). Octavia's migrations do not run on SQLite; where a product cannot
run on a database kind the result says so instead of a figure. Octavia's migrations run on
MySQL/MariaDB only; on SQLite and PostgreSQL its schema is built from its models, as its own
functional tests do (see tests/openstack/octavia.py).

Per product, database and client count: `create` (the clients' creates, each client in its own
project, all VIPs on one shared subnet), then `get` (each client GETs its own load balancers one
by one) and `list` (each client lists its project's), each with requests/s and p50/p95/p99/max
latency. The 16-client run follows the 1-client run on the same server and database. Also
`server_cpu_ms_per_request`: the server's CPU time (its process and children: this API, or
gunicorn's master and workers; not the database's) over the measured run, per request of it
(creates, GETs and lists together): what a request costs the product, which other load on the
machine distorts far less than the rates and latencies.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import run_load

from bigip_lbaas.api.app import default_threads
from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Proc, free_ports, port_open, wait_for
from tests.databases import fresh_database

# How the bench starts `bigip-lbaas` (an instrumented copy can be swapped in when profiling).
API_ARGV = [PY, "-m", "bigip_lbaas.cli"]


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) used so far by process `root` and its live children (the
    API's workers, gunicorn's)."""
    tick = os.sysconf("SC_CLK_TCK")

    def stat(pid: int) -> list[str] | None:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None

    pids = [root]
    for entry in Path("/proc").iterdir():
        fields = stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and int(fields[1]) == root:
            pids.append(int(entry.name))
    total = 0.0
    for pid in pids:
        fields = stat(pid)
        if fields is not None:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def load_average() -> list[float]:
    return [round(float(x), 2) for x in Path("/proc/loadavg").read_text().split()[:3]]


def commit() -> str:
    root = Path(__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"{head}{' (with uncommitted changes)' if dirty else ''}"


@contextmanager
def ours(kind: str, workdir: Path, workers: int, subnets: int = 1,
         pids: list[int] | None = None,
         threads: int | None = None) -> Iterator[tuple[str, list[str]]]:
    """This API (`bigip-lbaas api`, a real process) on a fresh database of `kind`; yields its
    base URL and `subnets` subnets to put VIPs on (one network). Its pid is added to `pids`."""
    with fresh_database(kind, workdir) as url:
        db = Database(url)
        try:
            schema.upgrade(db)
        finally:
            db.dispose()
        port = free_ports(1)
        conf = workdir / f"api-{kind}.conf"
        threads_line = f"threads = {threads}\n" if threads is not None else ""  # else its default
        conf.write_text(f"[database]\nconnection = {url}\n[api_settings]\nbind_host = 127.0.0.1\n"
                        f"bind_port = {port}\nworkers = {workers}\n{threads_line}"
                        # No agent runs here (nor behind Octavia's no-op driver): accept the
                        # work rather than refuse it for want of a live agent.
                        "refuse_unserved = false\n")
        api = Proc("api", [*API_ARGV, "api", "--config-file", str(conf)],
                   workdir / f"api-{kind}.log").start()
        try:
            wait_for(lambda: port_open(port) or not api.alive, 60, "API port")
            if not api.alive:
                raise RuntimeError(f"bigip-lbaas api did not start:\n{api.output()[-2000:]}")
            base = f"http://127.0.0.1:{port}"
            if pids is not None and api.popen is not None:
                pids.append(api.popen.pid)
            with httpx.Client(base_url=base, timeout=30) as http:
                net = http.post("/v2.0/networks", json={"network": {"name": "bench"}})
                net.raise_for_status()
                made = []
                for n in range(subnets):
                    sub = http.post("/v2.0/subnets", json={"subnet": {
                        "network_id": net.json()["network"]["id"],
                        "cidr": "10.0.0.0/8" if subnets == 1 else f"10.{n}.0.0/16",
                        "ip_version": 4}})
                    sub.raise_for_status()
                    made.append(str(sub.json()["subnet"]["id"]))
            yield base, made
        finally:
            api.terminate()


@contextmanager
def octavia(kind: str, workdir: Path, subnets: int = 1,
            pids: list[int] | None = None) -> Iterator[tuple[str, list[str]]]:
    """Octavia 19 (PyPI) under gunicorn with 2 workers, noop provider, network, compute and
    amphora drivers, on a fresh database of `kind`; yields its URL and `subnets` subnet ids (the
    no-op network driver takes any, and allocates no address: it takes the VIP as given)."""
    from tests.openstack.octavia import octavia_service

    with octavia_service(workdir, providers={"noop_driver": "The Octavia no-op provider driver"},
                         default_provider="noop_driver", workers=2, db_kind=kind) as o:
        if pids is not None and o.api.popen is not None:
            pids.append(o.api.popen.pid)  # gunicorn's master; its workers are its children
        yield o.url, [str(uuid.uuid4()) for _ in range(subnets)]


def measure(base: str, subnets: list[str], clients: int, creates: int,
            reads: int, pids: list[int] | None = None) -> dict[str, Any]:
    """The warm-up, then the measured run; with the server's `pids`, also the server's CPU
    per request over the measured run (its creates, GETs and lists together), which a loaded
    machine distorts far less than rates and latencies."""
    def body(idx: int) -> dict[str, Any]:
        return {"loadbalancer": {"vip_subnet_id": subnets[idx % len(subnets)],
                                 "project_id": f"bench-{idx}"}}

    def headers(idx: int) -> dict[str, str]:
        return {"X-Project-Id": f"bench-{idx}"}

    run_load(base, clients=min(4, clients), creates=min(40, creates), reads=min(40, reads),
             create_body=body, headers=headers)  # warm up
    before = sum(tree_cpu_seconds(p) for p in pids or [])
    result = run_load(base, clients=clients, creates=creates, reads=reads, create_body=body,
                      headers=headers)
    if pids:
        used = sum(tree_cpu_seconds(p) for p in pids) - before
        requests = sum(result[phase]["requests"] for phase in ("create", "get", "list"))
        result["server_cpu_ms_per_request"] = round(1000 * used / max(requests, 1), 2)
    return result


PRODUCTS = {"ours": "bigip-lbaas", "octavia": "octavia"}


def run_product(product: str, kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every client count on one server of `product` and database `kind` (fresh, loaded in
    turn: the 16-client run finds the 1-client run's load balancers in place)."""
    name = PRODUCTS[product]
    workers = args.workers if product == "ours" else 2
    row: dict[str, Any] = {"product": name, "db": kind, "workers": workers,
                           "subnets": args.subnets}
    if product == "ours":
        row["threads"] = args.threads or default_threads(kind)
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            pids: list[int] = []
            server = (ours(kind, Path(tmp), args.workers, args.subnets, pids, args.threads)
                      if product == "ours" else octavia(kind, Path(tmp), args.subnets, pids))
            with server as (base, subnets):
                for clients in (int(c) for c in args.clients.split(",")):
                    out.append({**row, **measure(base, subnets, clients, args.creates,
                                                 args.reads, pids)})
        except RuntimeError as err:
            # A product that cannot run on this database (Octavia's migrations on SQLite).
            out.append({**row, "unsupported": str(err).strip().splitlines()[0][:300],
                        "detail": str(err)[-1500:]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=320)
    parser.add_argument("--reads", type=int, default=160)
    parser.add_argument("--kinds", default="sqlite,postgresql")
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--workers", type=int, default=1,
                        help="this API's [api_settings] workers (Octavia always runs 2)")
    parser.add_argument("--threads", type=int,
                        help="this API's [api_settings] threads (requests each worker runs at "
                             "once); default: the product's, which depends on the database")
    parser.add_argument("--subnets", type=int, default=1,
                        help="VIP subnets the clients spread over (1: all share one)")
    parser.add_argument("--products", default="ours,octavia")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.time()
    meta = {"load_average_before": load_average(), "commit": commit(),
            "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    results: list[dict[str, Any]] = []
    for kind in args.kinds.split(","):
        for product in args.products.split(","):
            results += run_product(product, kind, args)
    meta["seconds"] = round(time.time() - started, 1)
    meta["load_average_after"] = load_average()
    out = {"benchmark": "api_side_by_side", **meta, "results": results}
    text = json.dumps(out, indent=2)
    print(text)
    print("\n".join(side_by_side(results)), file=sys.stderr)
    if args.out:
        args.out.write_text(text + "\n")


def _cell(row: dict[str, Any] | None, phase: str, key: str) -> str:
    if row is None:
        return "—"
    if "unsupported" in row:
        return "n/a"
    return str((row[phase] if phase else row).get(key, "—"))


def side_by_side(results: list[dict[str, Any]]) -> list[str]:
    """The two products next to each other, per database and client count (for the terminal;
    stdout carries the JSON only)."""
    rows = {(r["product"], r["db"], r.get("clients")): r for r in results}
    lines = [f"{'db':<11}{'clients':>8}  {'figure':<16}{'bigip-lbaas':>12}{'octavia':>12}"]
    for kind in dict.fromkeys(r["db"] for r in results):
        for clients in dict.fromkeys(r.get("clients") for r in results if r["db"] == kind):
            if clients is None:
                continue
            ours_row = rows.get(("bigip-lbaas", kind, clients))
            theirs = rows.get(("octavia", kind, clients)) or rows.get(("octavia", kind, None))
            for phase, key, label in (("create", "per_s", "creates/s"),
                                      ("create", "p50_ms", "create p50 ms"),
                                      ("create", "p95_ms", "create p95 ms"),
                                      ("create", "p99_ms", "create p99 ms"),
                                      ("create", "client_p50_min_ms", "client p50 min"),
                                      ("create", "client_p50_max_ms", "client p50 max"),
                                      ("get", "p50_ms", "GET p50 ms"),
                                      ("get", "p99_ms", "GET p99 ms"),
                                      ("list", "p50_ms", "list p50 ms"),
                                      ("list", "p99_ms", "list p99 ms"),
                                      ("", "server_cpu_ms_per_request", "server CPU ms/req")):
                lines.append(f"{kind:<11}{clients:>8}  {label:<16}"
                             f"{_cell(ours_row, phase, key):>12}{_cell(theirs, phase, key):>12}")
    for r in results:
        if "unsupported" in r:
            lines.append(f"{r['product']} on {r['db']}: {r['unsupported']}")
    return lines


if __name__ == "__main__":
    main()
