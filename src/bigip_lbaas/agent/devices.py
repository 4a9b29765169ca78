"""The agent's view of one BIG-IP: probe, converge one partition, collect its status, tell
which partitions it lost. A thin adapter over ``device/`` that times each operation.
"""

from __future__ import annotations

from collections.abc import Iterable

from bigip_lbaas.agent.metrics import DEVICE_SECONDS
from bigip_lbaas.agent.settings import AgentSettings
from bigip_lbaas.config.devices import DeviceAddress
from bigip_lbaas.core.model import PartitionKey, PartitionState
from bigip_lbaas.device.apply import Guard
from bigip_lbaas.device.client import BigipClient, collection_path
from bigip_lbaas.device.cluster import failover_state
from bigip_lbaas.device.converge import ConvergeResult, converge
from bigip_lbaas.device.status import DeviceStats, collect, device_counters
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceConfig, Rendered
from bigip_lbaas.engine.health import PartitionStatus


def device_client(
    settings: AgentSettings, address: DeviceAddress, *, client_id: str, token_auth: bool = True
) -> BigipClient:
    """An iControl REST client for one of ``settings``' devices, with its credentials, TLS
    verification, timeout and concurrency; ``client_id`` names the caller in the device's log."""
    return BigipClient(
        address.host,
        settings.username,
        settings.password,
        port=address.port,
        verify=settings.verify,
        timeout=settings.request_timeout,
        max_concurrency=settings.device_concurrency,
        client_id=client_id,
        token_auth=token_auth,
    )


class BigipDevice:
    """One device of the agent's cluster."""

    def __init__(self, client: BigipClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.name = client.name

    @classmethod
    def connect_all(cls, settings: AgentSettings) -> list[BigipDevice]:
        client_id = f"{settings.identity}/{settings.instance_id[:8]}"
        return [
            cls(device_client(settings, d, client_id=client_id), settings.environment)
            for d in settings.devices
        ]

    async def probe(self) -> None:
        with DEVICE_SECONDS.labels(self.name, "probe").time():
            await self.client.get("/mgmt/tm/sys/version")

    async def converge(
        self, rendered: Rendered, guard: Guard, known: DeviceConfig | None
    ) -> ConvergeResult:
        """Make the device hold ``rendered`` (``device.converge.converge``)."""
        with DEVICE_SECONDS.labels(self.name, "converge").time():
            return await converge(self.client, rendered, self.prefix, guard, known=known)

    async def failover_state(self) -> str | None:
        """``active``, ``standby``, ...: whether this unit carries the traffic now."""
        with DEVICE_SECONDS.labels(self.name, "collect").time():
            return await failover_state(self.client)

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

    async def vtep_address(self, folder: str, name: str) -> str | None:
        """The address of self IP ``/<folder>/<name>`` (the tunnels' local address), without
        its ``%rd`` and mask; None when the device has no such self IP."""
        with DEVICE_SECONDS.labels(self.name, "probe").time():
            found = await self.client.get_optional(f"/mgmt/tm/net/self/~{folder}~{name}")
        if not found:
            return None
        return str(found.get("address", "")).split("/")[0].split("%")[0] or None

    async def close(self) -> None:
        await self.client.aclose()
