"""Device integrity rules: normalising input, references, side effects and delete checks.

Owns what mcpd would enforce for each type: which objects an object references (pools,
profiles, monitors, route-domain ids, ...), how a client's value is stored (relative names
become full paths, the m-of-n monitor form gains braces), what must exist before a create
(folders, referenced objects), what is created implicitly (nodes for members, virtual
addresses for virtuals) and what blocks a delete; the route domain of an address and of a
VLAN, and the rules checked once per change (SSL pairs, SNI, a self IP's VLAN in its route
domain). Functions here read and write a `Store`; rendering lives in `render.py`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bigip_lbaas.sim import errors, pki
from bigip_lbaas.sim.kinds import MONITORS, PERSISTENCES, PROFILES, TYPES, ResType
from bigip_lbaas.sim.names import (
    full_path,
    rd_key,
    route_domain_id,
    split_full_path,
    split_port,
)
from bigip_lbaas.sim.store import Obj, Ref, Store

BUILTIN_MONITOR = {
    "http": "http",
    "https": "https",
    "tcp": "tcp",
    "gateway-icmp": "gateway_icmp",
    "icmp": "icmp",
    "udp": "udp",
    "sctp": "sctp",
}
BUILTIN_PROFILE = {
    "http": "http",
    "tcp": "tcp",
    "client-ssl": "clientssl",
    "server-ssl": "serverssl",
    "fastl4": "fastL4",
    "one-connect": "oneconnect",
    "udp": "udp",
    "sctp": "sctp",
}
# The ipProtocol a virtual must have to carry a profile of each type (types not listed, like
# fastL4, go with any).
PROFILE_PROTOCOL = {
    "ltm/profile/tcp": "tcp",
    "ltm/profile/http": "tcp",
    "ltm/profile/client-ssl": "tcp",
    "ltm/profile/server-ssl": "tcp",
    "ltm/profile/one-connect": "tcp",
    "ltm/profile/udp": "udp",
    "ltm/profile/sctp": "sctp",
}
IP_PROTOCOLS = frozenset({"tcp", "udp", "sctp", "any"})
# Derived TCP profiles every BIG-IP ships (`defaultsFrom /Common/tcp`).
BUILTIN_TCP_PROFILES = ("tcp-lan-optimized", "tcp-wan-optimized", "tcp-mobile-optimized")
# System iRules every BIG-IP ships. `_sys_https_redirect` is the device's text; the APM helper's
# real body is long and device-specific, so the simulator ships a stand-in with the same name.
BUILTIN_IRULES = {
    "_sys_https_redirect": (
        "when HTTP_REQUEST {\n"
        "    HTTP::redirect https://[getfield [HTTP::host] \":\" 1][HTTP::uri]\n"
        "}"
    ),
    "_sys_APM_ExchangeSupport_helper": (
        "when HTTP_REQUEST {\n    # simulator stand-in for the system APM Exchange helper\n}"
    ),
}
BUILTIN_PERSIST = {
    "source-addr": "source_addr",
    "cookie": "cookie",
    "dest-addr": "dest_addr",
    "hash": "hash",
    "universal": "universal",
    "ssl": "ssl",
}
LB_MODES = frozenset(
    [
        "dynamic-ratio-member",
        "dynamic-ratio-node",
        "fastest-app-response",
        "fastest-node",
        "least-connections-member",
        "least-connections-node",
        "least-sessions",
        "observed-member",
        "observed-node",
        "predictive-member",
        "predictive-node",
        "ratio-least-connections-member",
        "ratio-least-connections-node",
        "ratio-member",
        "ratio-node",
        "ratio-session",
        "round-robin",
        "weighted-least-connections-member",
        "weighted-least-connections-node",
    ]
)
PORT_NAMES = {
    "any": 0,
    "http": 80,
    "https": 443,
    "ftp": 21,
    "ssh": 22,
    "smtp": 25,
    "dns": 53,
    "domain": 53,
}
IPV6_MASK = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

_MOFN = re.compile(r"^min\s+(\d+)\s+of\s+\{?\s*(.*?)\s*\}?\s*$")


# -- route domains of addresses -------------------------------------------------------------
def partition_rd(store: Store, partition: str) -> int:
    """The partition's `defaultRouteDomain`: the route domain of its addresses without `%`."""
    folder = store.get("sys/folder", f"/{partition}") if partition else None
    rd = folder.props.get("defaultRouteDomain", 0) if folder is not None else 0
    return rd if isinstance(rd, int) else 0


def address_rd(store: Store, address: str, partition: str) -> int:
    """The route domain an address names: its `%N`, else its partition's default."""
    rd = route_domain_id(address)
    return rd if rd is not None else partition_rd(store, partition)


def _address_of(obj: Obj) -> str:
    p = obj.props
    if obj.rtype == "ltm/virtual":
        dest = str(p.get("destination", ""))
        return split_port(split_full_path(dest).name)[0] if dest else ""
    if obj.rtype == "net/route":
        return str(p.get("network", ""))
    return str(p.get("address", ""))


def obj_rd(obj: Obj) -> int:
    """The route domain of an object's address, fixed when the address was written (`_rd`);
    objects from before that was recorded fall back to the address's own `%N`."""
    rd = obj.props.get("_rd")
    if isinstance(rd, int):
        return rd
    return route_domain_id(_address_of(obj)) or 0


def vlan_rd(store: Store, path: str) -> int:
    """The id of the route domain a VLAN or tunnel belongs to: the one whose `vlans` lists
    it, else route domain 0 (which holds every VLAN no other route domain claims)."""
    for rtype, rd_path in store.users("vlan", path):
        if rtype == "net/route-domain":
            rd = store.get(rtype, rd_path)
            if rd is not None:
                return int(rd.props.get("id", 0))
    return 0


def rd0_vlans(store: Store) -> list[str]:
    """What route domain 0 shows in `vlans`: every VLAN and tunnel no other one claims."""
    return sorted(
        o.full_path
        for rtype in ("net/vlan", "net/tunnels/tunnel")
        for o in store.all(rtype)
        if vlan_rd(store, o.full_path) == 0
    )


# -- references and aliases (used by the Store's indexes) ---------------------------------
def _rd_ref(obj: Obj) -> list[Ref]:
    rd = obj_rd(obj)
    return [("rd-id", str(rd))] if rd != 0 else []


ADDRESS_GROUPS = {
    "ltm/node": "node-address",
    "ltm/virtual-address": "va-address",
    "net/self": "self-address",
    "ltm/snat-translation": "snat-address",
    "net/route": "route-network",
}
"""Address uniqueness, one address per route domain and type: the lookup group of each
type's `base%rd` key (`10.0.0.5%2`; the same address may exist in two route domains)."""


def address_alias(obj: Obj) -> str:
    address = _address_of(obj)
    if obj.rtype == "net/route":  # a destination network keeps its mask
        net, _, mask = address.partition("/")
        return f"{net.split('%', 1)[0]}/{mask}%{obj_rd(obj)}" if mask else rd_key(net, obj_rd(obj))
    return rd_key(address, obj_rd(obj))


def monitor_paths(value: object) -> list[str]:
    if not isinstance(value, str) or not value.strip() or value.strip() in ("default", "none"):
        return []
    text = value.strip()
    m = _MOFN.match(text)
    if m:
        return [p for p in m.group(2).split() if p]
    return [p.strip() for p in text.split(" and ") if p.strip()]


def refs_of(obj: Obj) -> list[Ref]:
    p = obj.props
    rt = obj.rtype
    out: list[Ref] = []
    if rt == "ltm/virtual":
        if p.get("pool"):
            out.append(("pool", p["pool"]))
        out += [("rule", r) for r in p.get("rules", [])]
        out += [("profile", c.full_path) for c in obj.children.get("profiles", {}).values()]
        out += [("policy", c.full_path) for c in obj.children.get("policies", {}).values()]
        for item in p.get("persist", []):
            out.append(("persistence", f"/{item['partition']}/{item['name']}"))
        if p.get("fallbackPersistence"):
            out.append(("persistence", p["fallbackPersistence"]))
        sat = p.get("sourceAddressTranslation") or {}
        if sat.get("type") == "snat" and sat.get("pool"):
            out.append(("snatpool", sat["pool"]))
        out += [("vlan", v) for v in p.get("vlans", [])]
        dest = p.get("destination", "")
        if dest:
            ident = split_full_path(dest)
            addr, _ = split_port(ident.name)
            out.append(("virtual-address", full_path(ident.partition, ident.sub_path, addr)))
            out += _rd_ref(obj)
    elif rt == "ltm/pool":
        out += [("monitor", m) for m in monitor_paths(p.get("monitor"))]
        for member in obj.children.get("members", {}).values():
            out.append(("node", member.props.get("_node", "")))
            out += [("monitor", m) for m in monitor_paths(member.props.get("monitor"))]
    elif rt == "ltm/node":
        out += [("monitor", m) for m in monitor_paths(p.get("monitor"))]
        out += _rd_ref(obj)
    elif rt in ("net/self", "ltm/virtual-address", "ltm/snat-translation"):
        if p.get("vlan"):
            out.append(("vlan", p["vlan"]))
        out += _rd_ref(obj)
    elif rt == "net/route-domain":
        out += [("vlan", v) for v in p.get("vlans", [])]
    elif rt == "net/route":
        out += _rd_ref(obj)
        if p.get("tmInterface"):
            out.append(("vlan", p["tmInterface"]))
        if p.get("pool"):
            out.append(("pool", p["pool"]))
    elif rt == "net/tunnels/tunnel":
        if p.get("profile"):
            out.append(("tunnel-profile", p["profile"]))
        if p.get("_self"):
            out.append(("self", p["_self"]))
    elif rt == "ltm/snatpool":
        out += [("snat-translation", m) for m in p.get("members", [])]
    elif rt == "ltm/policy":
        for rule in obj.children.get("rules", {}).values():
            for action in rule.children.get("actions", {}).values():
                for group in ("pool", "virtual", "snatpool"):
                    if action.props.get(group):
                        out.append((group, action.props[group]))
    elif rt == "sys/folder":
        rd = p.get("defaultRouteDomain")
        if isinstance(rd, int) and rd != 0:
            out.append(("rd-id", str(rd)))
    elif rt.startswith(DERIVED_PREFIXES):
        parent = p.get("defaultsFrom")
        if parent and parent != obj.full_path:
            out.append((TYPES[rt].group, parent))
        if rt in SSL_PROFILES:
            out += _ssl_refs(p)
    return out


DERIVED_PREFIXES = ("ltm/monitor/", "ltm/profile/", "ltm/persistence/", "net/tunnels/vxlan",
                    "net/tunnels/gre")
"""Types whose objects derive from a parent of the same type (`defaultsFrom`)."""
SSL_PROFILES = frozenset({"ltm/profile/client-ssl", "ltm/profile/server-ssl"})
SSL_FILE_GROUP = {"sys/file/ssl-cert": "ssl-cert", "sys/file/ssl-key": "ssl-key"}
SSL_REF_FIELDS = (
    ("cert", "ssl-cert", "certificate"),
    ("key", "ssl-key", "key"),
    ("chain", "ssl-cert", "certificate"),
    ("caFile", "ssl-cert", "certificate"),
    ("crlFile", "ssl-crl", "CRL file"),
)
"""The file references of an SSL profile: (property, lookup group, label in messages)."""


def _ssl_refs(p: dict[str, Any]) -> list[Ref]:
    out: list[Ref] = []
    entries = [e for e in p.get("certKeyChain") or [] if isinstance(e, dict)]
    for source in [p, *entries]:
        for key, group, _ in SSL_REF_FIELDS:
            value = source.get(key)
            if isinstance(value, str) and value and value != "none":
                out.append((group, value))
    return out


def aliases_of(obj: Obj) -> list[Ref]:
    rt = TYPES.get(obj.rtype)
    out: list[Ref] = [(rt.group if rt else obj.rtype, obj.full_path)]
    group = ADDRESS_GROUPS.get(obj.rtype)
    if group is not None and _address_of(obj):
        out.append((group, address_alias(obj)))
    elif obj.rtype == "net/route-domain":
        out.append(("rd-id", str(obj.props.get("id", 0))))
    return out


def new_store() -> Store:
    return Store(refs_of, aliases_of, check_deferred)


# -- rules checked once per change (a whole transaction, or one request) ------------------
def check_deferred(store: Store, touched: set[tuple[str, str]]) -> None:
    """What mcpd validates when a change is committed rather than per command: every SSL
    profile's certificate/key pairs match (a key and its certificate may be replaced by two
    commands of one transaction), and a virtual with several client-ssl profiles has exactly
    one `sniDefault` and no `serverName` twice."""
    profiles: set[tuple[str, str]] = set()
    virtuals: set[str] = set()
    selfs: set[str] = set()
    for rtype, path in touched:
        if rtype == "net/self":
            selfs.add(path)
        elif rtype == "net/route-domain":
            selfs.update(_selfs_of_route_domain(store, path))
        elif rtype in SSL_PROFILES:
            profiles.add((rtype, path))
            if rtype == "ltm/profile/client-ssl":
                virtuals.update(p for t, p in store.users("profile", path) if t == "ltm/virtual")
        elif rtype in SSL_FILE_GROUP:
            profiles.update(
                u for u in store.users(SSL_FILE_GROUP[rtype], path) if u[0] in SSL_PROFILES
            )
        elif rtype == "ltm/virtual":
            virtuals.add(path)
    for rtype, path in sorted(profiles):
        profile = store.get(rtype, path)
        if profile is not None:
            _check_pairs(store, profile)
    for path in sorted(virtuals):
        virtual = store.get("ltm/virtual", path)
        if virtual is not None:
            _check_protocol(virtual)
            _check_sni(store, virtual)
    for path in sorted(selfs):
        self_ip = store.get("net/self", path)
        if self_ip is not None:
            _check_self_vlan(store, self_ip)


def _selfs_of_route_domain(store: Store, path: str) -> set[str]:
    """Self IPs a change of this route domain's `vlans` may strand: those in the route
    domain, and those on a VLAN it now lists."""
    rd = store.get("net/route-domain", path)
    if rd is None:
        return set()
    rd_id = int(rd.props.get("id", 0))
    out = {o.full_path for o in store.all("net/self") if obj_rd(o) == rd_id}
    for vlan in rd.props.get("vlans", []):
        out.update(p for t, p in store.users("vlan", vlan) if t == "net/self")
    return out


def _check_self_vlan(store: Store, self_ip: Obj) -> None:
    vlan = str(self_ip.props.get("vlan", ""))
    rd = obj_rd(self_ip)
    if vlan and vlan_rd(store, vlan) != rd:
        raise errors.self_vlan_not_in_route_domain(self_ip.full_path, vlan, rd)


def _check_pairs(store: Store, profile: Obj) -> None:
    p = profile.props
    if profile.rtype == "ltm/profile/client-ssl":
        pairs = [(e.get("cert"), e.get("key")) for e in p.get("certKeyChain") or []]
    else:
        pairs = [(p.get("cert"), p.get("key"))]
    for cert_path, key_path in pairs:
        if not isinstance(cert_path, str) or not isinstance(key_path, str):
            continue
        cert = store.lookup("ssl-cert", cert_path)
        key = store.lookup("ssl-key", key_path)
        if cert is None or key is None:
            continue  # "none", or a reference refused when it was written
        if cert.props.get("_spki") != key.props.get("_spki"):
            raise errors.key_cert_mismatch(profile.full_path)


def _check_protocol(virtual: Obj) -> None:
    """A virtual's profiles suit its ipProtocol: TCP-based profiles (tcp, http, SSL, OneConnect)
    only on a tcp virtual, a udp profile on a udp one, an sctp profile on an sctp one; and a udp
    or sctp virtual has its protocol's profile."""
    proto = str(virtual.props.get("ipProtocol", "tcp"))
    kinds = {
        str(c.props.get("_rtype")) for c in virtual.children.get("profiles", {}).values()
    }
    wrong = any(PROFILE_PROTOCOL.get(k, proto) != proto for k in kinds)
    missing = proto in ("udp", "sctp") and f"ltm/profile/{proto}" not in kinds and not any(
        k == "ltm/profile/fastl4" for k in kinds
    )
    if wrong or missing:
        raise errors.profiles_incompatible(virtual.full_path)


def _check_sni(store: Store, virtual: Obj) -> None:
    client_ssl = [
        store.get("ltm/profile/client-ssl", c.full_path)
        for c in virtual.children.get("profiles", {}).values()
        if c.props.get("_rtype") == "ltm/profile/client-ssl"
    ]
    profiles = [p for p in client_ssl if p is not None]
    if len(profiles) < 2:
        return
    defaults = [p for p in profiles if p.props.get("sniDefault") == "true"]
    if len(defaults) != 1:
        raise errors.sni_default(virtual.full_path, len(defaults))
    seen: dict[str, str] = {}
    for p in profiles:
        name = p.props.get("serverName")
        if isinstance(name, str) and name and name != "none":
            if name in seen:
                raise errors.sni_server_name(virtual.full_path, name, seen[name], p.full_path)
            seen[name] = p.full_path


def ssl_file_props(
    rtype: str,
    data: bytes,
    source: str,
    passphrase: str | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored properties of a `sys/file/ssl-cert`, `ssl-key` or `ssl-crl` made from `data`:
    the PEM itself (`_pem`, never rendered), the public-key identity that pairs keys with
    certificates (`_spki`) and what a GET shows (`_info`). Raises `pki.PemError`."""
    spki = ""
    if rtype == "sys/file/ssl-cert":
        info, spki = pki.certificate_info(data)
    elif rtype == "sys/file/ssl-key":
        info, spki = pki.key_info(data, passphrase)
    else:
        info = pki.crl_info(data)
    now = pki.now_string()
    previous = previous or {}
    shown: dict[str, Any] = {
        "createTime": previous.get("createTime", now),
        "createdBy": "admin",
        "lastUpdateTime": now,
        "mode": 33184 if rtype == "sys/file/ssl-key" else 33188,
        "revision": int(previous.get("revision", 0)) + 1,
        "sourcePath": source,
        "updatedBy": "admin",
    }
    shown.update(info)
    props: dict[str, Any] = {"_pem": data.decode("latin-1"), "_info": dict(sorted(shown.items()))}
    if spki:
        props["_spki"] = spki
    return props


# -- small helpers --------------------------------------------------------------------------
def resolve(store: Store, group: str, value: str, partition: str) -> str:
    """A reference as the device stores it: relative names resolve in the partition, then /Common."""
    value = value.strip()
    if value.startswith("/"):
        return value
    local = f"/{partition}/{value}"
    if store.lookup(group, local) is not None or partition == "Common":
        return local
    common = f"/Common/{value}"
    return common if store.lookup(group, common) is not None else local


def require(store: Store, group: str, path: str, label: str) -> Obj:
    obj = store.lookup(group, path)
    if obj is None:
        raise errors.IcrError(400, f"01020036:3: The requested {label} ({path}) was not found.")
    return obj


def require_rd(store: Store, address: object) -> None:
    if not isinstance(address, str):
        return
    rd = route_domain_id(address)
    if rd is not None and rd != 0 and store.lookup("rd-id", str(rd)) is None:
        raise errors.IcrError(400, f"01020036:3: The requested route domain ({rd}) was not found.")


def require_folder(store: Store, label: str, obj: Obj) -> None:
    folder = obj.folder
    if folder.endswith("/Drafts") and store.get("sys/folder", f"/{obj.partition}") is not None:
        return
    if store.get("sys/folder", folder) is None:
        raise errors.folder_missing(label, obj.full_path)


def as_int(value: object, field: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        number = int(str(value))
    except ValueError as exc:
        raise errors.bad_value(f"invalid value for {field}: {value!r}") from exc
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise errors.bad_value(f"{field} ({number}) is out of range")
    return number


def check_fields(rt: ResType, body: dict[str, Any], config_item: str) -> None:
    for key, value in body.items():
        if key in (
            "kind",
            "name",
            "partition",
            "subPath",
            "fullPath",
            "generation",
            "selfLink",
            "appService",
            "command",
        ) or key.endswith("Reference"):
            continue
        if not rt.writable(key):
            raise errors.unexpected_property(config_item, key, json.dumps(value))


def reduce_pair(props: dict[str, Any], body: dict[str, Any], on: str, off: str) -> None:
    """`enabled`/`disabled` style pairs: exactly one key, set to true, is kept."""
    if on in body:
        state = bool(body[on])
    elif off in body:
        state = not bool(body[off])
    else:
        return
    props.pop(on, None)
    props.pop(off, None)
    props[on if state else off] = True


def normalize_monitor(store: Store, value: object, partition: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.bad_value("monitor must be a string")
    text = value.strip()
    if text in ("", "none"):
        return ""
    if text == "default":
        return "default"
    m = _MOFN.match(text)
    paths = [resolve(store, "monitor", p, partition) for p in monitor_paths(text)]
    for path in paths:
        require(store, "monitor", path, "Monitor")
    if m:
        return f"min {int(m.group(1))} of {{ {' '.join(paths)} }}"
    return " and ".join(paths)


def normalize_port(port: str) -> str:
    if port.isdigit():
        if int(port) > 65535:
            raise errors.bad_value(f"invalid port {port}")
        return port
    if port in PORT_NAMES:
        return str(PORT_NAMES[port])
    raise errors.bad_value(f"invalid service port ({port})")


def builtin_parent(rtype: str) -> str:
    last = rtype.rsplit("/", 1)[1]
    if rtype in ("net/tunnels/vxlan", "net/tunnels/gre"):
        return f"/Common/{last}"
    if rtype in {t.path for t in MONITORS.values()}:
        return f"/Common/{BUILTIN_MONITOR[last]}"
    if rtype in {t.path for t in PROFILES.values()}:
        return f"/Common/{BUILTIN_PROFILE[last]}"
    if rtype in {t.path for t in PERSISTENCES.values()}:
        return f"/Common/{BUILTIN_PERSIST[last]}"
    return ""


# -- built-in objects ------------------------------------------------------------------------
def seed(store: Store) -> None:
    """Put the objects a freshly installed device has into an empty store."""

    def add(
        rtype: str, partition: str, name: str, props: dict[str, Any], sub_path: str = ""
    ) -> None:
        store.put(
            Obj(
                rtype,
                partition,
                sub_path,
                name,
                full_path(partition, sub_path, name),
                props,
                1,
                builtin=True,
            )
        )

    store.put(Obj("sys/folder", "", "", "/", "/", {}, 1, builtin=True))
    store.put(
        Obj(
            "sys/folder",
            "Common",
            "",
            "Common",
            "/Common",
            {"defaultRouteDomain": 0},
            1,
            builtin=True,
        )
    )
    store.put(Obj("sys/folder", "Common", "", "Drafts", "/Common/Drafts", {}, 1, builtin=True))
    add("net/route-domain", "Common", "0", {"id": 0})
    for kind, name in BUILTIN_MONITOR.items():
        add(f"ltm/monitor/{kind}", "Common", name, {"defaultsFrom": ""})
    for kind, name in BUILTIN_PROFILE.items():
        add(f"ltm/profile/{kind}", "Common", name, {"defaultsFrom": ""})
    for kind, name in BUILTIN_PERSIST.items():
        add(f"ltm/persistence/{kind}", "Common", name, {"defaultsFrom": ""})
    for kind in ("vxlan", "gre"):
        add(f"net/tunnels/{kind}", "Common", kind, {"defaultsFrom": ""})
    cert_pem, key_pem = pki.default_pair()
    for rtype, name, pem in (
        ("sys/file/ssl-cert", "default.crt", cert_pem),
        ("sys/file/ssl-key", "default.key", key_pem),
    ):
        system_path = f"/config/ssl/ssl.{name.rsplit('.', 1)[1]}/{name}"
        props = ssl_file_props(rtype, pem, "")
        props["_info"].pop("sourcePath")
        props["_info"]["systemPath"] = system_path
        add(rtype, "Common", name, props)
    for name in BUILTIN_TCP_PROFILES:
        add("ltm/profile/tcp", "Common", name, {"defaultsFrom": "/Common/tcp"})
    for name, text in BUILTIN_IRULES.items():
        add("ltm/rule", "Common", name, {"apiAnonymous": text})
    for name, floating in (("traffic-group-1", "true"), ("traffic-group-local-only", "false")):
        add(
            "cm/traffic-group",
            "Common",
            name,
            {"isFloating": floating, "unitId": 1 if floating == "true" else 0},
        )
    add(
        "cm/device-group",
        "Common",
        "device_trust_group",
        {"type": "sync-only", "autoSync": "enabled"},
    )
    add("cm/device-group", "Common", "gtm", {"type": "sync-only"})
    store.generation = 1
