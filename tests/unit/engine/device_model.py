"""A small in-memory model of a BIG-IP partition with the referential rules the engine relies on:
creates fail on duplicates and on references to missing objects, deletes fail while referenced,
nodes appear with pool members, a folder is deleted only when empty. Applies a Plan op by op."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bigip_lbaas.engine.config import DeviceConfig, DeviceObject, Kind, ObjKey, make_config
from bigip_lbaas.engine.plan import Action, Plan


class Rejected(Exception):
    pass


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k != "destination":  # an address, not an object reference
                yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


class DeviceModel:
    def __init__(self, partition: str) -> None:
        self.partition = partition
        self.objects: dict[ObjKey, dict[str, Any]] = {}

    def _paths(self) -> set[str]:
        return {f"/{self.partition}/{name}" for (_, name) in self.objects}

    def _refs(self, body: Mapping[str, Any]) -> set[str]:
        out: set[str] = set()
        for s in _strings(body):
            out.update(p for p in s.split() if p.startswith(f"/{self.partition}/"))
        return out

    def _check_refs(self, body: Mapping[str, Any]) -> None:
        missing = self._refs(body) - self._paths()
        if missing:
            raise Rejected(f"missing {sorted(missing)}")

    def apply(self, plan: Plan) -> None:
        for op in plan.ops:
            key = (op.kind, op.name)
            if op.kind is Kind.FOLDER:
                if op.action is Action.CREATE:
                    if key in self.objects:
                        raise Rejected("folder exists")
                    self.objects[key] = {}
                else:
                    if len(self.objects) != 1:
                        raise Rejected(f"folder not empty: {sorted(self.objects)}")
                    del self.objects[key]
                continue
            if (Kind.FOLDER, self.partition) not in self.objects:
                raise Rejected("folder does not exist")
            if op.action is Action.CREATE:
                if key in self.objects:
                    raise Rejected(f"duplicate {key}")
                self._check_refs(op.body)
                self.objects[key] = dict(op.body)
            elif op.action is Action.UPDATE:
                if key not in self.objects:
                    raise Rejected(f"update of missing {key}")
                self._check_refs(op.body)
                self.objects[key].update(op.body)
            else:
                if key not in self.objects:
                    raise Rejected(f"delete of missing {key}")
                path = f"/{self.partition}/{op.name}"
                for other_key, other in self.objects.items():
                    if other_key != key and path in self._refs(other):
                        raise Rejected(f"{key} in use by {other_key}")
                    used = any(m["address"] == op.name for m in other.get("members", []))
                    if op.kind is Kind.NODE and other_key[0] is Kind.POOL and used:
                        raise Rejected(f"node {op.name} in use by {other_key}")
                del self.objects[key]
            if op.kind is Kind.POOL and op.action is not Action.DELETE:
                for m in self.objects[key].get("members", []):
                    self.objects.setdefault((Kind.NODE, m["address"]), {"address": m["address"]})

    def config(self) -> DeviceConfig:
        return make_config(
            self.partition, [DeviceObject(k, n, dict(b)) for (k, n), b in self.objects.items()]
        )
