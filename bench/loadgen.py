"""The load generator both products get: concurrent clients creating load balancers, then reading
them back one by one (GET) and listing their project's (list). Latency percentiles and rates.

Clients are threads of this process, one httpx connection each, and every client works in its
own project (its own partition), as tenants would. Used by `api_bench.py` and
`octavia_side_by_side.py`; nothing here knows which product it talks to.
"""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

# Body of one create, given the client's index: what the product needs to create an LB.
CreateBody = Callable[[int], dict[str, Any]]
# Headers of one client (its project), given its index.
Headers = Callable[[int], dict[str, str]]


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already-sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(latencies: list[float], wall: float, errors: int,
            per_client: list[list[float]] | None = None) -> dict[str, float]:
    """Rate and percentiles; with `per_client` (each client's latencies), also the lowest and
    highest of the clients' medians: how evenly the server shares itself among its clients."""
    values = sorted(latencies)
    out = {"requests": len(values), "errors": errors,
           "per_s": round(len(values) / wall, 1) if wall > 0 else 0.0,
           "p50_ms": round(percentile(values, 50) * 1000, 2),
           "p95_ms": round(percentile(values, 95) * 1000, 2),
           "p99_ms": round(percentile(values, 99) * 1000, 2),
           "max_ms": round((values[-1] if values else 0.0) * 1000, 2)}
    medians = [percentile(sorted(mine), 50) * 1000 for mine in per_client or [] if mine]
    if len(medians) > 1:
        out["client_p50_min_ms"] = round(min(medians), 2)
        out["client_p50_max_ms"] = round(max(medians), 2)
    return out


@dataclass
class Phase:
    latencies: list[float]
    errors: int
    wall: float
    first_error: str | None = None
    per_client: list[list[float]] | None = None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while requests are timed (as `timeit` does): a
    full pass over this process's objects (the clients, httpx, the modules the bench imported)
    stopped every client thread for up to ~100 ms at a time, which the latencies of every
    request in flight then showed, whichever product served it. Reference counting still frees
    nearly everything; what cycles are left are collected after the phase, untimed."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _run(clients: int, work: Callable[[int, httpx.Client, list[float]], tuple[int, str | None]],
         base: str, headers: Headers) -> Phase:
    latencies: list[float] = []
    per_client: list[list[float]] = []
    errors = 0
    first_error: str | None = None
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)

    def client(idx: int) -> None:
        nonlocal errors, first_error
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=60, headers=headers(idx)) as http:
            http.get("/")  # open the connection before the clock starts
            start_gate.wait()
            bad, why = work(idx, http, mine)
        with lock:
            latencies.extend(mine)
            per_client.append(mine)
            errors += bad
            first_error = first_error or why

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    with collector_paused():
        for t in threads:
            t.start()
        start_gate.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    return Phase(latencies, errors, wall, first_error, per_client)


def run_load(base: str, *, clients: int, creates: int, reads: int, create_body: CreateBody,
             headers: Headers, lb_path: str = "/v2/lbaas/loadbalancers") -> dict[str, Any]:
    """`creates` creates spread over `clients`; then `reads` GETs of the clients' own load
    balancers and `reads` list calls of their project's, spread the same way."""
    per_client = max(1, creates // clients)
    reads_per_client = max(1, reads // clients)
    made: dict[int, list[str]] = {i: [] for i in range(clients)}

    def create(idx: int, http: httpx.Client, out: list[float]) -> tuple[int, str | None]:
        bad, why = 0, None
        for _ in range(per_client):
            t0 = time.perf_counter()
            r = http.post(lb_path, json=create_body(idx))
            out.append(time.perf_counter() - t0)
            if r.status_code in (201, 202):
                made[idx].append(r.json()["loadbalancer"]["id"])
            else:
                bad += 1
                why = why or f"{r.status_code} {r.text[:200]}"
        return bad, why

    def get(idx: int, http: httpx.Client, out: list[float]) -> tuple[int, str | None]:
        bad, why = 0, None
        mine = made[idx] or ["missing"]
        for n in range(reads_per_client):
            t0 = time.perf_counter()
            r = http.get(f"{lb_path}/{mine[n % len(mine)]}")
            out.append(time.perf_counter() - t0)
            if r.status_code != 200:
                bad += 1
                why = why or f"{r.status_code} {r.text[:200]}"
        return bad, why

    def listing(idx: int, http: httpx.Client, out: list[float]) -> tuple[int, str | None]:
        bad, why = 0, None
        project = headers(idx).get("X-Project-Id", "")
        for _ in range(reads_per_client):
            t0 = time.perf_counter()
            r = http.get(lb_path, params={"project_id": project})
            out.append(time.perf_counter() - t0)
            if r.status_code != 200:
                bad += 1
                why = why or f"{r.status_code} {r.text[:200]}"
        return bad, why

    result: dict[str, Any] = {"clients": clients}
    for name, work in (("create", create), ("get", get), ("list", listing)):
        phase = _run(clients, work, base, headers)
        result[name] = summary(phase.latencies, phase.wall, phase.errors, phase.per_client)
        if phase.first_error:
            result[name]["first_error"] = phase.first_error
    return result
