"""Which agent should own which partition: balanced, sticky, and the same answer on every agent.

Pure. Every agent runs `place` on the same inputs (live agents, partitions, current owners) read
from the database and acts only on its own row of the answer: claim what is assigned to it, hand
back what is not. There is no central scheduler.

The rule:
1. Each eligible agent gets a quota of P // A partitions, and P % A of them one more. The extra
   places go to the agents that already hold the most (ties by rendezvous order), so that
   nothing moves that need not.
2. A partition stays with its current owner while that owner is eligible and within quota.
3. Every other partition (new, orphaned by a dead agent, or over quota) goes to the agent with the
   highest rendezvous score among those with room left.

So the result is balanced to within one partition, and a join or a leave moves only the
partitions that must move for balance.

Weighted (`weights`: a partition's load balancers, say): partitions are not equal work, so a
count balance can hand one agent all the big projects. When the weights differ, balance is by
weight instead (`_place_weighted`):
1. A partition stays with its current eligible owner while the owner's kept weight stays within
   the mean load plus the heaviest partition's weight (so any earlier answer is kept whole).
2. Every other partition, heaviest first, goes to the agent with the least weight so far (ties
   by rendezvous score).
3. While the most loaded agent carries more than one heaviest partition above the least loaded,
   it hands the least loaded its heaviest partition lighter than that gap.
So loads end within one heaviest partition of each other; an earlier answer is kept whole, and
a leave moves only the leaver's partitions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", int, str)


def score(partition: object, agent: str) -> int:
    """Rendezvous (highest random weight) score: stable across processes and Python versions."""
    digest = hashlib.blake2b(f"{partition}\x00{agent}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def place(
    partitions: Iterable[K],
    agents: Sequence[str],
    current: Mapping[K, str | None] | None = None,
    weights: Mapping[K, int] | None = None,
) -> dict[K, str]:
    """Assign every partition to one of `agents`; an empty agent list assigns nothing.
    `weights` (default 1, at least 1) balance the work by weight when they differ."""
    parts = sorted(set(partitions))
    live = sorted(set(agents))
    if not live or not parts:
        return {}
    current = current or {}
    if weights and len({max(1, weights.get(p, 1)) for p in parts}) > 1:
        return _place_weighted(parts, live, current,
                               {p: max(1, weights.get(p, 1)) for p in parts})
    held: dict[str, list[K]] = {a: [] for a in live}
    for p in parts:
        owner = current.get(p)
        if owner in held:
            held[owner].append(p)

    base, extra = divmod(len(parts), len(live))
    # Agents holding the most get the +1 places; rendezvous score on a fixed key breaks ties.
    by_claim = sorted(live, key=lambda a: (-len(held[a]), -score("quota", a), a))
    quota = {a: base + (1 if i < extra else 0) for i, a in enumerate(by_claim)}

    assignment: dict[K, str] = {}
    for agent in live:
        # Keep the partitions this agent is most "at home" with, up to its quota.
        keep = sorted(held[agent], key=_by_score_for(agent))[: quota[agent]]
        for p in keep:
            assignment[p] = agent
    room = {a: quota[a] - sum(1 for v in assignment.values() if v == a) for a in live}
    for p in parts:
        if p in assignment:
            continue
        best = max((a for a in live if room[a] > 0), key=_rank_for(p))
        assignment[p] = best
        room[best] -= 1
    return assignment


def _place_weighted(parts: list[K], live: list[str], current: Mapping[K, str | None],
                    weight: Mapping[K, int]) -> dict[K, str]:
    total = sum(weight.values())
    cap = total / len(live) + max(weight.values())
    load = dict.fromkeys(live, 0)
    assignment: dict[K, str] = {}
    held: dict[str, list[K]] = {a: [] for a in live}
    for p in parts:
        owner = current.get(p)
        if owner in held:
            held[owner].append(p)
    for agent in live:
        for p in sorted(held[agent], key=_by_score_for(agent)):
            if load[agent] + weight[p] <= cap:
                assignment[p] = agent
                load[agent] += weight[p]
    for p in sorted((p for p in parts if p not in assignment), key=lambda p: (-weight[p], p)):
        best = min(live, key=lambda a: (load[a], -score(p, a), a))
        assignment[p] = best
        load[best] += weight[p]
    # While the most loaded agent holds more than one heaviest partition above the least
    # loaded, move it a partition lighter than the gap (each move narrows both, so this ends).
    heaviest = max(weight.values())
    while True:
        most = max(live, key=lambda a: (load[a], a))
        least = min(live, key=lambda a: (load[a], a))
        gap = load[most] - load[least]
        if gap <= heaviest:
            return assignment
        movable = [p for p, a in assignment.items() if a == most and weight[p] < gap]
        p = max(movable, key=lambda p: (weight[p], score(p, least), p))
        assignment[p] = least
        load[most] -= weight[p]
        load[least] += weight[p]


def _by_score_for(agent: str) -> Callable[[object], int]:
    return lambda p: -score(p, agent)


def _rank_for(partition: object) -> Callable[[str], tuple[int, str]]:
    return lambda a: (score(partition, a), a)
