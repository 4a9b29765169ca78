"""`icontrol_hostname`: the devices an agent writes, as F5's option lists them."""

from __future__ import annotations

from dataclasses import dataclass

from bigip_lbaas.core.errors import ConfigError


@dataclass(frozen=True)
class DeviceAddress:
    host: str
    port: int = 443

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class InvalidPort(ConfigError):
    """One device of `icontrol_hostname` names a port that is not 1-65535."""

    def __init__(self, item: str) -> None:
        self.item = item
        super().__init__(f"[DEFAULT] icontrol_hostname: {item!r} has an invalid port")


def parse_devices(value: str) -> tuple[DeviceAddress, ...]:
    """Comma-separated `host` or `host:port` (IPv6 as `[addr]:port`); quotes around an item, as
    real files carry them, are dropped. Raises InvalidPort."""
    result = []
    for raw in value.split(","):
        item = raw.strip().strip("'\"")
        if not item:
            continue
        host, port = item, 443
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest.startswith(":"):
                port = _port(rest[1:], item)
        elif item.count(":") == 1:
            host, text = item.split(":")
            port = _port(text, item)
        result.append(DeviceAddress(host, port))
    return tuple(result)


def _port(text: str, item: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidPort(item)
    return int(text)
