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
) -> dict[K, str]:
    """Assign every partition to one of `agents`; an empty agent list assigns nothing."""
    parts = sorted(set(partitions))
    live = sorted(set(agents))
    if not live or not parts:
        return {}
    current = current or {}
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


def _by_score_for(agent: str) -> Callable[[object], int]:
    return lambda p: -score(p, agent)


def _rank_for(partition: object) -> Callable[[str], tuple[int, str]]:
    return lambda a: (score(partition, a), a)
