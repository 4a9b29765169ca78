"""The engine's device-side shape: BIG-IP objects of one partition, keyed by (kind, name).

``render`` produces a ``DeviceConfig`` from desired state and ``normalize`` produces one from what a
device returns, so ``diff`` compares like with like. Bodies hold only the attributes we manage, in a
canonical form (sorted lists, full paths, ``enabled``/``disabled`` pairs reduced to one key).

Must not: do I/O, know URLs beyond the collection path of each kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Body = Mapping[str, Any]


class Kind(StrEnum):
    """Object kinds we manage; the value is the iControl REST collection path under /mgmt/tm."""

    FOLDER = "sys/folder"
    MONITOR_HTTP = "ltm/monitor/http"
    MONITOR_HTTPS = "ltm/monitor/https"
    MONITOR_TCP = "ltm/monitor/tcp"
    MONITOR_ICMP = "ltm/monitor/gateway-icmp"
    MONITOR_UDP = "ltm/monitor/udp"
    MONITOR_SCTP = "ltm/monitor/sctp"
    RULE = "ltm/rule"
    PERSISTENCE_UNIVERSAL = "ltm/persistence/universal"
    PERSISTENCE_HASH = "ltm/persistence/hash"
    PERSISTENCE_SOURCE_ADDR = "ltm/persistence/source-addr"
    PROFILE_HTTP = "ltm/profile/http"
    PROFILE_TCP = "ltm/profile/tcp"
    NODE = "ltm/node"
    POOL = "ltm/pool"
    VIRTUAL_ADDRESS = "ltm/virtual-address"
    POLICY = "ltm/policy"
    VIRTUAL = "ltm/virtual"
    # TLS (engine/tls.py): files created from uploads, and the profiles that use them.
    SSL_CERT = "sys/file/ssl-cert"
    SSL_KEY = "sys/file/ssl-key"
    SSL_CRL = "sys/file/ssl-crl"
    PROFILE_CLIENT_SSL = "ltm/profile/client-ssl"
    PROFILE_SERVER_SSL = "ltm/profile/server-ssl"
    # L2/L3 mode (engine/network.py): tenant networking, inside the partition.
    VLAN = "net/vlan"
    TUNNEL = "net/tunnels/tunnel"
    ROUTE_DOMAIN = "net/route-domain"
    # The partition's default route domain (``auth/partition`` ``defaultRouteDomain``): one
    # object named after the partition, present when the default is not 0. Never POSTed or
    # DELETEd: created and changed with a PATCH, "deleted" by a PATCH back to 0.
    PARTITION_DEFAULT_RD = "auth/partition"
    # A tunnel's forwarding database (the device makes it with the tunnel): present when it
    # has records; written with a PATCH of ``records``, "deleted" by a PATCH to no records.
    FDB_TUNNEL = "net/fdb/tunnel"
    SELF_IP = "net/self"
    ROUTE = "net/route"
    SNAT_TRANSLATION = "ltm/snat-translation"
    SNATPOOL = "ltm/snatpool"


# Dependency rank: an object only references objects of a lower rank. Creates and updates run in
# ascending rank, deletes in descending rank.
RANK: Mapping[Kind, int] = {
    Kind.FOLDER: 0,
    # L2/L3 networking first: VLAN/tunnel -> route domain (lists them) -> the partition's
    # default route domain and tunnel FDB records -> self IPs (on a VLAN of their route domain)
    # -> routes (via a gateway on a self IP's subnet) -> SNAT translations -> SNAT pool.
    # Deleting runs the other way: the partition's default goes back to 0 before its route
    # domain is deleted, and a VLAN goes only after its self IPs and its route domain.
    Kind.VLAN: 1,
    Kind.TUNNEL: 1,
    Kind.ROUTE_DOMAIN: 2,
    Kind.PARTITION_DEFAULT_RD: 3,
    Kind.FDB_TUNNEL: 3,
    Kind.SELF_IP: 4,
    Kind.ROUTE: 5,
    Kind.SNAT_TRANSLATION: 6,
    Kind.SNATPOOL: 7,
    Kind.MONITOR_HTTP: 11,
    Kind.MONITOR_HTTPS: 11,
    Kind.MONITOR_TCP: 11,
    Kind.MONITOR_ICMP: 11,
    Kind.MONITOR_UDP: 11,
    Kind.MONITOR_SCTP: 11,
    Kind.RULE: 12,
    Kind.PERSISTENCE_UNIVERSAL: 13,
    Kind.PERSISTENCE_HASH: 13,
    Kind.PERSISTENCE_SOURCE_ADDR: 13,
    Kind.PROFILE_HTTP: 13,
    Kind.PROFILE_TCP: 13,
    Kind.NODE: 14,
    Kind.POOL: 15,
    Kind.VIRTUAL_ADDRESS: 16,
    Kind.POLICY: 17,
    Kind.VIRTUAL: 18,
    Kind.SSL_CERT: 11,
    Kind.SSL_KEY: 11,
    Kind.SSL_CRL: 11,
    Kind.PROFILE_CLIENT_SSL: 13,
    Kind.PROFILE_SERVER_SSL: 13,
}

# Kinds created from an uploaded file (``Rendered.files`` holds the content to upload).
FILE_KINDS: frozenset[Kind] = frozenset({Kind.SSL_CERT, Kind.SSL_KEY, Kind.SSL_CRL})
TLS_KINDS: frozenset[Kind] = FILE_KINDS | {Kind.PROFILE_CLIENT_SSL, Kind.PROFILE_SERVER_SSL}
# Kinds most partitions have none of (TLS; UDP/SCTP monitors; the persistence profiles of
# SOURCE_IP_PORT and UDP/SCTP pools): ``device.observe`` lists them only when the desired state has
# some, or an object it listed refers to one it did not, so a partition without them costs no
# GET for them.
OPTIONAL_KINDS: frozenset[Kind] = TLS_KINDS | {
    Kind.MONITOR_UDP,
    Kind.MONITOR_SCTP,
    Kind.PERSISTENCE_HASH,
    Kind.PERSISTENCE_SOURCE_ADDR,
}

# L2/L3 networking kinds (engine/network.py). ``device.observe`` lists them only in L2/L3 mode
# (``Rendered.network``), so a routed partition's cold read costs no GET for them.
NET_KINDS: frozenset[Kind] = frozenset({
    Kind.VLAN, Kind.TUNNEL, Kind.ROUTE_DOMAIN, Kind.PARTITION_DEFAULT_RD, Kind.FDB_TUNNEL,
    Kind.SELF_IP, Kind.ROUTE, Kind.SNAT_TRANSLATION, Kind.SNATPOOL,
})
# Kinds written only with a PATCH of an object the device owns (``device.apply``).
PATCH_KINDS: frozenset[Kind] = frozenset({Kind.PARTITION_DEFAULT_RD, Kind.FDB_TUNNEL})

# Kinds that live inside the partition and are listed with one collection GET each (the
# networking ones only in L2/L3 mode; the partition's default is one GET of the partition).
PARTITION_KINDS: tuple[Kind, ...] = tuple(
    k for k in Kind if k is not Kind.FOLDER and k not in NET_KINDS
)
NET_COLLECTION_KINDS: tuple[Kind, ...] = tuple(
    k for k in Kind if k in NET_KINDS and k is not Kind.PARTITION_DEFAULT_RD
)

ObjKey = tuple[Kind, str]


@dataclass(frozen=True)
class DeviceObject:
    kind: Kind
    name: str
    body: Body = field(default_factory=dict)
    owner: str | None = None  # the Octavia object id a failure on this object is reported against

    @property
    def key(self) -> ObjKey:
        return (self.kind, self.name)


@dataclass(frozen=True)
class DeviceConfig:
    """One partition's BIG-IP objects. ``objects`` is empty when the partition does not exist."""

    partition: str
    objects: Mapping[ObjKey, DeviceObject] = field(default_factory=dict)

    def get(self, kind: Kind, name: str) -> DeviceObject | None:
        return self.objects.get((kind, name))

    def of_kind(self, kind: Kind) -> list[DeviceObject]:
        return [o for o in self.objects.values() if o.kind is kind]


@dataclass(frozen=True)
class ObjectFailure:
    """An Octavia object the engine or a device could not realise, with a reason for operators.

    The one failure type from render to the database: ``render`` makes one for what it cannot
    express, ``device.converge`` for what a device rejected, and ``db.outcomes`` writes it as the
    object's ERROR status. ``object_id`` is always an Octavia object id of the partition."""

    object_id: str
    reason: str


@dataclass(frozen=True)
class Rendered:
    config: DeviceConfig
    failures: tuple[ObjectFailure, ...] = ()
    # Objects that must be left exactly as they are (their Octavia object failed to render).
    hold: frozenset[ObjKey] = frozenset()
    # The content of each object of a FILE_KINDS kind, to upload before it is created or
    # changed: PEM certificates, CRLs and private keys. In memory only, for one reconcile;
    # never shown (repr) or logged.
    files: Mapping[ObjKey, bytes] = field(default_factory=dict, repr=False)
    # L2/L3 mode: the objects that differ per device (a non-floating self IP, a tunnel with
    # that device's VTEP), by device name; ``for_device`` lays them over ``config``. ``network``:
    # rendered in L2/L3 mode, so the networking kinds are observed even when none is desired
    # (the last load balancer of a network went: its networking must go too).
    per_device: Mapping[str, tuple[DeviceObject, ...]] = field(default_factory=dict)
    network: bool = False

    def for_device(self, name: str) -> Rendered:
        """What device ``name`` should hold: the shared objects with its own laid over them."""
        own = self.per_device.get(name, ())
        if not own and not self.per_device:
            return self
        objects = dict(self.config.objects)
        objects.update((o.key, o) for o in own)
        return Rendered(
            DeviceConfig(self.config.partition, objects), self.failures, self.hold, self.files,
            {}, self.network,
        )


def make_config(partition: str, objects: list[DeviceObject]) -> DeviceConfig:
    return DeviceConfig(partition, {o.key: o for o in objects})
