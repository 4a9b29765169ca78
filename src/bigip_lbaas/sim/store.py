"""The in-memory configuration of one simulated device, with indexes and an undo journal.

Owns `Obj` (one configuration object and its subcollections) and `Store`: objects by type and
full path, by type and partition (so `$filter=partition eq X` is a dict lookup), per-folder
object counts, a lookup index by group (profiles of any type, node addresses, route-domain ids)
and the reverse reference index that integrity rules consult ("who uses this pool?").

Objects are replaced, never mutated in place once stored: callers `clone()`, change the clone
and `put()` it. That makes the journal trivial: it remembers the previous object for each key,
and `rollback()` puts them back. A transaction and every single write run inside `atomic()`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

Ref = tuple[str, str]  # (group, key), e.g. ("pool", "/Common/p1") or ("rd-id", "2")


@dataclass(slots=True)
class Obj:
    """One configuration object. `props` holds only what differs from the type's defaults."""

    rtype: str
    partition: str
    sub_path: str
    name: str
    full_path: str
    props: dict[str, Any]
    generation: int = 0
    created: float = field(default_factory=time.monotonic)
    builtin: bool = False
    children: dict[str, dict[str, Obj]] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        """The folder that contains this object (`/P` or `/P/sub`)."""
        return self.full_path.rsplit("/", 1)[0] or "/"

    def clone(self) -> Obj:
        return Obj(
            self.rtype,
            self.partition,
            self.sub_path,
            self.name,
            self.full_path,
            copy.deepcopy(self.props),
            self.generation,
            self.created,
            self.builtin,
            {k: dict(v) for k, v in self.children.items()},
        )


RefsFn = Callable[[Obj], list[Ref]]
CheckFn = Callable[["Store", set[tuple[str, str]]], None]


class Store:
    """All objects of one device plus the indexes that keep lookups O(1)."""

    def __init__(self, refs_of: RefsFn, aliases_of: RefsFn, check: CheckFn | None = None) -> None:
        self._refs_of = refs_of
        self._aliases_of = aliases_of
        self._check = check
        self.generation = 1
        self.objs: dict[str, dict[str, Obj]] = {}
        self.by_part: dict[str, dict[str, dict[str, Obj]]] = {}
        self.folder_counts: dict[str, int] = {}
        self.groups: dict[str, dict[str, tuple[str, str]]] = {}
        self.referrers: dict[Ref, dict[tuple[str, str], int]] = {}
        self._obj_refs: dict[tuple[str, str], list[Ref]] = {}
        self._journal: list[tuple[str, str, Obj | None]] | None = None
        self._journal_gen = 0
        self.changes = 0

    # -- reads ---------------------------------------------------------------------------
    def get(self, rtype: str, path: str) -> Obj | None:
        coll = self.objs.get(rtype)
        return coll.get(path) if coll is not None else None

    def all(self, rtype: str) -> list[Obj]:
        return list(self.objs.get(rtype, {}).values())

    def in_partition(self, rtype: str, partition: str) -> list[Obj]:
        return list(self.by_part.get(rtype, {}).get(partition, {}).values())

    def lookup(self, group: str, key: str) -> Obj | None:
        hit = self.groups.get(group, {}).get(key)
        return self.get(*hit) if hit is not None else None

    def users(self, group: str, key: str) -> list[tuple[str, str]]:
        return list(self.referrers.get((group, key), {}))

    def count(self) -> int:
        return sum(len(c) for c in self.objs.values())

    # -- writes --------------------------------------------------------------------------
    def next_generation(self) -> int:
        self.generation += 1
        return self.generation

    def put(self, obj: Obj) -> None:
        old = self.get(obj.rtype, obj.full_path)
        if self._journal is not None:
            self._journal.append((obj.rtype, obj.full_path, old))
        if old is not None:
            self._unindex(old)
        self._index(obj)
        self.changes += 1

    def remove(self, rtype: str, path: str) -> Obj | None:
        old = self.get(rtype, path)
        if old is None:
            return None
        if self._journal is not None:
            self._journal.append((rtype, path, old))
        self._unindex(old)
        self.changes += 1
        return old

    def clear(self) -> None:
        self.objs.clear()
        self.by_part.clear()
        self.folder_counts.clear()
        self.groups.clear()
        self.referrers.clear()
        self._obj_refs.clear()
        self.changes += 1

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All writes inside succeed together or are undone together (re-entrant).

        Rules that hold for a whole change rather than each step of it (a key and its
        certificate replaced by two commands of one transaction) are checked once, when the
        outermost block ends: a failure there undoes everything too."""
        if self._journal is not None:
            yield
            return
        self._journal = []
        self._journal_gen = self.generation
        try:
            yield
            self.check()
        except BaseException:
            self.rollback()
            raise
        finally:
            self._journal = None

    def check(self) -> None:
        """Run the deferred rules over every object written since the outermost `atomic()`
        began (a transaction's `validateOnly` calls this before rolling back)."""
        if self._check is not None and self._journal:
            self._check(self, {(rtype, path) for rtype, path, _ in self._journal})

    def rollback(self) -> None:
        journal, self._journal = self._journal or [], None
        for rtype, path, old in reversed(journal):
            current = self.get(rtype, path)
            if current is not None:
                self._unindex(current)
            if old is not None:
                self._index(old)
        self.generation = self._journal_gen
        self._journal = []

    # -- indexes -------------------------------------------------------------------------
    def _index(self, obj: Obj) -> None:
        key = (obj.rtype, obj.full_path)
        self.objs.setdefault(obj.rtype, {})[obj.full_path] = obj
        self.by_part.setdefault(obj.rtype, {}).setdefault(obj.partition, {})[obj.full_path] = obj
        if obj.rtype != "sys/folder":
            folder = obj.folder
            self.folder_counts[folder] = self.folder_counts.get(folder, 0) + 1
        for group, gkey in self._aliases_of(obj):
            self.groups.setdefault(group, {})[gkey] = key
        refs = self._refs_of(obj)
        if refs:
            self._obj_refs[key] = refs
            for ref in refs:
                users = self.referrers.setdefault(ref, {})
                users[key] = users.get(key, 0) + 1

    def _unindex(self, obj: Obj) -> None:
        key = (obj.rtype, obj.full_path)
        coll = self.objs.get(obj.rtype)
        if coll is not None:
            coll.pop(obj.full_path, None)
        part = self.by_part.get(obj.rtype, {}).get(obj.partition)
        if part is not None:
            part.pop(obj.full_path, None)
            if not part:
                del self.by_part[obj.rtype][obj.partition]
        if obj.rtype != "sys/folder":
            folder = obj.folder
            left = self.folder_counts.get(folder, 0) - 1
            if left > 0:
                self.folder_counts[folder] = left
            else:
                self.folder_counts.pop(folder, None)
        for group, gkey in self._aliases_of(obj):
            grp = self.groups.get(group)
            if grp is not None and grp.get(gkey) == key:
                del grp[gkey]
        for ref in self._obj_refs.pop(key, []):
            users = self.referrers.get(ref)
            if users is None:
                continue
            left = users.get(key, 0) - 1
            if left > 0:
                users[key] = left
            else:
                users.pop(key, None)
                if not users:
                    del self.referrers[ref]
