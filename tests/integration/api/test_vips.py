"""`additional_vips` on load balancers: stored, returned in Octavia's shapes, validated as
Octavia does, and allocated without duplicates. `vip_sg_ids`: nothing could enforce them, so a
non-empty list is refused as Octavia refuses an option its provider does not support (501)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from bigip_lbaas.db import desired
from bigip_lbaas.db import models as m
from tests.integration.api.server import Api

LBS = "/v2/lbaas/loadbalancers"


def network(api: Api, *cidrs: str) -> list[dict[str, Any]]:
    """One network with a subnet per CIDR."""
    net = api.post("/v2.0/networks", {"network": {"name": "multi"}})
    assert net.status_code == 201, net.text
    subnets = []
    for cidr in cidrs:
        version = 6 if ":" in cidr else 4
        sub = api.post("/v2.0/subnets", {"subnet": {"network_id": net.json()["network"]["id"],
                                                    "cidr": cidr, "ip_version": version}})
        assert sub.status_code == 201, sub.text
        subnets.append(dict(sub.json()["subnet"]))
    return subnets


def test_stored_and_returned(api: Api) -> None:
    s1, s2, s3 = network(api, "10.61.1.0/24", "10.61.2.0/24", "10.61.3.0/24")
    r = api.post(LBS, {"loadbalancer": {
        "vip_subnet_id": s1["id"], "vip_sg_ids": [],
        "additional_vips": [{"subnet_id": s2["id"]},
                            {"subnet_id": s3["id"], "ip_address": "10.61.3.50"}]}})
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    # An additional VIP's port is the VIP port (every load balancer has one).
    port = lb["vip_port_id"]
    assert port
    expected = [{"subnet_id": s2["id"], "ip_address": "10.61.2.2", "port_id": port},
                {"subnet_id": s3["id"], "ip_address": "10.61.3.50", "port_id": port}]
    assert lb["vip_sg_ids"] == []
    assert lb["additional_vips"] == expected
    assert lb["vip_address"] == "10.61.1.2"
    api.settle()
    shown = api.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]
    assert shown["vip_sg_ids"] == [] and shown["additional_vips"] == expected
    listed = [x for x in api.get(LBS).json()["loadbalancers"] if x["id"] == lb["id"]]
    assert listed[0]["vip_sg_ids"] == [] and listed[0]["additional_vips"] == expected
    only = api.get(f"{LBS}/{lb['id']}", params={"fields": "additional_vips"}).json()
    assert only == {"loadbalancer": {"additional_vips": expected}}

    # Additional VIPs are fixed at create.
    r = api.put(f"{LBS}/{lb['id']}", {"loadbalancer": {"additional_vips": []}})
    assert r.status_code == 400

    # The additional addresses are taken: the next VIP in those subnets gets another one,
    # asking for one is a conflict, and the subnet cannot go while it holds a VIP.
    other = api.lb(s2["id"])
    assert other["vip_address"] == "10.61.2.3"
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": s3["id"],
                                        "vip_address": "10.61.3.50"}})
    assert r.status_code == 409, r.text
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": s1["id"], "additional_vips": [
        {"subnet_id": s2["id"], "ip_address": "10.61.2.2"}]}})
    assert r.status_code == 409, r.text
    assert api.delete(f"/v2.0/subnets/{s3['id']}").status_code == 409

    # Once the load balancer is gone, so are its bookings.
    assert api.delete(f"{LBS}/{lb['id']}").status_code == 204
    api.settle()
    again = api.lb(s3["id"], vip_address="10.61.3.50")
    assert again["vip_address"] == "10.61.3.50"
    assert again["vip_sg_ids"] == [] and again["additional_vips"] == []


def test_fully_populated_create_keeps_them(api: Api) -> None:
    s1, s2 = network(api, "10.62.1.0/24", "10.62.2.0/24")
    r = api.post(LBS, {"loadbalancer": {
        "vip_subnet_id": s1["id"], "vip_sg_ids": None,
        "additional_vips": [{"subnet_id": s2["id"]}],
        "listeners": [{"protocol": "HTTP", "protocol_port": 80, "default_pool": {"name": "p"}}],
        "pools": [{"name": "p", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}]}})
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    assert lb["vip_sg_ids"] == []
    assert lb["additional_vips"] == [{"subnet_id": s2["id"], "ip_address": "10.62.2.2",
                                      "port_id": lb["vip_port_id"]}]
    assert len(lb["listeners"]) == 1 and len(lb["pools"]) == 1
    api.settle()


def test_rows_from_before_show_empty_lists(api: Api) -> None:
    """Load balancers created before migration 0002 have NULL in `additional_vips`."""
    (s1,) = network(api, "10.64.1.0/24")
    lb = api.lb(s1["id"])
    with api.db.transaction() as s:
        s.execute(sa.update(m.LoadBalancer).where(m.LoadBalancer.id == lb["id"])
                  .values(additional_vips=None))
    shown = api.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]
    assert shown["vip_sg_ids"] == [] and shown["additional_vips"] == []


def test_validation(api: Api) -> None:
    s1, s2 = network(api, "10.63.1.0/24", "10.63.2.0/24")
    (elsewhere,) = network(api, "10.63.9.0/24")

    def create(**body: Any) -> tuple[int, str]:
        r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": s1["id"], **body}})
        return r.status_code, r.json().get("faultstring", "") if r.status_code != 201 else ""

    assert create(additional_vips=[{"subnet_id": s1["id"]}]) == (
        400, "Validation failure: Duplicate VIP subnet(s) specified. Only one IP can be bound "
             "per subnet.")
    assert create(additional_vips=[{"subnet_id": s2["id"]}, {"subnet_id": s2["id"]}])[0] == 400
    assert create(additional_vips=[{"subnet_id": elsewhere["id"]}]) == (
        400, "Validation failure: All VIP subnets must belong to the same network.")
    missing = str(uuid.uuid4())
    assert create(additional_vips=[{"subnet_id": missing}]) == (
        400, f"Validation failure: Subnet {missing} not found.")
    assert create(additional_vips=[{"ip_address": "10.63.2.9"}])[0] == 400
    assert create(additional_vips=[{"subnet_id": s2["id"], "ip_address": "10.99.0.1"}])[0] \
        == 400
    assert create(vip_sg_ids=["x" * 37])[0] == 400
    assert create(vip_sg_ids="not-a-list")[0] == 400
    # Nothing of the refused creates was kept.
    assert [x for x in api.get(LBS).json()["loadbalancers"]
            if x["vip_subnet_id"] == s1["id"]] == []


def test_agents_load_the_additional_addresses(api: Api) -> None:
    """The desired state an agent reads carries each load balancer's additional addresses."""
    s1, s2 = network(api, "10.65.1.0/24", "2001:db8:65::/64")
    lb = api.lb(s1["id"], additional_vips=[{"subnet_id": s2["id"]}])
    plain = api.lb(s1["id"])
    with api.db.transaction() as s:
        pid = s.scalar(sa.select(m.LoadBalancer.partition_id)
                       .where(m.LoadBalancer.id == lb["id"]))
    assert pid is not None
    loaded = {x.id: x for x in desired.load(api.db, pid).state.load_balancers}
    assert loaded[lb["id"]].vip_address == "10.65.1.2"
    assert loaded[lb["id"]].additional_vips == ("2001:db8:65::2",)
    assert loaded[plain["id"]].additional_vips == ()
    api.settle()


def test_vip_sg_ids_are_refused_as_an_unsupported_provider_option(api: Api) -> None:
    """Octavia's answer when the provider raises UnsupportedOptionError: 501 and the provider's
    reason. Nothing of the refused create is kept; null and [] ask for nothing."""
    s1, s2 = network(api, "10.66.1.0/24", "10.66.2.0/24")
    sg = str(uuid.uuid4())
    refused = ("Provider 'f5' does not support a requested option: VIP security groups "
               "(vip_sg_ids) cannot be enforced on the BIG-IP devices this provider configures: "
               "they have no port-level firewall.")

    r = api.post(LBS, {"loadbalancer": {
        "vip_subnet_id": s1["id"], "vip_sg_ids": [sg],
        "additional_vips": [{"subnet_id": s2["id"]}],
        "listeners": [{"protocol": "HTTP", "protocol_port": 80}]}})
    assert r.status_code == 501, r.text
    assert r.json() == {"faultcode": "Server", "faultstring": refused, "debuginfo": None}
    assert [x for x in api.get(LBS).json()["loadbalancers"]
            if x["vip_subnet_id"] == s1["id"]] == []

    # The addresses it would have had are still free.
    lb = api.lb(s1["id"], vip_sg_ids=[], additional_vips=[{"subnet_id": s2["id"]}])
    assert lb["vip_address"] == "10.66.1.2" and lb["vip_sg_ids"] == []
    assert lb["additional_vips"][0]["ip_address"] == "10.66.2.2"
    assert lb["provider"] == "f5"

    r = api.put(f"{LBS}/{lb['id']}", {"loadbalancer": {"vip_sg_ids": [sg], "name": "x"}})
    assert r.status_code == 501, r.text
    assert r.json()["faultstring"] == refused
    shown = api.get(f"{LBS}/{lb['id']}").json()["loadbalancer"]
    assert shown["provisioning_status"] == "ACTIVE" and shown["name"] == ""  # nothing changed
    for value in (None, []):
        r = api.put(f"{LBS}/{lb['id']}", {"loadbalancer": {"vip_sg_ids": value}})
        assert r.status_code == 200, r.text
        assert r.json()["loadbalancer"]["vip_sg_ids"] == []
        api.settle()
