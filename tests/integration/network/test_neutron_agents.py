"""`[networking] source = neutron` end to end: the real Neutron and Keystone, the simulator
pair, the API in keystone mode and an agent as processes, on our database of the same kind as
Neutron's (PostgreSQL, MariaDB). A project's load balancer on a Neutron subnet gets its VIP port
in Neutron, goes ACTIVE on the devices, and on delete the port goes from Neutron only once the
load balancer is gone from the devices and the database (the agent's release step)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bigip_lbaas.network.source import DEVICE_OWNER
from tests.cluster import Cluster, wait_for
from tests.databases import fresh_database
from tests.openstack.keystone import Keystone, User
from tests.openstack.neutron import Neutron

LBS = "/v2/lbaas/loadbalancers"


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
            c.start_agent("h1")
            yield c
        finally:
            c.close()


def test_vip_port_lives_as_long_as_the_load_balancer(cluster: Cluster, neutron: Neutron,
                                                      keystone: Keystone) -> None:
    user: User = keystone.user("netagents-member", keystone.project("netagents"), "member")
    net = neutron.request(user, "POST", "/v2.0/networks", {"network": {"name": "na"}})["network"]
    sub = neutron.request(user, "POST", "/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": "10.72.0.0/24", "ip_version": 4}})["subnet"]
    api = httpx.Client(base_url=cluster.api_url, timeout=60,
                       headers={"X-Auth-Token": keystone.token(user)})
    with api:
        r = api.post(LBS, json={"loadbalancer": {"name": "na", "vip_subnet_id": sub["id"]}})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]

        def status() -> str:
            return str(api.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]
                       ["provisioning_status"])

        wait_for(lambda: status() == "ACTIVE", 60, "the load balancer ACTIVE")
        port = neutron.request(neutron.service_user, "GET",
                               f"/v2.0/ports/{lb['vip_port_id']}")["port"]
        assert (port["device_owner"], port["device_id"]) == (DEVICE_OWNER, lb["id"])
        assert port["fixed_ips"][0]["ip_address"] == lb["vip_address"]

        assert api.delete(f"{LBS}/{lb['id']}").status_code == 204
        wait_for(lambda: api.get(f"{LBS}/{lb['id']}").status_code == 404, 60,
                 "the load balancer gone")
    wait_for(lambda: neutron.ports(neutron.service_user, id=str(port["id"])) == [], 30,
             "the VIP port gone from Neutron")
