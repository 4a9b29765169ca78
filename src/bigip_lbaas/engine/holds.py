"""What a rejected object drags with it, and what a device holds once a plan succeeded. Pure.

When a device rejects the transaction of a partition, ``device.converge`` holds the offending
Octavia object's device objects as they are and retries the rest; every desired object that
references a held object the device lacks must be held too (it would fail the same way).

Must not: do I/O.
"""

from __future__ import annotations

from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import (
    DeviceConfig,
    DeviceObject,
    Kind,
    ObjectFailure,
    ObjKey,
    Rendered,
)
from bigip_lbaas.engine.plan import Action, Plan


def owned_keys(rendered: Rendered, owner: str) -> set[ObjKey]:
    """The device objects rendered for the Octavia object ``owner``."""
    return {k for k, o in rendered.config.objects.items() if o.owner == owner}


def after(observed: DeviceConfig, plan: Plan) -> DeviceConfig:
    """What the device holds once ``plan`` succeeded, including the nodes it creates for members."""
    objs: dict[ObjKey, DeviceObject] = dict(observed.objects)
    for op in plan.ops:
        if op.action is Action.DELETE:
            objs.pop((op.kind, op.name), None)
        else:
            objs[(op.kind, op.name)] = DeviceObject(op.kind, op.name, op.body, op.owner)
    for obj in list(objs.values()):
        if obj.kind is Kind.POOL:
            for m in obj.body.get("members", []):
                addr = str(m.get("address", ""))
                objs.setdefault((Kind.NODE, addr), DeviceObject(Kind.NODE, addr, {"address": addr}))
    return DeviceConfig(observed.partition, objs)


def hold_dependents(
    rendered: Rendered, observed: DeviceConfig, hold: set[ObjKey]
) -> list[ObjectFailure]:
    """Add to ``hold`` (in place) every desired object that references a held object the device
    lacks, with all objects of the same Octavia object; return a failure for each such Octavia
    object."""
    part = rendered.config.partition
    added: list[ObjectFailure] = []
    changed = True
    while changed:
        changed = False
        missing = {
            names.full_path(part, n): (k, n)
            for (k, n) in hold
            if (k, n) in rendered.config.objects and (k, n) not in observed.objects
        }
        for key, obj in rendered.config.objects.items():
            if key in hold:
                continue
            refs = [p for p in missing if references(obj.body, p)]
            if refs:
                hold |= {k for k, o in rendered.config.objects.items() if o.owner == obj.owner}
                hold.add(key)
                if obj.owner:
                    added.append(ObjectFailure(obj.owner, f"depends on {refs[0]}, which failed"))
                changed = True
    return added


def references(body: object, path: str) -> bool:
    """Whether ``path`` appears in ``body`` as a whole word of some string value (recursive)."""
    if isinstance(body, str):
        return path in body.split()
    if isinstance(body, dict):
        return any(references(v, path) for v in body.values())
    if isinstance(body, list | tuple):
        return any(references(v, path) for v in body)
    return False
