"""F5's L2/L3 mode with `[networking] source = neutron` (issue #14): the real Neutron and
Keystone, the simulator pair, the API in keystone mode and an agent in L2/L3 mode as processes,
on our database of the same kind as Neutron's (PostgreSQL, MariaDB).

A project's load balancer on an admin-made VLAN provider network goes ACTIVE; Neutron then holds
its VIP port and the service ports the agent booked there (a self IP per device, the floating
self IP, the SNAT address), all F5's `network:f5lbaasv2`, with the addresses the devices use (in
the partition's route domain). Deleting the load balancer removes those ports from Neutron and
the networking from both devices. A member on a subnet deleted in Neutron is an ERROR naming
the subnet."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database
from bigip_lbaas.network.source import DEVICE_OWNER
from tests.cluster import PY, Cluster, wait_for
from tests.databases import fresh_database
from tests.openstack.keystone import Keystone, User
from tests.openstack.neutron import Neutron

LBS = "/v2/lbaas/loadbalancers"
L2L3 = (
    "f5_global_routed_mode = False\n"
    "use_namespaces = True\n"
    "f5_snat_addresses_per_subnet = 1\n"
    "f5_external_physical_mappings = default:1.1:True, physnet1:1.1:True\n"
)


@pytest.fixture
def cluster(neutron: Neutron, keystone: Keystone, tmp_path: Path) -> Iterator[Cluster]:
    pytest.importorskip("keystonemiddleware")
    octavia = keystone.service_user("octavia")
    extra = ("[api_settings]\nauth_strategy = keystone\n" + keystone.authtoken_conf(octavia)
             + "[networking]\nsource = neutron\n" + keystone.service_auth_conf(octavia))
    with fresh_database(neutron.db_kind, tmp_path) as url:
        c = Cluster(tmp_path, url, devices=2, extra_conf=extra)
        try:
            c.start(agents=())
            c.start_agent("l1", extra=L2L3)
            wait_for(lambda: "l1" in _agent_hosts(c), 60, "the agent registered")
            yield c
        finally:
            c.close()


def _agent_hosts(c: Cluster) -> set[str]:
    db = Database(c.db_url)
    try:
        return db.query(lambda s: {str(h) for h in s.scalars(sa.select(m.Agent.host))})
    finally:
        db.dispose()


def _vlan_subnet(neutron: Neutron, name: str, vlan: int, cidr: str,
                 project_id: str) -> dict[str, Any]:
    """An admin-made VLAN provider network on physnet1, given to the project, with a subnet."""
    admin = neutron.service_user
    net = neutron.request(admin, "POST", "/v2.0/networks", {"network": {
        "name": name, "tenant_id": project_id, "provider:network_type": "vlan",
        "provider:physical_network": "physnet1", "provider:segmentation_id": vlan}})["network"]
    sub: dict[str, Any] = neutron.request(admin, "POST", "/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "tenant_id": project_id, "cidr": cidr, "ip_version": 4,
        "gateway_ip": cidr.rsplit(".", 1)[0] + ".1"}})["subnet"]
    return sub


def _graph(name: str, subnet: str, member: str) -> dict[str, Any]:
    return {"name": name, "vip_subnet_id": subnet,
            "listeners": [{"name": "web", "protocol": "HTTP", "protocol_port": 80,
                           "default_pool": {"name": "p"}}],
            "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                       "members": [{"address": member, "protocol_port": 80,
                                    "subnet_id": subnet}]}]}


def _api(c: Cluster, keystone: Keystone, user: User) -> httpx.Client:
    return httpx.Client(base_url=c.api_url, timeout=60,
                        headers={"X-Auth-Token": keystone.token(user)})


def _status(api: httpx.Client, lb_id: str) -> str:
    return str(api.get(f"{LBS}/{lb_id}").json()["loadbalancer"]["provisioning_status"])


def _ours(neutron: Neutron, subnet_id: str) -> dict[str, dict[str, Any]]:
    """Name -> port of F5's owner with an address on the subnet."""
    ports = neutron.ports(neutron.service_user, device_owner=DEVICE_OWNER)
    return {str(p["name"]): p for p in ports
            if any(ip["subnet_id"] == subnet_id for ip in p["fixed_ips"])}


def _address(port: dict[str, Any]) -> str:
    return str(port["fixed_ips"][0]["ip_address"])


def test_service_ports_in_neutron_live_as_long_as_the_load_balancer(
        cluster: Cluster, neutron: Neutron, keystone: Keystone) -> None:
    c = cluster
    project = keystone.project("l2l3neutron")
    user = keystone.user("l2l3neutron-member", project, "member")
    sub = _vlan_subnet(neutron, "l2l3", 150, "10.73.0.0/24", project.id)
    part = f"Project_{project.id}"
    with _api(c, keystone, user) as api:
        r = api.post(LBS, json={"loadbalancer": _graph("l2l3", sub["id"], "10.73.0.5")})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
        wait_for(lambda: _status(api, lb["id"]) in ("ACTIVE", "ERROR"), 120,
                 "the load balancer to leave PENDING")
        assert _status(api, lb["id"]) == "ACTIVE"

        ports = _ours(neutron, sub["id"])
        local = {n: p for n, p in ports.items() if n.startswith("local-")}
        floating = ports.get(f"floating-{sub['id']}")
        snat = {n: p for n, p in ports.items() if n.startswith(f"snat-{part}-{sub['id']}_")}
        assert len(local) == 2 and all(n.endswith(f"-{sub['id']}") for n in local), ports
        assert floating is not None, ports
        assert len(snat) == 1, ports
        vip = ports[f"octavia-lb-{lb['id']}"]
        assert _address(vip) == lb["vip_address"]
        assert all(p["device_owner"] == DEVICE_OWNER for p in ports.values())
        assert len(ports) == 5, sorted(ports)  # nothing else booked on the subnet

        (rd,) = {int(o["id"]) for o in c.device_objects(0, "net/route-domain", part)}
        local_addresses = {_address(p) for p in local.values()}
        for dev in (0, 1):
            assert {int(o["id"]) for o in c.device_objects(dev, "net/route-domain", part)} \
                == {rd}
            selfs = c.device_objects(dev, "net/self", part)
            on_dev = {s["address"].split("/")[0] for s in selfs
                      if s.get("floating") != "enabled"}
            floats = {s["address"].split("/")[0] for s in selfs
                      if s.get("floating") == "enabled"}
            assert floats == {f"{_address(floating)}%{rd}"}, selfs
            (mine,) = on_dev  # this device's own self IP, one of the two booked
            assert mine.endswith(f"%{rd}") and mine.split("%")[0] in local_addresses, selfs
            translations = {t["address"] for t in
                            c.device_objects(dev, "ltm/snat-translation", part)}
            assert translations == {f"{_address(p)}%{rd}" for p in snat.values()}
        both = {s["address"].split("/")[0].split("%")[0]
                for dev in (0, 1) for s in c.device_objects(dev, "net/self", part)
                if s.get("floating") != "enabled"}
        assert both == local_addresses  # each device has its own

        # `bigip-lbaas diff` (the agent's files) finds the addresses in Neutron: in step.
        diff = subprocess.run(
            [PY, "-m", "bigip_lbaas.cli", "diff", "--config-file", str(c.write_common_conf()),
             "--config-file", str(c.workdir / "agent-l1.conf"), "--format", "json"],
            check=False, capture_output=True, text=True, timeout=120)
        assert diff.returncode == 0, diff.stdout + diff.stderr
        assert all(p["failures"] == [] for p in json.loads(diff.stdout)["partitions"])

        r = api.delete(f"{LBS}/{lb['id']}", params={"cascade": "true"})
        assert r.status_code == 204, r.text
        wait_for(lambda: api.get(f"{LBS}/{lb['id']}").status_code == 404, 90,
                 "the load balancer gone")
    wait_for(lambda: _ours(neutron, sub["id"]) == {}, 60,
             "the VIP and service ports gone from Neutron")

    def networking_gone() -> bool:
        return all(not c.device_objects(dev, kind, part) for dev in (0, 1)
                   for kind in ("net/route-domain", "net/vlan", "net/self",
                                "ltm/snat-translation", "ltm/snatpool"))

    wait_for(networking_gone, 60, "the networking removed from both devices")


def test_a_member_on_a_subnet_deleted_in_neutron_is_an_error_naming_it(
        cluster: Cluster, neutron: Neutron, keystone: Keystone) -> None:
    c = cluster
    project = keystone.project("l2l3gone")
    user = keystone.user("l2l3gone-member", project, "member")
    sub = _vlan_subnet(neutron, "l2l3-a", 151, "10.74.0.0/24", project.id)
    gone = _vlan_subnet(neutron, "l2l3-b", 152, "10.75.0.0/24", project.id)
    neutron.request(neutron.service_user, "DELETE", f"/v2.0/subnets/{gone['id']}")
    with _api(c, keystone, user) as api:
        r = api.post(LBS, json={"loadbalancer": _graph("gone", sub["id"], "10.74.0.5")})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
        wait_for(lambda: _status(api, lb["id"]) in ("ACTIVE", "ERROR"), 120,
                 "the load balancer to leave PENDING")
        assert _status(api, lb["id"]) == "ACTIVE"
        pool_id = lb["pools"][0]["id"]
        r = api.post(f"/v2/lbaas/pools/{pool_id}/members", json={"member": {
            "address": "10.75.0.5", "protocol_port": 80, "subnet_id": gone["id"]}})
        assert r.status_code == 201, r.text
        member = r.json()["member"]

        def member_status() -> str:
            body = api.get(f"/v2/lbaas/pools/{pool_id}/members/{member['id']}").json()
            return str(body["member"]["provisioning_status"])

        wait_for(lambda: member_status() in ("ACTIVE", "ERROR"), 120,
                 "the member to leave PENDING")
        assert member_status() == "ERROR"


        def member_oper() -> str:
            body = api.get(f"/v2/lbaas/pools/{pool_id}/members/{member['id']}").json()
            return str(body["member"]["operating_status"])

        # the status collection (not the outcome) sets it: absent from the devices → ERROR
        wait_for(lambda: member_oper() == "ERROR", 90, "the member's operating status ERROR")
        # The rest of the load balancer stays in service.
        assert _status(api, lb["id"]) == "ACTIVE"
    db = Database(c.db_url)
    try:
        reason = db.query(lambda s: s.scalar(sa.select(m.Member.status_reason).where(
            m.Member.id == member["id"])))
    finally:
        db.dispose()
    assert gone["id"] in str(reason) and "not found" in str(reason), reason
