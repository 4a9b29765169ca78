"""Dispatch of `/mgmt/tm/...` requests to resources, commands and stats.

Owns URL resolution (collection, `~P~name` item, subcollection chains, `/stats`), the HTTP
semantics of each verb (POST 200 with the object, DELETE 200 with an empty body, PUT replaces,
PATCH merges), query parameters, the unnamed and command endpoints (`sys/version`,
`sys/global-settings`, `sys/config`, `cm`, `cm/sync-status`, `util/bash`) and the
`auth/partition` view of top-level folders. Every write runs in one `Store.atomic()`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bigip_lbaas.sim import errors, files, objects, stats
from bigip_lbaas.sim.kinds import FOLDER, GLOBAL_SETTINGS, ORGANIZING, PARTITION, TYPES, ResType
from bigip_lbaas.sim.names import Ident, parse_ident, split_full_path
from bigip_lbaas.sim.render import HOST, View, obj_id, quote_query
from bigip_lbaas.sim.rules import as_int, check_fields
from bigip_lbaas.sim.store import Obj, Store

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class DeviceHooks(Protocol):
    """What the `/mgmt/tm` tree needs to know about the device that serves it."""

    hostname: str
    version: str
    build: str
    global_settings: dict[str, Any]

    def sync_status(self) -> tuple[str, str, str, str]: ...
    def mark_dirty(self, pending: bool = True) -> None: ...
    def config_sync(self, group: str) -> None: ...
    def save_config(self) -> None: ...


@dataclass
class Result:
    """The outcome of one request: status, JSON body (None = empty) and partitions written."""

    status: int
    body: Any
    partitions: set[str] = field(default_factory=set)


MAX_JSON_DEPTH = 32
"""Deepest nesting of objects and lists a request body may have (the top-level object is 1)."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 overflows to inf, which JSON cannot carry back
        raise ValueError(f"{text} is out of range")
    return value


def _nesting_ok(data: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return True


def parse_body(raw: bytes) -> dict[str, Any]:
    """A request body as the device accepts it: one JSON object of strict JSON (no NaN or
    Infinity, no number that overflows), nested at most `MAX_JSON_DEPTH` deep; anything else
    is the device's 400 `Found invalid JSON body in the request.` (the one parser for `/mgmt`
    and `/sim` bodies)."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise errors.bad_json() from exc
    if not isinstance(data, dict) or not _nesting_ok(data, MAX_JSON_DEPTH):
        raise errors.bad_json()
    return data


def _conditions(expr: str | None) -> dict[str, str]:
    """`$filter`: `field eq value` clauses joined by `and` (what clients send)."""
    conds: dict[str, str] = {}
    if expr:
        for clause in expr.split(" and "):
            parts = clause.split()
            if len(parts) != 3 or parts[1] != "eq":
                raise errors.bad_value(f"unsupported $filter: {expr}")
            conds[parts[0]] = parts[2].strip("'\"")
    return conds


def _selected(doc: dict[str, Any], q: dict[str, str]) -> dict[str, Any]:
    """`$select` on a single object, as on each item of a collection."""
    select = q.get("$select")
    if not select:
        return doc
    keys = [k.strip() for k in select.split(",") if k.strip()]
    return {k: doc[k] for k in keys if k in doc}


class Tm:
    """The `/mgmt/tm` tree of one device."""

    def __init__(
        self, store: Store, view: View, device: DeviceHooks, on_write: Callable[[], None]
    ) -> None:
        self.store = store
        self.view = view
        self.device = device
        self.on_write = on_write

    # -- entry -------------------------------------------------------------------------------
    def handle(
        self, method: str, segs: list[str], query: list[tuple[str, str]], raw_body: bytes
    ) -> Result:
        q = {k: v for k, v in query}
        for k, v in query:
            if k.lower() == "expandsubcollections":
                q["expandSubcollections"] = v
        path = "/".join(segs)
        body = parse_body(raw_body) if method in WRITE_METHODS and method != "DELETE" else {}
        special = _SPECIAL.get(path)
        if special is not None:
            return special(self, method, q, body)
        if segs[:2] == ["auth", "partition"]:
            return self._partition(method, segs[2:], q, body)
        if segs[:2] == ["sys", "folder"]:
            return self._folder(method, segs[2:], q, body)
        rt, rest = self._match(segs)
        if rt is None:
            if method == "GET" and (path in ORGANIZING or not segs):
                return self._organizing(path)
            raise errors.uri_not_registered("/mgmt/tm/" + path)
        base = "/mgmt/tm/" + rt.path
        if not rest:
            return self._collection(method, rt, base, q, query, body)
        if rest == ["stats"]:
            if method != "GET" or not rt.stats:
                raise errors.uri_not_registered("/mgmt/tm/" + path)
            return Result(200, stats.collection(self, rt, base))
        return self._item(method, rt, rest, base, q, query, body)

    def _match(self, segs: list[str]) -> tuple[ResType | None, list[str]]:
        for n in (3, 2):
            rt = TYPES.get("/".join(segs[:n]))
            if rt is not None:
                return rt, segs[n:]
        return None, segs

    # -- collections -------------------------------------------------------------------------
    def _collection(
        self,
        method: str,
        rt: ResType,
        base: str,
        q: dict[str, str],
        query: list[tuple[str, str]],
        body: dict[str, Any],
    ) -> Result:
        if method == "GET":
            return Result(200, self._list(rt, base, q, query))
        if method == "POST":
            if "command" in body:
                return self._command(rt, body)
            with self.store.atomic():
                gen = self.store.next_generation()
                obj = objects.create(self.store, rt, body, gen)
            self.on_write()
            path = f"{base}/{obj_id(rt, obj)}"
            return Result(200, self.view.obj(rt, obj, path), {obj.partition})
        if method == "DELETE":
            raise errors.IcrError(400, "DELETE on a collection requires options=<glob>", 1)
        raise errors.IcrError(405, f"{method} not supported on a collection", 1)

    def _list(
        self, rt: ResType, base: str, q: dict[str, str], query: list[tuple[str, str]]
    ) -> dict[str, Any]:
        objs = self._filtered(rt, q.get("$filter"))
        expand = q.get("expandSubcollections", "").lower() == "true"
        items = [self.view.obj(rt, o, f"{base}/{obj_id(rt, o)}", expand) for o in objs]
        echo = quote_query([(k, v) for k, v in query if k != "ver"])
        return self.view.collection(rt.collection_kind, base, items, q, echo)

    def _filtered(self, rt: ResType, expr: str | None) -> list[Obj]:
        conds = _conditions(expr)
        if "partition" in conds:
            objs = self.store.in_partition(rt.path, conds.pop("partition").strip("/"))
        else:
            objs = self.store.all(rt.path)
        return self._matching(objs, conds)

    def _matching(self, objs: list[Obj], conds: dict[str, str]) -> list[Obj]:
        for key, value in conds.items():
            if key.startswith("_"):
                return []  # hidden state (a key's PEM) is no property, and no filter oracle
            objs = [o for o in objs if str(self._attr(o, key)) == value]
        return objs

    @staticmethod
    def _attr(obj: Obj, key: str) -> Any:
        if key == "name":
            return obj.name
        if key == "subPath":
            return obj.sub_path
        if key == "fullPath":
            return obj.full_path
        rt = TYPES.get(obj.rtype)
        return obj.props.get(key, rt.defaults.get(key) if rt else None)

    def _organizing(self, path: str) -> Result:
        prefix = path + "/" if path else ""
        names = sorted(
            {
                p[len(prefix) :].split("/")[0]
                for p in list(TYPES) + list(ORGANIZING)
                if p.startswith(prefix) and p != path
            }
        )
        segs = path.split("/") if path else ["tm"]
        kind = (
            "tm:" + ":".join(segs) + ":" + segs[-1] + "collectionstate"
            if path
            else "tm:tmcollectionstate"
        )
        base = "/mgmt/tm/" + path if path else "/mgmt/tm"
        items = [{"reference": {"link": self.view.link(f"{base}/{n}")}} for n in names]
        return Result(200, {"kind": kind, "selfLink": self.view.link(base), "items": items})

    # -- items -------------------------------------------------------------------------------
    def _resolve(
        self, rt: ResType, rest: list[str], base: str
    ) -> tuple[list[tuple[ResType, Obj, str]], list[str]]:
        """Walk `id[/sub/id]*`; return the chain of (type, object, path) and what is left."""
        ident = parse_ident(rest[0])
        obj = self._find_top(rt, ident)
        path = f"{base}/{obj_id(rt, obj)}"
        chain = [(rt, obj, path)]
        rest = rest[1:]
        while len(rest) >= 2 and rest[0] in chain[-1][0].subcollections and rest[1:] != ["stats"]:
            sub_rt = chain[-1][0].subcollections[rest[0]]
            parent = chain[-1][1]
            child = self._find_child(parent, rest[0], sub_rt, parse_ident(rest[1]))
            chain.append((sub_rt, child, f"{chain[-1][2]}/{rest[0]}/{obj_id(sub_rt, child)}"))
            rest = rest[2:]
        return chain, rest

    def _find_top(self, rt: ResType, ident: Ident) -> Obj:
        path = ident.full_path()
        obj = self.store.get(rt.path, path)
        if obj is None:
            if rt.path == "ltm/pool/members":
                raise errors.member_not_found(path)
            raise errors.not_found(rt.label, path)
        return obj

    def _find_child(self, parent: Obj, sub: str, rt: ResType, ident: Ident) -> Obj:
        items = parent.children.get(sub, {})
        if rt.partitioned:
            candidates = [
                ident.full_path(p)
                for p in (["Common", parent.partition] if not ident.partition else [""])
            ]
            if ident.partition:
                candidates = [ident.full_path()]
        else:
            candidates = [
                ident.name if not ident.partition else ident.full_path().rsplit("/", 1)[-1]
            ]
        for key in candidates:
            if key in items:
                return items[key]
        if rt.path == "ltm/pool/members":
            raise errors.member_not_found(candidates[-1])
        raise errors.not_found(rt.label, candidates[-1])

    def _item(
        self,
        method: str,
        rt: ResType,
        rest: list[str],
        base: str,
        q: dict[str, str],
        query: list[tuple[str, str]],
        body: dict[str, Any],
    ) -> Result:
        chain, left = self._resolve(rt, rest, base)
        leaf_rt, leaf, leaf_path = chain[-1]
        parent = chain[-2][1] if len(chain) > 1 else None
        top = chain[0][1]
        if left == ["stats"]:
            if method != "GET":
                raise errors.uri_not_registered(leaf_path)
            return Result(200, stats.item(self, leaf_rt, leaf, leaf_path, parent))
        if len(left) == 1 and left[0] in leaf_rt.subcollections:
            return self._subcollection(method, chain, left[0], q, query, body)
        if len(left) == 2 and left[0] in leaf_rt.subcollections and left[1] == "stats":
            sub_rt = leaf_rt.subcollections[left[0]]
            return Result(200, stats.sub_collection(self, sub_rt, leaf, f"{leaf_path}/{left[0]}"))
        if left:
            raise errors.uri_not_registered(leaf_path + "/" + "/".join(left))
        expand = q.get("expandSubcollections", "").lower() == "true"
        if method == "GET":
            return Result(200, _selected(self.view.obj(leaf_rt, leaf, leaf_path, expand, parent), q))
        if method in ("PATCH", "PUT"):
            if rt.path == "ltm/policy" and len(chain) == 1 and body.get("createDraft"):
                return self._create_draft(top, leaf_path)
            return self._modify(chain, body, replace=method == "PUT")
        if method == "DELETE":
            with self.store.atomic():
                if len(chain) == 1:
                    objects.delete(self.store, rt, top)
                else:
                    self._delete_child(chain)
            self.on_write()
            return Result(200, None, {top.partition})
        raise errors.IcrError(405, f"{method} not supported", 1)

    def _cloned_chain(self, chain: list[tuple[ResType, Obj, str]]) -> list[Obj]:
        clones = [chain[0][1].clone()]
        for (_, _, _), (_, child, _), key in zip(
            chain[:-1], chain[1:], range(len(chain) - 1), strict=False
        ):
            del key
            parent_clone = clones[-1]
            sub = self._sub_of(parent_clone, child)
            child_clone = child.clone()
            parent_clone.children[sub][child.full_path] = child_clone
            clones.append(child_clone)
        return clones

    @staticmethod
    def _sub_of(parent: Obj, child: Obj) -> str:
        for sub, items in parent.children.items():
            if items.get(child.full_path) is child:
                return sub
        raise errors.IcrError(404, "subcollection item vanished", 1)

    def _modify(
        self, chain: list[tuple[ResType, Obj, str]], body: dict[str, Any], replace: bool
    ) -> Result:
        leaf_rt, _, leaf_path = chain[-1]
        with self.store.atomic():
            gen = self.store.next_generation()
            clones = self._cloned_chain(chain)
            target = clones[-1]
            if replace and not target.builtin:
                keep = {
                    k: v
                    for k, v in target.props.items()
                    if k[0] == "_" or k in _KEPT_ON_PUT.get(leaf_rt.path, ())
                }
                target.props = keep
            parent = clones[-2] if len(clones) > 1 else None
            objects.apply_props(self.store, leaf_rt, target, body, False, gen, parent)
            for clone in clones:
                clone.generation = gen
            self.store.put(clones[0])
        self.on_write()
        return Result(
            200,
            self.view.obj(
                leaf_rt, target, leaf_path, False, clones[-2] if len(clones) > 1 else None
            ),
            {clones[0].partition},
        )

    def _delete_child(self, chain: list[tuple[ResType, Obj, str]]) -> None:
        gen = self.store.next_generation()
        clones = self._cloned_chain(chain)
        parent, child = clones[-2], clones[-1]
        del parent.children[self._sub_of(parent, child)][child.full_path]
        for clone in clones[:-1]:
            clone.generation = gen
        self.store.put(clones[0])

    def _subcollection(
        self,
        method: str,
        chain: list[tuple[ResType, Obj, str]],
        sub: str,
        q: dict[str, str],
        query: list[tuple[str, str]],
        body: dict[str, Any],
    ) -> Result:
        leaf_rt, leaf, leaf_path = chain[-1]
        sub_rt = leaf_rt.subcollections[sub]
        base = f"{leaf_path}/{sub}"
        if method == "GET":
            expand = q.get("expandSubcollections", "").lower() == "true"
            items = [
                self.view.obj(sub_rt, c, f"{base}/{obj_id(sub_rt, c)}", expand, leaf)
                for c in leaf.children.get(sub, {}).values()
            ]
            echo = quote_query([(k, v) for k, v in query if k != "ver"])
            return Result(200, self.view.collection(sub_rt.collection_kind, base, items, q, echo))
        if method != "POST":
            raise errors.IcrError(405, f"{method} not supported on a subcollection", 1)
        with self.store.atomic():
            gen = self.store.next_generation()
            clones = self._cloned_chain(chain)
            child = objects.add_child(
                self.store,
                clones[-1],
                sub,
                sub_rt,
                dict(body),
                gen,
                len(leaf.children.get(sub, {})),
            )
            for clone in clones:
                clone.generation = gen
            self.store.put(clones[0])
        self.on_write()
        return Result(
            200,
            self.view.obj(sub_rt, child, f"{base}/{obj_id(sub_rt, child)}", False, clones[-1]),
            {clones[0].partition},
        )

    # -- commands ----------------------------------------------------------------------------
    def _command(self, rt: ResType, body: dict[str, Any]) -> Result:
        if rt.path == "ltm/policy" and body.get("command") == "publish":
            return self._publish(str(body.get("name", "")))
        raise errors.bad_value(f"command {body.get('command')!r} is not supported here")

    def _publish(self, name: str) -> Result:
        ident = split_full_path(name if name.startswith("/") else f"/Common/{name}")
        draft = self.store.get("ltm/policy", ident.full_path())
        if draft is None or ident.sub_path != "Drafts":
            raise errors.not_found("Policy", ident.full_path())
        with self.store.atomic():
            gen = self.store.next_generation()
            published = draft.clone()
            published.sub_path = ""
            published.full_path = f"/{draft.partition}/{draft.name}"
            published.props["status"] = "published"
            published.generation = gen
            self.store.remove("ltm/policy", draft.full_path)
            self.store.put(published)
        self.on_write()
        return Result(
            200,
            {"kind": "tm:ltm:policy:policystate", "command": "publish", "name": name},
            {draft.partition},
        )

    def _create_draft(self, policy: Obj, path: str) -> Result:
        draft_path = f"/{policy.partition}/Drafts/{policy.name}"
        if self.store.get("ltm/policy", draft_path) is not None:
            raise errors.duplicate("Policy", draft_path, policy.partition)
        with self.store.atomic():
            gen = self.store.next_generation()
            draft = policy.clone()
            draft.sub_path = "Drafts"
            draft.full_path = draft_path
            draft.props["status"] = "draft"
            draft.generation = gen
            self.store.put(draft)
        self.on_write()
        return Result(200, self.view.obj(TYPES["ltm/policy"], policy, path), {policy.partition})

    # -- partitions and folders --------------------------------------------------------------
    def _top_folders(self) -> list[Obj]:
        return [o for o in self.store.all("sys/folder") if o.folder == "/" and o.full_path != "/"]

    def _partition(
        self, method: str, rest: list[str], q: dict[str, str], body: dict[str, Any]
    ) -> Result:
        base = "/mgmt/tm/auth/partition"
        if not rest:
            if method == "GET":
                conds = _conditions(q.get("$filter"))
                tops = self._top_folders()
                if "partition" in conds:  # a partition is in itself
                    wanted = conds.pop("partition").strip("/")
                    tops = [o for o in tops if o.name == wanted]
                items = [
                    self.view.obj(PARTITION, o, f"{base}/{o.name}")
                    for o in self._matching(tops, conds)
                ]
                return Result(
                    200, self.view.collection(PARTITION.collection_kind, base, items, q, "")
                )
            if method == "POST":
                name = str(body.get("name", "")).strip("/")
                fbody = {k: v for k, v in body.items() if k not in ("name", "fullPath")}
                return self._create_folder(name, "/", fbody, PARTITION, base)
            raise errors.IcrError(405, f"{method} not supported", 1)
        name = rest[0]
        obj = self.store.get("sys/folder", f"/{name}")
        if obj is None:
            raise errors.not_found("partition", name)
        path = f"{base}/{name}"
        if method == "GET":
            return Result(200, _selected(self.view.obj(PARTITION, obj, path), q))
        if method in ("PATCH", "PUT"):
            return self._modify_folder(obj, body, PARTITION, path)
        if method == "DELETE":
            self._delete_folder(obj, as_partition=True)
            return Result(200, None, {name})
        raise errors.IcrError(405, f"{method} not supported", 1)

    def _folder(
        self, method: str, rest: list[str], q: dict[str, str], body: dict[str, Any]
    ) -> Result:
        base = "/mgmt/tm/sys/folder"
        if not rest:
            if method == "GET":
                items = [
                    self.view.obj(FOLDER, o, f"{base}/{obj_id(FOLDER, o)}")
                    for o in self._filtered(FOLDER, q.get("$filter"))
                ]
                return Result(200, self.view.collection(FOLDER.collection_kind, base, items, q, ""))
            if method == "POST":
                name = str(body.get("name", ""))
                parent = str(body.get("subPath") or body.get("partition") or "/")
                fbody = {
                    k: v
                    for k, v in body.items()
                    if k not in ("name", "subPath", "partition", "fullPath")
                }
                return self._create_folder(name, parent, fbody, FOLDER, base)
            raise errors.IcrError(405, f"{method} not supported", 1)
        seg = rest[0]
        fp = "/" + seg.strip("~").replace("~", "/") if seg.startswith("~") else f"/{seg}"
        obj = self.store.get("sys/folder", fp.rstrip("/") or "/")
        if obj is None:
            raise errors.not_found("folder", fp)
        path = f"{base}/{obj_id(FOLDER, obj)}"
        if method == "GET":
            return Result(200, _selected(self.view.obj(FOLDER, obj, path), q))
        if method in ("PATCH", "PUT"):
            return self._modify_folder(obj, body, FOLDER, path)
        if method == "DELETE":
            self._delete_folder(obj, as_partition=False)
            return Result(200, None, {obj.partition})
        raise errors.IcrError(405, f"{method} not supported", 1)

    def _create_folder(
        self, name: str, parent: str, body: dict[str, Any], rt: ResType, base: str
    ) -> Result:
        if not name:
            raise errors.bad_value("one or more configuration identifiers must be provided")
        if name.startswith("/"):
            fp = name.rstrip("/")
        else:
            parent = "/" + parent.strip("/")
            fp = f"{parent.rstrip('/')}/{name}"
        parts = fp.strip("/").split("/")
        parent_path = "/" + "/".join(parts[:-1]) if len(parts) > 1 else "/"
        if self.store.get("sys/folder", parent_path) is None:
            raise errors.folder_missing("folder", fp)
        if self.store.get("sys/folder", fp) is not None:
            raise errors.IcrError(409, f"01020066:3: The requested folder ({fp}) already exists.")
        rules_body = dict(body)
        with self.store.atomic():
            gen = self.store.next_generation()
            obj = Obj("sys/folder", parts[0], "", parts[-1], fp, {}, gen)
            if "defaultRouteDomain" in rules_body:
                rd = as_int(rules_body["defaultRouteDomain"], "defaultRouteDomain", 0, 65534)
                if self.store.lookup("rd-id", str(rd)) is None:
                    raise errors.IcrError(
                        400, f"01020036:3: The requested route domain ({rd}) was not found."
                    )
                rules_body["defaultRouteDomain"] = rd
            check_fields(rt if rt is PARTITION else FOLDER, rules_body, "/" + rt.path + "/")
            obj.props.update(
                {
                    k: v
                    for k, v in rules_body.items()
                    if k not in ("kind", "selfLink", "generation") and not k.endswith("Reference")
                }
            )
            objects.flag_words(FOLDER, obj.props, rules_body)
            if rt is PARTITION or "defaultRouteDomain" in obj.props or parent_path == "/":
                obj.props.setdefault("defaultRouteDomain", 0)
            self.store.put(obj)
            if parent_path == "/":
                self.store.put(Obj("sys/folder", parts[0], "", "Drafts", f"{fp}/Drafts", {}, gen))
        self.on_write()
        path = f"{base}/{parts[0]}" if rt is PARTITION else f"{base}/{obj_id(FOLDER, obj)}"
        return Result(200, self.view.obj(rt, obj, path), {parts[0]})

    def _modify_folder(self, obj: Obj, body: dict[str, Any], rt: ResType, path: str) -> Result:
        check_fields(rt, body, "/" + rt.path + "/")
        with self.store.atomic():
            clone = obj.clone()
            clone.generation = self.store.next_generation()
            for key in ("description", "defaultRouteDomain"):
                if key in body:
                    if key == "defaultRouteDomain":
                        rd = as_int(body[key], key, 0, 65534)
                        if self.store.lookup("rd-id", str(rd)) is None:
                            raise errors.IcrError(
                                400, f"01020036:3: The requested route domain ({rd}) was not found."
                            )
                        clone.props[key] = rd
                    else:
                        clone.props[key] = body[key]
            self.store.put(clone)
        self.on_write()
        return Result(200, self.view.obj(rt, clone, path), {obj.partition})

    def _delete_folder(self, obj: Obj, as_partition: bool) -> None:
        if obj.builtin:
            raise errors.builtin("folder", obj.full_path)
        fp = obj.full_path
        subs = [
            f
            for f in self.store.in_partition("sys/folder", obj.partition)
            if f.full_path.startswith(fp + "/")
        ]
        drafts = f"/{obj.partition}/Drafts"
        blocking = [f for f in subs if f.full_path != drafts]
        contents = (
            self.store.folder_counts.get(fp, 0) + self.store.folder_counts.get(drafts, 0)
            if obj.folder == "/"
            else self.store.folder_counts.get(fp, 0)
        )
        if blocking or contents:
            if as_partition:
                raise errors.partition_not_empty(obj.name)
            item = f"folder {blocking[0].full_path}" if blocking else self._an_item(fp)
            raise errors.folder_not_empty(fp, item)
        with self.store.atomic():
            for sub in subs:
                self.store.remove("sys/folder", sub.full_path)
            self.store.remove("sys/folder", fp)
            self.store.next_generation()
        self.on_write()

    def _an_item(self, folder: str) -> str:
        partition = folder.strip("/").split("/")[0]
        for rtype in TYPES:
            for o in self.store.in_partition(rtype, partition):
                if o.folder in (folder, f"/{partition}/Drafts"):
                    return f"{TYPES[rtype].last} {o.full_path}"
        return folder

    # -- unnamed and command endpoints --------------------------------------------------------
    def sys_version(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        if method != "GET":
            raise errors.method_not_allowed(method, "/mgmt/tm/sys/version")
        key = f"{HOST}/mgmt/tm/sys/version/0"
        entries = {
            name: {"description": value}
            for name, value in (
                ("Build", self.device.build),
                ("Date", "Tue Jun 18 10:00:00 PDT 2024"),
                ("Edition", "Final"),
                ("Product", "BIG-IP"),
                ("Title", "Main Package"),
                ("Version", self.device.version),
            )
        }
        return Result(
            200,
            {
                "kind": "tm:sys:version:versionstats",
                "selfLink": self.view.link("/mgmt/tm/sys/version"),
                "entries": {key: {"nestedStats": {"entries": entries}}},
            },
        )

    def global_settings(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        if method in ("PATCH", "PUT"):
            check_fields(GLOBAL_SETTINGS, body, "/sys/global-settings/")
            changes: dict[str, Any] = {}
            for key, value in body.items():
                if key not in GLOBAL_SETTINGS.defaults:
                    continue  # kind, selfLink, ... as read back by a client
                default = GLOBAL_SETTINGS.defaults[key]
                if type(value) is not type(default) or (key == "hostname" and not value.strip()):
                    raise errors.bad_value(f"invalid value for {key}: {json.dumps(value)}")
                changes[key] = value
            if changes:
                if "hostname" in changes:
                    self.device.hostname = changes.pop("hostname")
                self.device.global_settings.update(changes)
                # a device's own settings: saved like any write, but not synced to peers
                self.device.mark_dirty(pending=False)
        elif method != "GET":
            raise errors.method_not_allowed(method, "/mgmt/tm/sys/global-settings")
        settings = dict(GLOBAL_SETTINGS.defaults)
        settings.update(self.device.global_settings)
        settings["hostname"] = self.device.hostname
        return Result(
            200,
            {
                "kind": "tm:sys:global-settings:global-settingsstate",
                "selfLink": self.view.link("/mgmt/tm/sys/global-settings"),
                **settings,
            },
        )

    def sys_config(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        if method != "POST" or body.get("command") not in ("save", "load"):
            raise errors.bad_value('sys/config supports POST {"command":"save"}')
        self.device.save_config()
        return Result(200, {"kind": "tm:sys:config:savestate", "command": body["command"]})

    def cm_command(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        if method == "GET":
            return self._organizing("cm")
        args = str(body.get("utilCmdArgs", ""))
        words = args.split()
        if body.get("command") != "run" or len(words) < 3 or words[0] != "config-sync":
            raise errors.bad_value(f"unsupported cm command: {args}")
        group = words[2]
        if (
            self.store.get("cm/device-group", f"/Common/{group}") is None
            and self.store.get("cm/device-group", group) is None
        ):
            raise errors.IcrError(
                400,
                f"01070734:3: Configuration error: Device group ({group}) "
                "not found in device group sync",
            )
        self.device.config_sync(group)
        return Result(200, {"kind": "tm:cm:runstate", "command": "run", "utilCmdArgs": args})

    def sync_status(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        if method != "GET":
            raise errors.method_not_allowed(method, "/mgmt/tm/cm/sync-status")
        color, mode, status, summary = self.device.sync_status()
        key = f"{HOST}/mgmt/tm/cm/sync-status/0"
        entries = {
            "color": {"description": color},
            "mode": {"description": mode},
            "status": {"description": status},
            "summary": {"description": summary},
            f"{HOST}/mgmt/tm/cm/syncStatus/0/details": {"nestedStats": {"entries": {}}},
        }
        return Result(
            200,
            {
                "kind": "tm:cm:sync-status:sync-statusstats",
                "selfLink": self.view.link("/mgmt/tm/cm/sync-status"),
                "entries": {key: {"nestedStats": {"entries": entries}}},
            },
        )

    def util_bash(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        args = str(body.get("utilCmdArgs", ""))
        if "save sys config" in args:
            self.device.save_config()
            result = "Saving running configuration...\n"
        elif "/VERSION" in args:
            result = (
                f"Product: BIG-IP\nVersion: {self.device.version}\nBuild: {self.device.build}\n"
            )
        else:
            raise errors.bad_value(
                "the simulator's util/bash only knows 'tmsh save sys config' and 'cat /VERSION'"
            )
        return Result(
            200,
            {
                "kind": "tm:util:bash:runstate",
                "command": "run",
                "utilCmdArgs": args,
                "commandResult": result,
            },
        )

    def crypto_cert(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        return self._crypto_install(method, body, "cert")

    def crypto_key(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        return self._crypto_install(method, body, "key")

    def _crypto_install(self, method: str, body: dict[str, Any], what: str) -> Result:
        """`POST /mgmt/tm/sys/crypto/<cert|key>` `{"command": "install", "name": …,
        "from-local-file": …}`: creates the `sys/file/ssl-<what>` object from the uploaded
        file, or replaces the content of an existing one (the pair check still applies)."""
        path = f"/mgmt/tm/sys/crypto/{what}"
        if method != "POST":
            raise errors.method_not_allowed(method, path)
        if body.get("command") != "install":
            raise errors.bad_value(f'{path} supports POST {{"command": "install", ...}}')
        unknown = set(body) - {"command", "name", "partition", "from-local-file", "passphrase"}
        if unknown:
            key = sorted(unknown)[0]
            raise errors.unexpected_property(f"/sys/crypto/{what}/", key, json.dumps(body[key]))
        source = body.get("from-local-file")
        if not isinstance(source, str) or not source:
            raise errors.bad_value(f"{path} install needs from-local-file")
        rt = TYPES[f"sys/file/ssl-{what}"]
        fbody: dict[str, Any] = {"sourcePath": "file://" + source.removeprefix("file://")}
        if "passphrase" in body:
            fbody["passphrase"] = body["passphrase"]
        ident = objects.ident_from_body(body)
        with self.store.atomic():
            gen = self.store.next_generation()
            existing = self.store.get(rt.path, ident.full_path())
            if existing is None:
                obj = objects.create(
                    self.store, rt, dict(fbody, name=ident.full_path()), gen
                )
            else:
                obj = existing.clone()
                objects.apply_props(self.store, rt, obj, fbody, False, gen)
                self.store.put(obj)
        self.on_write()
        doc = {
            "kind": f"tm:sys:crypto:{what}:installstate",
            "command": "install",
            "name": body.get("name"),
            "from-local-file": source,
        }
        return Result(200, doc, {obj.partition})

    def unix_rm(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        """`POST /mgmt/tm/util/unix-rm {"command": "run", "utilCmdArgs": "<file>"}`: removes
        uploaded files; a missing one is reported in `commandResult`, as `rm` does."""
        if method != "POST" or body.get("command") != "run":
            raise errors.bad_value('util/unix-rm supports POST {"command":"run","utilCmdArgs":…}')
        args = body.get("utilCmdArgs", "")
        if not isinstance(args, str):
            raise errors.bad_value("utilCmdArgs must be a string")
        output = files.unix_rm(self.store, args)
        self.device.mark_dirty(pending=False)  # the device's own files: not config-synced
        doc = {"kind": "tm:util:unix-rm:runstate", "command": "run", "utilCmdArgs": args}
        if output:
            doc["commandResult"] = output
        return Result(200, doc)

    def provision(self, method: str, q: dict[str, str], body: dict[str, Any]) -> Result:
        if method != "GET":
            raise errors.method_not_allowed(method, "/mgmt/tm/sys/provision")
        base = "/mgmt/tm/sys/provision"
        items = [
            {
                "kind": "tm:sys:provision:provisionstate",
                "name": m,
                "fullPath": m,
                "generation": 1,
                "selfLink": self.view.link(f"{base}/{m}"),
                "level": "nominal" if m == "ltm" else "none",
                "cpuRatio": 0,
                "diskRatio": 0,
                "memoryRatio": 0,
            }
            for m in ("afm", "apm", "asm", "avr", "gtm", "ltm")
        ]
        return Result(
            200,
            self.view.collection("tm:sys:provision:provisioncollectionstate", base, items, q, ""),
        )


_KEPT_ON_PUT = {
    "ltm/node": ("address",),
    "net/route-domain": ("id",),
    "ltm/pool/members": ("address",),
    "ltm/policy": ("status",),
    "ltm/virtual/profiles": (),
    "ltm/virtual": ("vsIndex", "destination", "mask"),
    "ltm/virtual-address": ("address", "mask"),
    "ltm/snat-translation": ("address",),
    "ltm/snatpool": ("members",),
    "net/self": ("address", "vlan"),
    "net/route": ("network", "gw", "tmInterface", "pool", "blackhole"),
    "net/tunnels/tunnel": ("profile", "localAddress"),
    "net/fdb/tunnel/records": ("endpoint",),
}
"""What a PUT keeps when its body leaves it out: identities and what a create requires (a PUT
of `{"description": "x"}` must not leave a virtual without a destination). Given keys are
replaced as usual."""

Special = Callable[[Tm, str, dict[str, str], dict[str, Any]], Result]
_SPECIAL: dict[str, Special] = {
    "sys/version": Tm.sys_version,
    "sys/global-settings": Tm.global_settings,
    "sys/config": Tm.sys_config,
    "cm": Tm.cm_command,
    "cm/sync-status": Tm.sync_status,
    "util/bash": Tm.util_bash,
    "sys/provision": Tm.provision,
    "sys/crypto/cert": Tm.crypto_cert,
    "sys/crypto/key": Tm.crypto_key,
    "util/unix-rm": Tm.unix_rm,
}
