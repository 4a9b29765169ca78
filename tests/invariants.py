"""Do the devices hold what the API says? One comparison for every proof that asks.

Used by the multi-host scenarios (`tests/multihost/harness.py::check_invariants`) and the chaos soak
(`bench/chaos.py`). Everything is read from the real processes: the API's admin listing (all
projects) and each simulated device's iControl REST collections.

Per partition `Project_<project>` of a device, the objects we own are compared with what the API
lists (names `Project_<uuid>`; members `<pool>/<addr>:<port>`; nodes by address):

- virtual addresses (one per load balancer): `address`, `enabled` (the load balancer's admin state);
- virtuals (one per listener): `destination` (`/<partition>/<vip>:<port>`), `pool` (the default
  pool, or none), `connectionLimit`, `enabled` (listener and load balancer admin state);
- pools: `loadBalancingMode` (algorithm, ratio-… when a member weighs more than 1), `monitor`
  (the pool's enabled health monitor, or none), and the set of pool members;
- pool members: `ratio` (weight, at least 1), `adminState` (`enabled`; `drain` for weight 0;
  `offline` when the member or its pool is administratively down);
- monitors (one per health monitor): `type` (http, https, tcp, gateway-icmp) and `interval`;
- nodes: one per member address, none left over.

Nothing may be missing, nothing extra (orphans), no attribute may differ (drift). An object in
ERROR, or under a parent in ERROR, is held as it was: it may be present or absent, and its
attributes are not compared. A reference to an object in ERROR (a virtual's pool, a pool's
monitor) is not compared either. Partition folders left with nothing of ours in them are
reported as `empty_folders_left`.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.cluster import Cluster

PREFIX = "Project"
MODES = {("ROUND_ROBIN", False): "round-robin", ("ROUND_ROBIN", True): "ratio-member",
         ("LEAST_CONNECTIONS", False): "least-connections-member",
         ("LEAST_CONNECTIONS", True): "ratio-least-connections-member",
         ("SOURCE_IP", False): "round-robin", ("SOURCE_IP", True): "ratio-member"}
MONITOR_KINDS = {"HTTP": "http", "HTTPS": "https", "TCP": "tcp", "PING": "gateway-icmp"}

Key = tuple[str, str]  # (kind, name): ("virtual", "Project_<id>"), ("member", "<pool>/<a>:<p>")
DeviceState = dict[str, dict[Key, dict[str, Any]]]  # partition -> key -> device body
Expected = dict[str, dict[Key, dict[str, Any]]]  # partition -> key -> attributes (as `view`)
MayHold = dict[str, set[Key]]  # partition -> keys in ERROR: present or absent


def partition(project: str) -> str:
    return f"{PREFIX}_{project}"


def member_key(pool_id: str, address: str, port: int) -> Key:
    sep = "." if ":" in address else ":"
    return ("member", f"{PREFIX}_{pool_id}/{address}{sep}{port}")


# --- the API: what is desired -------------------------------------------------------------------


def api_state(api: httpx.Client) -> dict[str, dict[str, Any]]:
    """id -> API body (with "kind"; members also with "pool_id"): everything the API lists.
    `api` must see every project (the admin view, or no authentication)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, coll in (("loadbalancer", "loadbalancers"), ("listener", "listeners"),
                       ("pool", "pools"), ("healthmonitor", "healthmonitors")):
        r = api.get(f"/v2/lbaas/{coll}", params={"limit": 1000},
                    headers={"X-Project-Id": "admin"})
        r.raise_for_status()
        items = r.json()[coll]
        assert len(items) < 1000, "pagination not handled"
        for it in items:
            out[it["id"]] = {**it, "kind": kind}
    for pid in [i for i, o in out.items() if o["kind"] == "pool"]:
        r = api.get(f"/v2/lbaas/pools/{pid}/members", params={"limit": 1000},
                    headers={"X-Project-Id": "admin"})
        r.raise_for_status()
        for it in r.json()["members"]:
            out[it["id"]] = {**it, "kind": "member", "pool_id": pid}
    return out


def _parents(o: dict[str, Any]) -> list[str]:
    ids = [x["id"] for k in ("loadbalancers", "pools") for x in o.get(k) or []]
    return ids + ([o["pool_id"]] if o.get("pool_id") else [])


def expected_device(api: dict[str, dict[str, Any]]) -> tuple[Expected, MayHold]:
    """What each partition must hold (objects not in ERROR, with their attributes as `view`
    shows them) and what it may hold (objects in ERROR, or under a parent in ERROR)."""
    def in_error(oid: str, depth: int = 0) -> bool:
        o = api.get(oid)
        if o is None or depth > 4:
            return False
        return o["provisioning_status"] == "ERROR" or any(
            in_error(p, depth + 1) for p in _parents(o))

    def ok(oid: str | None) -> bool:
        return oid is not None and oid in api and api[oid]["provisioning_status"] != "ERROR"

    must: Expected = {}
    may: MayHold = {}
    lbs = {i: o for i, o in api.items() if o["kind"] == "loadbalancer"}
    weighted = {i: any(m["weight"] > 1 for m in api.values()
                       if m["kind"] == "member" and m["pool_id"] == i)
                for i, o in api.items() if o["kind"] == "pool"}
    for oid, o in api.items():
        part = partition(o["project_id"])
        k = o["kind"]
        keys: dict[Key, dict[str, Any]] = {}
        if k == "loadbalancer":
            keys[("va", f"{PREFIX}_{oid}")] = {
                "address": o["vip_address"], "enabled": "yes" if o["admin_state_up"] else "no"}
        elif k == "listener":
            lb = lbs.get(o["loadbalancers"][0]["id"]) if o.get("loadbalancers") else None
            attrs: dict[str, Any] = {
                "connectionLimit": max(o["connection_limit"], 0),
                "enabled": bool(o["admin_state_up"] and (lb or {}).get("admin_state_up", True))}
            if lb is not None:
                # the device links the virtual to its load balancer's virtual address
                attrs["destination"] = f"/{part}/{PREFIX}_{lb['id']}:{o['protocol_port']}"
            pool = o.get("default_pool_id")
            if pool is None or ok(pool):  # a pool in ERROR is held: its reference too
                attrs["pool"] = f"/{part}/{PREFIX}_{pool}" if pool else None
            keys[("virtual", f"{PREFIX}_{oid}")] = attrs
        elif k == "pool":
            attrs = {"loadBalancingMode": MODES[(o["lb_algorithm"], weighted[oid])]}
            hm = o.get("healthmonitor_id")
            if hm is None or ok(hm):
                attrs["monitor"] = (f"/{part}/{PREFIX}_{hm}"
                                    if hm and api[hm]["admin_state_up"] else None)
            keys[("pool", f"{PREFIX}_{oid}")] = attrs
        elif k == "healthmonitor":
            keys[("monitor", f"{PREFIX}_{oid}")] = {"type": MONITOR_KINDS[o["type"]],
                                                   "interval": o["delay"]}
        else:
            pool = api.get(o["pool_id"], {})
            if not (o["admin_state_up"] and pool.get("admin_state_up", True)):
                state = "offline"
            else:
                state = "drain" if o["weight"] == 0 else "enabled"
            keys[member_key(o["pool_id"], o["address"], o["protocol_port"])] = {
                "ratio": max(o["weight"], 1), "adminState": state}
            keys[("node", o["address"])] = {}  # the device creates it; we remove it when unused
        for key, attrs in keys.items():
            if in_error(oid):
                may.setdefault(part, set()).add(key)
            else:
                must.setdefault(part, {})[key] = attrs
    return must, may


# --- the devices: what is there ------------------------------------------------------------------


def device_state(c: Cluster, index: int) -> DeviceState:
    """Our objects on device `index` (0-based): partition -> {(kind, name) -> device body}; every
    `Project_*` folder appears, empty or not."""
    out: DeviceState = {}
    colls = [("va", "ltm/virtual-address"), ("virtual", "ltm/virtual"), ("pool", "ltm/pool"),
             ("node", "ltm/node")]
    colls += [("monitor", f"ltm/monitor/{k}") for k in sorted(set(MONITOR_KINDS.values()))]
    with c.device(index) as dev:
        for kind, coll in colls:
            params = {"expandSubcollections": "true"} if kind == "pool" else {}
            r = dev.get(f"/mgmt/tm/{coll}", params=params)
            r.raise_for_status()
            for it in r.json().get("items", []):
                part = it.get("partition", "")
                ours = kind == "node" or it["name"].startswith(PREFIX + "_")
                if part.startswith(PREFIX + "_") and ours:
                    out.setdefault(part, {})[(kind, it["name"])] = it
                    if kind == "pool":
                        for mem in (it.get("membersReference") or {}).get("items", []):
                            out[part][("member", f"{it['name']}/{mem['name']}")] = mem
        r = dev.get("/mgmt/tm/sys/folder")
        r.raise_for_status()
        for it in r.json().get("items", []):
            if it["name"].startswith(PREFIX + "_") and it.get("subPath", "/") == "/":
                out.setdefault(it["name"], {})
    return out


def _no_rd(text: Any) -> Any:
    """An address or destination without its route domain (`%0`)."""
    return re.sub(r"%\d+", "", text) if isinstance(text, str) else text


def _monitor(text: Any) -> str | None:
    parts = [p for p in str(text or "").replace("{", " ").replace("}", " ").split()
             if p != "and"]
    if parts[:1] == ["min"]:
        parts = parts[3:]  # "min 1 of { /P/a /P/b }"
    return " and ".join(parts) or None


def view(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The compared attributes of one device body, in the terms `expected_device` uses."""
    if kind == "va":
        return {"address": _no_rd(body.get("address")), "enabled": body.get("enabled")}
    if kind == "virtual":
        return {"destination": _no_rd(body.get("destination")), "pool": body.get("pool") or None,
                "connectionLimit": body.get("connectionLimit"),
                "enabled": not body.get("disabled", False)}
    if kind == "pool":
        return {"loadBalancingMode": body.get("loadBalancingMode"),
                "monitor": _monitor(body.get("monitor"))}
    if kind == "member":
        if body.get("state") == "user-down":
            state = "offline"
        else:
            state = "drain" if body.get("session") == "user-disabled" else "enabled"
        return {"ratio": body.get("ratio"), "adminState": state}
    if kind == "monitor":  # "kind": "tm:ltm:monitor:http:httpstate"
        parts = str(body.get("kind", "")).split(":")
        return {"type": parts[3] if len(parts) > 3 else None, "interval": body.get("interval")}
    return {}


def compare_device(dev: DeviceState, must: Expected, may: MayHold) -> dict[str, list[str]]:
    """missing, orphans, drift (attribute differences) and empty_folders_left of one device."""
    missing, orphans, drift, empty_folders = [], [], [], []
    for part in sorted(set(dev) | set(must)):
        have, want, ok = dev.get(part, {}), must.get(part, {}), may.get(part, set())
        if part in dev and not have and not want:
            empty_folders.append(part)
        for key, attrs in sorted(want.items()):
            if key not in have:
                missing.append(f"{part} {key[0]} {key[1]}")
                continue
            seen = view(key[0], have[key])
            for a, v in attrs.items():
                if seen.get(a) != v:
                    drift.append(f"{part} {key[0]} {key[1]} {a}: device {seen.get(a)!r}"
                                 f" != desired {v!r}")
        for key in sorted(have):
            if key not in want and key not in ok:
                orphans.append(f"{part} {key[0]} {key[1]}")
    return {"missing": missing, "orphans": orphans, "drift": drift,
            "empty_folders_left": empty_folders}
