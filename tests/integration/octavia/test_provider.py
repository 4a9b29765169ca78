"""bigip-lbaas as an Octavia provider, end to end: the real `openstack loadbalancer …` CLI through a
real Octavia 19 API with `--provider bigip`, the driver writing into this product's database,
two agents converging a simulated pair, and `bigip-lbaas octavia-bridge` reporting back through
Octavia's driver agent."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database
from tests.cluster import Cluster, wait_for
from tests.integration.octavia.conftest import Bridge
from tests.openstack.octavia import Octavia

OPENSTACK = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "openstack"
SETTLE = 60.0
KINDS = ("loadbalancers", "listeners", "pools", "members", "healthmonitors", "l7policies",
         "l7rules")


class Osc:
    """The real CLI: load-balancer calls to Octavia, network lookups to the own API (its
    Neutron-shaped registry), noauth."""

    def __init__(self, o: Octavia, cluster: Cluster, home: Path) -> None:
        self.o, self.cluster, self.home = o, cluster, home

    def run(self, *args: str, ok: bool = True) -> Any:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["HOME"] = str(self.home)
        env["OS_NETWORK_ENDPOINT_OVERRIDE"] = self.cluster.api_url + "/"
        cmd = [str(OPENSTACK), "--os-auth-type", "none", "--os-endpoint", self.o.url + "/",
               *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                              check=False)
        if not ok:
            assert done.returncode != 0, done.stdout
            return done.stderr
        assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
        return json.loads(done.stdout) if "-f" in args and done.stdout.strip() else done.stdout


@pytest.fixture(scope="module")
def osc(octavia: Octavia, cluster: Cluster, bridge: Bridge,
        tmp_path_factory: pytest.TempPathFactory) -> Osc:
    if not OPENSTACK.exists():
        pytest.skip(f"{OPENSTACK} is not installed")
    return Osc(octavia, cluster, tmp_path_factory.mktemp("osc-home"))


@pytest.fixture(scope="module")
def subnet(cluster: Cluster, octavia: Octavia) -> str:
    with cluster.client(octavia.project_id) as c:
        net = c.post("/v2.0/networks", json={"network": {"name": "oct-net"}})
        assert net.status_code == 201, net.text
        sub = c.post("/v2.0/subnets", json={"subnet": {
            "name": "oct-sub", "network_id": net.json()["network"]["id"],
            "cidr": "10.80.0.0/24", "ip_version": 4}})
        assert sub.status_code == 201, sub.text
        return str(sub.json()["subnet"]["id"])


def octavia_get(o: Octavia, path: str) -> httpx.Response:
    return httpx.get(f"{o.url}/v2/lbaas/{path}", timeout=30)


def tree(o: Octavia, lb_id: str) -> dict[str, dict[str, str]]:
    """Every object of the load balancer in Octavia: id -> kind and provisioning status."""
    out: dict[str, dict[str, str]] = {}
    lb = octavia_get(o, f"loadbalancers/{lb_id}").json()["loadbalancer"]
    out[lb["id"]] = {"kind": "loadbalancer", "status": lb["provisioning_status"]}
    for ref in lb["listeners"]:
        lst = octavia_get(o, f"listeners/{ref['id']}").json()["listener"]
        out[lst["id"]] = {"kind": "listeners", "status": lst["provisioning_status"]}
        for pref in lst["l7policies"]:
            pol = octavia_get(o, f"l7policies/{pref['id']}").json()["l7policy"]
            out[pol["id"]] = {"kind": "l7policies", "status": pol["provisioning_status"]}
            for rule in octavia_get(o, f"l7policies/{pol['id']}/rules").json()["rules"]:
                out[rule["id"]] = {"kind": "l7rules", "status": rule["provisioning_status"]}
    for ref in lb["pools"]:
        pool = octavia_get(o, f"pools/{ref['id']}").json()["pool"]
        out[pool["id"]] = {"kind": "pools", "status": pool["provisioning_status"]}
        for mem in octavia_get(o, f"pools/{pool['id']}/members").json()["members"]:
            out[mem["id"]] = {"kind": "members", "status": mem["provisioning_status"]}
        if pool.get("healthmonitor_id"):
            hm = octavia_get(o, f"healthmonitors/{pool['healthmonitor_id']}").json()
            out[hm["healthmonitor"]["id"]] = {"kind": "healthmonitors",
                                              "status": hm["healthmonitor"]["provisioning_status"]}
    return out


def all_active(o: Octavia, lb_id: str) -> dict[str, dict[str, str]] | None:
    t = tree(o, lb_id)
    return t if all(v["status"] == "ACTIVE" for v in t.values()) else None


def settle(o: Octavia, lb_id: str) -> dict[str, dict[str, str]]:
    """Wait until every object of the load balancer is ACTIVE in Octavia; on a timeout the
    error shows what Octavia shows."""
    try:
        result: dict[str, dict[str, str]] = wait_for(
            lambda: all_active(o, lb_id), SETTLE, f"load balancer {lb_id} ACTIVE in Octavia",
            every=0.2)
    except TimeoutError as err:
        raise AssertionError(f"{err}: {tree(o, lb_id)}") from err
    return result


def our_status(cluster: Cluster, table: Any, obj_id: str) -> str | None:
    db = Database(cluster.db_url)
    try:
        with db.transaction() as s:
            status: str | None = s.scalar(sa.select(table.provisioning_status)
                                          .where(table.id == obj_id))
            return status
    finally:
        db.dispose()


def partition(o: Octavia) -> str:
    return f"Project_{o.project_id}"


def names(cluster: Cluster, collection: str, o: Octavia, device: int) -> set[str]:
    return {x["name"] for x in cluster.device_objects(device, collection, partition(o))}


def test_capabilities_and_providers(osc: Osc) -> None:
    providers = osc.run("loadbalancer", "provider", "list", "-f", "json")
    assert {p["name"] for p in providers} == {"bigip", "noop_driver"}
    caps = osc.run("loadbalancer", "provider", "capability", "list", "bigip",
                   "-f", "json")
    assert [c["name"] for c in caps] == ["environment"]
    assert all(c["type"] == "flavor" for c in caps)


def test_full_graph_batch_and_cascade_delete(osc: Osc, octavia: Octavia, cluster: Cluster,
                                             subnet: str) -> None:
    lb = osc.run("loadbalancer", "create", "--provider", "bigip", "--name", "g-lb",
                 "--vip-subnet-id", subnet, "--vip-address", "10.80.0.5", "-f", "json")
    assert lb["provider"] == "bigip" and lb["provisioning_status"] == "PENDING_CREATE"
    assert our_status(cluster, m.LoadBalancer, lb["id"]) in ("PENDING_CREATE", "ACTIVE")
    settle(octavia, lb["id"])
    lst = osc.run("loadbalancer", "listener", "create", "--name", "g-l", "--protocol", "HTTP",
                  "--protocol-port", "80", lb["id"], "-f", "json")
    settle(octavia, lb["id"])
    pool = osc.run("loadbalancer", "pool", "create", "--name", "g-p", "--listener", lst["id"],
                   "--protocol", "HTTP", "--lb-algorithm", "ROUND_ROBIN", "-f", "json")
    settle(octavia, lb["id"])
    for i, address in enumerate(("10.80.0.11", "10.80.0.12")):
        osc.run("loadbalancer", "member", "create", "--name", f"g-m{i}", "--address", address,
                "--protocol-port", "8080", pool["id"], "-f", "json")
        settle(octavia, lb["id"])
    hm = osc.run("loadbalancer", "healthmonitor", "create", "--delay", "5", "--timeout", "3",
                 "--max-retries", "3", "--type", "HTTP", "--name", "g-hm", pool["id"],
                 "-f", "json")
    settle(octavia, lb["id"])
    pol = osc.run("loadbalancer", "l7policy", "create", "--action", "REDIRECT_TO_URL",
                  "--redirect-url", "http://example.com/new", "--name", "g-pol", lst["id"],
                  "-f", "json")
    settle(octavia, lb["id"])
    rule = osc.run("loadbalancer", "l7rule", "create", "--type", "PATH", "--compare-type",
                   "STARTS_WITH", "--value", "/old", pol["id"], "-f", "json")
    final = settle(octavia, lb["id"])
    kinds = sorted(v["kind"] for v in final.values())
    assert kinds == sorted(["loadbalancer", "listeners", "pools", "members", "members",
                            "healthmonitors", "l7policies", "l7rules"])
    for table, obj in ((m.LoadBalancer, lb), (m.Listener, lst), (m.Pool, pool),
                       (m.HealthMonitor, hm), (m.L7Policy, pol), (m.L7Rule, rule)):
        assert our_status(cluster, table, obj["id"]) == "ACTIVE"
    for device in (0, 1):
        assert f"Project_{lst['id']}" in names(cluster, "ltm/virtual", octavia, device)
        assert f"Project_{pool['id']}" in names(cluster, "ltm/pool", octavia, device)
        # The listener's L7 policies are one BIG-IP policy, named after the listener.
        policies = names(cluster, "ltm/policy", octavia, device)
        assert [p.startswith(f"Project_{lst['id']}") for p in policies] == [True]
        members = cluster.device_objects(device, f"ltm/pool/~{partition(octavia)}~Project_"
                                         f"{pool['id']}/members", partition(octavia))
        assert sorted(x["address"].split("%")[0] for x in members) == ["10.80.0.11",
                                                                        "10.80.0.12"]

    # Member batch update through Octavia's API: one kept (updated), one new, one removed.
    batch = httpx.put(f"{octavia.url}/v2/lbaas/pools/{pool['id']}/members", timeout=30, json={
        "members": [{"address": "10.80.0.11", "protocol_port": 8080, "weight": 5},
                    {"address": "10.80.0.13", "protocol_port": 8080}]})
    assert batch.status_code == 202, batch.text
    after = settle(octavia, lb["id"])
    members_now = octavia_get(octavia, f"pools/{pool['id']}/members").json()["members"]
    assert sorted((x["address"], x["weight"]) for x in members_now) == [("10.80.0.11", 5),
                                                                          ("10.80.0.13", 1)]
    assert sum(1 for v in after.values() if v["kind"] == "members") == 2
    for device in (0, 1):
        members = cluster.device_objects(device, f"ltm/pool/~{partition(octavia)}~Project_"
                                         f"{pool['id']}/members", partition(octavia))
        assert sorted(x["address"].split("%")[0] for x in members) == ["10.80.0.11",
                                                                        "10.80.0.13"]

    osc.run("loadbalancer", "delete", "--cascade", lb["id"])

    def gone() -> bool:
        r = octavia_get(octavia, f"loadbalancers/{lb['id']}")
        return r.status_code == 404 or r.json()["loadbalancer"]["provisioning_status"] == \
            "DELETED"

    wait_for(gone, SETTLE, "the load balancer DELETED in Octavia", every=0.2)
    for kind in ("listeners", "pools", "healthmonitors", "l7policies"):
        assert octavia_get(octavia, kind).json()[kind] == [], kind
    assert our_status(cluster, m.LoadBalancer, lb["id"]) is None
    for device in (0, 1):
        for collection in ("ltm/virtual", "ltm/pool", "ltm/policy", "ltm/virtual-address"):
            assert names(cluster, collection, octavia, device) == set(), collection


def test_unsupported_option_is_refused_at_the_call(osc: Osc, octavia: Octavia, cluster: Cluster,
                                                   subnet: str) -> None:
    lb = osc.run("loadbalancer", "create", "--provider", "bigip", "--name", "u-lb",
                 "--vip-subnet-id", subnet, "--vip-address", "10.80.0.6", "-f", "json")
    settle(octavia, lb["id"])
    err = osc.run("loadbalancer", "listener", "create", "--name", "u-l", "--protocol", "HTTP",
                  "--protocol-port", "81", "--tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256",
                  lb["id"], ok=False)
    assert "Provider 'bigip' does not support a requested option" in err
    assert "tls_ciphers is a TLS setting" in err
    listed = octavia_get(octavia, f"listeners?loadbalancer_id={lb['id']}").json()["listeners"]
    assert listed == []
    # Nothing was written, nothing is left pending: the load balancer takes the next change.
    assert all_active(octavia, lb["id"]) is not None
    osc.run("loadbalancer", "delete", lb["id"])
    wait_for(lambda: octavia_get(octavia, f"loadbalancers/{lb['id']}").status_code == 404,
             SETTLE, "the load balancer gone", every=0.2)


def test_no_status_lost_across_bridge_and_driver_agent_kills(
        osc: Osc, octavia: Octavia, cluster: Cluster, bridge: Bridge, subnet: str) -> None:
    lb = osc.run("loadbalancer", "create", "--provider", "bigip", "--name", "k-lb",
                 "--vip-subnet-id", subnet, "--vip-address", "10.80.0.7", "-f", "json")
    settle(octavia, lb["id"])
    bridge.proc.kill9()
    lst = osc.run("loadbalancer", "listener", "create", "--protocol", "TCP", "--protocol-port",
                  "443", lb["id"], "-f", "json")
    wait_for(lambda: our_status(cluster, m.Listener, lst["id"]) == "ACTIVE", SETTLE,
             "the listener ACTIVE here")
    # Done here, not yet reported: Octavia still shows the change in flight.
    assert octavia_get(octavia, f"listeners/{lst['id']}").json()["listener"][
        "provisioning_status"] == "PENDING_CREATE"
    # The driver agent dies and comes back, and so does the bridge: the outcome arrives.
    octavia.restart_driver_agent()
    bridge.start()
    settle(octavia, lb["id"])

    # Driver agent down while the bridge runs: delivery fails, is kept, and is retried.
    octavia.driver_agent.kill9()
    osc.run("loadbalancer", "listener", "set", "--name", "renamed", lst["id"])
    wait_for(lambda: our_status(cluster, m.Listener, lst["id"]) == "ACTIVE", SETTLE,
             "the update ACTIVE here")
    assert octavia_get(octavia, f"listeners/{lst['id']}").json()["listener"][
        "provisioning_status"] == "PENDING_UPDATE"
    octavia.restart_driver_agent()
    settle(octavia, lb["id"])
    osc.run("loadbalancer", "delete", "--cascade", lb["id"])
    wait_for(lambda: octavia_get(octavia, f"loadbalancers/{lb['id']}").status_code == 404,
             SETTLE, "the load balancer gone", every=0.2)
