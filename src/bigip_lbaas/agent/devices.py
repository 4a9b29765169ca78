"""The agent's view of one BIG-IP: probe, converge one partition, collect its status.

A thin adapter over `device/`: it turns engine results into the database's outcome types and
knows which Octavia ids a partition holds, so a failure the device could not pin on an object
becomes a rejection of the whole attempt rather than a silent success.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from bigip_lbaas.agent.settings import AgentSettings
from bigip_lbaas.core.errors import DeviceRejected
from bigip_lbaas.core.model import PartitionState
from bigip_lbaas.db.outcomes import ObjectFailure, ObservedStatus
from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.converge import converge


def object_ids(state: PartitionState) -> set[str]:
    ids: set[str] = set()
    for lb in state.load_balancers:
        ids.add(lb.id)
        for li in lb.listeners:
            ids.add(li.id)
            for pol in li.l7policies:
                ids.add(pol.id)
                ids.update(r.id for r in pol.rules)
        for pool in lb.pools:
            ids.add(pool.id)
            ids.update(m.id for m in pool.members)
            if pool.health_monitor:
                ids.add(pool.health_monitor.id)
    return ids


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
        await self.client.get("/mgmt/tm/sys/version")

    async def converge(
        self, state: PartitionState, guard: Callable[[], None]
    ) -> tuple[int, tuple[ObjectFailure, ...]]:
        result = await converge(self.client, state, self.prefix, guard)
        known = object_ids(state)
        failures = []
        for f in result.failures:
            if f.object_id not in known:
                raise DeviceRejected(self.name, 400, f.reason)
            failures.append(ObjectFailure(f.object_id, f.reason))
        return result.writes, tuple(failures)

    async def collect(self, state: PartitionState) -> ObservedStatus:
        status = importlib.import_module("bigip_lbaas.device.status")
        observed: ObservedStatus = await status.collect(self.client, state, self.prefix)
        return observed

    async def close(self) -> None:
        await self.client.aclose()
