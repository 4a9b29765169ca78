"""engine.route_domains: stable, overlap-free slot assignment and the lowest free id."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bigip_lbaas.engine.route_domains import assign, lowest_free


def test_disjoint_subnets_share_the_default_slot() -> None:
    plan = assign({}, {"a": "10.0.0.0/24", "b": "10.0.1.0/24"}, ["b", "a"], 1)
    assert plan.slots == {"a": 0, "b": 0} and plan.refused == {}


def test_overlap_gets_an_aux_slot_and_beyond_the_max_is_refused_naming_the_option() -> None:
    cidrs = {"a": "10.0.0.0/24", "b": "10.0.0.0/16", "c": "10.0.0.128/25"}
    plan = assign({}, cidrs, ["a", "b", "c"], 2)
    assert plan.slots == {"a": 0, "b": 1}
    assert "max_namespaces_per_tenant" in plan.refused["c"]
    assert "a, b" in plan.refused["c"]


def test_bound_subnets_keep_their_slot_whatever_comes() -> None:
    cidrs = {"a": "10.0.0.0/24", "b": "10.0.0.0/24", "z": "10.9.0.0/24"}
    plan = assign({"b": 0, "a": 1}, cidrs, ["a", "b", "z"], 3)
    assert plan.slots == {"b": 0, "a": 1, "z": 0}


def test_ipv4_and_ipv6_never_overlap() -> None:
    plan = assign({}, {"a": "10.0.0.0/8", "b": "fd00::/64"}, ["a", "b"], 1)
    assert plan.slots == {"a": 0, "b": 0}


def test_a_gone_subnet_frees_its_slot_for_the_overlapping_newcomer() -> None:
    plan = assign({"old": 0}, {"new": "10.0.0.0/24"}, ["new"], 1)
    assert plan.slots == {"new": 0}


def test_lowest_free() -> None:
    assert lowest_free(set()) == 1
    assert lowest_free({1, 2, 4}) == 3
    assert lowest_free({0, 1}) == 2


@given(st.lists(st.integers(0, 7), min_size=1, max_size=12), st.integers(1, 4))
def test_no_slot_holds_two_overlapping_subnets(nets: list[int], max_slots: int) -> None:
    """Subnets 10.<n>.0.0/16 (n repeats: overlap) and 10.0.0.0/8 never share a slot."""
    cidrs = {f"s{i}": f"10.{n}.0.0/16" for i, n in enumerate(nets)}
    plan = assign({}, cidrs, list(cidrs), max_slots)
    for slot in set(plan.slots.values()):
        inside = [cidrs[s] for s, n in plan.slots.items() if n == slot]
        assert len(inside) == len(set(inside))
    assert set(plan.slots) | set(plan.refused) == set(cidrs)
    assert assign({}, cidrs, list(reversed(list(cidrs))), max_slots) == plan
