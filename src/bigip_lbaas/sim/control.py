"""The `/sim/...` control API used by tests and benchmarks (authenticated like `/mgmt`).

Owns the endpoints that steer and observe simulated devices: fault settings, down/up, wipe,
request counters, the audit log, the monitor rule's down-address set, auto-sync and a state
summary. `/sim/<op>` acts on the device that received the request; `/sim/devices/<n>/<op>`
acts on device n (1-based), so a device that refuses connections can be steered through a peer.
"""

from __future__ import annotations

from typing import Protocol
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
            try:
                dev = self.cluster.devices[int(segs[1]) - 1]
            except (ValueError, IndexError) as exc:
                raise errors.IcrError(404, f"no simulated device {segs[1]}", 1) from exc
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
                    current = getattr(dev.faults, key)
                    setattr(dev.faults, key, type(current)(value))
            elif method == "DELETE":
                dev.faults = type(dev.faults)()
            return Result(200, dev.faults.as_dict())
        if op == "down" and method == "POST":
            mode = str(body.get("mode", "refuse"))
            if mode not in DOWN_MODES:
                raise errors.bad_value(f"mode must be one of {', '.join(DOWN_MODES)}")
            seconds = body.get("seconds")
            await self.cluster.set_down(dev, mode, float(seconds) if seconds else None)
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
            return Result(
                200, {"methods": dict(dev.counters), "statuses": dict(dev.status_counters)}
            )
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
                dev.down_addresses = {str(a) for a in body.get("addresses", [])}
            elif method in ("PATCH", "POST"):
                dev.down_addresses |= {str(a) for a in body.get("add", [])}
                dev.down_addresses -= {str(a) for a in body.get("remove", [])}
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
