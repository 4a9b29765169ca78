"""`[networking] source = neutron` against a real Neutron (tests/openstack/neutron.py), on its
PostgreSQL and its MariaDB database: the source is built from an operator's config file, as the
API and agents build it (`network.source_for`), and every call is checked against what Neutron
itself then shows.

Proves: subnet and segment lookups carry Neutron's provider attributes (vlan, vxlan, flat,
shared, external); `ensure_port` creates one port with F5's device owner and finds it again by
name; `delete_ports` and `delete_port` remove ours and never a project's own port; a deleted or
unknown subnet, network or port is `NotFound`; an unreachable Neutron is a `NetworkSourceError`
naming no secret; without L2 agents no FDB record is invented.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bigip_lbaas import network
from bigip_lbaas.config.load import load
from bigip_lbaas.network.neutron import NeutronSource
from bigip_lbaas.network.source import DEVICE_OWNER, NetworkSourceError, NotFound
from tests.openstack.keystone import Keystone, User
from tests.openstack.neutron import PHYSNET, VNI_RANGE, Neutron


def _conf_file(path: Path, keystone: Keystone, user: User, extra: str = "") -> Path:
    path.write_text("[networking]\nsource = neutron\n" + extra + keystone.service_auth_conf(user))
    return path


@pytest.fixture
def source(neutron: Neutron, tmp_path: Path) -> NeutronSource:
    conf = load([str(_conf_file(tmp_path / "net.conf", neutron.keystone,
                                neutron.keystone.service_user("octavia")))])
    made = network.source_for(conf, db=None)  # type: ignore[arg-type]  # neutron needs no db
    assert isinstance(made, NeutronSource)
    return made


@pytest.fixture
def member(keystone: Keystone) -> User:
    return keystone.user("netsrc-member", keystone.project("netsrc-project"), "member")


def _network(neutron: Neutron, user: User, body: dict[str, object]) -> dict[str, object]:
    name = f"netsrc-{uuid.uuid4().hex[:8]}"
    return dict(neutron.request(user, "POST", "/v2.0/networks",
                                {"network": {"name": name, **body}})["network"])


def _subnet(neutron: Neutron, user: User, network_id: object, cidr: str,
            **extra: object) -> dict[str, object]:
    return dict(neutron.request(user, "POST", "/v2.0/subnets", {"subnet": {
        "network_id": network_id, "cidr": cidr, "ip_version": 4, **extra}})["subnet"])


def test_segments_carry_provider_attributes(neutron: Neutron, source: NeutronSource,
                                            member: User) -> None:
    admin = neutron.service_user
    vlan = _network(neutron, admin, {"provider:network_type": "vlan",
                                     "provider:physical_network": PHYSNET,
                                     "provider:segmentation_id": 142})
    flat = _network(neutron, admin, {"provider:network_type": "flat",
                                     "provider:physical_network": "extnet",
                                     "shared": True, "router:external": True})
    tenant = _network(neutron, member, {})  # a project's own: tenant_network_types = vxlan
    seg = source.segment(str(vlan["id"]))
    assert (seg.network_type, seg.physical_network, seg.segmentation_id) == ("vlan", PHYSNET, 142)
    assert (seg.shared, seg.external) == (False, False)
    seg = source.segment(str(flat["id"]))
    assert (seg.network_type, seg.physical_network, seg.segmentation_id) == \
        ("flat", "extnet", None)
    assert (seg.shared, seg.external) == (True, True)
    seg = source.segment(str(tenant["id"]))
    assert seg.network_type == "vxlan" and seg.physical_network is None
    assert seg.segmentation_id is not None
    assert VNI_RANGE[0] <= seg.segmentation_id <= VNI_RANGE[1]
    assert seg.mtu == tenant["mtu"]

    sub = _subnet(neutron, member, tenant["id"], "10.61.0.0/24", gateway_ip="10.61.0.1")
    facts = source.subnet(str(sub["id"]))
    assert (facts.network_id, facts.cidr, facts.ip_version, facts.gateway_ip) == \
        (tenant["id"], "10.61.0.0/24", 4, "10.61.0.1")
    assert facts.project_id == member.project.id
    assert [s.id for s in source.network_subnets(str(tenant["id"]))] == [sub["id"]]


def test_deleted_or_unknown_objects_are_not_found(neutron: Neutron, source: NeutronSource,
                                                  member: User) -> None:
    net = _network(neutron, member, {})
    sub = _subnet(neutron, member, net["id"], "10.62.0.0/24")
    assert source.subnet(str(sub["id"])).cidr == "10.62.0.0/24"
    neutron.request(member, "DELETE", f"/v2.0/subnets/{sub['id']}")
    with pytest.raises(NotFound, match=f"Subnet {sub['id']} not found"):
        source.subnet(str(sub["id"]))
    neutron.request(member, "DELETE", f"/v2.0/networks/{net['id']}")
    with pytest.raises(NotFound, match=f"Network {net['id']} not found"):
        source.segment(str(net["id"]))
    with pytest.raises(NotFound):
        source.network_subnets(str(net["id"]))
    with pytest.raises(NotFound):
        source.port(str(uuid.uuid4()))


def test_ensure_port_is_idempotent_and_delete_removes_only_ours(
        neutron: Neutron, source: NeutronSource, member: User) -> None:
    net = _network(neutron, member, {})
    sub = _subnet(neutron, member, net["id"], "10.63.0.0/24")
    device = str(uuid.uuid4())
    name = f"f5-selfip-{uuid.uuid4().hex[:8]}"
    first = source.ensure_port(name=name, network_id=str(net["id"]), subnet_id=str(sub["id"]),
                               project_id=member.project.id, device_id=device)
    again = source.ensure_port(name=name, network_id=str(net["id"]), subnet_id=str(sub["id"]),
                               project_id=member.project.id, device_id=device)
    assert again == first
    shown = neutron.ports(neutron.service_user, name=name)
    assert len(shown) == 1
    assert shown[0]["id"] == first.id
    assert shown[0]["device_owner"] == DEVICE_OWNER
    assert shown[0]["device_id"] == device
    assert shown[0]["project_id"] == member.project.id  # the project sees its VIP/self-IP port
    assert shown[0]["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": first.ip_address}]
    assert shown[0]["mac_address"] == first.mac_address
    # A requested address is the one booked.
    fixed = source.ensure_port(name=name + "-b", network_id=str(net["id"]),
                               subnet_id=str(sub["id"]), project_id=member.project.id,
                               device_id=device, ip_address="10.63.0.77")
    assert fixed.ip_address == "10.63.0.77"
    # The project's own port on the same network, with a name we might use.
    theirs = neutron.request(member, "POST", "/v2.0/ports", {"port": {
        "network_id": net["id"], "name": name + "-c"}})["port"]

    assert source.delete_ports([name, name + "-c", "no-such-port"]) == 1
    assert neutron.ports(neutron.service_user, name=name) == []
    source.delete_port(fixed.id)
    assert neutron.ports(neutron.service_user, id=fixed.id) == []
    source.delete_port(fixed.id)  # gone already: fine
    source.delete_port(str(theirs["id"]))  # not ours: left in place
    assert [p["id"] for p in neutron.ports(member, network_id=str(net["id"]))] == [theirs["id"]]


def test_delete_ports_by_device(neutron: Neutron, source: NeutronSource, member: User) -> None:
    net = _network(neutron, member, {})
    sub = _subnet(neutron, member, net["id"], "10.64.0.0/24")
    name = f"f5-snat-{uuid.uuid4().hex[:8]}"
    a = source.ensure_port(name=name, network_id=str(net["id"]), subnet_id=str(sub["id"]),
                           project_id=member.project.id, device_id="device-a")
    assert source.delete_ports([name], device_id="device-b") == 0
    assert [p["id"] for p in neutron.ports(neutron.service_user, name=name)] == [a.id]
    assert source.delete_ports([name], device_id="device-a") == 1
    assert neutron.ports(neutron.service_user, name=name) == []


def test_fdb_records_need_an_l2_agent(neutron: Neutron, source: NeutronSource,
                                      member: User) -> None:
    """A member's port bound to a host: with no L2 agent reporting that host's tunneling_ip
    (none runs here), the VTEP is unknown and no record is made up."""
    admin = neutron.service_user
    net = _network(neutron, member, {})
    sub = _subnet(neutron, member, net["id"], "10.65.0.0/24")
    neutron.request(admin, "POST", "/v2.0/ports", {"port": {
        "network_id": net["id"], "project_id": member.project.id,
        "fixed_ips": [{"subnet_id": sub["id"], "ip_address": "10.65.0.5"}],
        "binding:host_id": "compute-1", "device_owner": "compute:nova"}})
    assert neutron.request(admin, "GET", "/v2.0/agents?host=compute-1")["agents"] == []
    assert source.fdb_records(str(net["id"]), ["10.65.0.5", "10.65.0.6"]) == []
    assert source.fdb_records(str(net["id"]), []) == []


def test_unreachable_neutron_is_a_source_error(neutron: Neutron, tmp_path: Path) -> None:
    user = neutron.keystone.service_user("octavia")
    conf = load([str(_conf_file(tmp_path / "net.conf", neutron.keystone, user,
                                "endpoint_override = http://127.0.0.1:9/\nretries = 0\n"
                                "timeout = 5\n"))])
    source = network.source_for(conf, db=None)  # type: ignore[arg-type]
    with pytest.raises(NetworkSourceError) as err:
        source.subnet(str(uuid.uuid4()))
    assert not isinstance(err.value, NotFound)
    assert "cannot reach" in str(err.value)
    assert user.password not in str(err.value)
    assert neutron.keystone.token(user) not in str(err.value)
