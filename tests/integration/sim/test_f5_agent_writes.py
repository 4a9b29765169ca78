"""The device as F5's agent 9.6.0 leaves it: its recorded writes replayed onto the simulator
get the answers the agent got, and read back in the device's own form (flags as words, the
traffic group as a full path, the virtual linked to the agent's named virtual address instead
of a second, address-named one, relative references as full paths)."""

from __future__ import annotations

import httpx

from tests.f5_fixture import graph, replay


def test_f5_agent_writes_replay_and_read_back_as_a_device_answers(http: httpx.Client) -> None:
    replay(http)
    g = graph()
    names = g["bigip_names"]
    part = names["partition"]
    flt = {"$filter": f"partition eq {part}", "expandSubcollections": "true"}

    vas = http.get("/mgmt/tm/ltm/virtual-address", params=flt).json()["items"]
    assert [v["fullPath"] for v in vas] == [names["ltm/virtual-address"]]
    va = vas[0]
    assert (va["address"], va["autoDelete"], va["enabled"], va["trafficGroup"]) == (
        g["vip_address"], "false", "yes", "/Common/traffic-group-1")

    (vs,) = http.get("/mgmt/tm/ltm/virtual", params=flt).json()["items"]
    assert vs["fullPath"] == names["ltm/virtual"]
    assert vs["destination"] == f"{names['ltm/virtual-address']}:80"
    assert vs["pool"] == names["ltm/pool"] and vs["enabled"] is True
    assert sorted(p["fullPath"] for p in vs["profilesReference"]["items"]) == [
        "/Common/http", "/Common/oneconnect"]

    (pool,) = http.get("/mgmt/tm/ltm/pool", params=flt).json()["items"]
    assert pool["monitor"].strip() == names["ltm/monitor/http"]
    members = sorted(m["fullPath"] for m in pool["membersReference"]["items"])
    assert members == sorted(names["ltm/pool members"])
    nodes = sorted(n["fullPath"] for n in http.get("/mgmt/tm/ltm/node", params=flt).json()["items"])
    assert nodes == sorted(names["ltm/node"])
    (mon,) = http.get("/mgmt/tm/ltm/monitor/http", params=flt).json()["items"]
    assert (mon["fullPath"], mon["interval"], mon["timeout"]) == (names["ltm/monitor/http"], 5, 15)

    folder = http.get(f"/mgmt/tm/sys/folder/~{part}").json()
    assert (folder["inheritedDevicegroup"], folder["inheritedTrafficGroup"], folder["hidden"]) == (
        "true", "true", "false")
