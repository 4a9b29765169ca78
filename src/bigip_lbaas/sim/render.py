"""Turning stored objects into the JSON the device returns.

Owns `selfLink`s (`https://localhost/...?ver=`), the key order and defaults of a resource,
`…Reference` links, subcollection expansion, computed read-only values (member `state` and
`session` from the monitor rule) and collection documents with `$select`, `$top`/`$skip`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bigip_lbaas.sim.kinds import TYPES, ResType
from bigip_lbaas.sim.names import url_id
from bigip_lbaas.sim.rules import DERIVED_PREFIXES, monitor_paths, rd0_vlans
from bigip_lbaas.sim.store import Obj, Store

HOST = "https://localhost"


def obj_id(rt: ResType, obj: Obj) -> str:
    if rt.path == "sys/folder":
        return "~" + obj.full_path.strip("/").replace("/", "~") if obj.full_path != "/" else "~"
    if not rt.partitioned:
        return obj.name
    return url_id(obj.partition, obj.sub_path, obj.name)


def ref_link(rtype: str, path: str, ver: str) -> dict[str, str]:
    from bigip_lbaas.sim.names import split_full_path

    ident = split_full_path(path)
    return {
        "link": f"{HOST}/mgmt/tm/{rtype}/{url_id(ident.partition, ident.sub_path, ident.name)}"
        f"?ver={ver}"
    }


class View:
    """Renders objects of one device. `is_down(address)` is the monitor rule for members."""

    def __init__(
        self, version: str, is_down: Callable[[str], bool], store: Store | None = None
    ) -> None:
        self.version = version
        self.is_down = is_down
        self.store = store  # what a document shows of other objects (route domain 0's VLANs)

    def vlan_link(self, path: str) -> dict[str, str]:
        """A link to a VLAN, or to a tunnel where a VLAN may be named."""
        rtype = "net/vlan"
        if self.store is not None and self.store.get("net/tunnels/tunnel", path) is not None:
            rtype = "net/tunnels/tunnel"
        return ref_link(rtype, path, self.version)

    def link(self, path: str, query: str = "") -> str:
        q = f"{query}&ver={self.version}" if query else f"ver={self.version}"
        return f"{HOST}{path}?{q}"

    def obj(
        self, rt: ResType, obj: Obj, path: str, expand: bool = False, parent: Obj | None = None
    ) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": rt.kind, "name": obj.name}
        if rt.path == "auth/partition":
            d["fullPath"] = obj.name
        elif rt.path == "sys/folder":
            if obj.full_path != "/":
                d["subPath"] = obj.folder
            d["fullPath"] = obj.full_path
        elif rt.partitioned:
            d["partition"] = obj.partition
            if obj.sub_path:
                d["subPath"] = obj.sub_path
            d["fullPath"] = obj.full_path
        else:
            d["fullPath"] = obj.name
        d["generation"] = obj.generation
        d["selfLink"] = self.link(path)
        for key, value in rt.defaults.items():
            d[key] = value
        for key, value in obj.props.items():
            if key[0] != "_":
                d[key] = value
        if rt.path == "sys/folder":
            d.pop("defaultRouteDomain", None)
        hook = _HOOKS.get(rt.path)
        if hook is not None:
            hook(self, d, obj, parent)
        for sub, sub_rt in rt.subcollections.items():
            ref: dict[str, Any] = {"link": self.link(f"{path}/{sub}"), "isSubcollection": True}
            if expand:
                ref["items"] = [
                    self.obj(sub_rt, child, f"{path}/{sub}/{obj_id(sub_rt, child)}", True, obj)
                    for child in obj.children.get(sub, {}).values()
                ]
            d[f"{sub}Reference"] = ref
        return d

    def collection(
        self, kind: str, path: str, items: list[dict[str, Any]], query: dict[str, str], echo: str
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": kind, "selfLink": self.link(path, echo)}
        select = query.get("$select")
        if select:
            keys = [k.strip() for k in select.split(",") if k.strip()]
            items = [{k: item[k] for k in keys if k in item} for item in items]
        total = len(items)
        skip = max(_int(query.get("$skip"), 0), 0)  # a negative skip is no skip
        top_raw = query.get("$top")
        if skip:
            items = items[skip:]
        if top_raw is not None:
            top = max(_int(top_raw, total), 0)
            items = items[:top]
            doc["currentItemCount"] = len(items)
            doc["itemsPerPage"] = top
            doc["pageIndex"] = (skip // top + 1) if top else 1
            doc["startIndex"] = skip + 1
            doc["totalItems"] = total
            doc["totalPages"] = -(-total // top) if top else 1
        if items:
            doc["items"] = items
        return doc


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _member_monitored(member: Obj, pool: Obj | None) -> bool:
    mon = member.props.get("monitor", "default")
    if mon not in ("default", "", None):
        return bool(monitor_paths(mon))
    return pool is not None and bool(monitor_paths(pool.props.get("monitor")))


def member_status(view: View, member: Obj, pool: Obj | None) -> tuple[str, str]:
    """(state, session) as a GET shows them, derived from user settings and the monitor rule."""
    user_state = member.props.get("state", "user-up")
    user_session = member.props.get("session", "user-enabled")
    monitored = _member_monitored(member, pool)
    if user_state == "user-down":
        state = "user-down"
    elif not monitored:
        state = "unchecked"
    else:
        state = "down" if view.is_down(str(member.props.get("address", ""))) else "up"
    if user_session == "user-disabled":
        session = "user-disabled"
    else:
        session = "monitor-enabled" if monitored else "user-enabled"
    return state, session


def _member(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    d["state"], d["session"] = member_status(view, obj, parent)


def _node(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    monitored = bool(monitor_paths(obj.props.get("monitor")))
    if obj.props.get("state") == "user-down":
        d["state"] = "user-down"
    elif monitored:
        d["state"] = "down" if view.is_down(str(obj.props.get("address", ""))) else "up"
    else:
        d["state"] = "unchecked"
    if obj.props.get("session") != "user-disabled":
        d["session"] = "monitor-enabled" if monitored else "user-enabled"


def _pool(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    if not d.get("monitor"):
        d.pop("monitor", None)


def _virtual(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    ver = view.version
    if d.get("pool"):
        d["poolReference"] = ref_link("ltm/pool", d["pool"], ver)
    else:
        d.pop("pool", None)
    if d.get("rules"):
        d["rulesReference"] = [ref_link("ltm/rule", r, ver) for r in d["rules"]]
    if d.get("persist"):
        persist = []
        for item in d["persist"]:
            path = f"/{item['partition']}/{item['name']}"
            rtype = _persistence_type(path, view)
            persist.append(dict(item, nameReference=ref_link(rtype, path, ver)))
        d["persist"] = persist
    if d.get("vlans"):
        d["vlansReference"] = [view.vlan_link(v) for v in d["vlans"]]
    if not d.get("fallbackPersistence"):
        d.pop("fallbackPersistence", None)
    sat = d.get("sourceAddressTranslation") or {}
    if sat.get("pool"):
        d["sourceAddressTranslation"] = dict(
            sat, poolReference=ref_link("ltm/snatpool", sat["pool"], ver)
        )


def _persistence_type(path: str, view: View) -> str:
    return "ltm/persistence/" + _PERSIST_KIND.get(path.rsplit("/", 1)[-1], "source-addr")


_PERSIST_KIND = {
    "source_addr": "source-addr",
    "cookie": "cookie",
    "dest_addr": "dest-addr",
    "hash": "hash",
    "universal": "universal",
    "ssl": "ssl",
}


def _virtual_child(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    rtype = obj.props.get("_rtype")
    if isinstance(rtype, str):
        d["nameReference"] = ref_link(rtype, obj.full_path, view.version)


def _self_ip(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    if d.get("vlan"):
        d["vlanReference"] = view.vlan_link(d["vlan"])
    d["trafficGroupReference"] = ref_link("cm/traffic-group", d["trafficGroup"], view.version)


def _route(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    if d.get("tmInterface"):
        d["tmInterfaceReference"] = view.vlan_link(d["tmInterface"])
    if d.get("pool"):
        d["poolReference"] = ref_link("ltm/pool", d["pool"], view.version)


def _tunnel(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    profile = d.get("profile")
    if isinstance(profile, str) and profile and view.store is not None:
        target = view.store.lookup("tunnel-profile", profile)
        if target is not None:
            d["profileReference"] = ref_link(target.rtype, profile, view.version)


def _fdb_tunnel(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    """The records inline (what F5's agent reads) as well as the `records` subcollection."""
    records = [
        {"name": r.name, "endpoint": r.props.get("endpoint", "")}
        for r in obj.children.get("records", {}).values()
    ]
    if records:
        d["records"] = records


def _vaddr(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    d["trafficGroupReference"] = ref_link("cm/traffic-group", d["trafficGroup"], view.version)


def _rd(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    if d.get("id") == 0 and view.store is not None:
        d["vlans"] = rd0_vlans(view.store)  # every VLAN no other route domain lists
        if not d["vlans"]:
            del d["vlans"]
    if d.get("vlans"):
        d["vlansReference"] = [view.vlan_link(v) for v in d["vlans"]]
    if d.get("parent"):
        d["parentReference"] = ref_link("net/route-domain", d["parent"], view.version)


def _snatpool(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    d["membersReference"] = [
        ref_link("ltm/snat-translation", m, view.version) for m in d.get("members", [])
    ]


def _defaults_from(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    if not d.get("defaultsFrom"):
        d.pop("defaultsFrom", None)


_SSL_LINKS = (
    ("cert", "sys/file/ssl-cert"),
    ("key", "sys/file/ssl-key"),
    ("chain", "sys/file/ssl-cert"),
    ("caFile", "sys/file/ssl-cert"),
    ("crlFile", "sys/file/ssl-crl"),
)


def _ssl_profile(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    """`certReference`, `keyReference`, ... next to each file a profile (or one of its
    `certKeyChain` entries) names, as the device shows them."""
    _defaults_from(view, d, obj, parent)
    entries = d.get("certKeyChain")
    # copies: `d` shares its values with the stored object and the type's defaults
    copies = (
        [dict(e, appService="none") for e in entries if isinstance(e, dict)]
        if isinstance(entries, list)
        else []
    )
    if isinstance(entries, list):
        d["certKeyChain"] = copies
    for target in [d, *copies]:
        for key, rtype in _SSL_LINKS:
            value = target.get(key)
            if isinstance(value, str) and value.startswith("/"):
                target[f"{key}Reference"] = ref_link(rtype, value, view.version)


def _ssl_file(view: View, d: dict[str, Any], obj: Obj, parent: Obj | None) -> None:
    """What the device derived from the file (`fingerprint`, `subject`, ...); the PEM itself
    is never rendered."""
    info = obj.props.get("_info")
    if isinstance(info, dict):
        d.update(info)


Hook = Callable[[View, dict[str, Any], Obj, Obj | None], None]
_HOOKS: dict[str, Hook] = {
    "ltm/pool/members": _member,
    "ltm/node": _node,
    "ltm/pool": _pool,
    "ltm/virtual": _virtual,
    "ltm/virtual/profiles": _virtual_child,
    "ltm/virtual/policies": _virtual_child,
    "net/self": _self_ip,
    "net/route": _route,
    "net/tunnels/tunnel": _tunnel,
    "net/fdb/tunnel": _fdb_tunnel,
    "ltm/snat-translation": _vaddr,
    "ltm/virtual-address": _vaddr,
    "net/route-domain": _rd,
    "ltm/snatpool": _snatpool,
    "sys/file/ssl-cert": _ssl_file,
    "sys/file/ssl-key": _ssl_file,
    "sys/file/ssl-crl": _ssl_file,
}
for _path in TYPES:
    if _path.startswith(DERIVED_PREFIXES):
        _HOOKS[_path] = _defaults_from
_HOOKS["ltm/profile/client-ssl"] = _ssl_profile
_HOOKS["ltm/profile/server-ssl"] = _ssl_profile


def quote_query(pairs: list[tuple[str, str]]) -> str:
    """Echo recognised query parameters into a collection `selfLink` as the device does."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs)
