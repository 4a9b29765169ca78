"""Quotas hold under concurrency: N parallel creates against a quota of Q end with exactly Q
created and the rest 403, on every database.

Without the per-project quota row lock, two transactions on PostgreSQL or MariaDB could both
count Q-1 and both insert (SQLite serialises write transactions, so it never could).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

from tests.integration.api.server import Api

V2 = "/v2/lbaas"
# A default limit: the first creates of a project also race to make its quota row.
API_SETTINGS: dict[str, Any] = {"default_load_balancer_quota": 3}


def race(api: Api, requests: list[tuple[str, dict[str, Any]]]) -> list[httpx.Response]:
    """POST every (path, body) at once, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    out: list[httpx.Response | None] = [None] * len(requests)

    def send(i: int) -> None:
        path, body = requests[i]
        with httpx.Client(base_url=api.url, timeout=60) as client:
            barrier.wait(timeout=30)
            out[i] = client.post(path, json=body)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(r is not None for r in out)
    return [r for r in out if r is not None]


def outcome(responses: list[httpx.Response]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for r in responses:
        counts[r.status_code] = counts.get(r.status_code, 0) + 1
    return counts


def count(api: Api, path: str, key: str, keep: Callable[[dict[str, Any]], bool]) -> int:
    return sum(1 for x in api.get(path, params={"limit": 1000}).json()[key] if keep(x))


def test_concurrent_loadbalancer_creates_stop_at_the_quota(api: Api) -> None:
    project, quota, tries = "race-lb", 3, 12  # the default quota; the project has no row yet
    sub = api.network("10.230.0.0/24")
    body = {"loadbalancer": {"vip_subnet_id": sub["id"], "project_id": project}}
    responses = race(api, [(f"{V2}/loadbalancers", body)] * tries)
    assert outcome(responses) == {201: quota, 403: tries - quota}, [r.text for r in responses]
    for r in responses:
        if r.status_code == 403:
            assert r.json()["faultstring"] == \
                "Quota has been met for resources: Load Balancer"
    assert count(api, f"{V2}/loadbalancers", "loadbalancers",
                 lambda x: x["project_id"] == project) == quota
    # A set quota (an existing row) holds as well, after a raise.
    assert api.put(f"{V2}/quotas/{project}", {"quota": {"loadbalancer": quota + 2}}) \
        .status_code == 202
    responses = race(api, [(f"{V2}/loadbalancers", body)] * 6)
    assert outcome(responses) == {201: 2, 403: 4}, [r.text for r in responses]


def test_concurrent_listener_creates_on_different_lbs_stop_at_the_quota(api: Api) -> None:
    project, quota, tries = "race-listener", 2, 8
    sub = api.network("10.231.0.0/24")
    assert api.put(f"{V2}/quotas/{project}", {"quota": {"loadbalancer": -1, "listener": quota}}) \
        .status_code == 202
    lbs = [api.lb(sub["id"], project_id=project) for _ in range(tries)]
    responses = race(api, [(f"{V2}/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 80}}) for lb in lbs])
    assert outcome(responses) == {201: quota, 403: tries - quota}, [r.text for r in responses]
    assert count(api, f"{V2}/listeners", "listeners",
                 lambda x: x["project_id"] == project) == quota
