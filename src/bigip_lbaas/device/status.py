"""Collect operating status and listener stats for one partition from one device, in two GETs.

GET the partition's pools with members expanded (member ``state`` carries the monitor result) and
the partition's virtual stats; ``engine.health`` turns them into Octavia statuses.
Must not: write to the device or the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from bigip_lbaas.core.model import PartitionState
from bigip_lbaas.device.client import BigipClient, collection_path
from bigip_lbaas.engine import names
from bigip_lbaas.engine.health import DeviceHealth, PartitionStatus, partition_status


def _counters(nested: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, val in nested.items():
        if isinstance(val, Mapping) and isinstance(val.get("value"), int):
            out[key] = int(val["value"])
    return out


def _entry_name(key: str, entries: Mapping[str, Any]) -> str | None:
    tm = entries.get("tmName")
    if isinstance(tm, Mapping) and isinstance(tm.get("description"), str):
        return str(tm["description"]).rsplit("/", 1)[-1]
    tail = key.split("?", maxsplit=1)[0].removesuffix("/stats").rsplit("/", 1)[-1]
    return tail.rsplit("~", 1)[-1] or None


def virtual_counters(data: Mapping[str, Any], partition: str) -> dict[str, dict[str, int]]:
    """Counters per virtual name from a virtual collection-stats body, this partition only."""
    out: dict[str, dict[str, int]] = {}
    entries = data.get("entries", {})
    if not isinstance(entries, Mapping):
        return out
    for key, val in entries.items():
        nested = val.get("nestedStats", {}) if isinstance(val, Mapping) else {}
        inner = nested.get("entries", {}) if isinstance(nested, Mapping) else {}
        if not isinstance(inner, Mapping):
            continue
        tm = inner.get("tmName", {})
        full = str(tm.get("description", "")) if isinstance(tm, Mapping) else ""
        if full and not full.startswith(f"/{partition}/"):
            continue
        if not full and f"~{partition}~" not in key:
            continue
        name = _entry_name(key, inner)
        if name:
            out[name] = _counters(inner)
    return out


async def collect(client: BigipClient, state: PartitionState, prefix: str) -> PartitionStatus:
    part = names.partition(prefix, state.key.project_id)
    filt = {"$filter": f"partition eq {part}"}
    pools, vstats = await asyncio.gather(
        client.items(collection_path("ltm/pool"), filt | {"expandSubcollections": "true"}),
        client.get_optional(collection_path("ltm/virtual/stats"), filt),
    )
    member_states: dict[str, dict[str, str]] = {}
    for pool in pools:
        ref = pool.get("membersReference", {})
        items = ref.get("items", []) if isinstance(ref, Mapping) else []
        member_states[str(pool.get("name"))] = {
            str(m.get("name", "")).rsplit("/", 1)[-1]: str(m.get("state", "")) for m in items
        }
    health = DeviceHealth(member_states, virtual_counters(vstats or {}, part))
    return partition_status(state, prefix, health)
