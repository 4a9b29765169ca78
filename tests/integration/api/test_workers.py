"""`[api_settings] workers`: the real `bigip-lbaas api` with 1 and with 2 worker processes on one
socket answers alike, on every database: concurrent creates over fresh connections (so the
kernel spreads them over the workers) all succeed with distinct VIPs, every load balancer is
listed, `/metrics` counts every request whichever worker answers the scrape, and SIGTERM stops
every worker."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Proc, free_ports, port_open, wait_for

CLIENTS = 6
PER_CLIENT = 5
CREATES = 'bigip_lbaas_api_requests_total{method="POST",route="/v2/lbaas/loadbalancers",status="201"}'


def _children(pid: int) -> list[int]:
    """Worker processes of the API (multiprocessing's helper processes are not workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if int(stat[1]) == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture(params=[1, 2], ids=["workers1", "workers2"])
def api(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[tuple[str, Proc]]:
    db = Database(db_url)
    try:
        schema.upgrade(db)
    finally:
        db.dispose()
    port = free_ports(1)
    conf = tmp_path / "api.conf"
    conf.write_text(f"[database]\nconnection = {db_url}\n[api_settings]\nbind_host = 127.0.0.1\n"
                    f"bind_port = {port}\nworkers = {request.param}\n"
                    # No agent runs here: accept work nobody will carry out.
                    "refuse_unserved = false\n")
    proc = Proc("api", [PY, "-m", "bigip_lbaas.cli", "api", "--config-file", str(conf)],
                tmp_path / "api.log").start()
    try:
        wait_for(lambda: port_open(port) or not proc.alive, 60, "API port")
        assert proc.alive, proc.output()
        assert proc.popen is not None
        if request.param > 1:
            wait_for(lambda: len(_children(proc.popen.pid)) == request.param,  # type: ignore[union-attr]
                     60, "worker processes")
        else:
            assert _children(proc.popen.pid) == []
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()


def _counter(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_workers_answer_alike(api: tuple[str, Proc]) -> None:
    base, proc = api
    # A new connection per request, so that each worker gets its share.
    close = {"Connection": "close"}
    net = httpx.post(f"{base}/v2.0/networks", json={"network": {"name": "w"}}, headers=close)
    assert net.status_code == 201, net.text
    sub = httpx.post(f"{base}/v2.0/subnets", headers=close, json={"subnet": {
        "network_id": net.json()["network"]["id"], "cidr": "10.9.0.0/24", "ip_version": 4}})
    assert sub.status_code == 201, sub.text
    subnet = sub.json()["subnet"]["id"]
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def client(idx: int) -> None:
        for _ in range(PER_CLIENT):
            r = httpx.post(f"{base}/v2/lbaas/loadbalancers", headers=close, timeout=60, json={
                "loadbalancer": {"vip_subnet_id": subnet, "project_id": f"w{idx}"}})
            with lock:
                answers.append(r)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [r.status_code for r in answers] == [201] * CLIENTS * PER_CLIENT, \
        [r.text for r in answers if r.status_code != 201][:3]
    lbs: list[dict[str, Any]] = [r.json()["loadbalancer"] for r in answers]
    assert len({lb["vip_address"] for lb in lbs}) == CLIENTS * PER_CLIENT
    assert {lb["provisioning_status"] for lb in lbs} == {"PENDING_CREATE"}
    for idx in range(CLIENTS):
        listed = httpx.get(f"{base}/v2/lbaas/loadbalancers", headers=close,
                           params={"project_id": f"w{idx}"}).json()["loadbalancers"]
        assert sorted(lb["id"] for lb in listed) == sorted(
            lb["id"] for lb in lbs if lb["project_id"] == f"w{idx}")
    # Whichever worker answers the scrape, it counts every worker's requests.
    for _ in range(6):
        metrics = httpx.get(f"{base}/metrics", headers=close)
        assert metrics.status_code == 200
        assert _counter(metrics.text, CREATES) == CLIENTS * PER_CLIENT
    assert proc.popen is not None
    workers = _children(proc.popen.pid)
    # Graceful: SIGTERM ends it (uvicorn re-raises the signal it caught), no SIGKILL needed.
    assert proc.terminate() in (0, -15), proc.output()[-2000:]
    for pid in workers:
        assert not os.path.exists(f"/proc/{pid}/cmdline") or not Path(
            f"/proc/{pid}/cmdline").read_bytes(), f"worker {pid} outlived the API"
