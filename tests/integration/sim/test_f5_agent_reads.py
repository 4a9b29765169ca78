"""What F5's own agent reads at start-up, served as a device serves it: `sys/db` variables
(`provision.extramb`, `failover.state`, `iptunnel.configsync`, which it also PATCHes),
`net/interface` MAC addresses, and the built-in TCP profiles and iRules every BIG-IP ships.
Driven through f5-sdk, the library F5's agent uses, and plain HTTP."""

from __future__ import annotations

import httpx
import pytest
from f5.bigip import ManagementRoot

from bigip_lbaas.sim.testing import SimHandle


@pytest.fixture
def mgmt(sim: SimHandle) -> ManagementRoot:
    return ManagementRoot("127.0.0.1", sim.username, sim.password, port=sim.ports[0],
                          token=False, verify=str(sim.ca_file))


def test_sys_db_variables_read_and_patched_as_f5s_agent_does(
        sim: SimHandle, mgmt: ManagementRoot) -> None:
    # F5's agent: int(provision.extramb) >= 500, else "not provisioned for management LARGE"
    assert int(mgmt.tm.sys.dbs.db.load(name="provision.extramb").value) >= 500
    assert mgmt.tm.sys.dbs.db.load(name="failover.state").value == "active"
    with sim.client(2) as peer:
        assert peer.get("/mgmt/tm/sys/db/failover.state").json()["value"] == "standby"
    tunnel = mgmt.tm.sys.dbs.db.load(name="iptunnel.configsync")
    assert tunnel.value == "enable"
    tunnel.modify(value="disable")
    assert mgmt.tm.sys.dbs.db.load(name="iptunnel.configsync").value == "disable"
    names = {d.name for d in mgmt.tm.sys.dbs.get_collection()}
    assert {"provision.extramb", "failover.state", "iptunnel.configsync"} <= names


def test_sys_db_refuses_what_a_device_refuses(http: httpx.Client) -> None:
    bad = http.patch("/mgmt/tm/sys/db/iptunnel.configsync", json={"value": "sometimes"})
    assert bad.status_code == 400 and "enable disable" in bad.json()["message"]
    assert http.get("/mgmt/tm/sys/db/iptunnel.configsync").json()["value"] == "enable"
    too_big = http.patch("/mgmt/tm/sys/db/provision.extramb", json={"value": "99999"})
    assert too_big.status_code == 400
    assert http.patch("/mgmt/tm/sys/db/provision.extramb",
                      json={"value": "1024"}).json()["value"] == "1024"
    assert http.post("/mgmt/tm/sys/db", json={"name": "x.y", "value": "1"}).status_code == 400
    assert http.delete("/mgmt/tm/sys/db/failover.state").status_code == 400
    assert http.get("/mgmt/tm/sys/db/no.such.variable").status_code == 404


def test_interfaces_carry_distinct_mac_addresses(sim: SimHandle, mgmt: ManagementRoot) -> None:
    mine = {i.name: i.macAddress for i in mgmt.tm.net.interfaces.get_collection()}
    assert set(mine) == {"1.1", "1.2", "mgmt"}
    assert len(set(mine.values())) == 3
    with sim.client(2) as peer:
        theirs = peer.get("/mgmt/tm/net/interface/1.1").json()
    assert theirs["macAddress"] != mine["1.1"]


def test_builtin_tcp_profiles_and_irules(http: httpx.Client) -> None:
    tcp = {p["name"]: p for p in http.get("/mgmt/tm/ltm/profile/tcp").json()["items"]}
    for name in ("tcp-lan-optimized", "tcp-wan-optimized", "tcp-mobile-optimized"):
        assert tcp[name]["defaultsFrom"] == "/Common/tcp"
        assert http.delete(f"/mgmt/tm/ltm/profile/tcp/~Common~{name}").status_code == 400
    rules = {r["name"]: r for r in http.get("/mgmt/tm/ltm/rule").json()["items"]}
    assert "HTTP::redirect https://" in rules["_sys_https_redirect"]["apiAnonymous"]
    assert "_sys_APM_ExchangeSupport_helper" in rules
    # A virtual can use them as any built-in.
    assert http.post("/mgmt/tm/ltm/profile/tcp", json={
        "name": "mine", "partition": "Common",
        "defaultsFrom": "/Common/tcp-wan-optimized"}).status_code == 200
