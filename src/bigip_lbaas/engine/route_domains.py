"""Which of a partition's route domains each of its subnets goes in: pure, stable assignment.

A partition holds route-domain *slots*: slot 0 is its default route domain, slots 1.. are the
auxiliary ones ``max_namespaces_per_tenant > 1`` allows. A subnet already bound keeps its slot
(bindings are persisted, ``db.networking``), so nothing moves when another subnet comes or goes.
A new subnet takes the lowest slot where it overlaps no subnet bound there; a subnet that
overlaps one in every allowed slot cannot be placed and is reported, naming the option.

The database turns slots into route-domain ids (lowest free id >= 1, unique over the whole
database) and keeps them; this module never sees an id.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SlotPlan:
    slots: Mapping[str, int] = field(default_factory=dict)  # subnet id -> slot (old and new)
    refused: Mapping[str, str] = field(default_factory=dict)  # subnet id -> reason


def _net(cidr: str) -> Net:
    return ipaddress.ip_network(cidr, strict=False)


def assign(
    bound: Mapping[str, int],
    cidrs: Mapping[str, str],
    wanted: Sequence[str],
    max_slots: int,
) -> SlotPlan:
    """Slots for ``wanted`` subnets (ids, any order) given ``bound`` (subnet id -> slot, as
    persisted) and every subnet's CIDR in ``cidrs`` (bound and wanted ones).

    Bound subnets keep their slot; new ones are placed in id order, so that two owners that
    compute the plan from the same rows agree."""
    slots: dict[str, int] = {s: n for s, n in bound.items() if s in cidrs}
    refused: dict[str, str] = {}
    for subnet in sorted(set(wanted)):
        if subnet in slots:
            continue
        mine = _net(cidrs[subnet])
        for slot in range(max(1, max_slots)):
            if not any(
                n == slot and _net(cidrs[other]).version == mine.version
                and _net(cidrs[other]).overlaps(mine)
                for other, n in slots.items()
            ):
                slots[subnet] = slot
                break
        else:
            clash = sorted(o for o in slots if _net(cidrs[o]).version == mine.version
                           and _net(cidrs[o]).overlaps(mine))
            refused[subnet] = (
                f"subnet {subnet} ({cidrs[subnet]}) overlaps subnet(s) {', '.join(clash)} of "
                f"the same project in each of its {max(1, max_slots)} route domain(s); raise "
                "max_namespaces_per_tenant to give it one of its own"
            )
    return SlotPlan({s: n for s, n in slots.items() if s in set(wanted)}, refused)


def lowest_free(taken: set[int], start: int = 1) -> int:
    """The lowest id >= ``start`` not in ``taken`` (route domain 0 is /Common's)."""
    rd = start
    while rd in taken:
        rd += 1
    return rd
