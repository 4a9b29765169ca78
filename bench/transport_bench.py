"""The two hand-written HTTP/1.1 stacks against their library alternatives (issue 12).

Device client side: one `BigipClient` sends the same mix of requests (collection GETs, POSTs, a
transaction of two queued POSTs and its commit) to a simulator subprocess over TLS on loopback,
once on its own transport (`device/transport.py`) and once on httpx's default transport
(`httpx.AsyncHTTPTransport`, same limits, same TLS context), with 1 and 16 requests in flight.
Measured: the client process's CPU time per request (`time.process_time`; the simulator runs in
its own process, so its CPU is not counted) and requests/s.

Simulator side: the same simulator (`DeviceApp` on one device) served by its own HTTP server
(`sim/httpserver.py`, what `bigip-lbaas sim` runs) and by uvicorn through a thin ASGI adapter
(below), each a subprocess; driven by `sim_bench.py`'s clients (GET and POST, 1 and 16 clients).
Measured: requests/s and the server process's CPU µs per request.

Runs are interleaved (A, B, then B, A, ...) and repeated; each figure is the median over the
rounds, since the machine is shared. Cost ratio = library / hand-written (CPU per request), or
hand-written / library (requests/s): above 1.2 the library costs more than 20 % and the
hand-written stack is kept. Only 127.0.0.1 is contacted. Prints one JSON document.

    python bench/transport_bench.py [--seconds 2] [--rounds 3] [--skip-client] [--skip-server]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.transport import FastTransport
from bigip_lbaas.sim.testing import start_sim_process, wait_ready
from sim_bench import cpu_seconds, free_port, run_clients  # bench/ is this script's directory

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = 1.2  # the library may cost at most 20 % more
GET_ITEMS = 10  # pools in the partition the collection GETs read
MAX_CONCURRENCY = 16  # BigipClient's bound (and so both transports' connection limit)

# -- the ASGI alternative for the simulator ----------------------------------------------------

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class AsgiAdapter:
    """The simulator's request handler as an ASGI application (the thinnest adapter: request in,
    `Response` out). A `Response(drop=True)` (close without answering: the simulator's `drop`
    and `hang` modes) has no ASGI equivalent: raising before the response starts makes uvicorn
    answer 500, so the adapter can only approximate it that way."""

    def __init__(self, handler: Callable[[Any], Awaitable[Any]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from bigip_lbaas.sim.httpserver import Request

        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        request = Request(
            scope["method"],
            scope["raw_path"].decode("latin-1"),
            scope["query_string"].decode("latin-1"),
            headers,
            body,
            str(client[0]) if client else "",
        )
        resp = await self.handler(request)
        if resp.drop:
            raise ConnectionAbortedError("drop: ASGI cannot close without answering")
        out = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers]
        if resp.content_type is not None:
            out.append((b"content-type", resp.content_type.encode("latin-1")))
        out.append((b"content-length", str(len(resp.body)).encode("ascii")))
        await send({"type": "http.response.start", "status": resp.status, "headers": out})
        await send({"type": "http.response.body", "body": resp.body})


def serve_asgi(port: int) -> int:
    """One simulated device behind uvicorn; prints the same start-up lines as `bigip-lbaas sim`
    (so `wait_ready` works) and serves until SIGTERM."""
    import uvicorn

    from bigip_lbaas.sim.app import DeviceApp
    from bigip_lbaas.sim.server import READY_LINE, Simulator

    sim = Simulator(devices=1, port=port)
    dev = sim.devices[0]
    dev.port = port
    dev.url = f"https://127.0.0.1:{port}"
    config = uvicorn.Config(
        AsgiAdapter(DeviceApp(dev, sim)),
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(sim.tls_files.cert_file),
        ssl_keyfile=str(sim.tls_files.key_file),
        http="h11",  # the HTTP implementation the project's dependencies provide
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=60,
        backlog=512,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                await task
                return
            await asyncio.sleep(0.02)
        print(f"bigip-lbaas sim: device 1 {dev.name} {dev.url} ca={sim.ca_file}", flush=True)
        print(READY_LINE, flush=True)
        await task

    try:
        asyncio.run(main())
    finally:
        if sim.tls_files.temp_dir is not None:
            shutil.rmtree(sim.tls_files.temp_dir, ignore_errors=True)
    return 0


# -- helpers -----------------------------------------------------------------------------------


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def reset_device(url: str, ca: str) -> None:
    """Factory state, then the partitions the runs use: the same start for every run."""
    with httpx.Client(base_url=url, verify=ca, auth=("admin", "admin"), timeout=30.0) as c:
        c.post("/sim/wipe").raise_for_status()
        for part in ("Bench", "BenchW"):
            c.post("/mgmt/tm/auth/partition", json={"name": part}).raise_for_status()
        for i in range(GET_ITEMS):
            pool = {"name": f"p{i}", "partition": "Bench"}
            c.post("/mgmt/tm/ltm/pool", json=pool).raise_for_status()


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def ratio(library: float, hand_written: float) -> float | None:
    return round(library / hand_written, 2) if hand_written > 0 else None


def git_state() -> dict[str, Any]:
    """Which code was measured: the commit, and whether tracked files differ from it."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")  # "XY path" lines
    return {
        "commit": commit.strip() if commit else None,
        "modified": [ln[3:] for ln in status.splitlines() if ln.strip()] if status else [],
    }


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["os"] = f"{platform.system()} {platform.release()}"
    info["httpx"] = httpx.__version__
    import h11
    import httpcore
    import uvicorn

    info["httpcore"] = httpcore.__version__
    info["h11"] = h11.__version__
    info["uvicorn"] = uvicorn.__version__
    return info


# -- device client side ------------------------------------------------------------------------


def make_transport(kind: str, ca: str) -> httpx.AsyncBaseTransport:
    ctx = ssl.create_default_context(cafile=ca)
    if kind == "hand-written":
        return FastTransport(verify=ctx, max_connections=MAX_CONCURRENCY, keepalive_expiry=5.0)
    limits = httpx.Limits(
        max_connections=MAX_CONCURRENCY,
        max_keepalive_connections=MAX_CONCURRENCY,
        keepalive_expiry=5.0,
    )
    return httpx.AsyncHTTPTransport(verify=ctx, limits=limits)


async def _client_run(kind: str, port: int, ca: str, concurrency: int, seconds: float) -> dict[
    str, Any
]:
    client = BigipClient(
        "127.0.0.1",
        "admin",
        "admin",
        port=port,
        max_concurrency=MAX_CONCURRENCY,
        retries=0,
        client_id="transport-bench",
        transport=make_transport(kind, ca),
    )
    async with client:

        async def unit(task: int, n: int) -> None:
            """8 requests: 2 collection GETs, 2 POSTs, a transaction (begin, 2 POSTs, commit)."""
            await client.items("/mgmt/tm/ltm/pool", {"$filter": "partition eq Bench"})
            await client.items("/mgmt/tm/sys/folder", {"$filter": "partition eq Bench"})
            for k in range(2):
                pool = {"name": f"t{task}-{n}-{k}", "partition": "BenchW"}
                await client.request("POST", "/mgmt/tm/ltm/pool", json=pool)
            tid = await client.begin()
            for k in range(2, 4):
                pool = {"name": f"t{task}-{n}-{k}", "partition": "BenchW"}
                await client.request("POST", "/mgmt/tm/ltm/pool", json=pool, transaction=tid)
            await client.commit(tid)

        # warm up: login and one connection per task, outside the measurement
        await asyncio.gather(*(unit(t, -1) for t in range(concurrency)))
        done = [0] * concurrency
        deadline = time.monotonic() + seconds

        async def loop(task: int) -> None:
            while time.monotonic() < deadline:
                await unit(task, done[task])
                done[task] += 1

        requests0 = client.counter.total
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(loop(t) for t in range(concurrency)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        requests = client.counter.total - requests0
    return {
        "transport": kind,
        "concurrency": concurrency,
        "requests": requests,
        "seconds": round(wall, 3),
        "rps": round(requests / wall, 1),
        "client_cpu_us_per_request": round(cpu / requests * 1e6, 1),
    }


def client_side(seconds: float, rounds: int) -> dict[str, Any]:
    proc = start_sim_process(["--port", str(free_port())])
    runs: list[dict[str, Any]] = []
    try:
        device = wait_ready(proc)[0]
        port = int(device["url"].rsplit(":", 1)[1])
        kinds = ["hand-written", "httpx-default"]
        for r in range(rounds):
            order = kinds if r % 2 == 0 else kinds[::-1]
            for concurrency in (1, 16):
                for kind in order:
                    reset_device(device["url"], device["ca"])
                    run = asyncio.run(_client_run(kind, port, device["ca"], concurrency, seconds))
                    run["round"] = r + 1
                    run["loadavg"] = [round(x, 2) for x in os.getloadavg()]
                    runs.append(run)
                    print(f"transport_bench: client {run}", file=sys.stderr, flush=True)
    finally:
        stop(proc)
    figures = []
    for concurrency in (1, 16):
        med: dict[str, dict[str, float]] = {}
        for kind in ("hand-written", "httpx-default"):
            mine = [x for x in runs if x["transport"] == kind and x["concurrency"] == concurrency]
            med[kind] = {
                "client_cpu_us_per_request": median(
                    [x["client_cpu_us_per_request"] for x in mine]
                ),
                "rps": median([x["rps"] for x in mine]),
            }
        hw, lib = med["hand-written"], med["httpx-default"]
        figures.append(
            {
                "figure": f"client CPU µs/request, {concurrency} in flight",
                "hand_written": hw["client_cpu_us_per_request"],
                "library": lib["client_cpu_us_per_request"],
                "cost_ratio": ratio(
                    lib["client_cpu_us_per_request"], hw["client_cpu_us_per_request"]
                ),
            }
        )
        figures.append(
            {
                "figure": f"requests/s, {concurrency} in flight",
                "hand_written": hw["rps"],
                "library": lib["rps"],
                "cost_ratio": ratio(hw["rps"], lib["rps"]),
            }
        )
    return {
        "workload": "BigipClient (token auth, retries off, max_concurrency 16) on one simulated "
        "device over TLS; each unit is 8 requests: GET pool and sys/folder collections "
        f"($filter=partition eq Bench, {GET_ITEMS} pools), 2 POSTs of a pool, a transaction "
        "(begin, 2 queued pool POSTs, commit); the device is wiped before every run",
        "alternative": "httpx.AsyncHTTPTransport(verify=<same SSLContext>, limits=Limits("
        "max_connections=16, max_keepalive_connections=16, keepalive_expiry=5.0)), i.e. "
        "httpcore + h11 + anyio",
        "runs": runs,
        "figures": figures,
    }


# -- simulator side ----------------------------------------------------------------------------


def start_server(kind: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    port = free_port()
    if kind == "hand-written":
        proc = start_sim_process(["--port", str(port)])
    else:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-asgi", str(port)],
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
        )
    try:
        return proc, wait_ready(proc)[0]
    except BaseException:
        stop(proc)
        raise


def server_side(seconds: float, rounds: int, client_processes: int) -> dict[str, Any]:
    kinds = ["hand-written", "uvicorn"]
    servers: dict[str, tuple[subprocess.Popen[str], dict[str, str]]] = {}
    runs: list[dict[str, Any]] = []
    try:
        for kind in kinds:
            servers[kind] = start_server(kind)
        for r in range(rounds):
            order = kinds if r % 2 == 0 else kinds[::-1]
            for method in ("GET", "POST"):
                for clients in (1, 16):
                    for kind in order:
                        proc, device = servers[kind]
                        reset_device(device["url"], device["ca"])
                        cpu0 = cpu_seconds(proc.pid)
                        run = run_clients(
                            device["url"], device["ca"], method, clients, seconds,
                            client_processes,
                        )
                        cpu = cpu_seconds(proc.pid) - cpu0
                        run["server"] = kind
                        run["round"] = r + 1
                        run["server_cpu_us_per_request"] = round(cpu / run["requests"] * 1e6, 1)
                        run["loadavg"] = [round(x, 2) for x in os.getloadavg()]
                        runs.append(run)
                        print(f"transport_bench: server {run}", file=sys.stderr, flush=True)
    finally:
        for proc, _ in servers.values():
            stop(proc)
    figures = []
    for method in ("GET", "POST"):
        for clients in (1, 16):
            med: dict[str, dict[str, float]] = {}
            for kind in kinds:
                mine = [
                    x
                    for x in runs
                    if x["server"] == kind and x["method"] == method and x["clients"] == clients
                ]
                med[kind] = {
                    "rps": median([x["rps"] for x in mine]),
                    "cpu": median([x["server_cpu_us_per_request"] for x in mine]),
                    "errors": sum(x["errors"] for x in mine),
                }
            hw, lib = med["hand-written"], med["uvicorn"]
            figures.append(
                {
                    "figure": f"{method} requests/s, {clients} client(s)",
                    "hand_written": hw["rps"],
                    "library": lib["rps"],
                    "cost_ratio": ratio(hw["rps"], lib["rps"]),
                }
            )
            figures.append(
                {
                    "figure": f"{method} server CPU µs/request, {clients} client(s)",
                    "hand_written": hw["cpu"],
                    "library": lib["cpu"],
                    "cost_ratio": ratio(lib["cpu"], hw["cpu"]),
                }
            )
    return {
        "workload": "sim_bench.py's clients (httpx, keep-alive, basic auth, TLS; 16 clients "
        f"over {client_processes} processes): GET of one pool, POST of a new pool; the device "
        "is wiped before every run; both servers run the same DeviceApp on one device",
        "alternative": "uvicorn (http=h11, loop=asyncio: httptools and uvloop are not "
        "dependencies) serving DeviceApp through a thin ASGI adapter",
        "run_time_listener_control": {
            "met_by_alternative": False,
            "reason": "uvicorn's public interface starts and stops a whole server; closing the "
            "listening socket while keeping the device (down refuse), reopening it on the same "
            "port (up) and resetting live connections need its private protocol classes and "
            "ServerState; and an ASGI application cannot close a connection without answering "
            "(down drop/hang, hangRate): raising before the response starts makes uvicorn "
            "answer 500 instead",
        },
        "runs": runs,
        "figures": figures,
    }


def verdict(figures: list[dict[str, Any]]) -> dict[str, Any]:
    worst = max(f["cost_ratio"] for f in figures if f["cost_ratio"] is not None)
    over = [f["figure"] for f in figures if (f["cost_ratio"] or 0) > THRESHOLD]
    return {
        "rule": "keep the hand-written stack only if the library costs more than 20 % "
        "(cost ratio > 1.2) on a figure it was written for",
        "worst_cost_ratio": worst,
        "figures_over_threshold": over,
        "keep_hand_written": bool(over),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="per run (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved A/B rounds")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--skip-client", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--serve-asgi", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_asgi:
        return serve_asgi(args.serve_asgi)
    started = time.time()
    out: dict[str, Any] = {
        "benchmark": "transport",
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
        "code": git_state(),
        "machine": machine(),
        "settings": {
            "seconds": args.seconds,
            "rounds": args.rounds,
            "client_processes": args.client_processes,
            "command": " ".join(["bench/transport_bench.py", *sys.argv[1:]]),
        },
    }
    if not args.skip_client:
        side = client_side(args.seconds, args.rounds)
        side["verdict"] = verdict(
            [f for f in side["figures"] if f["figure"].startswith("client CPU")]
            + [f for f in side["figures"] if f["figure"].startswith("requests/s")]
        )
        out["device_client"] = side
    if not args.skip_server:
        side = server_side(args.seconds, args.rounds, args.client_processes)
        side["verdict"] = verdict(side["figures"])
        out["simulator_server"] = side
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    out["seconds"] = round(time.time() - started, 1)
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
