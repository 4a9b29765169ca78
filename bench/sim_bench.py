"""Requests per second the simulator serves: GET and POST, 1 and 16 concurrent clients.

Starts `python -m bigip_lbaas.sim` on a free loopback port as a separate process, drives it with
httpx over HTTPS (verifying with the simulator's CA, basic auth, keep-alive connections) and
prints one JSON document. Python HTTP clients cost far more CPU per request than the simulator
does, so the 16 clients are spread over several client processes (`--client-processes`, each
running clients in threads) that start together on a barrier. Every loop is bounded by a
deadline and a request cap; only 127.0.0.1 is contacted.

    python bench/sim_bench.py [--seconds 3] [--latency-ms 0] [--client-processes 4]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import httpx

from bigip_lbaas.sim.testing import start_sim_process, wait_ready

MAX_REQUESTS_PER_CLIENT = 100_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_loop(
    url: str,
    ca: str,
    method: str,
    seconds: float,
    tag: str,
    barrier: Any,
    out: list[tuple[int, int, float]],
) -> None:
    with httpx.Client(base_url=url, verify=ca, auth=("admin", "admin"), timeout=30.0) as c:
        c.get("/mgmt/tm/sys/")  # open and warm the connection
        barrier.wait(120)
        done = errors = 0
        start = time.monotonic()
        deadline = start + seconds
        while time.monotonic() < deadline and done < MAX_REQUESTS_PER_CLIENT:
            if method == "GET":
                resp = c.get("/mgmt/tm/ltm/pool/~Bench~p0")
            else:
                resp = c.post(
                    "/mgmt/tm/ltm/pool",
                    json={"name": f"{tag}-{done}", "partition": "Bench", "monitor": "/Common/http"},
                )
            done += 1
            errors += resp.status_code != 200
        out.append((done, errors, time.monotonic() - start))


def process_main(
    url: str, ca: str, method: str, clients: int, seconds: float, tag: str, barrier: Any, queue: Any
) -> None:
    out: list[tuple[int, int, float]] = []
    threads = [
        threading.Thread(
            target=client_loop, args=(url, ca, method, seconds, f"{tag}t{i}", barrier, out)
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    queue.put(out)


def run_clients(
    url: str, ca: str, method: str, clients: int, seconds: float, procs: int
) -> dict[str, Any]:
    """`clients` concurrent keep-alive connections spread over `procs` client processes."""
    procs = max(1, min(procs, clients))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    barrier = ctx.Barrier(clients)
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    workers = [
        ctx.Process(
            target=process_main,
            args=(url, ca, method, n, seconds, f"{method}{clients}p{i}", barrier, queue),
        )
        for i, n in enumerate(per)
    ]
    for w in workers:
        w.start()
    parts = [r for _ in workers for r in queue.get(timeout=seconds + 180)]
    for w in workers:
        w.join(30)
    done = sum(p[0] for p in parts)
    elapsed = max(p[2] for p in parts)
    return {
        "method": method,
        "clients": clients,
        "client_processes": procs,
        "requests": done,
        "errors": sum(p[1] for p in parts),
        "seconds": round(elapsed, 3),
        "rps": round(done / elapsed, 1),
    }


def setup(url: str, ca: str) -> None:
    with httpx.Client(base_url=url, verify=ca, auth=("admin", "admin")) as c:
        c.post("/mgmt/tm/auth/partition", json={"name": "Bench"}).raise_for_status()
        c.post("/mgmt/tm/ltm/pool", json={"name": "p0", "partition": "Bench"}).raise_for_status()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--client-processes", type=int, default=4)
    args = parser.parse_args()
    port = free_port()
    proc = start_sim_process(["--port", str(port), "--latency-ms", str(args.latency_ms)])
    try:
        device = wait_ready(proc)[0]
        setup(device["url"], device["ca"])
        results = [
            run_clients(
                device["url"], device["ca"], method, clients, args.seconds, args.client_processes
            )
            for method in ("GET", "POST")
            for clients in (1, 16)
        ]
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    json.dump(
        {
            "simulator": "bigip_lbaas.sim",
            "latency_ms": args.latency_ms,
            "python": sys.version.split()[0],
            "results": results,
        },
        sys.stdout,
        indent=2,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
