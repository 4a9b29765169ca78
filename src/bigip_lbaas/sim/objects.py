"""Create, modify and delete for each resource type, with mcpd's rules applied.

Owns the write paths of `/mgmt/tm/<type>` collections and their subcollections: building an
`Obj` from a client's body (names, partition, subPath, defaults, normalised references),
implicit objects (nodes for members, virtual addresses for virtuals, a partition's folders),
and what a delete must refuse or take with it. Every function runs inside `Store.atomic()`
(the caller's), so a failure half-way leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from bigip_lbaas.sim import errors, files, pki, rules
from bigip_lbaas.sim.kinds import TYPES, ResType
from bigip_lbaas.sim.names import (
    Ident,
    address_key,
    full_path,
    is_ip,
    is_ipv6,
    split_full_path,
    split_port,
)
from bigip_lbaas.sim.store import Obj, Store

_PROFILE_TYPES = [t for t in TYPES if t.startswith("ltm/profile/")]
_PERSIST_TYPES = [t for t in TYPES if t.startswith("ltm/persistence/")]


def ident_from_body(body: dict[str, Any], default_partition: str = "Common") -> Ident:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_value("one or more configuration identifiers must be provided")
    partition = body.get("partition")
    sub_path = body.get("subPath")
    if name.startswith("/"):
        return split_full_path(name)
    part = str(partition).strip("/") if isinstance(partition, str) and partition else ""
    sub = str(sub_path).strip("/") if isinstance(sub_path, str) and sub_path else ""
    return Ident(part or default_partition, sub, name)


# -- per-type normalisation -----------------------------------------------------------------
def apply_props(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None = None,
) -> None:
    """Merge `body` into `obj` (already a private clone) and normalise what it holds."""
    rules.check_fields(rt, body, "/" + rt.path + "/")
    props = obj.props
    pair_keys = {k for pair in _PAIRS.get(rt.path, ()) for k in pair}
    immutable = IMMUTABLE.get(rt.path)
    if not creating and immutable in body and body[immutable] != props.get(immutable):
        raise errors.modify_not_allowed(str(immutable), rt.path.replace("/", " "))
    for key, value in body.items():
        if key in rules_meta or key.endswith("Reference") or key in rt.subcollections:
            continue
        if key in pair_keys:
            continue
        props[key] = value
    for on, off in _PAIRS.get(rt.path, ()):
        rules.reduce_pair(props, body, on, off)
    fn = _NORMALIZE.get(rt.path)
    if fn is None and rt.path.startswith(("ltm/monitor/", "ltm/profile/", "ltm/persistence/")):
        fn = _normalize_derived
    if fn is not None:
        fn(store, rt, obj, body, creating, gen, parent)
    for sub, sub_rt in rt.subcollections.items():
        if sub in body and body[sub] is not None:
            replace_children(store, obj, sub, sub_rt, body[sub], gen)
    obj.generation = gen


IMMUTABLE = {"ltm/node": "address", "net/route-domain": "id", "ltm/pool/members": "address"}
rules_meta = frozenset(
    {
        "kind",
        "name",
        "partition",
        "subPath",
        "fullPath",
        "generation",
        "selfLink",
        "command",
        "legacy",
        "createDraft",
    }
)
_PAIRS = {
    "ltm/virtual": [("enabled", "disabled"), ("vlansEnabled", "vlansDisabled")],
    "ltm/snat-translation": [("enabled", "disabled")],
}


def replace_children(
    store: Store, obj: Obj, sub: str, sub_rt: ResType, items: Any, gen: int
) -> None:
    if not isinstance(items, list):
        raise errors.bad_value(f"{sub} must be a list")
    obj.children[sub] = {}
    for index, raw in enumerate(items):
        item = {"name": raw} if isinstance(raw, str) else raw
        if not isinstance(item, dict):
            raise errors.bad_value(f"invalid item in {sub}")
        add_child(store, obj, sub, sub_rt, dict(item), gen, index)


def add_child(
    store: Store, parent: Obj, sub: str, rt: ResType, body: dict[str, Any], gen: int, index: int = 0
) -> Obj:
    """Create one subcollection item under `parent` (a private clone); return it."""
    if rt.path == "ltm/pool/members":
        return _add_member(store, parent, body, gen)
    if rt.partitioned:
        ident = ident_from_body(body, parent.partition)
        fp = ident.full_path()
    else:
        name = body.get("name", str(index))
        ident = Ident("", "", str(name))
        fp = ident.name
    items = parent.children.setdefault(sub, {})
    if rt.path in ("ltm/virtual/profiles", "ltm/virtual/policies"):
        group = "profile" if sub == "profiles" else "policy"
        name = str(body.get("name", ""))
        if name.startswith("/"):
            fp = name
        elif body.get("partition"):
            fp = f"/{str(body['partition']).strip('/')}/{name}"
        else:
            fp = rules.resolve(store, group, name, parent.partition)
        ident = split_full_path(fp)
    if fp in items:
        raise errors.duplicate(rt.label, fp, ident.partition or parent.partition)
    # an item without a partition of its own (policy rules and actions, VLAN interfaces) keeps
    # its parent's, so relative references in it resolve where the parent lives
    part = ident.partition if rt.partitioned else parent.partition
    child = Obj(rt.path, part, ident.sub_path, ident.name, fp, {}, gen)
    body = {k: v for k, v in body.items() if k not in ("name", "partition", "subPath")}
    if rt.path == "ltm/virtual/profiles":
        target = store.lookup("profile", fp)
        if target is None:
            raise errors.IcrError(400, f"01020036:3: The requested profile ({fp}) was not found.")
        child.props["_rtype"] = target.rtype
    elif rt.path == "ltm/virtual/policies":
        target = store.lookup("policy", fp)
        if target is None or target.props.get("status") == "draft":
            raise errors.foreign_key(fp, "virtual server policy", parent.full_path, "policy_FK")
        child.props["_rtype"] = "ltm/policy"
    elif rt.path == "ltm/policy/rules" and "ordinal" not in body:
        body["ordinal"] = index
    elif rt.path == "ltm/policy/rules/actions":
        for key, group, label in _ACTION_REFS:
            value = body.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise errors.bad_value(f"{key} must be a {label} name")
            path = rules.resolve(store, group, value, parent.partition)
            if store.lookup(group, path) is None:
                raise errors.action_target_missing(parent.name, ident.name, label, path)
            body[key] = path
    apply_props(store, rt, child, body, True, gen, parent)
    items[fp] = child
    return child


_ACTION_REFS = (
    ("pool", "pool", "pool"),
    ("virtual", "virtual", "virtual server"),
    ("snatpool", "snatpool", "SNAT pool"),
)
"""Policy action properties that name another object: (property, lookup group, label)."""


def _add_member(store: Store, pool: Obj, body: dict[str, Any], gen: int) -> Obj:
    rt = TYPES["ltm/pool"].subcollections["members"]
    ident = ident_from_body(body, pool.partition)
    addr, port = split_port(ident.name)
    if not port:
        raise errors.bad_value(f"invalid pool member name ({ident.name}): a port is required")
    port = rules.normalize_port(port)
    sep = "." if is_ipv6(addr) else ":"
    name = f"{addr}{sep}{port}"
    fp = full_path(ident.partition, ident.sub_path, name)
    members = pool.children.setdefault("members", {})
    node_path = full_path(ident.partition, ident.sub_path, addr)
    if fp in members:
        raise errors.IcrError(
            409,
            f"01020066:3: The requested Pool Member ({pool.full_path} {node_path} {port}) "
            f"already exists in partition {pool.partition}.",
        )
    if store.get("sys/folder", full_path(ident.partition, ident.sub_path, "")[:-1]) is None:
        raise errors.IcrError(
            400,
            f"01070734:3: Configuration error: Can't associate Pool Member "
            f"({pool.full_path} {node_path} {port}) folder does not exist",
        )
    node = store.get("ltm/node", node_path)
    given = body.get("address")
    if node is not None:
        address = str(node.props.get("address", ""))
    else:
        address = str(given) if given else addr
        if not is_ip(address):
            raise errors.not_found("Node", node_path)
        rules.require_rd(store, address)
        other = store.lookup("node-address", address_key(address))
        if other is not None:
            raise errors.node_address_clash(node_path, other.full_path, address.split("%")[0])
        store.put(
            Obj(
                "ltm/node",
                ident.partition,
                ident.sub_path,
                addr,
                node_path,
                {"address": address},
                gen,
            )
        )
    member = Obj(rt.path, ident.partition, ident.sub_path, name, fp, {}, gen)
    body = {k: v for k, v in body.items() if k not in ("name", "partition", "subPath", "address")}
    apply_props(store, rt, member, body, True, gen, pool)
    member.props["address"] = address
    member.props["_node"] = node_path
    members[fp] = member
    return member


def _state_session(obj: Obj, body: dict[str, Any]) -> None:
    props = obj.props
    if "state" in body:
        state = body["state"]
        if state not in ("user-up", "user-down", "up", "down", "unchecked", "checking"):
            raise errors.bad_value(f"invalid state ({state})")
        if state == "user-down":
            props["state"] = "user-down"
        else:
            props.pop("state", None)
    if "session" in body:
        session = body["session"]
        if session not in ("user-enabled", "user-disabled", "monitor-enabled"):
            raise errors.bad_value(f"invalid session ({session})")
        if session == "user-disabled":
            props["session"] = "user-disabled"
        else:
            props.pop("session", None)


def _normalize_member(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    _state_session(obj, body)
    if "monitor" in body:
        obj.props["monitor"] = (
            rules.normalize_monitor(store, body["monitor"], obj.partition) or "default"
        )
    if "ratio" in body:
        obj.props["ratio"] = rules.as_int(body["ratio"], "ratio", 1, 100)


def _normalize_pool(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    if "monitor" in body:
        mon = rules.normalize_monitor(store, body["monitor"], obj.partition)
        if mon and mon != "default":
            obj.props["monitor"] = mon
        else:
            obj.props.pop("monitor", None)
    mode = obj.props.get("loadBalancingMode")
    if mode is not None and mode not in rules.LB_MODES:
        raise errors.bad_value(f"invalid loadBalancingMode ({mode})")


def _normalize_node(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    _state_session(obj, body)
    if creating:
        address = body.get("address") or (obj.name if is_ip(obj.name) else "")
        if not address:
            raise errors.bad_value("01070734:3: Configuration error: a node needs an address")
        rules.require_rd(store, address)
        obj.props["address"] = address
        other = store.lookup("node-address", address_key(str(address)))
        if other is not None:
            raise errors.duplicate("Node", other.full_path, other.partition)
    elif "address" in body and body["address"] != obj.props.get("address"):
        raise errors.modify_not_allowed("address", "ltm node")
    if "monitor" in body:
        mon = rules.normalize_monitor(store, body["monitor"], obj.partition)
        obj.props["monitor"] = mon or "default"


def _normalize_virtual(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    props = obj.props
    part = obj.partition
    if creating and "destination" not in body:
        raise errors.bad_value(
            "01070734:3: Configuration error: a virtual server needs a destination"
        )
    if "destination" in body:
        dest = str(body["destination"])
        if not dest.startswith("/"):
            dest = f"/{part}/{dest}"
        ident = split_full_path(dest)
        addr, port = split_port(ident.name)
        if not port:
            raise errors.bad_value(f"invalid destination ({body['destination']})")
        port = rules.normalize_port(port)
        sep = "." if is_ipv6(addr) else ":"
        if addr.endswith("%0"):
            addr = addr[:-2]
        dest = full_path(ident.partition, ident.sub_path, f"{addr}{sep}{port}")
        props["destination"] = dest
        rules.require_rd(store, addr)
        if "mask" not in body:
            props["mask"] = rules.IPV6_MASK if is_ipv6(addr) else "255.255.255.255"
        va_path = full_path(ident.partition, ident.sub_path, addr)
        if store.get("ltm/virtual-address", va_path) is None:
            store.put(
                Obj(
                    "ltm/virtual-address",
                    ident.partition,
                    ident.sub_path,
                    addr,
                    va_path,
                    {"address": addr, "mask": props.get("mask", "255.255.255.255")},
                    gen,
                )
            )
    if "pool" in body:
        pool = body["pool"]
        if pool:
            path = rules.resolve(store, "pool", str(pool), part)
            rules.require(store, "pool", path, "Pool")
            props["pool"] = path
        else:
            props.pop("pool", None)
    if "rules" in body:
        paths = [rules.resolve(store, "rule", r, part) for r in _names(body, "rules", "rule")]
        for path in paths:
            rules.require(store, "rule", path, "rule")
        if paths:
            props["rules"] = paths
        else:
            props.pop("rules", None)
    if "persist" in body:
        persist = []
        for name in _persist_names(body["persist"]):
            path = rules.resolve(store, "persistence", name, part)
            rules.require(store, "persistence", path, "Persistence Profile")
            ident = split_full_path(path)
            persist.append({"name": ident.name, "partition": ident.partition, "tmDefault": "yes"})
        if persist:
            props["persist"] = persist
        else:
            props.pop("persist", None)
    if body.get("fallbackPersistence"):
        if not isinstance(body["fallbackPersistence"], str):
            raise errors.bad_value("fallbackPersistence must be a persistence profile name")
        path = rules.resolve(store, "persistence", body["fallbackPersistence"], part)
        rules.require(store, "persistence", path, "Persistence Profile")
        props["fallbackPersistence"] = path
    if "sourceAddressTranslation" in body:
        sat = body["sourceAddressTranslation"]
        if not isinstance(sat, dict) or sat.get("type") not in ("automap", "snat", "none", "lsn"):
            raise errors.bad_value("invalid sourceAddressTranslation")
        sat = {"type": sat["type"]} | ({"pool": sat["pool"]} if sat.get("pool") else {})
        if sat["type"] == "snat":
            path = rules.resolve(store, "snatpool", str(sat.get("pool", "")), part)
            rules.require(store, "snatpool", path, "SNAT Pool")
            sat["pool"] = path
        props["sourceAddressTranslation"] = sat
    if "vlans" in body:
        vlans = [rules.resolve(store, "vlan", v, part) for v in _names(body, "vlans", "VLAN")]
        for path in vlans:
            rules.require(store, "vlan", path, "VLAN")
        props["vlans"] = vlans
    if creating:
        props["vsIndex"] = gen
        if not body.get("profiles"):
            body["profiles"] = ["/Common/fastL4"]


def _names(body: dict[str, Any], key: str, what: str) -> list[str]:
    """A list-of-names property (`rules`, `vlans`): a list of non-empty strings, or null/[]."""
    value = body[key]
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise errors.bad_value(f"{key} must be a list of {what} names")
    return value


def _persist_names(value: Any) -> list[str]:
    """A virtual's `persist`: names or `{"name"[, "partition"]}` objects, as full or relative
    names (null or [] clears it)."""
    if value is None:
        return []
    message = 'persist must be a list of persistence profile names or {"name": ...} objects'
    if not isinstance(value, list):
        raise errors.bad_value(message)
    names = []
    for item in value:
        if isinstance(item, dict):
            name, partition = item.get("name"), item.get("partition")
            if not isinstance(partition, str | None):
                raise errors.bad_value(message)
            if isinstance(name, str) and partition and not name.startswith("/"):
                name = f"/{partition.strip('/')}/{name}"
        else:
            name = item
        if not isinstance(name, str) or not name.strip():
            raise errors.bad_value(message)
        names.append(name)
    return names


def _normalize_policy(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    props = obj.props
    props.pop("legacy", None)
    if creating:
        props["status"] = "draft" if obj.sub_path == "Drafts" else "published"
    strategy = props.get("strategy")
    if isinstance(strategy, str) and not strategy.startswith("/"):
        props["strategy"] = f"/Common/{strategy}"


def _normalize_rule(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    text = str(obj.props.get("apiAnonymous", ""))
    depth = 0
    for ch in text:
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            break
    if depth != 0:
        raise errors.IcrError(400, f"01070151:3: Rule [{obj.full_path}] error: missing close-brace")


def _normalize_derived(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    if obj.builtin:
        return
    group = rt.group
    if group == "profile" and creating:
        other = store.lookup("profile", obj.full_path)
        if other is not None and other.rtype != obj.rtype:
            raise errors.profile_name_clash(obj.full_path)
    parent_path = str(obj.props.get("defaultsFrom") or rules.builtin_parent(rt.path))
    parent_path = rules.resolve(store, group, parent_path, obj.partition)
    target = store.get(rt.path, parent_path)
    if target is None:
        raise errors.not_found(rt.label, parent_path)
    obj.props["defaultsFrom"] = parent_path
    for key in ("interval", "timeout"):
        if key in body and group == "monitor":
            obj.props[key] = rules.as_int(body[key], key, 0)


def _normalize_rd(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    props = obj.props
    if creating:
        if "id" not in body:
            raise errors.bad_value("01070734:3: Configuration error: a route domain needs an id")
        rd_id = rules.as_int(body["id"], "id", 0, 65534)
        other = store.lookup("rd-id", str(rd_id))
        if other is not None:
            raise errors.IcrError(
                400,
                f"0107092a:3: The route domain ID ({rd_id}) is already "
                f"in use by route domain ({other.full_path}).",
            )
        props["id"] = rd_id
    elif "id" in body and rules.as_int(body["id"], "id") != props.get("id"):
        raise errors.modify_not_allowed("id", "net route-domain")
    if "vlans" in body:
        vlans = [rules.resolve(store, "vlan", str(v), obj.partition) for v in body["vlans"] or []]
        for path in vlans:
            rules.require(store, "vlan", path, "VLAN")
        props["vlans"] = vlans
    if "strict" in body and body["strict"] not in ("enabled", "disabled"):
        raise errors.bad_value("strict must be enabled or disabled")


def _normalize_vlan(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    if "tag" in body:
        obj.props["tag"] = rules.as_int(body["tag"], "tag", 1, 4094)
    if "mtu" in body:
        obj.props["mtu"] = rules.as_int(body["mtu"], "mtu", 576, 9198)


def _normalize_self(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    props = obj.props
    if creating and (not body.get("address") or not body.get("vlan")):
        raise errors.bad_value(
            "01070734:3: Configuration error: a self IP needs an address and a VLAN"
        )
    if "address" in body:
        address = str(body["address"])
        if "/" not in address or not is_ip(address.split("/", maxsplit=1)[0]):
            raise errors.bad_value(f"invalid self IP address ({address})")
        rules.require_rd(store, address)
    if "vlan" in body:
        path = rules.resolve(store, "vlan", str(body["vlan"]), obj.partition)
        rules.require(store, "vlan", path, "VLAN")
        props["vlan"] = path
    if "trafficGroup" in body:
        path = rules.resolve(store, "traffic-group", str(body["trafficGroup"]), "Common")
        rules.require(store, "traffic-group", path, "Traffic Group")
        props["trafficGroup"] = path
        props["floating"] = "enabled" if path.endswith("traffic-group-1") else "disabled"


def _normalize_snatpool(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    members = body.get("members", obj.props.get("members"))
    if creating and not members:
        raise errors.bad_value("01070734:3: Configuration error: a snatpool needs members")
    if "members" in body:
        obj.props["members"] = [
            m if str(m).startswith("/") else f"/{obj.partition}/{m}" for m in body["members"] or []
        ]


def _normalize_device_group(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    if "autoSync" in body and body["autoSync"] not in ("enabled", "disabled"):
        raise errors.bad_value("autoSync must be enabled or disabled")


def _normalize_db(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A `sys/db` variable takes only `value`, and only within its `valueRange`."""
    if set(body) - rules_meta - {"value"}:
        raise errors.bad_value(f"only the value of db variable {obj.name} can be changed")
    value = str(obj.props.get("value", ""))
    allowed = str(obj.props.get("valueRange", ""))
    if allowed.startswith("integer"):
        bounds = dict(part.split(":", 1) for part in allowed.split()[1:])
        if not value.lstrip("-").isdigit() or not (
            int(bounds.get("min", value)) <= int(value) <= int(bounds.get("max", value))
        ):
            raise errors.bad_value(f"invalid value ({value}) for {obj.name}: {allowed}")
    elif allowed and value not in allowed.split():
        raise errors.bad_value(f"invalid value ({value}) for {obj.name}: {allowed}")
    obj.props["value"] = value


# -- TLS: certificate, key and CRL files, SSL profiles -----------------------------------------
def _normalize_ssl_file(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """`sys/file/ssl-cert|ssl-key|ssl-crl`: the content comes from `sourcePath` (an uploaded
    file); everything a GET shows is derived from it, so read-only fields sent back by a
    client (a PUT of a GET) are ignored."""
    props = obj.props
    for key in [k for k in props if k in rt.extra and k != "description"]:
        del props[key]
    if "sourcePath" not in body:
        if creating:
            raise errors.bad_value(
                f"01070734:3: Configuration error: a {rt.label} needs a sourcePath "
                "(file:///var/config/rest/downloads/<file>)"
            )
        return
    data = files.read_source(store, body["sourcePath"], "sourcePath")
    passphrase = body.get("passphrase")
    if passphrase is not None and not isinstance(passphrase, str):
        raise errors.bad_value("passphrase must be a string")
    try:
        new = rules.ssl_file_props(
            rt.path, data, str(body["sourcePath"]).strip(), passphrase, props.get("_info")
        )
    except pki.PemError as exc:
        raise errors.bad_file(rt.label, obj.full_path, str(exc)) from exc
    props.update(new)


_TRUE_FALSE = {True: "true", False: "false", "true": "true", "false": "false"}
_SSL_WORDS = {
    "peerCertMode": ("ignore", "require", "request", "auto"),
    "authenticate": ("once", "always"),
    "renegotiation": ("enabled", "disabled"),
    "secureRenegotiation": ("require", "require-strict", "request"),
}


def _file_ref(store: Store, value: Any, group: str, label: str, partition: str) -> str:
    """A profile's reference to a certificate, key or CRL file object (or `none`)."""
    if value is None or value in ("", "none"):
        return "none"
    if not isinstance(value, str):
        raise errors.bad_value(f"a {label} reference must be a name")
    path = rules.resolve(store, group, value, partition)
    if store.lookup(group, path) is None:
        raise errors.file_missing(label, path)
    return path


def _tm_options(value: Any) -> list[str]:
    """`tmOptions` as a list of option words; the tmsh form `{ no-sslv3 no-tlsv1 }` and
    `none` are accepted too."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [w for w in value.replace("{", " ").replace("}", " ").split() if w != "none"]
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise errors.bad_value("tmOptions must be a list of option names")
    return [w.strip() for w in value]


def _ssl_common(store: Store, obj: Obj, body: dict[str, Any]) -> None:
    props = obj.props
    for key, group, label in rules.SSL_REF_FIELDS:
        if key in body:
            props[key] = _file_ref(store, body[key], group, label, obj.partition)
    for key, words in _SSL_WORDS.items():
        if key in body and body[key] not in words:
            raise errors.bad_value(f"{key} must be one of {', '.join(words)}")
    for key in ("sniDefault", "sniRequire"):
        if key in body:
            flag = body[key]
            if not isinstance(flag, bool | str) or flag not in _TRUE_FALSE:
                raise errors.bad_value(f"{key} must be true or false")
            props[key] = _TRUE_FALSE[flag]
    for key in ("serverName", "ciphers", "authenticateName"):
        if key in body:
            value = body[key]
            if value is None or value == "":
                value = "DEFAULT" if key == "ciphers" else "none"
            if not isinstance(value, str):
                raise errors.bad_value(f"{key} must be a string")
            props[key] = value
    if "tmOptions" in body:
        props["tmOptions"] = _tm_options(body["tmOptions"])
    if "authenticateDepth" in body:
        props["authenticateDepth"] = rules.as_int(body["authenticateDepth"], "authenticateDepth", 0)
    props.pop("passphrase", None)  # a secret: used to read a key, never stored or shown


def _cert_key_chain(store: Store, obj: Obj, value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise errors.bad_value("certKeyChain must be a list of {name, cert, key[, chain]} objects")
    chain = []
    for index, entry in enumerate(value):
        cert = _file_ref(store, entry.get("cert"), "ssl-cert", "certificate", obj.partition)
        key = _file_ref(store, entry.get("key"), "ssl-key", "key", obj.partition)
        if cert == "none" or key == "none":
            raise errors.bad_value("each certKeyChain entry needs a cert and a key")
        name = entry.get("name") or ("default" if index == 0 else cert.rsplit("/", 1)[-1])
        if not isinstance(name, str):
            raise errors.bad_value("a certKeyChain entry's name must be a string")
        item = {"name": name, "cert": cert, "key": key}
        item["chain"] = _file_ref(store, entry.get("chain"), "ssl-cert", "certificate",
                                  obj.partition)
        chain.append(item)
    return chain


def _normalize_client_ssl(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A client-ssl profile. `certKeyChain` and the older `cert`/`key`/`chain` mirror each
    other (the first chain entry is the profile's `cert`/`key`). Whether each pair matches
    is checked when the change is committed (`rules.check_deferred`)."""
    _normalize_derived(store, rt, obj, body, creating, gen, parent)
    _ssl_common(store, obj, body)
    props = obj.props
    if "certKeyChain" in body:
        chain = _cert_key_chain(store, obj, body["certKeyChain"])
        props["certKeyChain"] = chain
        props["inheritCertkeychain"] = "false"
        if chain:
            props.update({k: chain[0][k] for k in ("cert", "key", "chain")})
    elif any(k in body for k in ("cert", "key", "chain")):
        defaults = rt.defaults
        props["inheritCertkeychain"] = "false"
        props["certKeyChain"] = [
            {
                "name": "default",
                "cert": str(props.get("cert", defaults["cert"])),
                "key": str(props.get("key", defaults["key"])),
                "chain": str(props.get("chain", "none")),
            }
        ]


def _normalize_server_ssl(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A server-ssl profile: `cert`/`key` (the client certificate shown to members), `chain`,
    `caFile`/`crlFile` and `peerCertMode` for validating the members' certificates."""
    _normalize_derived(store, rt, obj, body, creating, gen, parent)
    _ssl_common(store, obj, body)


_NORMALIZE = {
    "ltm/pool/members": _normalize_member,
    "ltm/pool": _normalize_pool,
    "ltm/node": _normalize_node,
    "ltm/virtual": _normalize_virtual,
    "ltm/policy": _normalize_policy,
    "ltm/rule": _normalize_rule,
    "net/route-domain": _normalize_rd,
    "net/vlan": _normalize_vlan,
    "net/self": _normalize_self,
    "ltm/snatpool": _normalize_snatpool,
    "cm/device-group": _normalize_device_group,
    "sys/db": _normalize_db,
    "sys/file/ssl-cert": _normalize_ssl_file,
    "sys/file/ssl-key": _normalize_ssl_file,
    "sys/file/ssl-crl": _normalize_ssl_file,
    "ltm/profile/client-ssl": _normalize_client_ssl,
    "ltm/profile/server-ssl": _normalize_server_ssl,
}


# -- create and delete of top-level objects ----------------------------------------------------
def create(store: Store, rt: ResType, body: dict[str, Any], gen: int) -> Obj:
    if rt.builtin_only:
        raise errors.bad_value(f"{rt.label} objects cannot be created through this simulator")
    ident = ident_from_body(body)
    fp = ident.full_path()
    obj = Obj(rt.path, ident.partition, ident.sub_path, ident.name, fp, {}, gen)
    rules.require_folder(store, rt.label, obj)
    existing = store.get(rt.path, fp)
    if existing is not None:
        raise errors.duplicate(rt.label, fp, ident.partition)
    body = dict(body)
    apply_props(store, rt, obj, body, True, gen)
    store.put(obj)
    return obj


def delete(store: Store, rt: ResType, obj: Obj) -> None:
    if obj.builtin:
        raise errors.builtin(rt.label, obj.full_path)
    users = [u for u in store.users(rt.group, obj.full_path) if u != (obj.rtype, obj.full_path)]
    if rt.path == "net/route-domain":
        rd_users = store.users("rd-id", str(obj.props.get("id", 0)))
        parts = [p for t, p in rd_users if t == "sys/folder"]
        if parts:
            raise errors.route_domain_is_default(
                int(obj.props.get("id", 0)), [p.strip("/") for p in parts]
            )
        users += rd_users
    if users:
        utype, upath = users[0]
        if rt.path == "ltm/node":
            raise errors.node_in_use(obj.full_path, upath)
        if rt.path == "ltm/snatpool":
            raise errors.IcrError(
                400,
                f"01070320:3: Snatpool {obj.full_path} is still referenced by a virtual server.",
            )
        if rt.group == "monitor":
            raise errors.IcrError(400, f"01070083:3: Monitor {obj.full_path} is in use.")
        ulabel = TYPES[utype].label if utype in TYPES else utype
        raise errors.in_use(rt.label, obj.full_path, ulabel, upath)
    store.remove(rt.path, obj.full_path)
    if rt.path == "ltm/virtual":
        dest = obj.props.get("destination", "")
        ident = split_full_path(str(dest))
        addr, _ = split_port(ident.name)
        va_path = full_path(ident.partition, ident.sub_path, addr)
        va = store.get("ltm/virtual-address", va_path)
        if (
            va is not None
            and va.props.get("autoDelete", "true") == "true"
            and not store.users("virtual-address", va_path)
        ):
            store.remove("ltm/virtual-address", va_path)
