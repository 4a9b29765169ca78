"""What a Plan would change, field by field, for people to read (``bigip-lbaas diff``). Pure.

``engine.diff`` decides what to write; this module only describes it: each operation of the
plan with, for an update, the attributes whose device value differs from the desired one
(compared with ``engine.diff.matches``, the very rule that made the update). Pool members and
policy rules are compared by name, so a changed ratio reads ``members[10.0.0.1:80].ratio``.
It also judges which changes would interrupt traffic on an adopted device: a delete of a
virtual, virtual address, pool, node or monitor, a member taken out of a pool, or a virtual
disabled.

Must not: do I/O, or decide anything ``engine.diff`` has not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bigip_lbaas.engine.config import DeviceConfig, Kind
from bigip_lbaas.engine.diff import matches
from bigip_lbaas.engine.plan import Action, Plan

# Subcollections shown item by item (by the item's name) rather than as one list.
_BY_NAME: Mapping[Kind, str] = {Kind.POOL: "members", Kind.POLICY: "rules"}
# Kinds whose deletion (or re-creation) interrupts the traffic they carry.
SERVING = frozenset(
    {
        Kind.VIRTUAL,
        Kind.VIRTUAL_ADDRESS,
        Kind.POOL,
        Kind.NODE,
        Kind.MONITOR_HTTP,
        Kind.MONITOR_HTTPS,
        Kind.MONITOR_TCP,
        Kind.MONITOR_ICMP,
    }
)


@dataclass(frozen=True)
class FieldChange:
    """One attribute: its value on the device and the desired one (None: absent)."""

    field: str
    device: Any
    desired: Any


@dataclass(frozen=True)
class Change:
    action: Action
    kind: Kind
    name: str
    owner: str | None = None  # the Octavia object it realises (None for deletes)
    fields: tuple[FieldChange, ...] = ()

    @property
    def disruptive(self) -> str | None:
        """Why this change would interrupt traffic, or None."""
        if self.action is Action.DELETE and self.kind in SERVING:
            return f"deletes {self.kind} {self.name}"
        for f in self.fields:
            if self.kind is Kind.VIRTUAL and f.field == "disabled" and f.desired is True:
                return f"disables virtual {self.name}"
            if f.field.startswith("members[") and "]." not in f.field and f.desired is None:
                return f"removes pool member {f.field[8:-1]} from {self.name}"
        return None


def _named(items: Any) -> dict[str, Mapping[str, Any]] | None:
    if not isinstance(items, list | tuple) or not all(
        isinstance(i, Mapping) and "name" in i for i in items
    ):
        return None
    return {str(i["name"]): i for i in items}


def field_changes(
    kind: Kind, desired: Mapping[str, Any], observed: Mapping[str, Any], prefix: str = ""
) -> tuple[FieldChange, ...]:
    """The attributes of ``desired`` that ``observed`` does not match, as ``engine.diff`` sees
    them (``matches``), in the order ``render`` set them."""
    out: list[FieldChange] = []
    for key, want in desired.items():
        have = observed.get(key)
        if not prefix and _BY_NAME.get(kind) == key:
            want_items, have_items = _named(want), _named(have or [])
            if want_items is not None and have_items is not None:
                for name, item in want_items.items():
                    label = f"{key}[{name}]"
                    if name not in have_items:
                        out.append(FieldChange(label, None, dict(item)))
                    else:
                        out += field_changes(kind, item, have_items[name], label + ".")
                out += [
                    FieldChange(f"{key}[{name}]", "present", None)
                    for name in have_items
                    if name not in want_items
                ]
                continue
        if key not in observed or not matches(want, have):
            out.append(FieldChange(prefix + key, have, want))
    return tuple(out)


def explain(plan: Plan, observed: DeviceConfig) -> tuple[Change, ...]:
    """Each operation of ``plan`` (made against ``observed``) as a Change, in plan order."""
    out = []
    for op in plan.ops:
        fields: tuple[FieldChange, ...] = ()
        if op.action is Action.UPDATE:
            cur = observed.get(op.kind, op.name)
            fields = field_changes(op.kind, op.body, cur.body if cur is not None else {})
        out.append(Change(op.action, op.kind, op.name, op.owner, fields))
    return tuple(out)
