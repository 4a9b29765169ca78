"""The Neutron-shaped registry follows Neutron's default policy (Octavia's own API tests create
their networks as a project member): members create networks and subnets in their own project;
`shared`, `router:external` and provider attributes stay admin-only."""

from __future__ import annotations

from typing import Any

from tests.integration.api.server import Api

API_SETTINGS: dict[str, Any] = {"auth_strategy": "header"}


def test_members_create_their_own_networks(api: Api) -> None:
    admin = api.as_project("ops", admin=True)
    alice, bob = api.as_project("alice"), api.as_project("bob")
    r = alice.post("/v2.0/networks", {"network": {"name": "mine"}})
    assert r.status_code == 201, r.text
    net = r.json()["network"]
    assert net["project_id"] == "alice" and net["shared"] is False
    for admin_only in ({"shared": True}, {"router:external": True},
                       {"provider:network_type": "vlan"}):
        r = alice.post("/v2.0/networks", {"network": {"name": "x", **admin_only}})
        assert r.status_code == 403, (admin_only, r.text)
    r = alice.post("/v2.0/networks", {"network": {"name": "x", "project_id": "bob"}})
    assert r.status_code == 403
    r = alice.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": "10.9.0.0/24",
                                                "ip_version": 4}})
    assert r.status_code == 201, r.text
    sub = r.json()["subnet"]
    assert sub["project_id"] == "alice"
    # Another project neither sees alice's network nor adds to it; on a shared network only
    # its owner (or an admin) adds subnets.
    r = bob.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "cidr": "10.8.0.0/24"}})
    assert r.status_code == 404
    shared = admin.post("/v2.0/networks", {"network": {"name": "s", "shared": True}})
    shared_id = shared.json()["network"]["id"]
    r = bob.post("/v2.0/subnets", {"subnet": {"network_id": shared_id, "cidr": "10.7.0.0/24"}})
    assert r.status_code == 403
    assert bob.delete(f"/v2.0/networks/{shared_id}").status_code == 403
    assert admin.post("/v2.0/subnets", {"subnet": {"network_id": shared_id,
                                                   "cidr": "10.7.0.0/24"}}).status_code == 201
    # The owner deletes its own subnet and network.
    assert alice.delete(f"/v2.0/subnets/{sub['id']}").status_code == 204
    assert alice.delete(f"/v2.0/networks/{net['id']}").status_code == 204
