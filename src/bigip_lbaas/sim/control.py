"""The `/sim/...` control API used by tests and benchmarks (authenticated like `/mgmt`).

Owns the endpoints that steer and observe simulated devices: fault settings, down/up, wipe,
request counters, the audit log, the monitor rule's down-address set, auto-sync, whether token
login is offered, and a state summary. `/sim/<op>` acts on the device that received the
request; `/sim/devices/<n>/<op>` acts on device n (1-based), so a device that refuses
connections can be steered through a peer.
"""

from __future__ import annotations

import math
from typing import Any, Protocol
from urllib.parse import parse_qsl

from bigip_lbaas.sim import errors
from bigip_lbaas.sim.device import Device
from bigip_lbaas.sim.tm import Result, parse_body

DOWN_MODES = ("refuse", "drop", "hang")


class Cluster(Protocol):
    """What the control API needs from the running simulator."""

    devices: list[Device]

    async def set_down(self, device: Device, mode: str, seconds: float | None) -> None: ...
    async def set_up(self, device: Device) -> None: ...
    def save_now(self) -> None: ...


class Control:
    """Handler of `/sim/...` for one listener."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def handle(
        self, dev: Device, method: str, segs: list[str], raw: bytes, query: str
    ) -> Result:
        if segs == ["devices"] and method == "GET":
            return Result(200, {"devices": [d.info() for d in self.cluster.devices]})
        if segs[:1] == ["devices"] and len(segs) >= 2:
            n = int(segs[1]) if segs[1].isdecimal() else 0  # 1-based; never from the end
            if not 1 <= n <= len(self.cluster.devices):
                raise errors.IcrError(404, f"no simulated device {segs[1]}", 1)
            dev = self.cluster.devices[n - 1]
            segs = segs[2:]
        op = "/".join(segs) or "state"
        body = parse_body(raw)
        q = dict(parse_qsl(query))
        if op == "state" and method == "GET":
            return Result(200, dev.info())
        if op == "faults":
            if method in ("PUT", "PATCH", "POST"):
                if method == "PUT":
                    dev.faults = type(dev.faults)()
                for key, value in body.items():
                    if not hasattr(dev.faults, key):
                        raise errors.bad_value(f"unknown fault setting {key}")
                    setattr(dev.faults, key, _fault_value(key, value, getattr(dev.faults, key)))
            elif method == "DELETE":
                dev.faults = type(dev.faults)()
            return Result(200, dev.faults.as_dict())
        if op == "down" and method == "POST":
            mode = str(body.get("mode", "refuse"))
            if mode not in DOWN_MODES:
                raise errors.bad_value(f"mode must be one of {', '.join(DOWN_MODES)}")
            seconds = body.get("seconds")
            seconds = _fault_value("seconds", seconds, 0.0) if seconds else None
            await self.cluster.set_down(dev, mode, seconds)
            return Result(200, dev.info())
        if op == "up" and method == "POST":
            await self.cluster.set_up(dev)
            return Result(200, dev.info())
        if op == "wipe" and method == "POST":
            dev.wipe()
            return Result(200, dev.info())
        if op == "counters":
            if method == "DELETE":
                dev.counters.clear()
                dev.status_counters.clear()
                dev.auth_counters.clear()
            return Result(
                200,
                {
                    "methods": dict(dev.counters),
                    "statuses": dict(dev.status_counters),
                    "auth": dict(dev.auth_counters),
                },
            )
        if op == "auth":
            if method in ("PUT", "PATCH"):
                value = body.get("tokenLogin", True if method == "PUT" else dev.token_login)
                if not isinstance(value, bool):
                    raise errors.bad_value("tokenLogin must be true or false")
                unknown = sorted(set(body) - {"tokenLogin"})
                if unknown:
                    raise errors.bad_value(f"unknown auth setting {unknown[0]}")
                dev.token_login = value
            elif method != "GET":
                raise errors.method_not_allowed(method, "/sim/auth")
            return Result(200, {"tokenLogin": dev.token_login})
        if op == "audit":
            if method == "DELETE":
                dev.audit.clear()
                return Result(200, {"items": []})
            since = int(q.get("since", "0"))
            part = q.get("partition")
            items = [
                e.as_dict()
                for e in dev.audit
                if e.seq > since and (part is None or part in e.partitions)
            ]
            return Result(200, {"items": items})
        if op == "members-down":
            if method == "PUT":
                dev.down_addresses = _addresses(body, "addresses")
            elif method in ("PATCH", "POST"):
                add, remove = _addresses(body, "add"), _addresses(body, "remove")
                dev.down_addresses = (dev.down_addresses | add) - remove
            elif method == "DELETE":
                dev.down_addresses.clear()
            return Result(200, {"addresses": sorted(dev.down_addresses)})
        if op == "autosync" and method in ("PUT", "PATCH", "POST"):
            enabled = body.get("enabled", body.get("autoSync") == "enabled")
            targets = dev.peers or [dev]
            for d in targets:
                d.set_auto_sync(bool(enabled))
            return Result(200, {"autoSync": "enabled" if enabled else "disabled"})
        if op == "save" and method == "POST":
            self.cluster.save_now()
            return Result(200, {"saved": True})
        raise errors.IcrError(404, f"unknown simulator control endpoint /sim/{op} ({method})", 1)


def _addresses(body: dict[str, Any], key: str) -> set[str]:
    """A list of addresses from a `/sim/members-down` body (a bare string is refused: it would
    read as one address per character)."""
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
        raise errors.bad_value(f"{key} must be a list of addresses")
    return set(value)


def _fault_value(key: str, value: Any, current: Any) -> Any:
    """A fault setting converted to its type; finite, not negative, rates at most 1."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise errors.bad_value(f"{key} must be a number")
    number = type(current)(value)
    if not math.isfinite(number) or number < 0 or (key.endswith("Rate") and number > 1):
        raise errors.bad_value(f"{key} is out of range: {value}")
    if key == "errorStatus" and not 100 <= number <= 599:
        raise errors.bad_value(f"{key} must be an HTTP status: {value}")
    return number
