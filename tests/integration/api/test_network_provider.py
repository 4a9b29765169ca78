"""Networks carry Neutron's provider attributes: admin-only to set and to see, validated and kept
unique per segment as ML2's type drivers do, with Neutron's messages."""

from __future__ import annotations

from typing import Any

from tests.integration.api.server import Api

API_SETTINGS: dict[str, Any] = {"auth_strategy": "header"}
INVALID = "Invalid input for operation: "


def _create(client: Api, **attrs: Any) -> Any:
    return client.post("/v2.0/networks", {"network": {"name": "n", **attrs}})


def _vlan(physnet: str, vlan: Any) -> dict[str, Any]:
    return {"provider:network_type": "vlan", "provider:physical_network": physnet,
            "provider:segmentation_id": vlan}


def test_admin_creates_segments_and_only_admins_see_them(api: Api) -> None:
    admin = api.as_project("ops", admin=True)
    r = _create(admin, shared=True, **_vlan("physnet1", 100))
    assert r.status_code == 201, r.text
    net = r.json()["network"]
    assert (net["provider:network_type"], net["provider:physical_network"],
            net["provider:segmentation_id"], net["shared"]) == ("vlan", "physnet1", 100, True)
    shown = admin.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert shown["provider:segmentation_id"] == 100
    plain = _create(admin).json()["network"]
    assert plain["provider:network_type"] is None and plain["provider:segmentation_id"] is None
    # A member sees the shared network, but not its provider attributes.
    member = api.as_project("alice")
    seen = member.get(f"/v2.0/networks/{net['id']}").json()["network"]
    assert not any(key.startswith("provider:") for key in seen)
    listed = {n["id"]: n for n in member.get("/v2.0/networks").json()["networks"]}
    assert net["id"] in listed and "provider:network_type" not in listed[net["id"]]
    # Admins filter on them.
    found = admin.get("/v2.0/networks", params={"provider:network_type": "vlan",
                                                "provider:segmentation_id": "100"})
    assert [n["id"] for n in found.json()["networks"]] == [net["id"]]
    vx = _create(admin, **{"provider:network_type": "vxlan",
                           "provider:segmentation_id": "5000"})
    assert vx.status_code == 201, vx.text
    assert vx.json()["network"]["provider:segmentation_id"] == 5000
    gre = _create(admin, **{"provider:network_type": "gre",
                            "provider:segmentation_id": 2**32 - 1})
    assert gre.status_code == 201, gre.text
    flat = _create(admin, **{"provider:network_type": "flat",
                             "provider:physical_network": "physnet-flat"})
    assert flat.status_code == 201, flat.text
    assert flat.json()["network"]["provider:segmentation_id"] is None
    found = admin.get("/v2.0/networks", params={"provider:network_type": ["flat", "gre"]})
    assert {n["id"] for n in found.json()["networks"]} == {flat.json()["network"]["id"],
                                                           gre.json()["network"]["id"]}


def test_members_get_neutrons_policy_answer(api: Api) -> None:
    member = api.as_project("bob")
    r = _create(member, **_vlan("physnet1", 101))
    assert r.status_code == 403
    assert r.json()["faultstring"] == (
        "(((rule:create_network and rule:create_network:provider:network_type) and "
        "rule:create_network:provider:physical_network) and "
        "rule:create_network:provider:segmentation_id) is disallowed by policy")
    r = _create(member, **{"provider:network_type": "vxlan"})
    assert r.status_code == 403
    assert r.json()["faultstring"] == ("(rule:create_network and "
                                       "rule:create_network:provider:network_type) is "
                                       "disallowed by policy")
    r = _create(member)
    assert r.status_code == 201, r.text
    assert not any(key.startswith("provider:") for key in r.json()["network"])

def test_segments_are_validated_as_ml2_does(api: Api) -> None:
    admin = api.as_project("ops", admin=True)
    before = len(admin.get("/v2.0/networks").json()["networks"])
    cases: list[tuple[dict[str, Any], str]] = [
        (_vlan("physnet1", 0), "segmentation_id out of range (1 through 4094)"),
        (_vlan("physnet1", 4095), "segmentation_id out of range (1 through 4094)"),
        ({"provider:network_type": "vlan", "provider:segmentation_id": 5},
         "segmentation_id requires physical_network for VLAN provider network"),
        ({"provider:network_type": "vlan"},
         "physical_network required for VLAN provider network (this registry allocates no "
         "VLAN ranges)"),
        ({"provider:network_type": "vlan", "provider:physical_network": "physnet1"},
         "segmentation_id required for VLAN provider network (this registry allocates no "
         "VLAN ranges)"),
        (_vlan("physnet1", "ten"), "'ten' is not an integer"),
        ({"provider:network_type": "flat"}, "physical_network required for flat provider "
                                            "network"),
        ({"provider:network_type": "flat", "provider:physical_network": "p",
          "provider:segmentation_id": 3}, "segmentation_id prohibited for flat provider "
                                          "network"),
        ({"provider:network_type": "vxlan", "provider:segmentation_id": 2**24},
         f"{2**24} is not a valid vxlan identifier"),
        ({"provider:network_type": "vxlan", "provider:segmentation_id": 0},
         "0 is not a valid vxlan identifier"),
        ({"provider:network_type": "gre", "provider:segmentation_id": 2**32},
         f"{2**32} is not a valid gre identifier"),
        ({"provider:network_type": "vxlan", "provider:physical_network": "physnet1",
          "provider:segmentation_id": 7},
         "provider:physical_network specified for vxlan network"),
        ({"provider:network_type": "gre"},
         "segmentation_id required for gre provider network (this registry allocates no "
         "tunnel ranges)"),
        ({"provider:network_type": "geneve", "provider:segmentation_id": 7},
         "network_type value 'geneve' not supported"),
        ({"provider:segmentation_id": 7}, "network_type required"),
    ]
    for attrs, message in cases:
        r = _create(admin, **attrs)
        assert r.status_code == 400, (attrs, r.text)
        assert r.json()["faultstring"] == INVALID + message + ".", attrs
    assert len(admin.get("/v2.0/networks").json()["networks"]) == before


def test_a_segment_belongs_to_one_network(api: Api) -> None:
    admin = api.as_project("ops", admin=True)
    first = _create(admin, **_vlan("physnet1", 200)).json()["network"]
    r = _create(admin, **_vlan("physnet1", 200))
    assert r.status_code == 409
    assert r.json()["faultstring"] == ("Unable to create the network. The VLAN 200 on "
                                       "physical network physnet1 is in use.")
    # The same VLAN on another physical network, and the same number as a VNI, are free.
    assert _create(admin, **_vlan("physnet2", 200)).status_code == 201
    vni = {"provider:network_type": "vxlan", "provider:segmentation_id": 200}
    assert _create(admin, **vni).status_code == 201
    r = _create(admin, **vni)
    assert r.status_code == 409
    assert r.json()["faultstring"] == ("Unable to create the network. The tunnel ID 200 is "
                                       "in use.")
    assert _create(admin, **{"provider:network_type": "gre",
                             "provider:segmentation_id": 200}).status_code == 201
    flat = {"provider:network_type": "flat", "provider:physical_network": "ext"}
    assert _create(admin, **flat).status_code == 201
    r = _create(admin, **flat)
    assert r.status_code == 409
    assert r.json()["faultstring"] == ("Unable to create the flat network. Physical network "
                                       "ext is in use.")
    # Deleting the network frees its segment.
    assert admin.delete(f"/v2.0/networks/{first['id']}").status_code == 204
    assert _create(admin, **_vlan("physnet1", 200)).status_code == 201
    r = _create(admin, segments=[{"provider:network_type": "vlan"}])
    assert r.status_code == 400
    assert "segments (multi-provider networks) are not supported" in r.json()["faultstring"]
