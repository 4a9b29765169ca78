"""device/status.py: whose counters are the traffic (`carriers`), and several units' counters
added up (`summed`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bigip_lbaas.device.status import carriers, summed


def test_the_active_unit_of_a_pair_wherever_it_is_listed() -> None:
    assert carriers([("bigip1", "standby"), ("bigip2", "active")]) == ["bigip2"]
    assert carriers([("bigip1", "active"), ("bigip2", "standby")]) == ["bigip1"]


def test_every_active_unit_of_scale_n() -> None:
    states = [("a", "active"), ("b", "standby"), ("c", "active"), ("d", "offline")]
    assert carriers(states) == ["a", "c"]


def test_the_first_when_none_says_it_is_active() -> None:
    assert carriers([("solo", None)]) == ["solo"]
    assert carriers([("a", "standby"), ("b", None)]) == ["a"]
    assert carriers([]) == []


def test_summed_adds_per_partition_virtual_and_counter() -> None:
    one = {"P_x": {"v1": {"clientside.totConns": 3, "clientside.curConns": 1}}}
    two = {"P_x": {"v1": {"clientside.totConns": 4}, "v2": {"clientside.totConns": 5}},
           "P_y": {"v3": {"clientside.bitsIn": 8}}}
    assert summed([one, two]) == {
        "P_x": {"v1": {"clientside.totConns": 7, "clientside.curConns": 1},
                "v2": {"clientside.totConns": 5}},
        "P_y": {"v3": {"clientside.bitsIn": 8}}}
    assert summed([one]) == one
    assert summed([]) == {}


counters = st.dictionaries(st.sampled_from(["a", "b"]), st.dictionaries(
    st.sampled_from(["v1", "v2"]), st.dictionaries(st.sampled_from(["x", "y"]),
                                                   st.integers(0, 10**12))))


@given(st.lists(counters, max_size=4))
def test_summed_totals_are_the_sum_of_the_parts(each: list[dict[str, dict[str, dict[str, int]]]],
                                                ) -> None:
    total = summed(each)
    for part, virtuals in total.items():
        for name, values in virtuals.items():
            for key, value in values.items():
                assert value == sum(d.get(part, {}).get(name, {}).get(key, 0) for d in each)
