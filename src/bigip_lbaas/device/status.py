"""Collect operating status and listener stats for one partition from one device.

GET the partition's pools with members expanded (member ``state`` carries the monitor result) and
the virtual stats (the whole device's once per status pass, or the partition's own);
``engine.health`` turns them into Octavia statuses.
Must not: write to the device or the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from bigip_lbaas.core.model import PartitionState
from bigip_lbaas.device.client import BigipClient, collection_path, object_path
from bigip_lbaas.engine import names
from bigip_lbaas.engine.health import (
    COUNTERS,
    DeviceHealth,
    PartitionStatus,
    partition_status,
)
from bigip_lbaas.engine.render import listener_virtuals


def _counters(nested: Mapping[str, Any]) -> dict[str, int]:
    """The counters ``engine.health`` uses (a whole device's worth is kept for a status pass)."""
    out: dict[str, int] = {}
    for key in COUNTERS:
        val = nested.get(key)
        if isinstance(val, Mapping) and isinstance(val.get("value"), int):
            out[key] = int(val["value"])
    return out


def _entry_path(key: str, inner: Mapping[str, Any]) -> tuple[str, str]:
    """(partition, virtual name) of one stats entry: from its tmName (``/P/name``), else from
    its URL (``…/~P~name/stats``); empty when neither says."""
    tm = inner.get("tmName")
    full = tm.get("description") if isinstance(tm, Mapping) else None
    if isinstance(full, str) and full.startswith("/"):
        return full.split("/")[1], full.rsplit("/", 1)[-1]
    tail = key.split("?", maxsplit=1)[0].removesuffix("/stats").rsplit("/", 1)[-1]
    if tail.startswith("~") and tail.count("~") >= 2:
        return tail.split("~")[1], tail.rsplit("~", 1)[-1]
    return "", ""


Counters = dict[str, dict[str, int]]  # virtual name → counter → value
DeviceStats = Mapping[str, Counters]  # partition → its virtuals' counters


def virtual_counters_by_partition(data: Mapping[str, Any]) -> dict[str, Counters]:
    """Counters per partition and virtual name, from a virtual collection-stats body."""
    out: dict[str, Counters] = {}
    entries = data.get("entries", {})
    if not isinstance(entries, Mapping):
        return out
    for key, val in entries.items():
        nested = val.get("nestedStats", {}) if isinstance(val, Mapping) else {}
        inner = nested.get("entries", {}) if isinstance(nested, Mapping) else {}
        if not isinstance(inner, Mapping):
            continue
        part, name = _entry_path(key, inner)
        if part and name:
            out.setdefault(part, {})[name] = _counters(inner)
    return out


def virtual_counters(data: Mapping[str, Any], partition: str) -> Counters:
    """Counters per virtual name from a virtual collection-stats body, this partition only."""
    return virtual_counters_by_partition(data).get(partition, {})


def _only_used(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Decode a stats body keeping, of each virtual's counters, only those in use (a whole
    device's body decoded in full is tens of megabytes at 10,000 virtuals)."""
    if any(key in COUNTERS for key, _ in pairs):
        return {k: v for k, v in pairs if k in COUNTERS or k == "tmName"}
    return dict(pairs)


async def device_counters(client: BigipClient) -> dict[str, Counters]:
    """Every virtual's counters on the device, by partition: one GET for a whole status pass. (A
    device may ignore ``$filter`` on stats collections, so a GET per partition can cost as much
    as this one, once per partition.)"""
    body = await client.get_optional(collection_path("ltm/virtual/stats"), pairs_hook=_only_used)
    return virtual_counters_by_partition(body or {})


def carriers(states: Sequence[tuple[str, str | None]]) -> list[str]:
    """Of the reachable devices, in configured order, with the failover state each reported,
    those whose counters are the traffic: every active unit (one of a pair; several on
    scale-N, each holding traffic groups); when none says it is active (a read failed, or a
    standalone device that does not say), the first."""
    active = [name for name, state in states if state == "active"]
    return active or [name for name, _ in states[:1]]


def summed(each: Sequence[DeviceStats]) -> dict[str, Counters]:
    """Several devices' counters added up, per partition, virtual and counter: what the units
    that carry a virtual's traffic counted together."""
    out: dict[str, Counters] = {}
    for stats in each:
        for part, virtuals in stats.items():
            mine = out.setdefault(part, {})
            for name, counters in virtuals.items():
                into = mine.setdefault(name, {})
                for key, value in counters.items():
                    into[key] = into.get(key, 0) + value
    return out


def _expected_virtuals(state: PartitionState, prefix: str) -> set[str]:
    return {
        name
        for lb in state.load_balancers
        for lst in lb.listeners
        for name, _, _ in listener_virtuals(prefix, lb, lst)
    }


async def collect(
    client: BigipClient,
    state: PartitionState,
    prefix: str,
    device_stats: DeviceStats | None = None,
) -> PartitionStatus:
    """The partition's status. ``device_stats`` (from ``device_counters``, read at the start of
    a pass) saves the partition's own stats read; a virtual made since that read is read on its
    own (a small body), rather than reported missing."""
    part = names.partition(prefix, state.key.project_id)
    filt = {"$filter": f"partition eq {part}"}
    read_pools = client.items(collection_path("ltm/pool"), filt | {"expandSubcollections": "true"})
    if device_stats is None:
        pools, vstats = await asyncio.gather(
            read_pools, client.get_optional(collection_path("ltm/virtual/stats"), filt)
        )
        counters = virtual_counters(vstats or {}, part)
    else:
        counters = dict(device_stats.get(part, {}))
        missing = sorted(_expected_virtuals(state, prefix) - counters.keys())
        pools, *single = await asyncio.gather(
            read_pools,
            *(client.get_optional(object_path("ltm/virtual", part, v) + "/stats") for v in missing),
        )
        for body in single:
            counters.update(virtual_counters(body or {}, part))
    member_states: dict[str, dict[str, str]] = {}
    for pool in pools:
        ref = pool.get("membersReference", {})
        items = ref.get("items", []) if isinstance(ref, Mapping) else []
        member_states[str(pool.get("name"))] = {
            _without_rd(str(m.get("name", "")).rsplit("/", 1)[-1]): str(m.get("state", ""))
            for m in items
        }
    health = DeviceHealth(member_states, counters)
    return partition_status(state, prefix, health)


def _without_rd(member: str) -> str:
    """A member's name without its route domain (L2/L3 mode: ``10.0.0.5%2:80`` ->
    ``10.0.0.5:80``), as ``engine.health`` names members."""
    address, sep, rest = member.partition("%")
    if not sep:
        return member
    digits = len(rest) - len(rest.lstrip("0123456789"))
    return address + rest[digits:]
