"""Compare desired and observed configuration of one partition and produce an ordered Plan. Pure.

Rules:
- only attributes ``render`` sets are compared (the device may add any defaults it likes);
- an object is ours when its name carries the environment prefix. Nothing else is ever updated or
  deleted, with one exception: a node (named by its address) whose address a member of one of our
  pools (observed or desired) uses, since the device created it for that member;
- held objects (their Octavia object failed to render) are left exactly as observed;
- nodes are never created (the device creates them with pool members) and those of ours are deleted
  once no pool member uses their address; an operator's node that no pool of ours uses is never
  touched;
- virtual addresses named by an address are never ours (ours carry the prefix): never updated or
  deleted. Those the device auto-created for virtuals (``autoDelete`` true) vanish with their last
  virtual, so they do not keep the folder; any other one does;
- nothing that a remaining object references is deleted;
- the folder is created first (and only together with something to put in it: a plan of nothing
  but the folder is empty) and, when the partition's desired state is empty, deleted last, but only
  if nothing foreign is left in it.

Must not: do I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import (
    PATCH_KINDS,
    RANK,
    DeviceConfig,
    DeviceObject,
    Kind,
    ObjKey,
    Rendered,
)
from bigip_lbaas.engine.plan import Action, Op, Plan


def matches(desired: Any, observed: Any) -> bool:
    """Whether ``observed`` has every attribute of ``desired`` with an equal value (recursive)."""
    if isinstance(desired, Mapping):
        if not isinstance(observed, Mapping):
            return False
        return all(k in observed and matches(v, observed[k]) for k, v in desired.items())
    if isinstance(desired, list | tuple):
        if not isinstance(observed, list | tuple) or len(desired) != len(observed):
            return False
        return all(matches(d, o) for d, o in zip(desired, observed, strict=True))
    if isinstance(desired, bool) or isinstance(observed, bool):
        return desired is observed or str(desired).lower() == str(observed).lower()
    if isinstance(desired, int) and isinstance(observed, str):
        return str(desired) == observed
    return bool(desired == observed)


def is_held(key: ObjKey, hold: Iterable[ObjKey]) -> bool:
    kind, name = key
    return any(k == kind and (name == n or name.startswith(n + "_")) for k, n in hold)


def is_ours(obj: DeviceObject, prefix: str, member_addresses: frozenset[str] = frozenset()) -> bool:
    """Whether we may update or delete ``obj``: its name carries our prefix; or it is a node of an
    address in ``member_addresses`` (those our pools' members use: the device made it for one)."""
    if obj.kind is Kind.NODE and names.is_address_name(obj.name):
        return obj.name in member_addresses or obj.body.get("address") in member_addresses
    if obj.kind is Kind.VIRTUAL_ADDRESS and names.is_address_name(obj.name):
        return False
    return names.owned(prefix, obj.name)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _references(objs: Iterable[DeviceObject]) -> tuple[set[str], set[str]]:
    """(full paths referenced, node addresses used by pool members) among ``objs``."""
    paths: set[str] = set()
    addresses: set[str] = set()
    for o in objs:
        for s in _strings(o.body):
            paths.update(p for p in s.split() if p.startswith("/"))
        if o.kind is Kind.POOL:
            for m in o.body.get("members", []):
                addresses.add(str(m.get("address", "")))
        if o.kind is Kind.VIRTUAL and o.body.get("destination"):
            # "/P/10.0.0.1:80" or "/P/2001:db8::1.80" uses the virtual address "/P/<addr>"
            dest = str(o.body["destination"])
            sep = "." if dest.count(":") > 1 else ":"
            paths.add(dest.rsplit(sep, 1)[0])
    return paths, addresses


def _member_addresses(objs: Iterable[DeviceObject], prefix: str) -> frozenset[str]:
    """Addresses the members of our (prefix-named) pools among ``objs`` use."""
    return frozenset(
        str(m.get("address", ""))
        for o in objs
        if o.kind is Kind.POOL and names.owned(prefix, o.name)
        for m in o.body.get("members", [])
    )


def _auto_deleted(obj: DeviceObject) -> bool:
    """A virtual address the device created for a virtual (named by its address, autoDelete on):
    the device removes it with its last virtual."""
    return (
        obj.kind is Kind.VIRTUAL_ADDRESS
        and names.is_address_name(obj.name)
        and str(obj.body.get("autoDelete", "true")).lower() == "true"
    )


def _vanishes(
    obj: DeviceObject,
    have: Mapping[ObjKey, DeviceObject],
    remaining: Mapping[ObjKey, DeviceObject],
    part: str,
) -> bool:
    """An auto-deleted virtual address that a virtual now on the device uses and none that stays
    does: the device removes it with that virtual, so it does not keep the folder."""
    if not _auto_deleted(obj):
        return False
    path = names.full_path(part, obj.name)
    used_now, _ = _references(o for o in have.values() if o.kind is Kind.VIRTUAL)
    used_after, _ = _references(o for o in remaining.values() if o.kind is Kind.VIRTUAL)
    return path in used_now and path not in used_after


def foreign(
    desired: Rendered | DeviceConfig, observed: DeviceConfig, prefix: str
) -> list[DeviceObject]:
    """Objects in the partition on the device that are neither desired nor ours (``is_ours``):
    an operator's, or another tool's. ``diff`` never updates or deletes them."""
    config = desired.config if isinstance(desired, Rendered) else desired
    ours = _member_addresses(observed.objects.values(), prefix) | _member_addresses(
        config.objects.values(), prefix
    )
    return sorted(
        (
            o
            for k, o in observed.objects.items()
            if k not in config.objects
            and k[0] is not Kind.FOLDER
            and not is_ours(o, prefix, ours)
        ),
        key=lambda o: (RANK[o.kind], o.kind, o.name),
    )


def diff(
    desired: Rendered | DeviceConfig,
    observed: DeviceConfig,
    prefix: str,
    *,
    hold: frozenset[ObjKey] = frozenset(),
) -> Plan:
    if isinstance(desired, Rendered):
        hold = hold | desired.hold
        desired = desired.config
    part = desired.partition
    want = {
        k: o for k, o in desired.objects.items() if k[0] is not Kind.NODE and not is_held(k, hold)
    }
    have = observed.objects

    creates: list[Op] = []
    updates: list[Op] = []
    for key, obj in want.items():
        if key[0] is Kind.FOLDER and key not in have:
            creates.append(Op(Action.CREATE, obj.kind, obj.name, obj.body, obj.owner))
            continue
        cur = have.get(key)
        if cur is None:
            creates.append(Op(Action.CREATE, obj.kind, obj.name, obj.body, obj.owner))
        elif obj.kind is not Kind.FOLDER and not matches(obj.body, cur.body):
            updates.append(Op(Action.UPDATE, obj.kind, obj.name, obj.body, obj.owner))

    # Everything that stays on the device: desired objects plus observed ones we keep.
    remaining: dict[ObjKey, DeviceObject] = dict(want)
    candidates: list[DeviceObject] = []
    ours = _member_addresses(have.values(), prefix) | _member_addresses(want.values(), prefix)
    for key, cur in have.items():
        if key in want:
            continue
        if key[0] is Kind.FOLDER or is_held(key, hold) or not is_ours(cur, prefix, ours):
            remaining[key] = cur
        else:
            candidates.append(cur)
    deletes: list[Op] = []
    # Iterate to a fixed point: keeping one object keeps what it references (nothing to do,
    # and no references to collect, when nothing is a candidate for deletion).
    changed = bool(candidates)
    while changed:
        changed = False
        paths, addresses = _references(remaining.values())
        for cur in list(candidates):
            # nothing refers to a PATCH_KINDS object (it shares its path with the tunnel or
            # route domain it belongs to)
            used = cur.kind not in PATCH_KINDS and names.full_path(part, cur.name) in paths
            if cur.kind is Kind.NODE:
                used = (
                    used or cur.name in addresses or str(cur.body.get("address", "")) in addresses
                )
            elif cur.kind is Kind.VIRTUAL_ADDRESS:
                # a virtual on its address is linked to it (the destination names it on the
                # device, and reads as the address once normalised)
                used = used or names.full_path(part, str(cur.body.get("address", ""))) in paths
            if used:
                remaining[cur.key] = cur
                candidates.remove(cur)
                changed = True
    deletes = [Op(Action.DELETE, c.kind, c.name, {}, c.owner) for c in candidates]

    folder = (Kind.FOLDER, part)
    if folder in have and folder not in want and not any(
        k != folder and not _vanishes(o, have, remaining, part) for k, o in remaining.items()
    ):
        deletes.append(Op(Action.DELETE, Kind.FOLDER, part, {}))

    if not updates and not deletes and [op.kind for op in creates] == [Kind.FOLDER]:
        creates = []  # everything else desired is held: an empty folder helps nobody
    forward = sorted(
        creates + updates,
        key=lambda op: (RANK[op.kind], op.action != Action.CREATE, op.kind, op.name),
    )
    backward = sorted(deletes, key=lambda op: (-RANK[op.kind], op.kind, op.name))
    return Plan(part, tuple(forward + backward))
