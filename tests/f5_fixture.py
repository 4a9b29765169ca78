"""F5's agent 9.6.0 as it leaves a device: the recorded writes of `../shared/fixtures/
f5-agent-9.6.0/` (the writes the unmodified agent sends to build `graph.json`), replayed in order.

Used by the simulator's read-back test and by the take-over and `diff --adopt` tests."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "f5-agent-9.6.0"


def graph() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURE / "graph.json").read_text())
    return data


def writes() -> list[dict[str, Any]]:
    lines = (FIXTURE / "writes.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def replay(client: httpx.Client) -> None:
    """Send every recorded write in order; each must get the status F5's agent got."""
    for w in writes():
        r = client.request(w["method"], w["path"], json=w["body"])
        assert r.status_code == w["status"], (w["seq"], r.status_code, r.text)


def write_graph(session: Any, g: dict[str, Any], environment: str = "Project") -> int:
    """Write one graph (``graph.json``'s shape) into the shared database as an import from
    neutron-lbaas would: the same ids, project, names and admin states, every object
    ACTIVE/ONLINE, and the partition's desired generation bumped so its owner reconciles it.
    Returns the partition id."""
    from bigip_lbaas.db import models as m
    from bigip_lbaas.db.partitions import ensure_partition, mark_changed

    project = g["project_id"]
    lb, lst, pool, hm = g["loadbalancer"], g["listener"], g["pool"], g["healthmonitor"]
    common = {"project_id": project, "provisioning_status": "ACTIVE",
              "operating_status": "ONLINE"}

    def named(o: dict[str, Any]) -> dict[str, Any]:
        return {"id": o["id"], "name": o["name"], "description": o.get("description") or "",
                "enabled": bool(o["admin_state_up"]), **common}

    pid = ensure_partition(session, environment, project)
    session.add(m.LoadBalancer(
        **named(lb), partition_id=pid, provider="f5networks",
        vip_address=lb["vip_address"], vip_port_id=lb["vip_port_id"],
        vip_subnet_id=lb["vip_subnet_id"], vip_network_id=lb["network_id"]))
    session.flush()
    session.add(m.Pool(**named(pool), load_balancer_id=lb["id"], protocol=pool["protocol"],
                       lb_algorithm=pool["lb_algorithm"]))
    session.flush()
    session.add(m.Listener(**named(lst), load_balancer_id=lb["id"], protocol=lst["protocol"],
                           protocol_port=lst["protocol_port"],
                           connection_limit=lst["connection_limit"],
                           default_pool_id=lst["default_pool_id"]))
    for mem in g["members"]:
        session.add(m.Member(**named(mem), pool_id=pool["id"], load_balancer_id=lb["id"],
                             address=mem["address"], protocol_port=mem["protocol_port"],
                             weight=mem["weight"], subnet_id=mem["subnet_id"]))
    session.add(m.HealthMonitor(**named(hm), pool_id=pool["id"], load_balancer_id=lb["id"],
                                type=hm["type"], delay=hm["delay"], timeout=hm["timeout"],
                                max_retries=hm["max_retries"], max_retries_down=3,
                                http_method=hm["http_method"], url_path=hm["url_path"],
                                expected_codes=hm["expected_codes"]))
    session.flush()
    mark_changed(session, pid)
    return pid


def load_graph(db_url: str, environment: str = "Project") -> int:
    """``write_graph`` of the fixture's graph, in one transaction. Returns the partition id."""
    from bigip_lbaas.db.session import Database

    db = Database(db_url)
    try:
        with db.transaction() as s:
            return write_graph(s, graph(), environment)
    finally:
        db.dispose()


_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")
_ADDRESSES = re.compile(r"(?<![\d.])10\.2\.1\.(104|10|9)(?![\d])")


def variant(n: int, project: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fixture's graph and writes for another load balancer: ``project`` (32 hex digits),
    fresh object ids and addresses unique to ``n`` (< 65,536), as F5's agent would write them."""
    text = json.dumps({"graph": graph(), "writes": writes()})
    original = graph()["project_id"]
    ids = {i: str(uuid.uuid5(uuid.NAMESPACE_OID, f"{n}/{i}")) for i in set(_IDS.findall(text))
           if i != original}
    hi, lo = divmod(n, 256)
    addresses = {"104": f"10.50.{hi}.{lo}", "9": f"10.60.{hi}.{lo}", "10": f"10.61.{hi}.{lo}"}
    text = _IDS.sub(lambda m: project if m.group(0) == original else ids[m.group(0)], text)
    text = _ADDRESSES.sub(lambda m: addresses[m.group(1)], text)
    data = json.loads(text)
    return data["graph"], data["writes"]
