"""Placement properties: every partition placed once, balance within one, minimal movement."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bigip_lbaas.core.placement import place

partitions = st.sets(st.integers(min_value=1, max_value=10_000), max_size=300)
agents = st.sets(st.text("abcdefgh", min_size=1, max_size=6), min_size=1, max_size=8)


def loads(assignment: dict[int, str], live: set[str]) -> Counter[str]:
    counts = Counter(assignment.values())
    return Counter({a: counts.get(a, 0) for a in live})


@given(partitions, agents)
def test_every_partition_goes_to_a_live_agent_and_balance_is_within_one(
    parts: set[int], live: set[str]
) -> None:
    result = place(parts, sorted(live))
    assert set(result) == parts
    assert set(result.values()) <= live
    if parts:
        counts = loads(result, live)
        assert max(counts.values()) - min(counts.values()) <= 1


@given(partitions, agents)
def test_placement_is_a_fixed_point(parts: set[int], live: set[str]) -> None:
    first = place(parts, sorted(live))
    assert place(parts, sorted(live), first) == first


@given(partitions, agents, st.text("xyz", min_size=1, max_size=3))
@settings(max_examples=200)
def test_join_moves_only_what_balance_requires(
    parts: set[int], live: set[str], newcomer: str
) -> None:
    before = place(parts, sorted(live))
    after = place(parts, sorted(live | {newcomer}), before)
    moved = sum(1 for p in parts if before[p] != after[p])
    if newcomer in live:
        assert moved == 0
        return
    # Minimal: the newcomer needs floor(P/(A+1)) or ceil; only those partitions move.
    assert moved == Counter(after.values())[newcomer]
    assert moved <= -(-len(parts) // (len(live) + 1))
    assert all(after[p] == newcomer for p in parts if before[p] != after[p])


@given(partitions, agents.filter(lambda s: len(s) >= 2))
@settings(max_examples=200)
def test_leave_moves_only_the_leavers_partitions_and_spreads_them(
    parts: set[int], live: set[str]
) -> None:
    before = place(parts, sorted(live))
    leaver = sorted(live)[0]
    survivors = live - {leaver}
    after = place(parts, sorted(survivors), before)
    for p in parts:
        if before[p] != leaver:
            assert after[p] == before[p], "a survivor's partition moved"
    counts = loads(after, survivors)
    if parts:
        assert max(counts.values()) - min(counts.values()) <= 1


def test_dead_agents_partitions_spread_over_all_survivors() -> None:
    parts = range(1, 121)
    live = ["a", "b", "c", "d"]
    before = place(parts, live)
    after = place(parts, ["b", "c", "d"], before)
    gained = Counter(after[p] for p in parts if before[p] == "a")
    assert set(gained) == {"b", "c", "d"}
    assert max(gained.values()) - min(gained.values()) <= 1


def test_no_agents_places_nothing() -> None:
    assert place([1, 2, 3], []) == {}
