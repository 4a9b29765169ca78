"""`bigip-lbaas status` as an operator runs it, against a real cluster: a kill -9'd agent shows as
dead and its partitions as re-homed on the survivor, none pending; the tables render; partitions
pending or in error are listed one per row, and a dead agent's stale device report is not shown
as current."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bigip_lbaas.db import agents
from bigip_lbaas.db.models import Agent, Partition, PartitionLease
from bigip_lbaas.db.session import Database
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


def test_status_lists_partitions_pending_or_in_error_and_a_dead_agents_devices_as_unknown(
        db: Database, tmp_path: Path) -> None:
    """Rows as agents and the API leave them: one live agent, one dead one whose last report
    said both devices were reachable, a partition pending and one in error."""
    devices = [{"device": "10.0.0.1:443", "reachable": True},
               {"device": "10.0.0.2:443", "reachable": True}]
    for host in ("live-1", "dead-1"):
        agents.register(db, environment="Project", identity=host, host=host,
                        instance_id=f"instance-{host}", lease_seconds=10, ha_type="pair",
                        devices=devices, configurations={})
    with db.transaction() as s:
        s.execute(sa.update(Agent).where(Agent.host == "dead-1")
                  .values(heartbeat_at=Agent.heartbeat_at - 86400))
        now = s.scalar(sa.select(db.now()))
        assert now is not None
        pending = Partition(environment="Project", project_id="alpha", desired_generation=7,
                            applied_generation=5, pending_since=now - 42)
        failed = Partition(environment="Project", project_id="bravo", desired_generation=3,
                           applied_generation=2, pending_since=now - 5,
                           last_error="device 10.0.0.2:443: [Errno 111] Connection refused")
        fine = Partition(environment="Project", project_id="charlie", desired_generation=4,
                         applied_generation=4)
        s.add_all([pending, failed, fine])
        s.flush()
        s.add(PartitionLease(partition_id=pending.id, owner="instance-live-1", epoch=3,
                             expires_at=now + 3600))
        s.add(PartitionLease(partition_id=failed.id, owner="instance-dead-1", epoch=9,
                             expires_at=now - 1))
    conf = tmp_path / "status.conf"
    # A long lease: live-1 stays alive however slowly this runs (no timing in the outcome).
    conf.write_text(f"[database]\nconnection = {db.url}\n[bigip_lbaas]\nlease_seconds = 3600\n")

    def run(*extra: str) -> str:
        done = subprocess.run([PY, "-m", "bigip_lbaas.cli", "status", *extra, "--config-file",
                               str(conf)], capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    rep = json.loads(run("--json"))
    by_host = agents_by_host(rep)
    assert by_host["live-1"]["alive"] and by_host["live-1"]["devices_reachable"] == 2
    assert not by_host["dead-1"]["alive"] and by_host["dead-1"]["devices_reachable"] is None
    assert by_host["dead-1"]["devices"] == devices  # the stale report itself is kept
    parts = rep["partitions"]
    assert parts["total"] == 3 and parts["unowned"] == 2
    assert [p["partition"] for p in parts["pending"]] == ["Project_alpha", "Project_bravo"]
    alpha = parts["pending"][0]
    assert (alpha["owner"], alpha["desired_generation"], alpha["applied_generation"],
            alpha["error"]) == ("live-1", 7, 5, None)
    assert alpha["pending_seconds"] >= 42
    [bravo] = parts["in_error"]
    assert bravo["partition"] == "Project_bravo" and bravo["owner"] is None
    assert bravo["error"].endswith("[Errno 111] Connection refused")

    text = run()
    dead_row = next(line for line in text.splitlines() if "dead-1" in line)
    assert "2/2" not in dead_row and " - " in dead_row, dead_row
    live_row = next(line for line in text.splitlines() if "live-1" in line and "yes" in line)
    assert "2/2" in live_row
    assert "Partitions: 3 total, 2 pending, 1 in error, 2 without a live owner" in text
    assert "Partitions pending or in error" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines()
            if line.startswith("│ Project_")}
    assert set(rows) == {"Project_alpha", "Project_bravo"}, text
    assert "live-1" in rows["Project_alpha"] and " 7 " in rows["Project_alpha"]
    assert "none alive" in rows["Project_bravo"]
    assert "[Errno 111] Connection refused" in rows["Project_bravo"]  # not eaten as markup
