"""The agent's view of one BIG-IP: probe, converge one partition, collect its status, tell
which partitions it lost.

A thin adapter over `device/`: it turns engine results into the database's outcome types and
knows which Octavia ids a partition holds, so a failure the device could not pin on an object
becomes a rejection of the whole attempt rather than a silent success.
"""

from __future__ import annotations

from collections.abc import Iterable

from bigip_lbaas.agent.metrics import DEVICE_SECONDS
from bigip_lbaas.agent.settings import AgentSettings
from bigip_lbaas.core.errors import DeviceRejected
from bigip_lbaas.core.model import PartitionKey, PartitionState
from bigip_lbaas.db.outcomes import ObjectFailure
from bigip_lbaas.device.apply import Guard
from bigip_lbaas.device.client import BigipClient, collection_path
from bigip_lbaas.device.converge import converge
from bigip_lbaas.device.status import DeviceStats, collect, device_counters
from bigip_lbaas.engine import names
from bigip_lbaas.engine.health import PartitionStatus


def object_kinds(state: PartitionState) -> dict[str, tuple[str, str]]:
    """Every Octavia id in the partition → (table kind, load balancer id)."""
    kinds: dict[str, tuple[str, str]] = {}
    for lb in state.load_balancers:
        kinds[lb.id] = ("load_balancer", lb.id)
        for li in lb.listeners:
            kinds[li.id] = ("listener", lb.id)
            for pol in li.l7policies:
                kinds[pol.id] = ("l7policy", lb.id)
                kinds.update((r.id, ("l7rule", lb.id)) for r in pol.rules)
        for pool in lb.pools:
            kinds[pool.id] = ("pool", lb.id)
            kinds.update((m.id, ("member", lb.id)) for m in pool.members)
            if pool.health_monitor:
                kinds[pool.health_monitor.id] = ("health_monitor", lb.id)
    return kinds


class BigipDevice:
    """One device of the agent's cluster."""

    def __init__(self, client: BigipClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.name = client.name

    @classmethod
    def connect_all(cls, settings: AgentSettings) -> list[BigipDevice]:
        return [
            cls(
                BigipClient(
                    d.host,
                    settings.username,
                    settings.password,
                    port=d.port,
                    verify=settings.verify,
                    timeout=settings.request_timeout,
                    max_concurrency=settings.device_concurrency,
                    client_id=f"{settings.identity}/{settings.instance_id[:8]}",
                ),
                settings.environment,
            )
            for d in settings.devices
        ]

    async def probe(self) -> None:
        with DEVICE_SECONDS.labels(self.name, "probe").time():
            await self.client.get("/mgmt/tm/sys/version")

    async def converge(
        self, state: PartitionState, guard: Guard, cache_token: object, fresh: bool
    ) -> tuple[int, tuple[ObjectFailure, ...]]:
        with DEVICE_SECONDS.labels(self.name, "converge").time():
            result = await converge(self.client, state, self.prefix, guard,
                                    cache_token=cache_token, fresh=fresh)
        known = object_kinds(state)
        failures = []
        for f in result.failures:
            if f.object_id not in known:
                raise DeviceRejected(self.name, 400, f.reason)
            failures.append(ObjectFailure(f.object_id, f.reason))
        return result.writes, tuple(failures)

    async def pass_stats(self) -> DeviceStats:
        """Every virtual's counters, read once at the start of a status pass."""
        with DEVICE_SECONDS.labels(self.name, "collect").time():
            return await device_counters(self.client)

    async def collect(
        self, state: PartitionState, pass_stats: DeviceStats | None
    ) -> PartitionStatus:
        with DEVICE_SECONDS.labels(self.name, "collect").time():
            return await collect(self.client, state, self.prefix, pass_stats)

    async def missing(self, keys: Iterable[PartitionKey]) -> set[PartitionKey]:
        """Of ``keys``, the partitions whose folder the device does not have."""
        folders = await self.client.items(collection_path("sys/folder"), {"$select": "name"})
        present = {str(f.get("name")) for f in folders}
        return {k for k in keys if names.partition(self.prefix, k.project_id) not in present}

    async def close(self) -> None:
        await self.client.aclose()
