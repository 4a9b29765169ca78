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
import os
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


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process (Linux), to express the server's cost per request."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def setup(url: str, ca: str) -> None:
    with httpx.Client(base_url=url, verify=ca, auth=("admin", "admin")) as c:
        c.post("/mgmt/tm/auth/partition", json={"name": "Bench"}).raise_for_status()
        c.post("/mgmt/tm/ltm/pool", json={"name": "p0", "partition": "Bench"}).raise_for_status()


def scale(lbs: int) -> dict[str, Any]:
    """Build `lbs` load balancers (10 per partition) in-process; report RSS and `$filter` time.

    Each load balancer is a monitor, a pool with two members (and their nodes), a virtual with
    two profiles and its virtual address. Requests go through the device's full request
    handler (auth, routing, integrity rules), only not through TLS."""
    import asyncio
    import base64

    from bigip_lbaas.sim.app import DeviceApp
    from bigip_lbaas.sim.device import Device
    from bigip_lbaas.sim.httpserver import Request

    class NoCluster:
        devices: list[Device] = []

    dev = Device(1, 1, "admin", "admin", "15.1.0")
    app = DeviceApp(dev, NoCluster())  # type: ignore[arg-type]
    auth = {"authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}

    def rss_mb() -> float:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    async def call(method: str, path: str, body: Any = None, query: str = "") -> bytes:
        raw = json.dumps(body).encode() if body is not None else b""
        resp = await app(Request(method, path, query, auth, raw, "127.0.0.1"))
        if resp.status != 200:
            raise RuntimeError(f"{method} {path}: {resp.status} {resp.body[:200]!r}")
        return resp.body

    async def build() -> dict[str, Any]:
        start = time.monotonic()
        for i in range(lbs):
            part = f"proj_{i // 10:05d}"
            n = i % 10
            if n == 0:
                await call("POST", "/mgmt/tm/auth/partition", {"name": part})
            a = f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"
            await call(
                "POST",
                "/mgmt/tm/ltm/monitor/http",
                {"name": f"hm{n}", "partition": part, "send": "GET / HTTP/1.0"},
            )
            await call(
                "POST",
                "/mgmt/tm/ltm/pool",
                {
                    "name": f"pool{n}",
                    "partition": part,
                    "monitor": f"/{part}/hm{n}",
                    "members": [
                        {"name": f"{a}:80", "partition": part},
                        {"name": f"{a}:8080", "partition": part},
                    ],
                },
            )
            await call(
                "POST",
                "/mgmt/tm/ltm/virtual",
                {
                    "name": f"vs{n}",
                    "partition": part,
                    "pool": f"pool{n}",
                    "destination": f"172.{16 + i // 65536}.{(i // 256) % 256}.{i % 256}:80",
                    "profiles": ["/Common/http", "/Common/tcp"],
                },
            )
        built = time.monotonic() - start
        parts = max(lbs // 10, 1)
        start = time.monotonic()
        for k in range(200):
            await call(
                "GET",
                "/mgmt/tm/ltm/virtual",
                None,
                f"$filter=partition+eq+proj_{(k * 7) % parts:05d}&expandSubcollections=true",
            )
        per_filter = (time.monotonic() - start) / 200
        return {
            "load_balancers": lbs,
            "partitions": parts,
            "objects": dev.store.count(),
            "build_seconds": round(built, 2),
            "rss_mb": round(rss_mb(), 1),
            "filter_get_ms": round(per_filter * 1000, 3),
        }

    return asyncio.run(build())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="LBS",
        help="only measure memory and $filter time with LBS load balancers",
    )
    args = parser.parse_args()
    if args.scale:
        json.dump(
            {"simulator": "bigip_lbaas.sim", "scale": scale(args.scale)}, sys.stdout, indent=2
        )
        print()
        return 0
    port = free_port()
    proc = start_sim_process(["--port", str(port), "--latency-ms", str(args.latency_ms)])
    try:
        device = wait_ready(proc)[0]
        setup(device["url"], device["ca"])
        results = []
        for method in ("GET", "POST"):
            for clients in (1, 16):
                cpu_before = cpu_seconds(proc.pid)
                result = run_clients(
                    device["url"],
                    device["ca"],
                    method,
                    clients,
                    args.seconds,
                    args.client_processes,
                )
                cpu = cpu_seconds(proc.pid) - cpu_before
                # the server's own cost: what one core could serve if clients were free
                result["server_cpu_us_per_request"] = round(cpu / result["requests"] * 1e6, 1)
                result["server_capacity_rps_per_core"] = (
                    round(result["requests"] / cpu, 0) if cpu > 0 else None
                )
                results.append(result)
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
