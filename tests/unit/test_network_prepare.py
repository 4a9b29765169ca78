"""network.prepare's pure parts: which objects use which subnet, F5's common-network rules, and
the segment problems that are an object's ERROR."""

from __future__ import annotations

import pytest

from bigip_lbaas.core import model
from bigip_lbaas.core.network import NetworkSettings, PhysicalMapping, Segment
from bigip_lbaas.network.prepare import _segment_problem, is_common, users

L2L3 = NetworkSettings(global_routed_mode=False)


def test_users_members_default_to_the_vip_subnet() -> None:
    lb = model.LoadBalancer(
        id="lb", vip_address="10.0.0.9", vip_subnet_id="s-vip",
        additional_vip_subnets=(("fd00::9", "s-v6"),),
        pools=(model.Pool(id="p", protocol="HTTP", lb_algorithm="ROUND_ROBIN", members=(
            model.Member(id="m1", address="10.0.0.5", protocol_port=80),
            model.Member(id="m2", address="10.9.0.5", protocol_port=80, subnet_id="s-back"),
        )),))
    bare = model.LoadBalancer(id="bare", vip_address="1.2.3.4")
    state = model.PartitionState(model.PartitionKey("E", "p"), 1, (lb, bare))
    assert users(state) == {"s-vip": ["lb", "m1"], "s-v6": ["lb"], "s-back": ["m2"],
                            "": ["bare"]}


@pytest.mark.parametrize(("segment", "settings", "common"), [
    (Segment("n", "vlan", "physnet1", 10), L2L3, False),
    (Segment("n", "vlan", "physnet1", 10, shared=True), L2L3, True),
    (Segment("n", "vlan", "physnet1", 10, external=True), L2L3, True),
    (Segment("n", "vlan", "physnet1", 10, external=True),
     NetworkSettings(common_external_networks=False), False),
    (Segment("n", "vlan", "physnet1", 10), NetworkSettings(common_networks=True), True),
    (Segment("n", "vlan", "physnet1", 10), NetworkSettings(common_network_ids={"n": "ext"}),
     True),
], ids=["tenant", "shared", "external", "external-not-common", "all-common", "listed"])
def test_f5s_common_network_rules(segment: Segment, settings: NetworkSettings,
                                  common: bool) -> None:
    assert is_common(segment, settings) is common


@pytest.mark.parametrize(("segment", "settings", "says"), [
    (Segment("n", ""), L2L3, "has no segment"),
    (Segment("n", "vlan", "physnet1"), L2L3, "no segmentation id"),
    (Segment("n", "gre", None, 7), L2L3, "not in advertised_tunnel_types"),
    (Segment("n", "vxlan", None, 7), L2L3, "f5_vtep_selfip_name is not set"),
    (Segment("n", "vlan", "physnet9", 7),
     NetworkSettings(physical_mappings=(PhysicalMapping("physnet1", "1.1", True),)),
     "no entry in f5_external_physical_mappings"),
], ids=["no-segment", "no-segid", "gre-not-advertised", "no-vtep", "no-mapping"])
def test_segment_problems_name_the_network_and_the_option(
        segment: Segment, settings: NetworkSettings, says: str) -> None:
    problem = _segment_problem(segment, settings)
    assert problem is not None and says in problem and "network n" in problem


def test_a_good_vlan_and_vxlan_have_no_problem() -> None:
    assert _segment_problem(Segment("n", "vlan", "physnet1", 7), L2L3) is None
    assert _segment_problem(Segment("n", "flat", "physnet1"), L2L3) is None
    vtep = NetworkSettings(vtep_selfip_name="vtep")
    assert _segment_problem(Segment("n", "vxlan", None, 7), vtep) is None
