"""Read one partition's current configuration from a device, normalised for ``engine.diff``.

One GET for the folder; if it exists, one collection GET per managed kind, filtered to the partition
(``$filter=partition eq P``) with subcollections expanded, issued concurrently. In L2/L3 mode
(``network``) also one per networking kind and one of the partition (its default route domain,
which addresses without ``%rd`` are in); never in global routed mode.
Must not: write anything.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from bigip_lbaas.device.client import BigipClient, collection_path, object_path, quote_name
from bigip_lbaas.engine.config import (
    NET_COLLECTION_KINDS,
    OPTIONAL_KINDS,
    PARTITION_KINDS,
    DeviceConfig,
    Kind,
)
from bigip_lbaas.engine.normalize import observed_config

_EXPAND = frozenset({Kind.POOL, Kind.VIRTUAL, Kind.POLICY, Kind.VLAN, Kind.FDB_TUNNEL})


def _params(kind: Kind, partition: str) -> dict[str, str]:
    params = {"$filter": f"partition eq {partition}"}
    if kind in _EXPAND:
        params["expandSubcollections"] = "true"
    return params


async def folder_exists(client: BigipClient, partition: str) -> bool:
    return await client.get_optional(object_path("sys/folder", None, partition)) is not None


async def _read(
    client: BigipClient, partition: str, kinds: list[Kind]
) -> dict[Kind, list[dict[str, Any]]]:
    results = await asyncio.gather(
        *(client.items(collection_path(k.value), _params(k, partition)) for k in kinds)
    )
    return dict(zip(kinds, results, strict=True))


def _references(kind: Kind, body: Mapping[str, Any]) -> list[Any]:
    """What an object refers to by name: a virtual's profiles and persistence, a pool's and
    its members' monitors."""
    if kind is Kind.VIRTUAL:
        return [body.get(k) for k in ("profiles", "persist", "fallbackPersistence")]
    return [body.get("monitor"), *(m.get("monitor") for m in body.get("members", []) or [])]


def _dangling(partition: str, collections: dict[Kind, list[dict[str, Any]]]) -> bool:
    """Whether a virtual or pool of the partition refers to an object of the partition that none
    of the listed collections holds: one of a kind not listed (see OPTIONAL_KINDS)."""
    listed = {f"/{partition}/{o.get('name')}" for items in collections.values() for o in items}
    found = re.compile(rf'/{re.escape(partition)}/[^\s{{}}",]+')
    for kind in (Kind.VIRTUAL, Kind.POOL):
        config = observed_config(partition, {kind: collections.get(kind, [])},
                                 folder_exists=False)
        for obj in config.objects.values():
            text = json.dumps(_references(kind, obj.body))
            if any(path not in listed for path in found.findall(text)):
                return True
    return False


def partition_path(partition: str) -> str:
    """The partition itself (``auth/partition``: its ``defaultRouteDomain``)."""
    return f"/mgmt/tm/auth/partition/{quote_name(partition)}"


async def _partition(client: BigipClient, partition: str) -> int | None:
    """The partition's default route domain; None when the partition does not exist (it and
    its folder are one entity: this GET stands in for the folder's)."""
    body = await client.get_optional(partition_path(partition))
    if body is None:
        return None
    try:
        return int(body.get("defaultRouteDomain", 0))
    except (TypeError, ValueError):
        return 0


# Tunnels (and their FDB) are listed only when the desired state has one, or when a route domain
# or self IP of the partition names something no listed VLAN is: a VLAN-only partition (the
# common case) costs no GET for them.
_TUNNEL_KINDS = (Kind.TUNNEL, Kind.FDB_TUNNEL)


def _unlisted_l2(partition: str, collections: dict[Kind, list[dict[str, Any]]]) -> bool:
    vlans = {f"/{partition}/{o.get('name')}" for o in collections.get(Kind.VLAN, [])}
    named: set[str] = set()
    for rd in collections.get(Kind.ROUTE_DOMAIN, []):
        named.update(str(v) for v in rd.get("vlans", []) or [])
    named.update(str(s.get("vlan", "")) for s in collections.get(Kind.SELF_IP, []))
    return any(p.startswith(f"/{partition}/") and p not in vlans for p in named)


async def observe(client: BigipClient, partition: str, *,
                  wanted: Collection[Kind] | None = None, network: bool = False) -> DeviceConfig:
    """Every managed kind of the partition; with `wanted` (the kinds the desired state has),
    the OPTIONAL_KINDS it lacks are listed only if an object on the device still refers to one
    (a second, smaller round). `network`: L2/L3 mode, the networking kinds too, and the
    partition (its default route domain) instead of the folder."""
    default_rd: int | None = None
    if network:
        default_rd = await _partition(client, partition)
        if default_rd is None:
            return DeviceConfig(partition)
    elif not await folder_exists(client, partition):
        return DeviceConfig(partition)
    skipped = set() if wanted is None else OPTIONAL_KINDS - set(wanted)
    kinds = [k for k in PARTITION_KINDS if k not in skipped]
    tunnels = wanted is None or bool(set(_TUNNEL_KINDS) & set(wanted))
    if network:
        kinds += [k for k in NET_COLLECTION_KINDS if tunnels or k not in _TUNNEL_KINDS]
    collections = await _read(client, partition, kinds)
    more = []
    if skipped and _dangling(partition, collections):
        more += [k for k in PARTITION_KINDS if k in skipped]
    if network and not tunnels and _unlisted_l2(partition, collections):
        more += _TUNNEL_KINDS
    if more:
        collections |= await _read(client, partition, more)
    return observed_config(partition, collections, folder_exists=True, default_rd=default_rd)
