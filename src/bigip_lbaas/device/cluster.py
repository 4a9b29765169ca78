"""HA checks: the ``f5_ha_type`` device count, device groups with auto-sync on, and which unit
carries the traffic (``failover_state``).

Every device is written separately and config-sync is never run, so auto-sync on a sync-failover
group would fight us; we warn at startup rather than changing the operator's device group.
"""

from __future__ import annotations

from collections.abc import Sequence

from bigip_lbaas.core.errors import ConfigError
from bigip_lbaas.device.client import BigipClient, collection_path

HA_COUNTS = {"standalone": (1, 1), "pair": (2, 2), "scalen": (2, None)}


def validate_ha(ha_type: str, hostnames: Sequence[str]) -> None:
    """Raise ConfigError naming the options when the device count does not fit ``f5_ha_type``."""
    if ha_type not in HA_COUNTS:
        raise ConfigError(
            f"f5_ha_type = {ha_type!r} is not one of standalone, pair, scalen "
            "([DEFAULT] f5_ha_type in f5-openstack-agent.ini)"
        )
    lo, hi = HA_COUNTS[ha_type]
    n = len([h for h in hostnames if h.strip()])
    if n < lo or (hi is not None and n > hi):
        want = f"exactly {lo}" if lo == hi else f"at least {lo}"
        raise ConfigError(
            f"f5_ha_type = {ha_type} needs {want} device(s) in icontrol_hostname, got {n}: "
            f"{', '.join(hostnames) or '(none)'}"
        )


async def autosync_warnings(client: BigipClient) -> list[str]:
    """One warning per sync-failover device group with autoSync enabled on this device."""
    warnings: list[str] = []
    for group in await client.items(collection_path("cm/device-group")):
        if group.get("type") == "sync-failover" and group.get("autoSync") == "enabled":
            warnings.append(
                f"{client.name}: device group {group.get('fullPath') or group.get('name')} has "
                "autoSync enabled; bigip-lbaas writes every device itself and never config-syncs, "
                "so disable auto-sync on this group"
            )
    return warnings


FAILOVER_STATE = "/mgmt/tm/sys/db/failover.state"


async def failover_state(client: BigipClient) -> str | None:
    """This device's failover state (``active``, ``standby``, ``offline``, ``forced-offline``)
    from its ``failover.state`` database variable; None when the device does not say."""
    body = await client.get_optional(FAILOVER_STATE)
    value = (body or {}).get("value")
    return value.lower() if isinstance(value, str) else None
