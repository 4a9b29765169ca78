"""Ports of the built-in network registry: Neutron's wire shape, filters and messages; addresses
drawn from the pool VIPs use, so a port and a VIP never share one; a load balancer's VIP is a
port (network:f5lbaasv2) created and removed with it; `vip_port_id` takes a port's address."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from tests.integration.api.server import Api

API_SETTINGS: dict[str, Any] = {"auth_strategy": "header"}
V2 = "/v2/lbaas"


def _net(client: Api, cidr: str, **net: Any) -> tuple[str, str]:
    r = client.post("/v2.0/networks", {"network": {"name": "n", **net}})
    assert r.status_code == 201, r.text
    net_id = r.json()["network"]["id"]
    r = client.post("/v2.0/subnets", {"subnet": {"network_id": net_id, "cidr": cidr}})
    assert r.status_code == 201, r.text
    return net_id, r.json()["subnet"]["id"]


def _port(client: Api, network_id: str, **attrs: Any) -> httpx.Response:
    return client.post("/v2.0/ports", {"port": {"network_id": network_id, **attrs}})


def _fault(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    return str(r.json()["faultstring"])


def test_ports_wire_filters_and_neutrons_answers(api: Api) -> None:
    admin, alice, bob = (api.as_project("ops", admin=True), api.as_project("alice"),
                         api.as_project("bob"))
    net, sub = _net(alice, "10.70.0.0/24")
    r = _port(alice, net, name="p1", device_owner="compute:nova", device_id="vm-1")
    assert r.status_code == 201, r.text
    p1 = r.json()["port"]
    assert p1["fixed_ips"] == [{"subnet_id": sub, "ip_address": "10.70.0.2"}]
    assert p1["project_id"] == p1["tenant_id"] == "alice"
    assert (p1["network_id"], p1["device_owner"], p1["device_id"], p1["admin_state_up"],
            p1["status"]) == (net, "compute:nova", "vm-1", True, "ACTIVE")
    assert p1["mac_address"].startswith("fa:16:3e:") and len(p1["mac_address"]) == 17
    assert "binding:host_id" not in p1
    shown = admin.get(f"/v2.0/ports/{p1['id']}").json()["port"]
    assert shown["binding:host_id"] == "" and shown["fixed_ips"] == p1["fixed_ips"]
    p2 = _port(alice, net, fixed_ips=[{"subnet_id": sub, "ip_address": "10.70.0.9"}])
    assert p2.status_code == 201, p2.text
    assert p2.json()["port"]["status"] == "DOWN"
    r = _port(alice, net, fixed_ips=[{"ip_address": "10.70.0.9"}])
    assert _fault(r, 409) == (f"Unable to complete operation for network {net}. The IP "
                              "address 10.70.0.9 is in use.")
    r = _port(alice, net, fixed_ips=[{"subnet_id": sub, "ip_address": "10.71.0.9"}])
    assert _fault(r, 400) == ("IP address 10.71.0.9 is not a valid IP for the specified "
                              "subnet.")
    r = _port(alice, net, fixed_ips=[{"ip_address": "192.0.2.1"}])
    assert _fault(r, 400) == ("IP address 192.0.2.1 is not a valid IP for any of the subnets "
                              "on the specified network.")
    _, other_sub = _net(alice, "10.72.0.0/24")
    r = _port(alice, net, fixed_ips=[{"subnet_id": other_sub}])
    assert _fault(r, 400) == (f"Invalid input for operation: Failed to create port on network "
                              f"{net}, because fixed_ips included invalid subnet {other_sub}.")
    by_ip = _port(alice, net, fixed_ips=[{"ip_address": "10.70.0.20"}]).json()["port"]
    assert by_ip["fixed_ips"] == [{"subnet_id": sub, "ip_address": "10.70.0.20"}]
    bare = _port(alice, net, fixed_ips=[]).json()["port"]
    assert bare["fixed_ips"] == []

    def ids(client: Api, **params: Any) -> list[str]:
        r = client.get("/v2.0/ports", params=params)
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["ports"]]

    assert ids(alice, device_owner="compute:nova") == [p1["id"]]
    assert ids(alice, device_id="vm-1", network_id=net) == [p1["id"]]
    assert ids(alice, fixed_ips="ip_address=10.70.0.9") == [p2.json()["port"]["id"]]
    assert set(ids(alice, fixed_ips=f"subnet_id={sub}")) == {p1["id"], p2.json()["port"]["id"],
                                                              by_ip["id"]}
    assert ids(alice, fixed_ips=["ip_address=10.70.0.9", "ip_address=10.70.0.2"]) == []
    assert set(ids(alice, status="DOWN", network_id=net)) == {p2.json()["port"]["id"],
                                                              by_ip["id"], bare["id"]}
    # Another project sees none of them, nor the network.
    assert ids(bob) == []
    assert _fault(bob.get(f"/v2.0/ports/{p1['id']}"), 404) == (f"Port {p1['id']} could not "
                                                               "be found.")
    assert _fault(_port(bob, net), 404) == f"Network {net} could not be found."
    # Neutron's policy: on a network it does not own, a project takes no fixed address and no
    # network:* owner; binding:host_id is admin-only.
    shared, _ = _net(admin, "10.73.0.0/24", shared=True)
    assert _port(bob, shared).status_code == 201
    r = _port(bob, shared, fixed_ips=[{"ip_address": "10.73.0.50"}],
              device_owner="network:router_interface")
    assert _fault(r, 403) == ("((rule:create_port and rule:create_port:device_owner) and "
                              "rule:create_port:fixed_ips:ip_address) is disallowed by policy")
    r = _port(alice, net, **{"binding:host_id": "host-1"})
    assert _fault(r, 403) == ("(rule:create_port and rule:create_port:binding:host_id) is "
                              "disallowed by policy")
    hosted = _port(admin, net, **{"binding:host_id": "host-1"}).json()["port"]
    assert hosted["binding:host_id"] == "host-1"
    assert ids(admin, **{"binding:host_id": "host-1"}) == [hosted["id"]]
    # A network or subnet with ports is not deleted; a deleted port frees its address.
    assert _fault(alice.delete(f"/v2.0/networks/{net}"), 409) == (
        f"Unable to complete operation on network {net}. There are one or more ports still "
        "in use on the network.")
    assert _fault(alice.delete(f"/v2.0/subnets/{sub}"), 409) == (
        f"Unable to complete operation on subnet {sub}: One or more ports have an IP "
        "allocation from this subnet.")
    assert alice.delete(f"/v2.0/ports/{p1['id']}").status_code == 204
    assert alice.get(f"/v2.0/ports/{p1['id']}").status_code == 404
    again = _port(alice, net).json()["port"]
    assert again["fixed_ips"][0]["ip_address"] == "10.70.0.2"


def test_vip_is_a_port_and_shares_the_addresses(api: Api) -> None:
    alice = api.as_project("alice")
    net, sub = _net(alice, "10.80.0.0/29")  # pool 10.80.0.2 - .6
    first = _port(alice, net).json()["port"]
    assert first["fixed_ips"][0]["ip_address"] == "10.80.0.2"
    r = alice.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_subnet_id": sub}})
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    assert lb["vip_address"] == "10.80.0.3"  # .2 is the port's
    api.settle()
    vip_port = alice.get(f"/v2.0/ports/{lb['vip_port_id']}").json()["port"]
    assert (vip_port["device_owner"], vip_port["device_id"], vip_port["network_id"],
            vip_port["name"]) == ("network:f5lbaasv2", lb["id"], net, f"loadbalancer-{lb['id']}")
    assert vip_port["fixed_ips"] == [{"subnet_id": sub, "ip_address": "10.80.0.3"}]
    listed = alice.get("/v2.0/ports", params={"device_owner": "network:f5lbaasv2",
                                              "device_id": lb["id"]}).json()["ports"]
    assert [p["id"] for p in listed] == [lb["vip_port_id"]]
    r = _port(alice, net, fixed_ips=[{"ip_address": "10.80.0.3"}])
    assert _fault(r, 409).endswith("The IP address 10.80.0.3 is in use.")
    r = alice.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_subnet_id": sub,
                                                             "vip_address": "10.80.0.2"}})
    assert _fault(r, 409) == f"IP address 10.80.0.2 already allocated in subnet {sub}."
    r = alice.delete(f"/v2.0/ports/{lb['vip_port_id']}")
    assert _fault(r, 409) == (f"Port {lb['vip_port_id']} cannot be deleted directly via the "
                              f"port API: it is the VIP port of load balancer {lb['id']}.")
    # Fill the pool: .4 .5 .6 to ports, then neither a port nor a VIP finds an address.
    for _ in range(3):
        assert _port(alice, net).status_code == 201
    assert _fault(_port(alice, net), 409) == f"No more IP addresses available on network {net}."
    r = alice.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_subnet_id": sub}})
    assert _fault(r, 409) == f"No more IP addresses available on subnet {sub}."
    # The load balancer's deletion removes its VIP port, and the address is free again.
    assert alice.delete(f"{V2}/loadbalancers/{lb['id']}").status_code == 204
    api.settle()
    assert alice.get(f"/v2.0/ports/{lb['vip_port_id']}").status_code == 404
    assert _port(alice, net).json()["port"]["fixed_ips"][0]["ip_address"] == "10.80.0.3"


def test_vip_port_id_takes_the_ports_address(api: Api) -> None:
    alice, bob = api.as_project("alice"), api.as_project("bob")
    net, sub = _net(alice, "10.90.0.0/24")
    port = _port(alice, net, fixed_ips=[{"ip_address": "10.90.0.77"}]).json()["port"]
    r = alice.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_port_id": port["id"]}})
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    assert (lb["vip_port_id"], lb["vip_address"], lb["vip_subnet_id"], lb["vip_network_id"]) == (
        port["id"], "10.90.0.77", sub, net)
    api.settle()
    used = alice.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert used["device_id"] == lb["id"] and used["device_owner"] == ""
    r = alice.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_port_id": port["id"]}})
    assert _fault(r, 400) == (f"Validation failure: Port {port['id']} is already used by "
                              f"device {lb['id']} ")
    # The port's subnet and address must agree with what else the request says.
    spare = _port(alice, net).json()["port"]
    r = alice.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_port_id": spare["id"],
                                                             "vip_address": "10.90.0.200"}})
    assert _fault(r, 400) == (f"Validation failure: Port {spare['id']} has no fixed IP "
                              "matching 10.90.0.200.")
    other_net, _ = _net(alice, "10.91.0.0/24")
    r = alice.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_port_id": spare["id"],
                                                             "vip_network_id": other_net}})
    assert _fault(r, 400) == (f"Validation failure: Port {spare['id']} is not on network "
                              f"{other_net}.")
    # Another project's port is not taken.
    theirs_net, _ = _net(bob, "10.92.0.0/24")
    theirs = _port(bob, theirs_net).json()["port"]
    r = alice.post(f"{V2}/loadbalancers", {"loadbalancer": {"vip_port_id": theirs["id"]}})
    assert _fault(r, 400) == (f"Validation failure: Port {theirs['id']} does not belong to "
                              "project alice.")
    # Deleting the load balancer leaves the port it was given, free again.
    assert alice.delete(f"{V2}/loadbalancers/{lb['id']}").status_code == 204
    api.settle()
    left = alice.get(f"/v2.0/ports/{port['id']}").json()["port"]
    assert left["device_id"] == "" and left["fixed_ips"] == port["fixed_ips"]
    assert alice.delete(f"/v2.0/ports/{port['id']}").status_code == 204


def test_concurrent_ports_and_vips_never_share_an_address(api: Api) -> None:
    alice = api.as_project("alice")
    net, sub = _net(alice, "10.95.0.0/27")  # 29 pool addresses
    got: list[httpx.Response] = []
    lock = threading.Lock()

    def make(kind: str) -> None:
        with httpx.Client(base_url=api.url, timeout=60, headers=alice.http.headers) as c:
            if kind == "port":
                r = c.post("/v2.0/ports", json={"port": {"network_id": net}})
            else:
                r = c.post(f"{V2}/loadbalancers", json={"loadbalancer": {"vip_subnet_id": sub}})
        with lock:
            got.append(r)

    threads = [threading.Thread(target=make, args=("port" if i % 2 else "lb",))
               for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(got) == 16 and all(r.status_code == 201 for r in got), [r.text for r in got]
    addresses = [r.json()["port"]["fixed_ips"][0]["ip_address"] if "port" in r.json()
                 else r.json()["loadbalancer"]["vip_address"] for r in got]
    assert len(set(addresses)) == 16
    ports = alice.get("/v2.0/ports", params={"network_id": net}).json()["ports"]
    assert len(ports) == 16  # 8 ports and 8 VIP ports
    assert sorted(p["fixed_ips"][0]["ip_address"] for p in ports) == sorted(addresses)
