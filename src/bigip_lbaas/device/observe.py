"""Read one partition's current configuration from a device, normalised for ``engine.diff``.

One GET for the folder; if it exists, one collection GET per managed kind, filtered to the partition
(``$filter=partition eq P``) with subcollections expanded, issued concurrently.
Must not: write anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bigip_lbaas.device.client import BigipClient, collection_path, object_path
from bigip_lbaas.engine.config import PARTITION_KINDS, DeviceConfig, Kind
from bigip_lbaas.engine.normalize import observed_config

_EXPAND = frozenset({Kind.POOL, Kind.VIRTUAL, Kind.POLICY})


def _params(kind: Kind, partition: str) -> dict[str, str]:
    params = {"$filter": f"partition eq {partition}"}
    if kind in _EXPAND:
        params["expandSubcollections"] = "true"
    return params


async def folder_exists(client: BigipClient, partition: str) -> bool:
    return await client.get_optional(object_path("sys/folder", None, partition)) is not None


async def observe(client: BigipClient, partition: str) -> DeviceConfig:
    if not await folder_exists(client, partition):
        return DeviceConfig(partition)
    kinds = list(PARTITION_KINDS)
    results = await asyncio.gather(
        *(client.items(collection_path(k.value), _params(k, partition)) for k in kinds)
    )
    collections: dict[Kind, list[dict[str, Any]]] = dict(zip(kinds, results, strict=True))
    return observed_config(partition, collections, folder_exists=True)
