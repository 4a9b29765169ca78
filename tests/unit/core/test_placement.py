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


# --- weighted by load balancers --------------------------------------------------------------

weighted = st.dictionaries(st.integers(min_value=1, max_value=10_000),
                           st.integers(min_value=1, max_value=40), max_size=120)


def weight_loads(assignment: dict[int, str], weights: dict[int, int],
                 live: set[str]) -> Counter[str]:
    out = Counter(dict.fromkeys(live, 0))
    for p, agent in assignment.items():
        out[agent] += weights[p]
    return out


@given(weighted, agents)
def test_weighted_from_scratch_is_balanced_within_the_heaviest_partition(
    weights: dict[int, int], live: set[str]
) -> None:
    result = place(weights, sorted(live), weights=weights)
    assert set(result) == set(weights)
    assert set(result.values()) <= live
    if weights:
        counts = weight_loads(result, weights, live)
        assert max(counts.values()) - min(counts.values()) <= max(weights.values())


@given(weighted, agents)
def test_weighted_placement_is_a_fixed_point(weights: dict[int, int], live: set[str]) -> None:
    first = place(weights, sorted(live), weights=weights)
    assert place(weights, sorted(live), first, weights=weights) == first


@given(weighted, agents.filter(lambda s: len(s) >= 2))
@settings(max_examples=200)
def test_weighted_leave_moves_only_the_leavers_partitions(
    weights: dict[int, int], live: set[str]
) -> None:
    before = place(weights, sorted(live), weights=weights)
    leaver = sorted(live)[0]
    survivors = live - {leaver}
    after = place(weights, sorted(survivors), before, weights=weights)
    assert all(after[p] == before[p] for p in weights if before[p] != leaver)
    if weights:
        counts = weight_loads(after, weights, survivors)
        assert max(counts.values()) - min(counts.values()) <= max(weights.values())


@given(weighted, agents, st.text("xyz", min_size=1, max_size=3))
@settings(max_examples=200)
def test_weighted_join_keeps_balance_within_the_heaviest(
    weights: dict[int, int], live: set[str], newcomer: str
) -> None:
    before = place(weights, sorted(live), weights=weights)
    grown = live | {newcomer}
    after = place(weights, sorted(grown), before, weights=weights)
    assert set(after) == set(weights)
    if weights:
        counts = weight_loads(after, weights, grown)
        assert max(counts.values()) - min(counts.values()) <= max(weights.values())


def test_big_projects_are_not_all_handed_to_one_agent() -> None:
    """Four projects of 30 load balancers and 40 of one, over four agents: a count balance can
    give one agent several of the big ones; by weight each agent gets one."""
    weights = {p: (30 if p <= 4 else 1) for p in range(1, 45)}
    result = place(weights, ["a", "b", "c", "d"], weights=weights)
    big = Counter(result[p] for p in range(1, 5))
    assert sorted(big.values()) == [1, 1, 1, 1]
    counts = weight_loads(result, weights, {"a", "b", "c", "d"})
    assert max(counts.values()) - min(counts.values()) <= 1


def test_equal_weights_place_as_unweighted() -> None:
    parts = range(1, 50)
    assert place(parts, ["a", "b", "c"], weights=dict.fromkeys(parts, 3)) == \
        place(parts, ["a", "b", "c"])


@given(weighted, agents, st.data())
def test_weighted_balance_holds_whatever_the_current_owners(
    weights: dict[int, int], live: set[str], data: st.DataObject
) -> None:
    owners = [*sorted(live), "gone"]
    current = {p: data.draw(st.sampled_from(owners)) for p in weights}
    result = place(weights, sorted(live), current, weights=weights)
    assert set(result) == set(weights) and set(result.values()) <= live
    if weights:
        counts = weight_loads(result, weights, live)
        assert max(counts.values()) - min(counts.values()) <= max(weights.values())
