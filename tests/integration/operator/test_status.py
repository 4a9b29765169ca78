"""`bigip-lbaas status` as an operator runs it, against a real cluster: a kill -9'd agent shows as
dead and its partitions as re-homed on the survivor, none pending; the tables render."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster import PY, Cluster, wait_for
from tests.integration.agents.test_redundancy import ensure_subnet, wait_active

PROJECTS = ("alpha", "bravo", "charlie", "delta")


@pytest.fixture
def cluster(db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, db_url, devices=2)
    try:
        c.start(agents=("h1", "h2"))
        yield c
    finally:
        c.close()


def status(c: Cluster, *extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [PY, "-m", "bigip_lbaas.cli", "status", *extra, "--config-file",
         str(c.workdir / "common.conf")],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done


def report(c: Cluster) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(status(c, "--json").stdout)
    return data


def create_lbs(c: Cluster) -> None:
    subnet = ensure_subnet(c)
    ids = {}
    for project in PROJECTS:
        with c.client(project) as api:
            r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
                "name": f"lb-{project}", "vip_subnet_id": subnet, "project_id": project}})
            assert r.status_code == 201, r.text
            ids[project] = r.json()["loadbalancer"]["id"]
    for project, lb_id in ids.items():
        wait_active(c, project, lb_id)


def agents_by_host(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["host"]: a for a in rep["agents"]}


def test_status_json_shows_killed_agent_dead_and_partitions_rehomed(cluster: Cluster) -> None:
    create_lbs(cluster)

    def settled() -> dict[str, Any] | None:
        rep = report(cluster)
        agents = agents_by_host(rep)
        parts = rep["partitions"]
        ok = (set(agents) == {"h1", "h2"} and all(a["alive"] for a in agents.values())
              and parts["total"] == len(PROJECTS) and parts["unowned"] == 0
              and not parts["pending"]
              and sum(a["partitions"] for a in agents.values()) == len(PROJECTS))
        return rep if ok else None

    before = wait_for(settled, 30, "both agents alive, every partition owned", every=0.5)
    held = {h: a["partitions"] for h, a in agents_by_host(before).items()}
    victim = max(held, key=lambda h: held[h])
    survivor = next(h for h in held if h != victim)
    assert held[victim] >= 1, held
    for dev in before["devices"]:
        assert dev["reachable"] is True and dev["partitions_behind"] == 0, dev

    cluster.agents[victim].kill9()

    def rehomed() -> dict[str, Any] | None:
        rep = report(cluster)
        agents = agents_by_host(rep)
        parts = rep["partitions"]
        ok = (not agents[victim]["alive"] and agents[survivor]["alive"]
              and agents[victim]["partitions"] == 0
              and agents[survivor]["partitions"] == len(PROJECTS)
              and parts["unowned"] == 0 and not parts["pending"] and not parts["in_error"])
        return rep if ok else None

    # Lease 3 s in this cluster: dead and re-homed well within 30 s.
    after = wait_for(rehomed, 30, f"{victim} dead and its partitions on {survivor}", every=0.5)
    dead = agents_by_host(after)[victim]
    assert dead["heartbeat_age"] >= cluster.lease_seconds
    assert cluster.agents[survivor].alive


def test_status_table_smoke(cluster: Cluster) -> None:
    create_lbs(cluster)
    wait_for(lambda: report(cluster)["partitions"]["unowned"] == 0, 30, "partitions owned")
    out = status(cluster).stdout
    for text in ("Agents", "Devices", "h1", "h2", "heartbeat age", "devices reachable",
                 f"127.0.0.1:{cluster.sim_port}", f"127.0.0.1:{cluster.sim_port + 1}",
                 f"Partitions: {len(PROJECTS)} total, 0 pending, 0 in error, "
                 "0 without a live owner"):
        assert text in out, (text, out)
    assert "NO" not in out  # nobody dead, no device unreachable
