"""The Plan: an ordered list of device operations for one partition. Pure data.

Order is the contract with ``device.apply``: creates and updates in ascending dependency rank, then
deletes in descending rank, so no operation ever references an object that does not exist yet or
deletes one that something still uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bigip_lbaas.engine.config import Body, Kind


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Op:
    action: Action
    kind: Kind
    name: str
    body: Body
    owner: str | None = None  # Octavia object id to blame if the device rejects this op

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.name}"


@dataclass(frozen=True)
class Plan:
    partition: str
    ops: tuple[Op, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.ops

    def __len__(self) -> int:
        return len(self.ops)
