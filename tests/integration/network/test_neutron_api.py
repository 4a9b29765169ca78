"""The API with `[networking] source = neutron`: the real `bigip-lbaas api` process in keystone
mode (tests/integration/api/keystone_api.py) on a fresh database of the same kind as the real
Neutron's (PostgreSQL, MariaDB), a project's token, and the VIP's subnet, network and port in
that Neutron.

Proves: a load balancer on a Neutron subnet (or network) gets its VIP port created in Neutron,
in the project, named `octavia-lb-<id>`, owned by F5's device owner and holding the VIP address
the API shows; a requested address is the one booked; a project's own `vip_port_id` is used as
it is; a subnet that Neutron no longer has, or never had, is Octavia's 400 and leaves nothing
behind; a create that fails after the port was made deletes the port. (No agent runs here: the
load balancers stay PENDING_CREATE, and the port's removal on delete, by the agents' release
step, is not exercised in this module.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bigip_lbaas.network.source import DEVICE_OWNER
from tests.databases import fresh_database
from tests.integration.api.keystone_api import KeystoneApi, keystone_api
from tests.openstack.keystone import Keystone, User
from tests.openstack.neutron import Neutron

LBS = "/v2/lbaas/loadbalancers"


@dataclass
class Setup:
    api: KeystoneApi
    neutron: Neutron
    user: User
    network_id: str
    subnet_id: str


@pytest.fixture(scope="module")
def setup(neutron: Neutron, keystone: Keystone,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    user = keystone.user("netapi-member", keystone.project("netapi-project"), "member")
    net = neutron.request(user, "POST", "/v2.0/networks",
                          {"network": {"name": "netapi"}})["network"]
    sub = neutron.request(user, "POST", "/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.70.0.0/24", "ip_version": 4}})["subnet"]
    work = tmp_path_factory.mktemp("neutron-api")
    extra = ("[networking]\nsource = neutron\n"
             + keystone.service_auth_conf(keystone.service_user("octavia")))
    with fresh_database(neutron.db_kind, work) as url, \
            keystone_api(keystone, url, work, extra) as api:
        yield Setup(api, neutron, user, str(net["id"]), str(sub["id"]))


def _create(s: Setup, **vip: Any) -> Any:
    with s.api.client(s.user) as client:
        return client.post(LBS, json={"loadbalancer": {"name": "n", **vip}})


def _our_ports(s: Setup) -> list[dict[str, Any]]:
    return s.neutron.ports(s.neutron.service_user, device_owner=DEVICE_OWNER,
                           project_id=s.user.project.id)


def test_vip_port_is_created_in_neutron(setup: Setup) -> None:
    s = setup
    r = _create(s, vip_subnet_id=s.subnet_id)
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    port = s.neutron.request(s.neutron.service_user, "GET",
                             f"/v2.0/ports/{lb['vip_port_id']}")["port"]
    assert port["name"] == f"octavia-lb-{lb['id']}"
    assert port["device_owner"] == DEVICE_OWNER
    assert port["device_id"] == lb["id"]
    assert port["project_id"] == s.user.project.id
    assert port["network_id"] == lb["vip_network_id"] == s.network_id
    assert port["fixed_ips"] == [{"subnet_id": s.subnet_id, "ip_address": lb["vip_address"]}]
    with s.api.client(s.user) as client:
        shown = client.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]
    assert (shown["vip_port_id"], shown["vip_address"], shown["vip_subnet_id"]) == \
        (port["id"], lb["vip_address"], s.subnet_id)



def test_requested_address_and_network(setup: Setup) -> None:
    s = setup
    r = _create(s, vip_subnet_id=s.subnet_id, vip_address="10.70.0.200")
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    assert lb["vip_address"] == "10.70.0.200"
    port = s.neutron.request(s.neutron.service_user, "GET",
                             f"/v2.0/ports/{lb['vip_port_id']}")["port"]
    assert port["fixed_ips"][0]["ip_address"] == "10.70.0.200"
    # The same address again: Neutron has it, Octavia's 409.
    again = _create(s, vip_subnet_id=s.subnet_id, vip_address="10.70.0.200")
    assert again.status_code == 409, again.text
    assert "10.70.0.200" in again.json()["faultstring"]
    by_net = _create(s, vip_network_id=s.network_id)
    assert by_net.status_code == 201, by_net.text
    assert by_net.json()["loadbalancer"]["vip_subnet_id"] == s.subnet_id


def test_projects_own_vip_port_is_used_as_is(setup: Setup) -> None:
    s = setup
    mine = s.neutron.request(s.user, "POST", "/v2.0/ports", {"port": {
        "network_id": s.network_id, "name": "my-vip"}})["port"]
    r = _create(s, vip_port_id=mine["id"])
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    assert (lb["vip_port_id"], lb["vip_address"]) == \
        (mine["id"], mine["fixed_ips"][0]["ip_address"])
    after = s.neutron.request(s.neutron.service_user, "GET", f"/v2.0/ports/{mine['id']}")["port"]
    assert (after["name"], after["device_owner"]) == ("my-vip", mine["device_owner"])
    missing = _create(s, vip_port_id=str(uuid.uuid4()))
    assert missing.status_code == 400
    assert "not found" in missing.json()["faultstring"]


def test_subnet_gone_from_neutron_is_a_clear_400(setup: Setup) -> None:
    s = setup
    sub = s.neutron.request(s.user, "POST", "/v2.0/subnets", {"subnet": {
        "network_id": s.network_id, "cidr": "10.71.0.0/24", "ip_version": 4}})["subnet"]
    s.neutron.request(s.user, "DELETE", f"/v2.0/subnets/{sub['id']}")
    before = _our_ports(s)
    r = _create(s, vip_subnet_id=sub["id"])
    assert r.status_code == 400, r.text
    assert r.json()["faultstring"] == f"Validation failure: Subnet {sub['id']} not found."
    never = str(uuid.uuid4())
    r = _create(s, vip_network_id=never)
    assert r.status_code == 400
    assert r.json()["faultstring"] == f"Validation failure: Network {never} not found."
    assert _our_ports(s) == before


def test_failed_create_deletes_the_port(setup: Setup) -> None:
    """The port is made before the create's transaction; an unknown provider fails that
    transaction, and the port goes with it."""
    s = setup
    before = {p["id"] for p in _our_ports(s)}
    deletes = s.neutron.proc.output().count('"DELETE /v2.0/ports/')
    r = _create(s, vip_subnet_id=s.subnet_id, provider="no-such-provider")
    assert r.status_code == 400, r.text
    assert "no-such-provider" in r.json()["faultstring"]
    assert {p["id"] for p in _our_ports(s)} == before
    # It was made, then deleted (Neutron's access log).
    assert s.neutron.proc.output().count('"DELETE /v2.0/ports/') == deletes + 1
