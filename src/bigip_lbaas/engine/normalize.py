"""Turn the JSON a device returns into the canonical bodies ``render`` produces. Pure.

The device adds defaults, read-only fields and representation quirks (subcollections under
``…Reference.items``, ``enabled``/``disabled`` pairs, monitor-driven member ``state``/``session``,
``min 1 of { … }`` monitor rules, persist as dicts). This module reshapes those; ``diff`` then
compares only the keys ``render`` sets, so unknown extra keys never cause a write.

Must not: do I/O; it receives already-fetched JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceConfig, DeviceObject, Kind, make_config

_META = frozenset({"kind", "selfLink", "generation", "fullPath", "partition", "subPath"})


def _address(raw: Mapping[str, Any], default_rd: int | None = None) -> str:
    return rd_address(str(raw.get("address", "")), default_rd)


def rd_address(address: str, default_rd: int | None) -> str:
    """An address as ``render`` writes it. Global routed mode (``default_rd`` None): without any
    ``%rd``. L2/L3 mode: ``%rd`` explicit, where an address without one is in the partition's
    default route domain ``default_rd`` (as a device shows it) and route domain 0 has no
    suffix while the partition's default is 0. Works on ``<address>/<prefix length>`` too."""
    text, slash, plen = address.partition("/")
    base, rd = names.split_rd(text)
    if default_rd is None:
        return base + slash + plen
    if rd is None:
        rd = default_rd
    return names.with_rd(base, rd, explicit=default_rd != 0) + slash + plen


def _service(service: str, default_rd: int | None) -> str:
    """``10.0.0.5%2:80`` (or IPv6 ``…%2.80``) with its address as ``rd_address`` makes it."""
    if default_rd is None:
        return service
    v6 = service.count(":") > 1
    address, sep, port = service.rpartition("." if v6 else ":")
    if not sep or not port.isdigit():
        return service
    return f"{rd_address(address, default_rd)}{sep}{port}"


def _strip(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _META and not k.endswith("Reference")}


def _sub_items(item: Mapping[str, Any], key: str) -> list[Mapping[str, Any]] | None:
    """Items of an expanded subcollection (``<key>Reference.items``) or inline list ``<key>``."""
    ref = item.get(f"{key}Reference")
    if isinstance(ref, Mapping) and isinstance(ref.get("items"), list):
        return list(ref["items"])
    inline = item.get(key)
    if isinstance(inline, list) and all(isinstance(x, Mapping) for x in inline):
        return list(inline)
    if isinstance(ref, Mapping) and ref.get("isSubcollection"):
        return []
    return None


def _path_of(entry: Any) -> str:
    if isinstance(entry, str):
        return entry.strip()
    if isinstance(entry, Mapping):
        if "fullPath" in entry:
            return str(entry["fullPath"])
        name = str(entry.get("name", ""))
        if name.startswith("/"):
            return name
        part = entry.get("partition")
        return f"/{part}/{name}" if part else name
    return str(entry)


def _paths(item: Mapping[str, Any], key: str) -> list[str]:
    items = _sub_items(item, key)
    if items is not None:
        return sorted(_path_of(x) for x in items)
    raw = item.get(key)
    if isinstance(raw, list):
        return sorted(_path_of(x) for x in raw)
    return []


def _profiles(item: Mapping[str, Any]) -> list[Any]:
    """A virtual's profiles as ``render`` writes them: the path of a profile for both sides
    (context ``all``), ``{"name": path, "context": side}`` for a clientside or serverside one."""
    items = _sub_items(item, "profiles")
    if items is None:
        raw = item.get("profiles")
        items = raw if isinstance(raw, list) else []
    out: list[Any] = []
    for entry in items:
        path = _path_of(entry)
        context = entry.get("context") if isinstance(entry, Mapping) else None
        out.append(
            {"name": path, "context": context} if context in ("clientside", "serverside") else path
        )
    return sorted(out, key=lambda p: p if isinstance(p, str) else str(p["name"]))


def monitor_rule(raw: Any) -> str:
    """``"min 1 of { /P/a /P/b }"``, ``"/P/a and /P/b"``, ``"/P/a "`` → ``"/P/a and /P/b"``."""
    text = str(raw or "").strip()
    if text.startswith("min "):
        parts = text.replace("{", " ").replace("}", " ").split()
        text = " and ".join(p for p in parts[3:])
    parts = [p for p in text.split() if p != "and"]
    return " and ".join(parts)


def _enabled_pair(raw: Mapping[str, Any], body: dict[str, Any]) -> None:
    disabled = raw.get("disabled") in (True, "true")
    body.pop("enabled", None)
    body.pop("disabled", None)
    body["disabled" if disabled else "enabled"] = True


def _member(raw: Mapping[str, Any], default_rd: int | None = None) -> dict[str, Any]:
    body = _strip(raw)
    body["name"] = _service(str(raw.get("name", "")).rsplit("/", 1)[-1], default_rd)
    body["address"] = _address(raw, default_rd)
    body["session"] = "user-disabled" if raw.get("session") == "user-disabled" else "user-enabled"
    body["state"] = "user-down" if raw.get("state") == "user-down" else "user-up"
    body["monitor"] = monitor_rule(raw.get("monitor", "default")) or "default"
    return body


def _policy_rule(raw: Mapping[str, Any]) -> dict[str, Any]:
    body = _strip(raw)
    for key in ("conditions", "actions"):
        items = _sub_items(raw, key) or []
        body[key] = sorted(
            (_strip(x) | {"name": str(x.get("name"))} for x in items),
            key=lambda d: int(d["name"]) if str(d["name"]).isdigit() else 0,
        )
    return body


def destination(dest: str, addresses: Mapping[str, str], default_rd: int | None = None) -> str:
    """A virtual's destination as ``render`` writes it (``/P/<address><sep><port>``).

    A device links a virtual to a virtual address of its folder that has its address, and then
    reads the destination back as that object's path (``/P/Project_<lb>:80``, ``:`` whatever
    the family). ``addresses`` maps such full paths to their addresses; a destination naming
    one is read as its address, so the same virtual compares equal either way."""
    if dest.count(":") > 1:  # an IPv6 address: "/P/2001:db8::1.80"
        return _in_folder(dest, default_rd)
    head, sep, port = dest.rpartition(":")
    address = addresses.get(head) if sep and port.isdigit() else None
    if address is None:
        return _in_folder(dest, default_rd)
    return names.full_path(head[1:].split("/", 1)[0], names.service(address, int(port)))


def _in_folder(dest: str, default_rd: int | None) -> str:
    """A ``/P/<service>`` destination with its address as ``rd_address`` makes it."""
    if default_rd is None or not dest.startswith("/"):
        return dest
    folder, _, service = dest[1:].partition("/")
    return f"/{folder}/{_service(service, default_rd)}"


def _interfaces(raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for item in _sub_items(raw, "interfaces") or []:
        tagged = item.get("tagged") in (True, "true")
        out.append({"name": str(item.get("name", "")), ("tagged" if tagged else "untagged"): True})
    return sorted(out, key=lambda i: str(i["name"]))


def _net(kind: Kind, raw: Mapping[str, Any], body: dict[str, Any], default_rd: int | None) -> None:
    """The L2/L3 kinds (engine/network.py)."""
    if kind is Kind.VLAN:
        body["interfaces"] = _interfaces(raw)
    elif kind is Kind.TUNNEL:
        body["profile"] = _path_of(raw.get("profile", ""))
    elif kind is Kind.ROUTE_DOMAIN:
        body["vlans"] = _paths(raw, "vlans")
        if raw.get("parent"):
            body["parent"] = _path_of(raw["parent"])
    elif kind is Kind.FDB_TUNNEL:
        records = _sub_items(raw, "records") or []
        body["records"] = sorted(
            ({"name": str(r.get("name", "")), "endpoint": str(r.get("endpoint", ""))}
             for r in records), key=lambda r: (r["name"], r["endpoint"]))
    elif kind in (Kind.SELF_IP, Kind.SNAT_TRANSLATION):
        body["address"] = _address(raw, default_rd)
        if raw.get("vlan"):
            body["vlan"] = _path_of(raw["vlan"])
    elif kind is Kind.ROUTE:
        for key in ("network", "gw"):
            if isinstance(raw.get(key), str):
                body[key] = rd_address(str(raw[key]), default_rd)
    elif kind is Kind.SNATPOOL:
        body["members"] = _paths(raw, "members")


def normalize(
    kind: Kind, raw: Mapping[str, Any], addresses: Mapping[str, str] | None = None,
    default_rd: int | None = None,
) -> dict[str, Any]:
    """Canonical body of one object as read from the device. ``addresses``: the address of each
    virtual address of the partition by full path (see ``destination``). ``default_rd``: the
    partition's default route domain in L2/L3 mode (see ``rd_address``), None in routed mode."""
    body = _strip(raw)
    if kind is Kind.VIRTUAL:
        _enabled_pair(raw, body)
        if isinstance(raw.get("destination"), str) and (addresses or default_rd is not None):
            body["destination"] = destination(str(raw["destination"]), addresses or {},
                                              default_rd)
        if default_rd is not None and isinstance(raw.get("source"), str):
            body["source"] = rd_address(str(raw["source"]), default_rd)
        body["pool"] = _path_of(raw.get("pool", "")) if raw.get("pool") else ""
        body["profiles"] = _profiles(raw)
        body["policies"] = _paths(raw, "policies")
        body["persist"] = [_path_of(p) for p in raw.get("persist", []) or []]
        body["rules"] = [str(r) for r in raw.get("rules", []) or []]
        body["fallbackPersistence"] = str(raw.get("fallbackPersistence", "") or "")
        sat = raw.get("sourceAddressTranslation")
        if isinstance(sat, Mapping):
            body["sourceAddressTranslation"] = {"type": sat.get("type")} | (
                {"pool": sat["pool"]} if sat.get("pool") else {}
            )
    elif kind is Kind.POOL:
        body["monitor"] = monitor_rule(raw.get("monitor", ""))
        items = _sub_items(raw, "members") or []
        body["members"] = sorted((_member(m, default_rd) for m in items),
                                 key=lambda m: str(m["name"]))
    elif kind is Kind.VIRTUAL_ADDRESS:
        for key in ("enabled", "autoDelete"):
            v = raw.get(key)
            if isinstance(v, bool):
                body[key] = (
                    ("yes" if v else "no") if key == "enabled" else ("true" if v else "false")
                )
        body["address"] = _address(raw, default_rd)
    elif kind is Kind.POLICY:
        items = _sub_items(raw, "rules") or []
        body["rules"] = sorted(
            (_policy_rule(r) for r in items), key=lambda r: int(r.get("ordinal", 0))
        )
    elif kind is Kind.NODE:
        body["address"] = _address(raw, default_rd)
    elif kind in (Kind.PROFILE_CLIENT_SSL, Kind.PROFILE_SERVER_SSL):
        body["tmOptions"] = tm_options(raw.get("tmOptions"))
    else:
        _net(kind, raw, body, default_rd)
    return body


def tm_options(raw: Any) -> list[str]:
    """An SSL profile's ``tmOptions``, a list or tmsh's ``{ a b }``, as a sorted list."""
    words = raw if isinstance(raw, list) else str(raw or "").replace("{", " ").replace(
        "}", " ").split()
    return sorted(str(w) for w in words if str(w) not in ("", "none"))


def observed_config(
    partition: str, collections: Mapping[Kind, Sequence[Mapping[str, Any]]], folder_exists: bool,
    default_rd: int | None = None,
) -> DeviceConfig:
    """Build a DeviceConfig from the items of each collection GET of ``partition``.
    ``default_rd``: L2/L3 mode, the partition's default route domain (an object of its own
    when not 0); None: global routed mode."""
    objects: list[DeviceObject] = []
    if folder_exists:
        objects.append(DeviceObject(Kind.FOLDER, partition, {}))
    if default_rd:
        objects.append(DeviceObject(Kind.PARTITION_DEFAULT_RD, partition,
                                    {"defaultRouteDomain": default_rd}))
    addresses = {
        names.full_path(partition, str(raw["name"])): _address(raw, default_rd)
        for raw in collections.get(Kind.VIRTUAL_ADDRESS, ())
        if raw.get("partition") in (None, partition) and not raw.get("subPath")
    }
    for kind, items in collections.items():
        for raw in items:
            if raw.get("partition") not in (None, partition):
                continue
            if raw.get("subPath"):
                continue  # objects in sub-folders (e.g. policy Drafts) are not ours
            if kind is Kind.FDB_TUNNEL and not _sub_items(raw, "records"):
                continue  # a tunnel's FDB without records: nothing of ours in it
            objects.append(DeviceObject(kind, str(raw["name"]),
                                        normalize(kind, raw, addresses, default_rd)))
    return make_config(partition, objects)
