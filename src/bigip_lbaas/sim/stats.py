"""Statistics documents (`…/stats`) for virtuals, pools, pool members and nodes.

Owns the nested `entries` shape (`{url: {"nestedStats": {"kind", "selfLink", "entries"}}}`) and
the counters themselves. Counters are a pure function of an object's age and a per-object rate,
so they advance monotonically over time without any background task; current connections
wobble with the clock; a member marked down by the monitor rule shows no current connections.
A virtual counts only while the simulated traffic can reach it (``serves``: enabled, with a
default pool holding a member that takes connections) on a unit that carries traffic; a fresh
virtual with no pool reads all zeros, as a real one that no client has used.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Any

from bigip_lbaas.sim.kinds import ResType
from bigip_lbaas.sim.render import HOST, member_status, obj_id
from bigip_lbaas.sim.rules import monitor_paths
from bigip_lbaas.sim.store import Obj

if TYPE_CHECKING:
    from bigip_lbaas.sim.tm import Tm


def _rate(obj: Obj) -> int:
    return 1 + zlib.crc32(obj.full_path.encode()) % 7


def _traffic(obj: Obj, now: float, live: bool) -> dict[str, dict[str, Any]]:
    age = max(now - obj.created, 0.0)
    rate = _rate(obj)
    tot = int(age * rate)
    cur = (int(now) + rate) % (rate + 3) if live else 0
    return {
        "curConns": {"value": cur},
        "maxConns": {"value": min(tot, rate + 3)},
        "totConns": {"value": tot},
        "bitsIn": {"value": tot * 9_600},
        "bitsOut": {"value": tot * 38_400},
        "pktsIn": {"value": tot * 6},
        "pktsOut": {"value": tot * 8},
    }


def _side(prefix: str, counters: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{prefix}.{k}": v for k, v in counters.items()}


def carries_traffic(tm: Tm) -> bool:
    """Whether this device carries traffic: its `failover.state` is active (every unit of a
    standalone device or of a scale-N cluster whose traffic groups it holds). A standby unit's
    virtuals count nothing: the traffic goes to its peer."""
    state = tm.store.get("sys/db", "/Common/failover.state")
    return state is None or str(state.props.get("value", "active")) == "active"


def serves(tm: Tm, virtual: Obj) -> bool:
    """Whether the simulated clients' traffic reaches a virtual: it is enabled and its default
    pool has a member that takes connections (up, or unchecked without a monitor). A virtual
    with nowhere to send a connection completes none, so its counters stay 0 (Octavia's API
    tests read a fresh listener's stats as all zeros)."""
    if "disabled" in virtual.props or not virtual.props.get("pool"):
        return False
    pool = tm.store.get("ltm/pool", str(virtual.props["pool"]))
    if pool is None:
        return False
    return any(member_status(tm.view, m, pool)[0] in ("up", "unchecked")
               for m in pool.children.get("members", {}).values())


def _virtual(tm: Tm, obj: Obj, now: float, parent: Obj | None) -> dict[str, Any]:
    enabled = "disabled" not in obj.props
    traffic = _traffic(obj, now, True)
    if not (carries_traffic(tm) and serves(tm, obj)):
        traffic = {k: {"value": 0} for k in traffic}
    e: dict[str, Any] = {
        "tmName": {"description": obj.full_path},
        "destination": {"description": obj.props.get("destination", "")},
        "cmpEnabled": {"description": "enabled"},
        "cmpEnableMode": {"description": "all-cpus"},
        "csMinConnDur": {"value": 0},
        "csMaxConnDur": {"value": 0},
        "csMeanConnDur": {"value": 0},
        "totRequests": {"value": traffic["totConns"]["value"] * 3},
        "status.availabilityState": {
            "description": "available" if obj.props.get("pool") else "unknown"
        },
        "status.enabledState": {"description": "enabled" if enabled else "disabled"},
        "status.statusReason": {
            "description": "The virtual server is available"
            if obj.props.get("pool")
            else "The children pool member(s) either don't have service "
            "checking enabled, or service check results are not available "
            "yet"
        },
    }
    e.update(_side("clientside", traffic))
    e.update(_side("ephemeral", _traffic(obj, obj.created, False)))
    return e


def _member(tm: Tm, obj: Obj, now: float, pool: Obj | None) -> dict[str, Any]:
    state, session = member_status(tm.view, obj, pool)
    live = state in ("up", "unchecked")
    traffic = _traffic(obj, now, live)
    addr = str(obj.props.get("address", ""))
    port = obj.name.rsplit(":" if ":" in obj.name and obj.name.count(":") == 1 else ".", 1)[-1]
    e: dict[str, Any] = {
        "addr": {"description": addr},
        "port": {"value": int(port) if port.isdigit() else 0},
        "nodeName": {"description": obj.props.get("_node", "")},
        "poolName": {"description": pool.full_path if pool else ""},
        "monitorRule": {
            "description": obj.props.get("monitor", "default")
            if obj.props.get("monitor", "default") != "default"
            else (pool.props.get("monitor", "none") if pool else "none")
        },
        "monitorStatus": {
            "description": state
            if state in ("up", "down")
            else ("unchecked" if state == "unchecked" else "down")
        },
        "sessionStatus": {"description": "enabled" if session != "user-disabled" else "disabled"},
        "curSessions": {"value": traffic["curConns"]["value"]},
        "totRequests": {"value": traffic["totConns"]["value"] * 3},
        "status.availabilityState": {
            "description": {"up": "available", "down": "offline"}.get(state, "unknown")
        },
        "status.enabledState": {
            "description": "enabled" if session != "user-disabled" else "disabled"
        },
        "status.statusReason": {
            "description": {
                "up": "Pool member is available",
                "down": "Pool member has been marked down by a monitor",
            }.get(state, "Pool member does not have service checking enabled")
        },
    }
    e.update(_side("serverside", traffic))
    return e


def _pool(tm: Tm, obj: Obj, now: float, parent: Obj | None) -> dict[str, Any]:
    members = list(obj.children.get("members", {}).values())
    states = [member_status(tm.view, m, obj)[0] for m in members]
    totals = {
        k: 0 for k in ("curConns", "maxConns", "totConns", "bitsIn", "bitsOut", "pktsIn", "pktsOut")
    }
    for m, state in zip(members, states, strict=True):
        for k, v in _traffic(m, now, state in ("up", "unchecked")).items():
            totals[k] += int(v["value"])
    up = sum(1 for s in states if s in ("up", "unchecked"))
    monitored = bool(monitor_paths(obj.props.get("monitor")))
    if not members:
        avail, reason = "unknown", "The pool has no members"
    elif monitored and up == 0:
        avail, reason = "offline", "The children pool member(s) are down"
    elif monitored:
        avail, reason = "available", "The pool is available"
    else:
        avail, reason = (
            "unknown",
            (
                "The children pool member(s) either don't have service "
                "checking enabled, or service check results are not "
                "available yet"
            ),
        )
    e: dict[str, Any] = {
        "tmName": {"description": obj.full_path},
        "activeMemberCnt": {"value": up},
        "availableMemberCnt": {"value": up},
        "memberCnt": {"value": len(members)},
        "curSessions": {"value": totals["curConns"]},
        "totRequests": {"value": totals["totConns"] * 3},
        "minActiveMembers": {"value": obj.props.get("minActiveMembers", 0)},
        "monitorRule": {"description": obj.props.get("monitor", "none")},
        "connq.depth": {"value": 0},
        "connq.ageMax": {"value": 0},
        "status.availabilityState": {"description": avail},
        "status.enabledState": {"description": "enabled"},
        "status.statusReason": {"description": reason},
    }
    e.update(_side("serverside", {k: {"value": v} for k, v in totals.items()}))
    return e


def _node(tm: Tm, obj: Obj, now: float, parent: Obj | None) -> dict[str, Any]:
    traffic = _traffic(obj, now, True)
    e: dict[str, Any] = {
        "tmName": {"description": obj.full_path},
        "addr": {"description": obj.props.get("address", "")},
        "monitorRule": {"description": obj.props.get("monitor", "none")},
        "monitorStatus": {"description": "unchecked"},
        "sessionStatus": {"description": "enabled"},
        "curSessions": {"value": traffic["curConns"]["value"]},
        "totRequests": {"value": traffic["totConns"]["value"] * 3},
        "status.availabilityState": {"description": "unknown"},
        "status.enabledState": {"description": "enabled"},
        "status.statusReason": {
            "description": "Node address does not have service checking enabled"
        },
    }
    e.update(_side("serverside", traffic))
    return e


_ENTRIES = {
    "ltm/virtual": _virtual,
    "ltm/pool": _pool,
    "ltm/pool/members": _member,
    "ltm/node": _node,
}


def _nested(
    tm: Tm, rt: ResType, obj: Obj, path: str, now: float, parent: Obj | None
) -> tuple[str, dict[str, Any]]:
    key = f"{HOST}{path}/stats"
    entries = _ENTRIES[rt.path](tm, obj, now, parent)
    return key, {
        "nestedStats": {
            "kind": rt.stats_kind,
            "selfLink": tm.view.link(f"{path}/stats"),
            "entries": entries,
        }
    }


def item(tm: Tm, rt: ResType, obj: Obj, path: str, parent: Obj | None) -> dict[str, Any]:
    if rt.path not in _ENTRIES:
        from bigip_lbaas.sim.errors import uri_not_registered

        raise uri_not_registered(path + "/stats")
    key, nested = _nested(tm, rt, obj, path, time.monotonic(), parent)
    return {
        "kind": rt.stats_kind,
        "generation": obj.generation,
        "selfLink": tm.view.link(f"{path}/stats"),
        "entries": {key: nested},
    }


def collection(tm: Tm, rt: ResType, base: str) -> dict[str, Any]:
    now = time.monotonic()
    entries = dict(
        _nested(tm, rt, o, f"{base}/{obj_id(rt, o)}", now, None) for o in tm.store.all(rt.path)
    )
    return {
        "kind": rt.collection_stats_kind,
        "selfLink": tm.view.link(f"{base}/stats"),
        "entries": entries,
    }


def sub_collection(tm: Tm, rt: ResType, parent: Obj, base: str) -> dict[str, Any]:
    if rt.path not in _ENTRIES:
        from bigip_lbaas.sim.errors import uri_not_registered

        raise uri_not_registered(base + "/stats")
    now = time.monotonic()
    entries = dict(
        _nested(tm, rt, c, f"{base}/{obj_id(rt, c)}", now, parent)
        for c in parent.children.get(base.rsplit("/", 1)[-1], {}).values()
    )
    return {
        "kind": rt.collection_stats_kind,
        "selfLink": tm.view.link(f"{base}/stats"),
        "entries": entries,
    }
