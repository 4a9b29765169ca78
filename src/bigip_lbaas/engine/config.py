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


# Dependency rank: an object only references objects of a lower rank. Creates and updates run in
# ascending rank, deletes in descending rank.
RANK: Mapping[Kind, int] = {
    Kind.FOLDER: 0,
    Kind.MONITOR_HTTP: 1,
    Kind.MONITOR_HTTPS: 1,
    Kind.MONITOR_TCP: 1,
    Kind.MONITOR_ICMP: 1,
    Kind.MONITOR_UDP: 1,
    Kind.MONITOR_SCTP: 1,
    Kind.RULE: 2,
    Kind.PERSISTENCE_UNIVERSAL: 3,
    Kind.PERSISTENCE_HASH: 3,
    Kind.PERSISTENCE_SOURCE_ADDR: 3,
    Kind.PROFILE_HTTP: 3,
    Kind.PROFILE_TCP: 3,
    Kind.NODE: 4,
    Kind.POOL: 5,
    Kind.VIRTUAL_ADDRESS: 6,
    Kind.POLICY: 7,
    Kind.VIRTUAL: 8,
    Kind.SSL_CERT: 1,
    Kind.SSL_KEY: 1,
    Kind.SSL_CRL: 1,
    Kind.PROFILE_CLIENT_SSL: 3,
    Kind.PROFILE_SERVER_SSL: 3,
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

# Kinds that live inside the partition and are listed with one collection GET each.
PARTITION_KINDS: tuple[Kind, ...] = tuple(k for k in Kind if k is not Kind.FOLDER)

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


def make_config(partition: str, objects: list[DeviceObject]) -> DeviceConfig:
    return DeviceConfig(partition, {o.key: o for o in objects})
