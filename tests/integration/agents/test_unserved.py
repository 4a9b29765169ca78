"""M11 with real processes: an environment whose only agent dies.

The simulator, the API (which runs the unserved-work sweep) and one agent start on a fresh
database of each kind. A load balancer is accepted while the agent lives but cannot finish (its
device hangs); the agent is then killed. Meanwhile new work is refused naming the environment,
and `bigip-lbaas status` and /metrics say the environment has no agent; after
`unserved_timeout` the waiting load balancer is ERROR with that reason; when an agent returns,
work is accepted and finished again.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Cluster, wait_for
from tests.integration.agents.test_redundancy import ensure_subnet, lb_status, wait_active

TIMEOUT = 4.0
LBS = "/v2/lbaas/loadbalancers"


@pytest.fixture
def cluster(db_url: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, db_url, devices=1, extra_conf=f"unserved_timeout = {TIMEOUT}\n")
    try:
        c.start(agents=("h1",))
        yield c
    finally:
        c.close()


def status(c: Cluster, *args: str) -> str:
    return subprocess.run([PY, "-m", "bigip_lbaas.cli", "status", *args, "--config-file",
                           str(c.workdir / "common.conf")], capture_output=True, text=True,
                          timeout=60, check=True).stdout


def status_report(c: Cluster) -> dict[str, object]:
    report: dict[str, object] = json.loads(status(c, "--json"))
    return report


def test_dead_environment_refuses_then_errors_then_recovers(cluster: Cluster) -> None:
    subnet = ensure_subnet(cluster)
    with cluster.client("demo") as api:
        agent = api.get("/v2/lbaas/agents").json()["agents"][0]
        env = agent["environment"]
        r = api.post(LBS, json={"loadbalancer": {"vip_subnet_id": subnet}})
        assert r.status_code == 201, r.text
        done = r.json()["loadbalancer"]["id"]
        wait_active(cluster, "demo", done)

        # Accepted while the agent lives; it cannot finish: the device hangs.
        assert cluster.device(0).post("/sim/down", json={"mode": "hang"}).status_code == 200
        r = api.post(LBS, json={"loadbalancer": {"vip_subnet_id": subnet}})
        assert r.status_code == 201, r.text
        waiting = r.json()["loadbalancer"]["id"]
        cluster.agents["h1"].kill9()

        # Once its heartbeat is a lease period old: refused, naming the environment.
        wait_for(lambda: not api.get("/v2/lbaas/agents").json()["agents"][0]["alive"],
                 cluster.lease_seconds * 3, "the killed agent counted dead")
        r = api.post("/v2/lbaas/listeners", json={"listener": {
            "loadbalancer_id": done, "protocol": "TCP", "protocol_port": 81}})
        assert r.status_code == 503 and f"environment {env}" in r.json()["faultstring"], r.text
        r = api.post(LBS, json={"loadbalancer": {"vip_subnet_id": subnet}})
        assert r.status_code == 503 and f"environment {env}" in r.json()["faultstring"]

        # Meanwhile the operator sees it: status and /metrics.
        report = status_report(cluster)
        envs = {e["environment"]: e for e in report["environments"]}  # type: ignore[attr-defined]
        assert envs[env]["served"] is False and envs[env]["serving_agents"] == 0
        assert envs[env]["partitions_behind"] >= 1
        assert f"Environment {env}: NO live agent" in " ".join(status(cluster).split())
        metrics = api.get("/metrics").text
        assert f'bigip_lbaas_environment_serving_agents{{environment="{env}"}} 0.0' in metrics

        # After the timeout (plus a lease period and a sweep), ERROR with the reason.
        wait_for(lambda: lb_status(cluster, "demo", waiting) == "ERROR",
                 TIMEOUT + cluster.lease_seconds * 4 + 10, "the waiting LB in ERROR")
        assert lb_status(cluster, "demo", done) == "ACTIVE"
        db = Database(cluster.db_url)
        try:
            reason = db.query(lambda s: s.scalar(sa.select(m.LoadBalancer.status_reason)
                                                 .where(m.LoadBalancer.id == waiting)))
        finally:
            db.dispose()
        assert reason is not None and f"No live agent of environment {env}" in reason

        # An agent returns with its device: accepted and finished again.
        assert cluster.device(0).post("/sim/up").status_code == 200
        cluster.start_agent("h1")
        cluster.wait_agents_alive(["h1"])
        r = api.post(LBS, json={"loadbalancer": {"vip_subnet_id": subnet}})
        assert r.status_code == 201, r.text
        wait_active(cluster, "demo", r.json()["loadbalancer"]["id"])
        assert api.delete(f"{LBS}/{waiting}").status_code == 204
        wait_for(lambda: lb_status(cluster, "demo", waiting) == "HTTP 404", 60,
                 "the ERROR LB deleted")
