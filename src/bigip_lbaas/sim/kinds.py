"""The table of simulated resource types: URL path, `kind`, label, defaults, subcollections.

Owns the static facts about each collection (`ltm/pool`, `ltm/pool/members`, ...): the exact
`kind` strings, the label used in mcpd error messages, the default properties a fresh object
shows, which extra properties are writable, and the reference group used for integrity rules.
Behaviour (validation, side effects) lives in `rules.py`; this module is data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ResType:
    """One collection of objects under `/mgmt/tm/`."""

    path: str
    label: str
    group: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    extra: frozenset[str] = frozenset()
    subcollections: Mapping[str, ResType] = field(default_factory=dict)
    partitioned: bool = True
    stats: bool = False
    builtin_only: bool = False
    open_fields: bool = False

    @property
    def segments(self) -> list[str]:
        return self.path.split("/")

    @property
    def last(self) -> str:
        return self.segments[-1]

    @property
    def kind(self) -> str:
        return "tm:" + ":".join(self.segments) + ":" + self.last + "state"

    @property
    def collection_kind(self) -> str:
        return "tm:" + ":".join(self.segments) + ":" + self.last + "collectionstate"

    @property
    def stats_kind(self) -> str:
        return "tm:" + ":".join(self.segments) + ":" + self.last + "stats"

    @property
    def collection_stats_kind(self) -> str:
        return "tm:" + ":".join(self.segments) + ":" + self.last + "collectionstats"

    def writable(self, key: str) -> bool:
        return self.open_fields or key in self.defaults or key in self.extra


def _ro(d: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(d)


META = frozenset(
    {"kind", "name", "partition", "subPath", "fullPath", "generation", "selfLink", "appService"}
)

MEMBER = ResType(
    "ltm/pool/members",
    "Pool Member",
    "member",
    _ro(
        {
            "connectionLimit": 0,
            "dynamicRatio": 1,
            "ephemeral": "false",
            "fqdn": {"autopopulate": "disabled"},
            "inheritProfile": "enabled",
            "logging": "disabled",
            "monitor": "default",
            "priorityGroup": 0,
            "rateLimit": "disabled",
            "ratio": 1,
            "session": "user-enabled",
            "state": "unchecked",
        }
    ),
    frozenset({"address", "description", "profiles", "metadata"}),
)

POOL = ResType(
    "ltm/pool",
    "Pool",
    "pool",
    _ro(
        {
            "allowNat": "yes",
            "allowSnat": "yes",
            "ignorePersistedWeight": "disabled",
            "ipTosToClient": "pass-through",
            "ipTosToServer": "pass-through",
            "linkQosToClient": "pass-through",
            "linkQosToServer": "pass-through",
            "loadBalancingMode": "round-robin",
            "minActiveMembers": 0,
            "minUpMembers": 0,
            "minUpMembersAction": "failover",
            "minUpMembersChecking": "disabled",
            "queueDepthLimit": 0,
            "queueOnConnectionLimit": "disabled",
            "queueTimeLimit": 0,
            "reselectTries": 0,
            "serviceDownAction": "none",
            "slowRampTime": 10,
        }
    ),
    frozenset({"description", "monitor", "members", "metadata"}),
    _ro({"members": MEMBER}),
    stats=True,
)

NODE = ResType(
    "ltm/node",
    "Node",
    "node",
    _ro(
        {
            "address": "",
            "connectionLimit": 0,
            "dynamicRatio": 1,
            "ephemeral": "false",
            "fqdn": {
                "addressFamily": "ipv4",
                "autopopulate": "disabled",
                "downInterval": 5,
                "interval": "3600",
            },
            "logging": "disabled",
            "monitor": "default",
            "rateLimit": "disabled",
            "ratio": 1,
            "session": "user-enabled",
            "state": "unchecked",
        }
    ),
    frozenset({"description", "metadata"}),
    stats=True,
)

VIRTUAL_PROFILE = ResType(
    "ltm/virtual/profiles", "Profile", "virtual-profile", _ro({"context": "all"})
)
VIRTUAL_POLICY = ResType("ltm/virtual/policies", "Policy", "virtual-policy")

VIRTUAL = ResType(
    "ltm/virtual",
    "Virtual Server",
    "virtual",
    _ro(
        {
            "addressStatus": "yes",
            "autoLasthop": "default",
            "cmpEnabled": "yes",
            "connectionLimit": 0,
            "destination": "",
            "enabled": True,
            "evictionProtected": "disabled",
            "gtmScore": 0,
            "ipProtocol": "tcp",
            "mask": "255.255.255.255",
            "mirror": "disabled",
            "mobileAppTunnel": "disabled",
            "nat64": "disabled",
            "rateLimit": "disabled",
            "rateLimitDstMask": 0,
            "rateLimitMode": "object",
            "rateLimitSrcMask": 0,
            "serviceDownImmediateAction": "none",
            "source": "0.0.0.0/0",
            "sourceAddressTranslation": {"type": "none"},
            "sourcePort": "preserve",
            "synCookieStatus": "not-activated",
            "translateAddress": "enabled",
            "translatePort": "enabled",
            "vlansDisabled": True,
            "vsIndex": 0,
        }
    ),
    frozenset(
        {
            "description",
            "pool",
            "rules",
            "persist",
            "fallbackPersistence",
            "profiles",
            "policies",
            "vlans",
            "vlansEnabled",
            "disabled",
            "metadata",
            "creationTime",
            "lastModifiedTime",
            "securityLogProfiles",
        }
    ),
    _ro({"profiles": VIRTUAL_PROFILE, "policies": VIRTUAL_POLICY}),
    stats=True,
)

VIRTUAL_ADDRESS = ResType(
    "ltm/virtual-address",
    "Virtual Address",
    "virtual-address",
    _ro(
        {
            "address": "",
            "arp": "enabled",
            "autoDelete": "true",
            "connectionLimit": 0,
            "enabled": "yes",
            "floating": "enabled",
            "icmpEcho": "enabled",
            "inheritedTrafficGroup": "false",
            "mask": "255.255.255.255",
            "routeAdvertisement": "disabled",
            "serverScope": "any",
            "spanning": "disabled",
            "trafficGroup": "/Common/traffic-group-1",
            "unit": 1,
        }
    ),
    frozenset({"description", "metadata"}),
)


def _monitor(kind: str, extra_defaults: dict[str, Any]) -> ResType:
    base: dict[str, Any] = {
        "defaultsFrom": "",
        "destination": "*:*",
        "interval": 5,
        "ipDscp": 0,
        "manualResume": "disabled",
        "timeUntilUp": 0,
        "timeout": 16,
        "upInterval": 0,
    }
    base.update(extra_defaults)
    return ResType(
        f"ltm/monitor/{kind}",
        "Monitor",
        "monitor",
        _ro(base),
        frozenset({"description", "username", "password", "recvDisable", "adaptive", "metadata"}),
    )


_HTTPMON = {"recv": "none", "reverse": "disabled", "send": "GET /\\r\\n", "transparent": "disabled"}
MONITORS = {
    "http": _monitor("http", dict(_HTTPMON)),
    "https": _monitor(
        "https",
        dict(
            _HTTPMON, cipherlist="DEFAULT:+SHA:+3DES:+kEDH", compatibility="enabled", sslProfile=""
        ),
    ),
    "tcp": _monitor(
        "tcp", {"recv": "none", "reverse": "disabled", "send": "", "transparent": "disabled"}
    ),
    "gateway-icmp": _monitor("gateway-icmp", {"transparent": "disabled"}),
    "icmp": _monitor("icmp", {"transparent": "disabled"}),
    "udp": _monitor(
        "udp",
        {"recv": "none", "reverse": "disabled", "send": "default send string",
         "transparent": "disabled"},
    ),
    "sctp": _monitor("sctp", {"transparent": "disabled"}),
}


def _profile(
    kind: str, extra_defaults: dict[str, Any], extra: frozenset[str] = frozenset()
) -> ResType:
    base: dict[str, Any] = {"defaultsFrom": "", "appService": "none"}
    base.update(extra_defaults)
    return ResType(
        f"ltm/profile/{kind}",
        "Profile",
        "profile",
        _ro(base),
        frozenset({"description", "metadata"}) | extra,
    )


PROFILES = {
    "http": _profile(
        "http",
        {
            "acceptXff": "disabled",
            "insertXforwardedFor": "disabled",
            "oneconnectTransformations": "enabled",
            "proxyType": "reverse",
            "redirectRewrite": "none",
            "serverAgentName": "BigIP",
        },
        frozenset(
            {
                "fallbackHost",
                "fallbackStatusCodes",
                "headerInsert",
                "headerErase",
                "enforcement",
                "hsts",
                "xffAlternativeNames",
            }
        ),
    ),
    "tcp": _profile(
        "tcp",
        {"idleTimeout": 300, "nagle": "auto", "congestionControl": "high-speed",
         "synMaxRetrans": 3, "synRtoBase": 3000},
        frozenset({"keepAliveInterval"}),
    ),
    "client-ssl": _profile(
        "client-ssl",
        {
            "authenticate": "once",
            "authenticateDepth": 9,
            "caFile": "none",
            "cert": "/Common/default.crt",
            "certKeyChain": [
                {"name": "default", "cert": "/Common/default.crt", "chain": "none",
                 "key": "/Common/default.key"}
            ],
            "chain": "none",
            "cipherGroup": "none",
            "ciphers": "DEFAULT",
            "clientCertCa": "none",
            "crlFile": "none",
            "inheritCertkeychain": "true",
            "key": "/Common/default.key",
            "peerCertMode": "ignore",
            "renegotiation": "enabled",
            "secureRenegotiation": "require",
            "serverName": "none",
            "sniDefault": "false",
            "sniRequire": "false",
            "tmOptions": ["dont-insert-empty-fragments", "no-tlsv1.3"],
        },
        frozenset({"options", "passphrase", "alpn"}),
    ),
    "server-ssl": _profile(
        "server-ssl",
        {
            "authenticate": "once",
            "authenticateDepth": 9,
            "authenticateName": "none",
            "caFile": "none",
            "cert": "none",
            "chain": "none",
            "cipherGroup": "none",
            "ciphers": "DEFAULT",
            "crlFile": "none",
            "key": "none",
            "peerCertMode": "ignore",
            "renegotiation": "enabled",
            "secureRenegotiation": "require-strict",
            "serverName": "none",
            "sniDefault": "false",
            "sniRequire": "false",
            "tmOptions": ["dont-insert-empty-fragments", "no-tlsv1.3"],
        },
        frozenset({"options", "passphrase", "alpn"}),
    ),
    "fastl4": _profile("fastl4", {"idleTimeout": "300"}),
    "one-connect": _profile(
        "one-connect", {"maxReuse": 1000, "maxSize": 10000, "sourceMask": "any"}
    ),
    "udp": _profile("udp", {"idleTimeout": "60"}),
    "sctp": _profile("sctp", {"idleTimeout": 300}),
}


def _persistence(kind: str, extra_defaults: dict[str, Any]) -> ResType:
    base: dict[str, Any] = {
        "defaultsFrom": "",
        "appService": "none",
        "matchAcrossPools": "disabled",
        "matchAcrossServices": "disabled",
        "matchAcrossVirtuals": "disabled",
        "mirror": "disabled",
        "overrideConnectionLimit": "disabled",
        "timeout": "180",
    }
    base.update(extra_defaults)
    return ResType(
        f"ltm/persistence/{kind}",
        "Persistence Profile",
        "persistence",
        _ro(base),
        frozenset({"description", "rule", "metadata"}),
    )


PERSISTENCES = {
    "source-addr": _persistence("source-addr", {"hashAlgorithm": "default", "mask": "none"}),
    "cookie": _persistence(
        "cookie", {"method": "insert", "cookieName": "", "expiration": "0", "httponly": "enabled"}
    ),
    "dest-addr": _persistence("dest-addr", {"hashAlgorithm": "default", "mask": "none"}),
    "hash": _persistence("hash", {"hashAlgorithm": "default"}),
    "universal": _persistence("universal", {}),
    "ssl": _persistence("ssl", {}),
}

POLICY_ACTION = ResType(
    "ltm/policy/rules/actions",
    "Policy Action",
    "policy-action",
    _ro({}),
    frozenset(),
    partitioned=False,
    open_fields=True,
)
POLICY_CONDITION = ResType(
    "ltm/policy/rules/conditions",
    "Policy Condition",
    "policy-condition",
    _ro({}),
    frozenset(),
    partitioned=False,
    open_fields=True,
)
POLICY_RULE = ResType(
    "ltm/policy/rules",
    "Policy Rule",
    "policy-rule",
    _ro({"ordinal": 0}),
    frozenset({"description", "actions", "conditions"}),
    _ro({"actions": POLICY_ACTION, "conditions": POLICY_CONDITION}),
    partitioned=False,
)
POLICY = ResType(
    "ltm/policy",
    "Policy",
    "policy",
    _ro(
        {
            "controls": ["forwarding"],
            "lastModified": "",
            "requires": ["http"],
            "status": "published",
            "strategy": "/Common/first-match",
        }
    ),
    frozenset({"description", "rules", "legacy", "publishedCopy", "references", "metadata"}),
    _ro({"rules": POLICY_RULE}),
)

RULE = ResType(
    "ltm/rule",
    "rule",
    "rule",
    _ro({"apiAnonymous": ""}),
    frozenset({"description", "ignoreVerification", "metadata"}),
)

SNATPOOL = ResType(
    "ltm/snatpool",
    "SNAT Pool",
    "snatpool",
    _ro({"members": []}),
    frozenset({"description", "metadata"}),
)
SNAT_TRANSLATION = ResType(
    "ltm/snat-translation",
    "SNAT Translation",
    "snat-translation",
    _ro(
        {
            "address": "",
            "arp": "enabled",
            "connectionLimit": 0,
            "enabled": True,
            "inheritedTrafficGroup": "false",
            "ipIdleTimeout": "indefinite",
            "tcpIdleTimeout": "indefinite",
            "trafficGroup": "/Common/traffic-group-1",
            "udpIdleTimeout": "indefinite",
            "unit": 1,
        }
    ),
    frozenset({"description", "disabled", "metadata"}),
)

ROUTE_DOMAIN = ResType(
    "net/route-domain",
    "Route Domain",
    "route-domain",
    _ro(
        {
            "id": 0,
            "connectionLimit": 0,
            "flowEvictionPolicy": "/Common/default-eviction-policy",
            "strict": "enabled",
            "throughputCapacity": "none",
        }
    ),
    frozenset({"description", "vlans", "parent", "routingProtocol", "bwcPolicy", "metadata"}),
)

VLAN_INTERFACE = ResType(
    "net/vlan/interfaces",
    "VLAN Interface",
    "vlan-interface",
    _ro({}),
    frozenset({"tagged", "untagged", "tagMode"}),
    partitioned=False,
)
"""A VLAN's member interfaces: `{"name": "1.1", "tagged": true}` or `"untagged": true`; the
name must be one of the device's `net/interface` items."""
VLAN = ResType(
    "net/vlan",
    "VLAN",
    "vlan",
    _ro(
        {
            "autoLasthop": "default",
            "cmpHash": "default",
            "dagRoundRobin": "disabled",
            "failsafe": "disabled",
            "failsafeAction": "failover-restart-tm",
            "failsafeTimeout": 90,
            "ifIndex": 0,
            "learning": "enable-forward",
            "mtu": 1500,
            "sflow": {
                "pollInterval": 0,
                "pollIntervalGlobal": "yes",
                "samplingRate": 0,
                "samplingRateGlobal": "yes",
            },
            "sourceChecking": "disabled",
            "tag": 4094,
        }
    ),
    frozenset({"description", "interfaces", "metadata"}),
    _ro({"interfaces": VLAN_INTERFACE}),
)

SELF = ResType(
    "net/self",
    "Self IP",
    "self",
    _ro(
        {
            "address": "",
            "addressSource": "from-user",
            "floating": "disabled",
            "inheritedTrafficGroup": "false",
            "trafficGroup": "/Common/traffic-group-local-only",
            "unit": 0,
            "vlan": "",
        }
    ),
    frozenset({"allowService", "description", "metadata"}),
)

ROUTE = ResType(
    "net/route",
    "Route",
    "route",
    _ro({"mtu": 0, "network": ""}),
    frozenset({"gw", "tmInterface", "pool", "blackhole", "description", "metadata"}),
)
"""Static routes: `network` (`default`, `default%2`, `10.1.0.0%2/16`; immutable) and one of
`gw` (an address, `%rd` allowed), `tmInterface` (a VLAN or tunnel), `pool`, `blackhole`."""

TUNNEL = ResType(
    "net/tunnels/tunnel",
    "Tunnel",
    "vlan",
    _ro(
        {
            "autoLasthop": "default",
            "idleTimeout": 300,
            "ifIndex": 0,
            "key": 0,
            "localAddress": "any6",
            "mode": "bidirectional",
            "mtu": 0,
            "profile": "",
            "remoteAddress": "any6",
            "secondaryAddress": "any6",
            "tos": "preserve",
            "transparent": "disabled",
            "usePmtu": "enabled",
        }
    ),
    frozenset({"description", "trafficGroup", "metadata"}),
)
"""Tunnels (`profile`, `key`, `localAddress`, `remoteAddress`, `mode`, `mtu`). They share the
lookup group of VLANs: a self IP's `vlan`, a route domain's `vlans` and a route's
`tmInterface` may name a tunnel, and a VLAN and a tunnel cannot have the same name."""

TUNNEL_VXLAN = ResType(
    "net/tunnels/vxlan",
    "VXLAN Profile",
    "tunnel-profile",
    _ro(
        {
            "defaultsFrom": "",
            "appService": "none",
            "encapsulationType": "vxlan",
            "floodingType": "multipoint",
            "port": 4789,
        }
    ),
    frozenset({"description", "metadata"}),
)
TUNNEL_GRE = ResType(
    "net/tunnels/gre",
    "GRE Profile",
    "tunnel-profile",
    _ro(
        {
            "defaultsFrom": "",
            "appService": "none",
            "encapsulation": "standard",
            "floodingType": "none",
            "flowControlAlgorithm": "none",
        }
    ),
    frozenset({"description", "metadata"}),
)
"""Tunnel profiles: built-in `/Common/vxlan` and `/Common/gre`; operators derive
`vxlan_ovs`/`gre_ovs` from them (`defaultsFrom`, `floodingType`, `port`, `encapsulation`)."""

FDB_RECORD = ResType(
    "net/fdb/tunnel/records",
    "FDB Record",
    "fdb-record",
    _ro({}),
    frozenset({"endpoint", "description"}),
    partitioned=False,
)
FDB_TUNNEL = ResType(
    "net/fdb/tunnel",
    "FDB Tunnel",
    "fdb-tunnel",
    _ro({}),
    frozenset({"records"}),
    _ro({"records": FDB_RECORD}),
)
"""A tunnel's forwarding database: created with the tunnel and removed with it (clients only
load it and change its `records`, `{"name": <mac>, "endpoint": <vtep address>}`)."""

CM_DEVICE = ResType(
    "cm/device",
    "Device",
    "device",
    builtin_only=True,
    extra=frozenset({"description", "comment", "contact", "location"}),
)
CM_DG_DEVICE = ResType("cm/device-group/devices", "Device", "dg-device")
CM_DEVICE_GROUP = ResType(
    "cm/device-group",
    "Device Group",
    "device-group",
    _ro(
        {
            "asmSync": "disabled",
            "autoSync": "disabled",
            "fullLoadOnSync": "false",
            "incrementalConfigSyncSizeMax": 1024,
            "networkFailover": "enabled",
            "saveOnAutoSync": "false",
            "type": "sync-failover",
        }
    ),
    frozenset({"description"}),
    _ro({"devices": CM_DG_DEVICE}),
)
CM_TRAFFIC_GROUP = ResType(
    "cm/traffic-group",
    "Traffic Group",
    "traffic-group",
    _ro(
        {
            "autoFailbackEnabled": "false",
            "autoFailbackTime": 60,
            "failoverMethod": "ha-order",
            "haLoadFactor": 1,
            "isFloating": "true",
            "mac": "none",
            "unitId": 1,
        }
    ),
    frozenset({"description", "haOrder"}),
)

FOLDER = ResType(
    "sys/folder",
    "folder",
    "folder",
    _ro(
        {
            "deviceGroup": "none",
            "hidden": "false",
            "inheritedDevicegroup": "true",
            "inheritedTrafficGroup": "true",
            "noRefCheck": "false",
            "trafficGroup": "/Common/traffic-group-1",
        }
    ),
    frozenset({"description", "defaultRouteDomain"}),
)
PARTITION = ResType(
    "auth/partition",
    "Partition",
    "partition",
    _ro({"defaultRouteDomain": 0}),
    frozenset({"description"}),
    partitioned=False,
)

_FILE_META = frozenset(
    {
        "sourcePath",
        "description",
        "checksum",
        "createTime",
        "createdBy",
        "lastUpdateTime",
        "mode",
        "revision",
        "size",
        "systemPath",
        "updatedBy",
    }
)
SSL_CERT = ResType(
    "sys/file/ssl-cert",
    "Certificate File",
    "ssl-cert",
    extra=_FILE_META
    | frozenset(
        {
            "certificateKeyCurveName",
            "certificateKeySize",
            "expirationDate",
            "expirationString",
            "fingerprint",
            "isBundle",
            "issuer",
            "keyType",
            "serialNumber",
            "subject",
            "subjectAlternativeName",
            "version",
        }
    ),
)
"""Certificates (and CA bundles) installed from an uploaded file: `sourcePath`
`file:///var/config/rest/downloads/<f>`, or the `sys/crypto/cert` install command. What a GET
shows is parsed from the PEM (`fingerprint`, `subject`, `issuer`, `expirationString`, ...)."""
SSL_KEY = ResType(
    "sys/file/ssl-key",
    "Key File",
    "ssl-key",
    extra=_FILE_META
    | frozenset({"curveName", "keySize", "keyType", "passphrase", "securityType"}),
)
"""Private keys installed from an uploaded file. The PEM is kept (state file, config-sync) but
never shown, audited or put in a message."""
SSL_CRL = ResType(
    "sys/file/ssl-crl",
    "CRL File",
    "ssl-crl",
    extra=_FILE_META | frozenset({"issuer", "nextUpdate"}),
)
"""Certificate revocation lists (a client-ssl or server-ssl profile's `crlFile`)."""

SYS_DB = ResType(
    "sys/db",
    "db",
    "db",
    _ro({"defaultValue": "", "scfConfig": "false", "value": "", "valueRange": ""}),
    partitioned=False,
    builtin_only=True,
)
"""The device's database variables (`provision.extramb`, `failover.state`, ...): read, and
`value` PATCHed within the variable's `valueRange`; none can be created or deleted."""

NET_INTERFACE = ResType(
    "net/interface",
    "Interface",
    "interface",
    _ro(
        {
            "bundle": "not-supported",
            "enabled": True,
            "flowControl": "tx-rx",
            "forceGigabitFiber": "disabled",
            "ifIndex": 0,
            "lldpAdmin": "txonly",
            "macAddress": "none",
            "mediaActive": "none",
            "mediaFixed": "auto",
            "mtu": 1500,
            "preferPort": "sfp",
            "stp": "enabled",
        }
    ),
    frozenset({"description"}),
    partitioned=False,
    builtin_only=True,
)
"""The device's network interfaces (`1.1`, `1.2`, `mgmt`); F5's agent reads `macAddress`."""

GLOBAL_SETTINGS = ResType(
    "sys/global-settings",
    "global-settings",
    "global-settings",
    _ro(
        {
            "consoleInactivityTimeout": 0,
            "guiSecurityBanner": "enabled",
            "guiSetup": "disabled",
            "hostLookup": "disabled",
            "hostname": "",
            "lcdDisplay": "enabled",
            "mgmtDhcp": "disabled",
            "netReboot": "disabled",
            "quietBoot": "enabled",
        }
    ),
    partitioned=False,
)
"""The unnamed `sys/global-settings` (not in `TYPES`: no collection, no items)."""


def _all() -> dict[str, ResType]:
    types = [
        POOL,
        NODE,
        VIRTUAL,
        VIRTUAL_ADDRESS,
        POLICY,
        RULE,
        SNATPOOL,
        SNAT_TRANSLATION,
        ROUTE_DOMAIN,
        VLAN,
        SELF,
        ROUTE,
        TUNNEL,
        TUNNEL_VXLAN,
        TUNNEL_GRE,
        FDB_TUNNEL,
        CM_DEVICE,
        CM_DEVICE_GROUP,
        CM_TRAFFIC_GROUP,
        FOLDER,
        PARTITION,
        SYS_DB,
        NET_INTERFACE,
        SSL_CERT,
        SSL_KEY,
        SSL_CRL,
    ]
    types += MONITORS.values()
    types += PROFILES.values()
    types += PERSISTENCES.values()
    return {t.path: t for t in types}


TYPES: Mapping[str, ResType] = MappingProxyType(_all())

# Paths that lead somewhere (organizing collections): "ltm", "ltm/monitor", "sys", ...
ORGANIZING: frozenset[str] = frozenset(
    "/".join(p.split("/")[:i])
    for p in [
        *TYPES,
        "sys/version",
        "sys/global-settings",
        "sys/config",
        "cm/sync-status",
        "sys/crypto/cert",
        "sys/crypto/key",
        "util/unix-rm",
    ]
    for i in range(1, len(p.split("/")))
)
