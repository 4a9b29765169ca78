"""Taking over a device configured by F5's agent 9.6.0, without disruption.

The device is built by replaying the writes F5's own agent sent for `graph.json`
(`../shared/fixtures/f5-agent-9.6.0/`); the same graph is written into the database with the
same ids, as an import from neutron-lbaas does. `bigip-lbaas diff --adopt` shows the plan
before any agent runs (and writes nothing); then one agent reconciles, and the simulator's
audit log (with each committed transaction's commands) shows that nothing F5's agent created
was deleted or created again, no virtual was disabled at any moment, and only the changes the
plan showed were made. Real processes: simulator, agent and the CLI; SQLite."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bigip_lbaas.db.models import Partition
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Cluster, wait_for
from tests.databases import fresh_database
from tests.f5_fixture import graph, load_graph, replay

SERVING = ("ltm/virtual", "ltm/virtual-address", "ltm/pool", "ltm/node", "ltm/monitor")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with fresh_database("sqlite", tmp_path) as url:
        c = Cluster(tmp_path, url, devices=1)
        try:
            c.upgrade_db()
            c.start_sim()
            yield c
        finally:
            c.close()


def run_diff(c: Cluster, *extra: str) -> tuple[int, dict[str, Any]]:
    """`bigip-lbaas diff --format json` as a process: (exit status, report)."""
    conf = c.write_common_conf()
    p = subprocess.run(
        [PY, "-m", "bigip_lbaas.cli", "diff", "--config-file", str(conf), "--format", "json",
         *extra], check=False, capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stderr + p.stdout
    assert "admin" not in p.stdout + p.stderr  # the device credentials (admin/admin)
    return p.returncode, json.loads(p.stdout)


def commands(c: Cluster, entries: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    """(method, path, body) of every write the audit entries stand for: a committed
    transaction's commands (read back from the device), else the write itself."""
    out: list[tuple[str, str, Any]] = []
    with c.device(0) as dev:
        for e in entries:
            if e["transaction"] is None:
                out.append((e["method"], e["path"], None))
                continue
            r = dev.get(f"/mgmt/tm/transaction/{e['transaction']}/commands")
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            assert len(items) == e["commands"]
            for cmd in items:
                path = "/mgmt/tm/" + cmd["uri"].split("/mgmt/tm/", 1)[1]
                out.append((cmd["method"], path, cmd.get("body")))
    return out


def serving(path: str) -> bool:
    return any(path.startswith(f"/mgmt/tm/{k}") for k in SERVING)


def test_take_over_from_f5_agent_without_disruption(cluster: Cluster) -> None:
    g = graph()
    names = g["bigip_names"]
    part = names["partition"]
    with cluster.device(0) as dev:
        replay(dev)
    before = cluster.audit(0)
    pid = load_graph(cluster.db_url)

    # The plan, before any agent runs: the three attribute changes, nothing else, no write.
    code, report = run_diff(cluster, "--adopt")
    assert cluster.audit(0) == before
    assert code == 1 and report["mode"] == "adopt" and report["agents_alive"] == []
    (p,) = report["partitions"]
    assert p["partition"] == part and p["error"] is None
    assert p["foreign"] == [] and p["failures"] == []
    plan = {(c["action"], c["kind"], c["name"]): {f["field"]: (f["device"], f["desired"])
                                                 for f in c["fields"]}
            for c in p["changes"]}
    monitor, virtual = names["ltm/monitor/http"], names["ltm/virtual"]
    assert plan == {
        ("update", "ltm/monitor/http", monitor.rsplit("/", 1)[1]): {
            "timeUntilUp": (0, 10),
            "recv": ("HTTP/1.(0|1) 200", "HTTP/1\\.(0|1) (200)"),
        },
        ("update", "ltm/virtual", virtual.rsplit("/", 1)[1]): {
            "profiles": (["/Common/http", "/Common/oneconnect"], ["/Common/http", "/Common/tcp"]),
        },
    }, p["changes"]
    assert all(c["disruptive"] is None for c in p["changes"])

    # One agent takes over.
    cluster.start_api()
    with cluster.device(0) as dev:
        assert dev.delete("/sim/counters").status_code == 200
    cluster.start_agent("takeover1")
    wait_for(lambda: applied(cluster, pid), 60, "the imported partition reconciled")
    assert _lb_active(cluster, g)
    with cluster.device(0) as dev:
        counted = dev.get("/sim/counters").json()["methods"]
    print("take-over requests to the device until ACTIVE:", counted)

    writes = [e for e in cluster.audit(0) if e["seq"] > before[-1]["seq"]]
    cmds = commands(cluster, writes)
    # nothing F5's agent created was deleted or created again
    assert [(m, path) for m, path, _ in cmds if m != "PATCH" and serving(path)] == []
    assert {m for m, _, _ in cmds} <= {"PATCH"}
    # no virtual disabled at any moment
    for _, path, body in cmds:
        if path.startswith("/mgmt/tm/ltm/virtual/"):
            assert body is not None and "disabled" not in body and body.get("enabled", True)
    # exactly the objects the plan showed were changed
    patched = {path.rsplit("~", 1)[1] for m, path, _ in cmds}
    assert patched == {name for (_, _, name) in plan}

    # F5's names are all still there, nothing more of ours; the graph is in step
    code, after = run_diff(cluster)
    assert code == 0 and after["in_step"], after
    for coll in ("ltm/virtual-address", "ltm/virtual", "ltm/pool", "ltm/monitor/http",
                 "ltm/node"):
        found = sorted(o["fullPath"] for o in cluster.device_objects(0, coll, part))
        want = names[coll]
        assert found == sorted(want if isinstance(want, list) else [want]), coll
    assert set(cluster.lb_statuses().values()) == {"ACTIVE"}


def applied(c: Cluster, pid: int) -> bool:
    """The partition's owner has applied its desired generation (the import's bump)."""
    db = Database(c.db_url)
    try:
        with db.read() as s:
            row = s.get(Partition, pid)
            return row is not None and row.applied_generation >= row.desired_generation
    finally:
        db.dispose()


def _lb_active(c: Cluster, g: dict[str, Any]) -> bool:
    with c.client(g["project_id"]) as api:
        r = api.get(f"/v2/lbaas/loadbalancers/{g['loadbalancer']['id']}")
    return r.status_code == 200 and r.json()["loadbalancer"]["provisioning_status"] == "ACTIVE" \
        and c.lb_statuses() == {g["loadbalancer"]["id"]: "ACTIVE"}
