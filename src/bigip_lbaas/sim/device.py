"""One simulated BIG-IP: identity, configuration, auth, faults and the instruments tests read.

Owns a device's hostname, serial and management address; its `Store` (seeded with the
built-in `/Common` objects and the `cm` view of the whole cluster); its token table and
transactions; the fault settings (latency, error rate, hangs, down modes); request counters;
the audit log of writes; the "down" address set of the monitor rule; config-sync state.
"""

from __future__ import annotations

import collections
import datetime
import itertools
import time
from dataclasses import asdict, dataclass
from typing import Any

from bigip_lbaas.sim import files, persist, rules
from bigip_lbaas.sim.auth import Auth
from bigip_lbaas.sim.names import address_key
from bigip_lbaas.sim.render import View
from bigip_lbaas.sim.store import Obj
from bigip_lbaas.sim.tm import Tm
from bigip_lbaas.sim.transactions import Transactions

AUDIT_MAX = 200_000
DEVICE_GROUP = "sync-failover-group"


@dataclass
class Faults:
    """Fault injection settings; all zero means a healthy device."""

    latencyMs: float = 0.0  # noqa: N815 - JSON field names of the /sim API
    errorRate: float = 0.0  # noqa: N815
    errorStatus: int = 503  # noqa: N815
    hangRate: float = 0.0  # noqa: N815
    hangSeconds: float = 0.0  # noqa: N815

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuditEntry:
    """One write as the device saw it."""

    seq: int
    start: float
    end: float
    wall: float
    method: str
    path: str
    partition: str | None
    partitions: list[str]
    status: int
    userAgent: str  # noqa: N815
    clientId: str | None  # noqa: N815
    transaction: int | None = None
    commands: int = 0
    # a transaction commit: when the transaction was created (monotonic, like `start`)
    txStart: float | None = None  # noqa: N815

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["wallTime"] = datetime.datetime.fromtimestamp(self.wall, datetime.UTC).isoformat()
        return d


class Device:
    """A simulated BIG-IP (one of `count` in a sync-failover cluster)."""

    def __init__(self, index: int, count: int, username: str, password: str, version: str) -> None:
        self.index = index
        self.count = count
        self.version = version
        self.build = "0.0.6"
        self.name = device_name(index)
        self.hostname = self.name
        self.global_settings: dict[str, Any] = {}  # sys/global-settings changed from defaults
        self.serial = f"sim-{index:04d}-0000-0000-{index:012d}"
        self.management_ip = f"192.0.2.{10 + index}"
        self.base_mac = f"00:94:a1:00:00:{index:02x}"
        self.url = ""
        self.port = 0
        self.down_mode: str | None = None
        self.faults = Faults()
        self.counters: collections.Counter[str] = collections.Counter()
        self.status_counters: collections.Counter[str] = collections.Counter()
        # how /mgmt requests authenticated: "basic", "token", and "login" attempts
        self.auth_counters: collections.Counter[str] = collections.Counter()
        # False: a device without token auth, whose login URI is not registered (404)
        self.token_login = True
        self.audit: collections.deque[AuditEntry] = collections.deque(maxlen=AUDIT_MAX)
        self._audit_seq = itertools.count(1)
        self.down_addresses: set[str] = set()
        self.dirty = False
        self.changes_pending = False
        self.peers: list[Device] = []
        self.store = rules.new_store()
        self.view = View(version, self.is_address_down, self.store)
        self.tm = Tm(self.store, self.view, self, self.mark_dirty)
        self.auth = Auth(username, password)
        self.transactions = Transactions(version)
        self._seed()

    # -- identity and cm ---------------------------------------------------------------------
    def _seed(self) -> None:
        rules.seed(self.store)
        self._seed_system()
        for i in range(1, self.count + 1):
            name = device_name(i)
            self.store.put(
                Obj(
                    "cm/device",
                    "Common",
                    "",
                    name,
                    f"/Common/{name}",
                    {
                        "hostname": name,
                        "selfDevice": "true" if i == self.index else "false",
                        "failoverState": "active" if i == 1 else "standby",
                        "version": self.version,
                        "build": self.build,
                        "edition": "Final",
                        "product": "BIG-IP",
                        "marketingName": "BIG-IP Virtual Edition",
                        "platformId": "Z100",
                        "managementIp": f"192.0.2.{10 + i}",
                        "configsyncIp": f"198.51.100.{10 + i}",
                        "mirrorIp": f"198.51.100.{10 + i}",
                        "mirrorSecondaryIp": "any6",
                        "unicastAddress": [
                            {
                                "effectiveIp": f"198.51.100.{10 + i}",
                                "effectivePort": 1026,
                                "ip": f"198.51.100.{10 + i}",
                                "port": 1026,
                            }
                        ],
                        "chassisId": f"sim-{i:04d}-0000-0000-{i:012d}",
                        "baseMac": f"00:94:a1:00:00:{i:02x}",
                        "timeZone": "UTC",
                        "activeModules": ["BIG-IP, VE|LTM"],
                        "haCapacity": 0,
                        "multicastInterface": "eth0",
                        "multicastIp": "any6",
                        "multicastPort": 0,
                        "timeLimitedModules": [],
                        "optionalModules": [],
                    },
                    1,
                    builtin=True,
                )
            )
        if self.count > 1:
            members = {
                f"/Common/{device_name(i)}": Obj(
                    "cm/device-group/devices",
                    "Common",
                    "",
                    device_name(i),
                    f"/Common/{device_name(i)}",
                    {},
                    1,
                )
                for i in range(1, self.count + 1)
            }
            self.store.put(
                Obj(
                    "cm/device-group",
                    "Common",
                    "",
                    DEVICE_GROUP,
                    f"/Common/{DEVICE_GROUP}",
                    {},
                    1,
                    builtin=True,
                    children={"devices": members},
                )
            )
        self.store.generation = 1

    def _seed_system(self) -> None:
        """This device's `sys/db` variables and network interfaces."""
        db = {
            # F5's agent refuses a device below 500 ("not provisioned for management LARGE")
            "provision.extramb": ("500", "0", "integer min:0 max:8192"),
            "failover.state": ("active" if self.index == 1 else "standby", "active",
                               "active standby offline forced-offline"),
            "iptunnel.configsync": ("enable", "enable", "enable disable"),
        }
        for name, (value, default, value_range) in db.items():
            variable = {"value": value, "defaultValue": default, "valueRange": value_range}
            self.store.put(Obj("sys/db", "Common", "", name, f"/Common/{name}", variable, 1,
                               builtin=True))
        for i, name in enumerate(("1.1", "1.2", "mgmt"), start=1):
            mac = f"00:94:a1:{self.index:02x}:00:{i:02x}"
            props: dict[str, Any] = {"ifIndex": 32 * i, "macAddress": mac,
                                     "mediaActive": "10000T-FD"}
            self.store.put(Obj("net/interface", "Common", "", name, f"/Common/{name}", props, 1,
                               builtin=True))

    def sync_status(self) -> tuple[str, str, str, str]:
        if self.count == 1:
            return "green", "standalone", "Standalone", " "
        group = self.store.get("cm/device-group", f"/Common/{DEVICE_GROUP}")
        if group is not None and group.props.get("autoSync") == "enabled":
            return (
                "green",
                "high-availability",
                "In Sync",
                "All devices in the device group are in sync",
            )
        if self.changes_pending:
            return (
                "yellow",
                "high-availability",
                "Changes Pending",
                "There is a possible change conflict between "
                + ", ".join(device_name(i) for i in range(1, self.count + 1))
                + ".",
            )
        return (
            "green",
            "high-availability",
            "In Sync",
            "All devices in the device group are in sync",
        )

    def config_sync(self, group: str) -> None:
        """`config-sync to-group`: copy this device's configuration onto every peer (its
        certificates and keys included, its upload directory not)."""
        if group.strip("/").split("/")[-1] == DEVICE_GROUP:
            snapshot = persist.dump_store(self.store, skip_prefix=("cm/", files.UPLOAD))
            for peer in self.peers:
                if peer is self:
                    continue
                peer.replace_config(snapshot)
        for peer in self.peers:
            peer.changes_pending = False
        self.changes_pending = False

    def replace_config(self, snapshot: dict[str, Any]) -> None:
        keep = [
            o
            for coll in self.store.objs.values()
            for o in coll.values()
            if o.rtype.startswith("cm/") or o.rtype == files.UPLOAD
        ]
        self.store.clear()
        persist.load_store(self.store, snapshot)
        for o in keep:
            self.store.put(o)
        self.mark_dirty(pending=False)

    def save_config(self) -> None:
        self.dirty = True

    def set_auto_sync(self, enabled: bool) -> None:
        group = self.store.get("cm/device-group", f"/Common/{DEVICE_GROUP}")
        if group is None:
            return
        clone = group.clone()
        clone.props["autoSync"] = "enabled" if enabled else "disabled"
        self.store.put(clone)

    # -- instruments -------------------------------------------------------------------------
    def mark_dirty(self, pending: bool = True) -> None:
        """A write: the state file is due and, in a cluster without autoSync, the whole
        sync-failover group has changes pending (every member reports the group's state)."""
        self.dirty = True
        if pending and self.count > 1:
            group = self.store.get("cm/device-group", f"/Common/{DEVICE_GROUP}")
            if group is not None and group.props.get("autoSync") == "enabled":
                return
            for dev in self.peers or [self]:
                dev.changes_pending = True

    def is_address_down(self, address: str) -> bool:
        if not self.down_addresses:
            return False
        return (
            address in self.down_addresses
            or address_key(address) in self.down_addresses
            or address.split("%", 1)[0] in self.down_addresses
        )

    def record(
        self,
        start: float,
        method: str,
        path: str,
        partitions: set[str],
        status: int,
        headers: dict[str, str],
        transaction: int | None = None,
        commands: int = 0,
        tx_start: float | None = None,
    ) -> None:
        parts = sorted(p for p in partitions if p)
        self.audit.append(
            AuditEntry(
                next(self._audit_seq),
                start,
                time.monotonic(),
                time.time(),
                method,
                path,
                parts[0] if len(parts) == 1 else (None if not parts else parts[0]),
                parts,
                status,
                headers.get("user-agent", ""),
                headers.get("x-client-id"),
                transaction,
                commands,
                tx_start,
            )
        )

    def wipe(self) -> None:
        """Back to factory state, as if the box had been replaced."""
        self.store.clear()
        self._seed()
        self.hostname = self.name
        self.global_settings.clear()
        self.auth.reset()
        self.transactions.reset()
        self.changes_pending = False
        self.mark_dirty(pending=False)
        self.record(time.monotonic(), "WIPE", "/sim/wipe", set(), 200, {})

    def info(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "hostname": self.hostname,
            "url": self.url,
            "port": self.port,
            "serial": self.serial,
            "managementIp": self.management_ip,
            "version": self.version,
            "down": self.down_mode,
            "faults": self.faults.as_dict(),
            "generation": self.store.generation,
            "objects": self.store.count(),
            "memberDownAddresses": sorted(self.down_addresses),
            "syncStatus": self.sync_status()[2],
        }

    def device_info(self) -> dict[str, Any]:
        """`/mgmt/shared/identified-devices/config/device-info`."""
        return {
            "baseMac": self.base_mac,
            "build": self.build,
            "chassisSerialNumber": self.serial,
            "hostname": self.hostname,
            "machineId": self.serial,
            "managementAddress": self.management_ip,
            "platform": "Z100",
            "product": "BIG-IP",
            "version": self.version,
            "edition": "Final",
            "kind": "shared:resolver:device-groups:deviceinfostate",
            "selfLink": "https://localhost/mgmt/shared/identified-devices/config/device-info",
        }


def device_name(index: int) -> str:
    return f"bigip{index}.sim.local"
