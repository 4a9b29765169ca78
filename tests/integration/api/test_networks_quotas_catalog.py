"""Networks registry, quotas, providers, flavors, availability zones, admin agent extension."""

from __future__ import annotations

import json
import uuid
from typing import Any

from bigip_lbaas.db import models as m
from tests.integration.api.server import Api

V2 = "/v2/lbaas"


def test_networks_and_subnets(api: Api) -> None:
    net = api.post("/v2/networks", {"network": {"name": "netA"}}).json()["network"]
    assert net["status"] == "ACTIVE" and net["subnets"] == []
    sub = api.post("/v2.0/subnets", {"subnet": {"network_id": net["id"], "name": "subA",
                                                "cidr": "192.168.10.0/24", "ip_version": 4}})
    assert sub.status_code == 201
    s = sub.json()["subnet"]
    assert s["gateway_ip"] == "192.168.10.1"
    assert s["allocation_pools"] == [{"start": "192.168.10.2", "end": "192.168.10.254"}]
    assert api.get("/v2/subnets", params={"name": "subA"}).json()["subnets"][0]["id"] == s["id"]
    assert api.get("/v2/subnets", params={"id": s["id"]}).json()["subnets"][0]["name"] == "subA"
    assert api.get(f"/v2.0/networks/{net['id']}").json()["network"]["subnets"] == [s["id"]]
    assert api.get("/v2/networks/netA").status_code == 404
    lb = api.lb(s["id"])
    assert lb["vip_address"] == "192.168.10.2"
    r = api.delete(f"/v2/subnets/{s['id']}")
    assert r.status_code == 409
    assert api.delete(f"/v2/networks/{net['id']}").status_code == 409
    api.delete(f"{V2}/loadbalancers/{lb['id']}")
    api.settle()
    assert api.delete(f"/v2/subnets/{s['id']}").status_code == 204
    assert api.delete(f"/v2/networks/{net['id']}").status_code == 204


def test_quotas(api: Api) -> None:
    project = f"q-{uuid.uuid4().hex[:6]}"
    sub = api.network("10.60.0.0/24")
    r = api.put(f"{V2}/quotas/{project}", {"quota": {"loadbalancer": 1, "listener": 1}})
    assert r.status_code == 202
    q = r.json()["quota"]
    assert q["loadbalancer"] == 1 and q["load_balancer"] == 1 and q["pool"] == -1
    lb = api.lb(sub["id"], project_id=project)
    r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_subnet_id": sub["id"],
                                                          "project_id": project}})
    assert r.status_code == 403
    assert r.json()["faultstring"] == "Quota has been met for resources: Load Balancer"
    api.child(f"{V2}/listeners", "listener", {"loadbalancer_id": lb["id"], "protocol": "TCP",
                                              "protocol_port": 1})
    r = api.post(f"{V2}/listeners", {"listener": {"loadbalancer_id": lb["id"],
                                                  "protocol": "TCP", "protocol_port": 2}})
    assert r.status_code == 403
    assert api.get(f"{V2}/quotas/{project}").json()["quota"]["listener"] == 1
    assert any(x["project_id"] == project for x in api.get(f"{V2}/quotas").json()["quotas"])
    assert api.get(f"{V2}/quotas/defaults").json()["quota"]["loadbalancer"] == -1
    assert api.delete(f"{V2}/quotas/{project}").status_code == 202
    assert api.get(f"{V2}/quotas/{project}").json()["quota"]["loadbalancer"] == -1


def test_providers_flavors_azs(api: Api) -> None:
    providers = api.get(f"{V2}/providers").json()["providers"]
    assert [p["name"] for p in providers] == ["f5"]
    caps = api.get(f"{V2}/providers/f5/flavor_capabilities").json()["flavor_capabilities"]
    assert caps[0]["name"] == "environment"
    assert api.get(f"{V2}/providers/nope/flavor_capabilities").status_code == 400
    # This provider takes no availability zone metadata: Octavia's 501 for such a provider.
    assert api.get(f"{V2}/providers/f5/availability_zone_capabilities").status_code == 501
    prof = api.post(f"{V2}/flavorprofiles", {"flavorprofile": {
        "name": "fp", "provider_name": "f5", "flavor_data": json.dumps({"environment": "Gold"})}})
    assert prof.status_code == 201, prof.text
    fp = prof.json()["flavorprofile"]
    name = f"gold-{uuid.uuid4().hex[:6]}"
    flavor = api.post(f"{V2}/flavors", {"flavor": {"name": name, "flavor_profile_id": fp["id"]}})
    assert flavor.status_code == 201
    fl = flavor.json()["flavor"]
    assert fl["enabled"] is True and fl["description"] == ""
    assert api.get(f"{V2}/flavors", params={"name": name}).json()["flavors"] == [fl]
    sub = api.network("10.61.0.0/24")
    lb = api.lb(sub["id"], flavor_id=fl["id"], project_id="flavored")
    with api.db.read() as s:
        row = s.get(m.LoadBalancer, lb["id"])
        assert row is not None
        part = s.get(m.Partition, row.partition_id)
        assert part is not None and part.environment == "Gold"
    assert api.delete(f"{V2}/flavors/{fl['id']}").status_code == 409
    r = api.put(f"{V2}/flavors/{fl['id']}", {"flavor": {"description": "d"}})
    assert r.json()["flavor"]["description"] == "d"
    azs = api.get(f"{V2}/availabilityzones").json()
    assert azs == {"availability_zones": [], "availability_zones_links": []}
    assert api.delete(f"{V2}/flavorprofiles/{fp['id']}").status_code == 409


def test_agents_admin_extension(api: Api) -> None:
    sub = api.network("10.62.0.0/24")
    lb = api.lb(sub["id"], project_id="agent-proj")
    now = api.db.clock()
    with api.db.transaction() as s:
        row = s.get(m.LoadBalancer, lb["id"])
        assert row is not None
        agent = m.Agent(environment="Project", identity=f"h-{uuid.uuid4().hex[:4]}",
                        host="host-1", instance_id=uuid.uuid4().hex, admin_state_up=True,
                        started_at=now, heartbeat_at=now, devices=[{"host": "10.0.0.9"}])
        s.add(agent)
        lease = s.get(m.PartitionLease, row.partition_id)
        assert lease is not None
        lease.owner, lease.epoch, lease.expires_at = agent.instance_id, 1, now + 60
        s.flush()
        agent_id = agent.id
    agents: list[dict[str, Any]] = api.get(f"{V2}/agents").json()["agents"]
    mine = next(a for a in agents if a["id"] == agent_id)
    assert mine["alive"] is True and mine["host"] == "host-1"
    assert mine["partitions"][0]["project_id"] == "agent-proj"
    assert mine["devices"] == [{"host": "10.0.0.9"}]
    hosted = api.get(f"{V2}/loadbalancers/{lb['id']}/agent").json()["agent"]
    assert hosted["id"] == agent_id
    lbs = api.get(f"{V2}/agents/{agent_id}/loadbalancers").json()["loadbalancers"]
    assert [x["id"] for x in lbs] == [lb["id"]]
    r = api.put(f"{V2}/agents/{agent_id}", {"agent": {"admin_state_up": False}})
    assert r.status_code == 200 and r.json()["agent"]["admin_state_up"] is False
    assert api.get(f"{V2}/agents/999999").status_code == 404
