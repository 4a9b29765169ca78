"""Create, modify and delete for each resource type, with mcpd's rules applied.

Owns the write paths of `/mgmt/tm/<type>` collections and their subcollections: building an
`Obj` from a client's body (names, partition, subPath, defaults, normalised references),
implicit objects (nodes for members, virtual addresses for virtuals, a partition's folders,
SNAT translations for the addresses of a SNAT pool, the FDB tunnel of a tunnel), addresses
and the route domains they are in (`%rd`, or the partition's default), and what a delete
must refuse or take with it. Every function runs inside `Store.atomic()`
(the caller's), so a failure half-way leaves nothing behind.
"""

from __future__ import annotations

import re
from typing import Any

from bigip_lbaas.sim import errors, files, pki, rules
from bigip_lbaas.sim.kinds import TYPES, ResType
from bigip_lbaas.sim.names import (
    Ident,
    full_path,
    is_ip,
    is_ipv6,
    rd_key,
    route_domain_id,
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
    for immutable in IMMUTABLE.get(rt.path, ()):
        if not creating and immutable in body and body[immutable] != props.get(immutable):
            raise errors.modify_not_allowed(immutable, rt.path.replace("/", " "))
    for key, value in body.items():
        if key in rules_meta or key.endswith("Reference") or key in rt.subcollections:
            continue
        if key in pair_keys:
            continue
        props[key] = value
    for on, off in _PAIRS.get(rt.path, ()):
        rules.reduce_pair(props, body, on, off)
    flag_words(rt, props, body)
    fn = _NORMALIZE.get(rt.path)
    if fn is None and rt.path.startswith(rules.DERIVED_PREFIXES):
        fn = _normalize_derived
    if fn is not None:
        fn(store, rt, obj, body, creating, gen, parent)
    for sub, sub_rt in rt.subcollections.items():
        if sub in body and body[sub] is not None:
            replace_children(store, obj, sub, sub_rt, body[sub], gen)
    obj.generation = gen


_FLAG_WORDS = (("true", "false"), ("yes", "no"), ("enabled", "disabled"))


def flag_words(rt: ResType, props: dict[str, Any], body: dict[str, Any]) -> None:
    """A flag the device keeps as a word (`autoDelete "true"`, a virtual address's
    `enabled "yes"`, `arp "enabled"`) reads back as that word when a client sent a JSON
    boolean, as a device answers (F5's agent sends `"autoDelete": false`)."""
    for key, value in body.items():
        if not isinstance(value, bool):
            continue
        default = rt.defaults.get(key)
        for on, off in _FLAG_WORDS:
            if default in (on, off):
                props[key] = on if value else off
                break


IMMUTABLE = {
    "ltm/node": ("address",),
    "net/route-domain": ("id",),
    "ltm/pool/members": ("address",),
    "net/self": ("address",),
    "ltm/virtual-address": ("address",),
    "ltm/snat-translation": ("address",),
    "net/route": ("network",),
}
"""What a modify may not change (an object's identity on the device): 400 `"<key>" may not
be specified in the context of the "modify" command`."""
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
        rd = rules.address_rd(store, address, ident.partition)
        other = store.lookup("node-address", rd_key(address, rd))
        if other is not None:
            raise errors.node_address_clash(node_path, other.full_path, address.split("%")[0])
        store.put(
            Obj(
                "ltm/node",
                ident.partition,
                ident.sub_path,
                addr,
                node_path,
                {"address": address, "_rd": rd},
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
        obj.props["_rd"] = rules.address_rd(store, str(address), obj.partition)
        other = store.lookup("node-address", rd_key(str(address), obj.props["_rd"]))
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
        _destination(store, obj, body, gen)
    if "ipProtocol" in body and body["ipProtocol"] not in rules.IP_PROTOCOLS:
        raise errors.bad_value(
            f"01070734:3: Configuration error: invalid ipProtocol ({body['ipProtocol']})"
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


def _destination(store: Store, obj: Obj, body: dict[str, Any], gen: int) -> None:
    """A virtual's `destination`: `<address>[%rd]<sep><port>` or `<virtual address>:<port>`.

    As on a device, the virtual is linked to a virtual address of its own folder that has its
    address in its route domain (F5's agent creates `/P/Project_<lb>` with autoDelete off,
    then virtuals on `10.0.0.5:80`): the destination then names that object
    (`/P/Project_<lb>:80`). Otherwise a virtual address named by the address is created
    (autoDelete on). A destination naming a virtual address that does not exist is 404."""
    props = obj.props
    part = obj.partition
    dest = str(body["destination"])
    if not dest.startswith("/"):
        dest = f"/{part}/{dest}"
    ident = split_full_path(dest)
    addr, port = split_port(ident.name)
    if not port:
        raise errors.bad_value(f"invalid destination ({body['destination']})")
    port = rules.normalize_port(port)
    named: Obj | None = None
    if not is_ip(addr.split("%", 1)[0]):
        named = store.get("ltm/virtual-address", full_path(ident.partition, ident.sub_path, addr))
        if named is None:
            raise errors.not_found(
                "Virtual Address", full_path(ident.partition, ident.sub_path, addr)
            )
        addr = str(named.props.get("address", ""))
    if addr.endswith("%0"):
        addr = addr[:-2]
    rules.require_rd(store, addr)
    rd = named.props.get("_rd", 0) if named is not None else rules.address_rd(
        store, addr, ident.partition
    )
    props["_rd"] = rd
    if "mask" not in body:
        props["mask"] = rules.IPV6_MASK if is_ipv6(addr) else "255.255.255.255"
    va_path = full_path(ident.partition, ident.sub_path, addr)
    if named is None and store.get("ltm/virtual-address", va_path) is None:
        va = Obj(
            "ltm/virtual-address",
            ident.partition,
            ident.sub_path,
            addr,
            va_path,
            {"address": addr, "mask": props.get("mask", "255.255.255.255"), "_rd": rd},
            gen,
        )
        other = store.lookup("va-address", rules.address_alias(va))
        if other is not None and other.folder == va.folder:
            named = other  # the device links the virtual to it
        else:
            _require_unique_address(store, va, "Virtual Address")
            store.put(va)
    if named is not None:
        # a named virtual address: `name:port` whatever the address family
        props["destination"] = f"{named.full_path}:{port}"
    else:
        sep = "." if is_ipv6(addr) else ":"
        props["destination"] = full_path(ident.partition, ident.sub_path, f"{addr}{sep}{port}")


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


def _require_unique_address(store: Store, obj: Obj, label: str) -> None:
    """One address per route domain and type: `10.0.0.5%2` and `10.0.0.5%3` may both exist,
    but not two objects of one type at `10.0.0.5` in one route domain."""
    group = rules.ADDRESS_GROUPS[obj.rtype]
    other = store.lookup(group, rules.address_alias(obj))
    if other is not None and other.full_path != obj.full_path:
        raise errors.duplicate(label, other.full_path, other.partition)


def _set_address(
    store: Store, obj: Obj, body: dict[str, Any], creating: bool, label: str, mask: bool = False
) -> None:
    """An object named by or carrying an address (virtual address, self IP, SNAT
    translation): the address with `%rd` parsed (or the partition's default route domain),
    unique in its route domain, and immutable once created."""
    props = obj.props
    if not creating:
        return  # immutable (`IMMUTABLE`)
    address = body.get("address") or (obj.name if is_ip(obj.name) and not mask else "")
    if not isinstance(address, str) or not address:
        raise errors.bad_value(f"01070734:3: Configuration error: a {label} needs an address")
    base, slash, prefix = address.partition("/")
    if not is_ip(base) or bool(slash) != mask or (slash and not prefix.isdigit()):
        form = "<address>[%<rd>]/<prefix length>" if mask else "<address>[%<rd>]"
        raise errors.bad_value(f"invalid {label} address ({address}): expected {form}")
    rules.require_rd(store, base)
    props["address"] = address
    props["_rd"] = rules.address_rd(store, base, obj.partition)
    _require_unique_address(store, obj, label)


def _traffic_group(store: Store, obj: Obj, body: dict[str, Any]) -> None:
    """`trafficGroup` as a full path to an existing traffic group; a self IP's `floating`
    follows it (a floating traffic group makes a floating self IP), and `floating` alone
    picks `traffic-group-1` or `traffic-group-local-only`."""
    props = obj.props
    group = body.get("trafficGroup")
    if group is None and obj.rtype == "net/self" and "floating" in body:
        if body["floating"] not in ("enabled", "disabled"):
            raise errors.bad_value("floating must be enabled or disabled")
        group = (
            "traffic-group-1" if body["floating"] == "enabled" else "traffic-group-local-only"
        )
    if group is None:
        return
    if not isinstance(group, str) or not group:
        raise errors.bad_value("trafficGroup must be a traffic group name")
    path = rules.resolve(store, "traffic-group", group, "Common")
    target = rules.require(store, "traffic-group", path, "Traffic Group")
    props["trafficGroup"] = path
    if obj.rtype == "net/self":
        floating = target.props.get("isFloating", "true") == "true"
        if "floating" in body and (body["floating"] == "enabled") != floating:
            raise errors.bad_value(
                f"floating ({body['floating']}) does not match traffic group {path}"
            )
        props["floating"] = "enabled" if floating else "disabled"


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
        vlans = [
            rules.resolve(store, "vlan", v, obj.partition)
            for v in _names(body, "vlans", "VLAN or tunnel")
        ]
        for path in vlans:
            rules.require(store, "vlan", path, "VLAN")
        _move_vlans(store, obj, vlans, gen)
        if props.get("id", 0) == 0:
            props.pop("vlans", None)  # route domain 0 holds what no other one lists
        else:
            props["vlans"] = list(dict.fromkeys(vlans))
    if "strict" in body and body["strict"] not in ("enabled", "disabled"):
        raise errors.bad_value("strict must be enabled or disabled")
    if body.get("parent"):
        path = rules.resolve(store, "route-domain", str(body["parent"]), obj.partition)
        rules.require(store, "route-domain", path, "Route Domain")
        props["parent"] = path


def _move_vlans(store: Store, rd: Obj, vlans: list[str], gen: int) -> None:
    """A VLAN (or tunnel) is in one route domain: listing it in one takes it out of the one
    that listed it before (route domain 0 holds every VLAN no other one lists)."""
    for vlan in vlans:
        for rtype, path in store.users("vlan", vlan):
            if rtype != "net/route-domain" or path == rd.full_path:
                continue
            other = store.get(rtype, path)
            if other is None:
                continue
            moved = other.clone()
            moved.props["vlans"] = [v for v in moved.props.get("vlans", []) if v != vlan]
            if not moved.props["vlans"]:
                del moved.props["vlans"]
            moved.generation = gen
            store.put(moved)


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


def _normalize_vlan_interface(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A VLAN member: an existing interface, `tagged` or `untagged` (JSON booleans only: the
    string "False" is not false)."""
    if creating and store.get("net/interface", f"/Common/{obj.name}") is None:
        raise errors.IcrError(
            400, f"01020036:3: The requested Interface ({obj.name}) was not found."
        )
    props = obj.props
    for key in ("tagged", "untagged"):
        if key in body and not isinstance(body[key], bool):
            raise errors.bad_value(f"{key} must be true or false")
    if "tagged" in body or "untagged" in body:
        tagged = body["tagged"] if "tagged" in body else not body["untagged"]
        props.pop("tagged", None)
        props.pop("untagged", None)
        props["tagged" if tagged else "untagged"] = True
    elif "tagged" not in props:
        props["untagged"] = True
    mode = body.get("tagMode")
    if mode is not None and mode not in ("none", "service", "customer", "double"):
        raise errors.bad_value("tagMode must be none, service, customer or double")


def _normalize_self(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A self IP: `<ip>[%rd]/<prefix>` on a VLAN or tunnel of its route domain (checked when
    the change is committed: `rules.check_deferred`), floating in a floating traffic group."""
    props = obj.props
    if creating and not body.get("vlan"):
        raise errors.bad_value(
            "01070734:3: Configuration error: a self IP needs an address and a VLAN"
        )
    _set_address(store, obj, body, creating, "Self IP", mask=True)
    if "vlan" in body:
        if not isinstance(body["vlan"], str) or not body["vlan"]:
            raise errors.bad_value("vlan must be a VLAN or tunnel name")
        path = rules.resolve(store, "vlan", body["vlan"], obj.partition)
        rules.require(store, "vlan", path, "VLAN")
        props["vlan"] = path
    _traffic_group(store, obj, body)
    if "allowService" in body:
        props["allowService"] = _allow_service(body["allowService"])


def _allow_service(value: Any) -> str | list[str]:
    """`default`, `all`, `none`, or a list of `<protocol>:<port>` (`tcp:443`, `udp:0`)."""
    if value in ("default", "all", "none"):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        for item in value:
            proto, sep, port = item.rpartition(":")
            if not sep or not proto or not (port.isdigit() or port in rules.PORT_NAMES):
                raise errors.bad_value(f"invalid allowService entry ({item})")
        return list(value)
    raise errors.bad_value('allowService must be "default", "all", "none" or a list')


def _normalize_addressed(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A virtual address or SNAT translation: its address (unique in its route domain) and its
    traffic group."""
    _set_address(store, obj, body, creating, rt.label)
    _traffic_group(store, obj, body)


def _normalize_snatpool(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A SNAT pool's `members` are SNAT translations; an address (`10.0.0.9`, `10.0.0.9%2`)
    names the translation of that name, which is created when it does not exist."""
    members = body.get("members", obj.props.get("members"))
    if creating and not members:
        raise errors.bad_value("01070734:3: Configuration error: a snatpool needs members")
    if "members" in body:
        paths = []
        for name in _names(body, "members", "SNAT translation"):
            path = rules.resolve(store, "snat-translation", name, obj.partition)
            if store.get("ltm/snat-translation", path) is None:
                ident = split_full_path(path)
                if not is_ip(ident.name):
                    raise errors.not_found("SNAT Translation", path)
                translation = Obj(
                    "ltm/snat-translation", ident.partition, ident.sub_path, ident.name, path,
                    {}, gen,
                )
                rules.require_folder(store, "SNAT Translation", translation)
                _set_address(store, translation, {}, True, "SNAT Translation")
                store.put(translation)
            paths.append(path)
        obj.props["members"] = list(dict.fromkeys(paths))


def _normalize_route(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A static route: `network` (`default`, `default%2`, `10.1.0.0%2/16`; immutable) in a
    route domain, and exactly one of `gw` (in the same route domain), `tmInterface`, `pool`,
    `blackhole`."""
    props = obj.props
    if creating:
        network = body.get("network")
        if not isinstance(network, str) or not network:
            raise errors.bad_value("01070734:3: Configuration error: a route needs a network")
        net, _, prefix = network.partition("/")
        base = net.split("%", 1)[0]
        if base in ("default", "default-inet6") and prefix:
            raise errors.bad_value(f"invalid route network ({network})")
        if base not in ("default", "default-inet6") and (
            not is_ip(base) or not prefix.isdigit()
        ):
            raise errors.bad_value(f"invalid route network ({network})")
        if "%" in net and route_domain_id(net) is None:
            raise errors.bad_value(f"invalid route domain in network ({network})")
        rules.require_rd(store, net)
        props["network"] = network
        props["_rd"] = rules.address_rd(store, net, obj.partition)
    targets = [k for k in ("gw", "tmInterface", "pool", "blackhole") if k in body]
    if creating and len(targets) != 1:
        raise errors.bad_value(
            "01070734:3: Configuration error: a route needs one of gw, tmInterface, pool, "
            "blackhole"
        )
    if targets:
        for key in ("gw", "tmInterface", "pool", "blackhole"):
            if key not in targets:
                props.pop(key, None)
    rd = rules.obj_rd(obj)
    if "gw" in body:
        gw = body["gw"]
        if not isinstance(gw, str) or not is_ip(gw):
            raise errors.bad_value(f"invalid route gateway ({gw})")
        rules.require_rd(store, gw)
        if rules.address_rd(store, gw, obj.partition) != rd:
            raise errors.route_domain_mismatch(obj.full_path, gw, rd)
    if "tmInterface" in body:
        path = rules.resolve(store, "vlan", str(body["tmInterface"]), obj.partition)
        rules.require(store, "vlan", path, "VLAN")
        props["tmInterface"] = path
    if "pool" in body:
        path = rules.resolve(store, "pool", str(body["pool"]), obj.partition)
        rules.require(store, "pool", path, "Pool")
        props["pool"] = path
    if "blackhole" in body and body["blackhole"] is not True:
        raise errors.bad_value("blackhole must be true")
    if creating:  # one route per destination network and route domain
        _require_unique_address(store, obj, "Route")


_TUNNEL_MODES = ("bidirectional", "inbound", "outbound")


def _normalize_tunnel(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """A tunnel: an existing tunnel `profile`, a `key` (the VNI or GRE key), a
    `localAddress` that is one of the device's self IP addresses (`%rd` allowed), a
    `remoteAddress` (`any`, `any6` or an address), `mode` and `mtu`."""
    props = obj.props
    if creating and (not body.get("profile") or not body.get("localAddress")):
        raise errors.bad_value(
            "01070734:3: Configuration error: a tunnel needs a profile and a localAddress"
        )
    if "profile" in body:
        if not isinstance(body["profile"], str):
            raise errors.bad_value("profile must be a tunnel profile name")
        path = rules.resolve(store, "tunnel-profile", body["profile"], obj.partition)
        rules.require(store, "tunnel-profile", path, "Profile")
        props["profile"] = path
    if "key" in body:
        props["key"] = rules.as_int(body["key"], "key", 0, 4294967295)
    if "mtu" in body:
        props["mtu"] = rules.as_int(body["mtu"], "mtu", 0, 65535)
    if "mode" in body and body["mode"] not in _TUNNEL_MODES:
        raise errors.bad_value(f"mode must be one of {', '.join(_TUNNEL_MODES)}")
    if "remoteAddress" in body:
        remote = body["remoteAddress"]
        if not isinstance(remote, str) or (remote not in ("any", "any6") and not is_ip(remote)):
            raise errors.bad_value(f"invalid remoteAddress ({remote})")
    if "localAddress" in body:
        local = body["localAddress"]
        if not isinstance(local, str) or not is_ip(local):
            raise errors.local_address_not_self(obj.full_path, str(local))
        rules.require_rd(store, local)
        key = rd_key(local, rules.address_rd(store, local, obj.partition))
        self_ip = store.lookup("self-address", key)
        if self_ip is None:
            raise errors.local_address_not_self(obj.full_path, local)
        props["_self"] = self_ip.full_path


_FLOODING = ("none", "multipoint", "replicator", "multicast")


def _normalize_tunnel_profile(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    _normalize_derived(store, rt, obj, body, creating, gen, parent)
    props = obj.props
    if "floodingType" in body and body["floodingType"] not in _FLOODING:
        raise errors.bad_value(f"floodingType must be one of {', '.join(_FLOODING)}")
    if "port" in body:
        props["port"] = rules.as_int(body["port"], "port", 0, 65535)
    words = {"encapsulation": ("standard", "transparent-ethernet-bridging"),
             "encapsulationType": ("vxlan", "vxlan-gpe")}
    for key, allowed in words.items():
        if key in body and body[key] not in allowed:
            raise errors.bad_value(f"{key} must be one of {', '.join(allowed)}")


_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def _normalize_fdb_record(
    store: Store,
    rt: ResType,
    obj: Obj,
    body: dict[str, Any],
    creating: bool,
    gen: int,
    parent: Obj | None,
) -> None:
    """An FDB record: named by a MAC address, with the `endpoint` (VTEP) that reaches it."""
    if creating and not _MAC.match(obj.name):
        raise errors.bad_value(f"invalid FDB record name ({obj.name}): a MAC address is needed")
    if creating and "endpoint" not in body:
        raise errors.bad_value("01070734:3: Configuration error: an FDB record needs an endpoint")
    if "endpoint" in body:
        endpoint = body["endpoint"]
        if not isinstance(endpoint, str) or not is_ip(endpoint):
            raise errors.bad_value(f"invalid FDB record endpoint ({endpoint})")
        rules.require_rd(store, endpoint)


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
    "net/vlan/interfaces": _normalize_vlan_interface,
    "net/self": _normalize_self,
    "net/route": _normalize_route,
    "net/tunnels/tunnel": _normalize_tunnel,
    "net/tunnels/vxlan": _normalize_tunnel_profile,
    "net/tunnels/gre": _normalize_tunnel_profile,
    "net/fdb/tunnel/records": _normalize_fdb_record,
    "ltm/snatpool": _normalize_snatpool,
    "ltm/snat-translation": _normalize_addressed,
    "ltm/virtual-address": _normalize_addressed,
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
    if rt.path == "net/fdb/tunnel":
        raise errors.bad_value(
            "an FDB tunnel is created with its tunnel (net/tunnels/tunnel) and removed with it"
        )
    ident = ident_from_body(body)
    fp = ident.full_path()
    obj = Obj(rt.path, ident.partition, ident.sub_path, ident.name, fp, {}, gen)
    rules.require_folder(store, rt.label, obj)
    existing = store.get(rt.path, fp)
    if existing is None and rt.group == "vlan":  # VLANs and tunnels share one namespace
        existing = store.lookup("vlan", fp)
    if existing is not None:
        raise errors.duplicate(rt.label, fp, ident.partition)
    body = dict(body)
    apply_props(store, rt, obj, body, True, gen)
    store.put(obj)
    if rt.path == "net/tunnels/tunnel":
        store.put(Obj("net/fdb/tunnel", obj.partition, obj.sub_path, obj.name, fp, {}, gen))
    return obj


def delete(store: Store, rt: ResType, obj: Obj) -> None:
    if obj.builtin:
        raise errors.builtin(rt.label, obj.full_path)
    if rt.path == "net/fdb/tunnel":
        raise errors.bad_value(
            f"the FDB tunnel {obj.full_path} is removed with its tunnel (net/tunnels/tunnel)"
        )
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
    if rt.path == "net/tunnels/tunnel":
        store.remove("net/fdb/tunnel", obj.full_path)  # its records go with it
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
