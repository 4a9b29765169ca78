"""Read one partition's current configuration from a device, normalised for ``engine.diff``.

One GET for the folder; if it exists, one collection GET per managed kind, filtered to the partition
(``$filter=partition eq P``) with subcollections expanded, issued concurrently.
Must not: write anything.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bigip_lbaas.device.client import BigipClient, collection_path, object_path
from bigip_lbaas.engine.config import PARTITION_KINDS, TLS_KINDS, DeviceConfig, Kind
from bigip_lbaas.engine.normalize import observed_config

_EXPAND = frozenset({Kind.POOL, Kind.VIRTUAL, Kind.POLICY})


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


def _uses_tls(partition: str, collections: dict[Kind, list[dict[str, Any]]]) -> bool:
    """Whether a virtual of the partition uses a profile of the partition that is none of the
    listed kinds (so a client-ssl or server-ssl one)."""
    listed = {f"/{partition}/{o.get('name')}" for k, items in collections.items()
              if k.value.startswith("ltm/profile/") for o in items}
    prefix = f"/{partition}/"
    for virtual in collections.get(Kind.VIRTUAL, []):
        config = observed_config(partition, {Kind.VIRTUAL: [virtual]}, folder_exists=False)
        for obj in config.objects.values():
            for profile in obj.body.get("profiles", []):
                path = profile if isinstance(profile, str) else str(profile.get("name", ""))
                if path.startswith(prefix) and path not in listed:
                    return True
    return False


async def observe(client: BigipClient, partition: str, *, tls: bool = True) -> DeviceConfig:
    """``tls=False``: the desired state has no TLS object, so the TLS collections are listed
    only if a virtual on the device still uses a TLS profile (a second, smaller round)."""
    if not await folder_exists(client, partition):
        return DeviceConfig(partition)
    kinds = [k for k in PARTITION_KINDS if tls or k not in TLS_KINDS]
    collections = await _read(client, partition, kinds)
    if not tls and _uses_tls(partition, collections):
        collections |= await _read(client, partition, [k for k in PARTITION_KINDS
                                                       if k in TLS_KINDS])
    return observed_config(partition, collections, folder_exists=True)
