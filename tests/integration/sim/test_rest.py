"""Wire-level behaviour checked with a plain HTTP client: shapes, queries, auth, errors."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread


def _pool(http: httpx.Client, name: str, partition: str = "Common", **extra: object) -> None:
    r = http.post("/mgmt/tm/ltm/pool", json={"name": name, "partition": partition, **extra})
    assert r.status_code == 200, r.text


def test_resource_shape_and_selflink(http: httpx.Client) -> None:
    r = http.post(
        "/mgmt/tm/ltm/pool/",
        json={"name": "p1", "partition": "Common", "monitor": "min 1 of /Common/http /Common/tcp"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["kind"] == "tm:ltm:pool:poolstate"
    assert body["selfLink"] == "https://localhost/mgmt/tm/ltm/pool/~Common~p1?ver=15.1.0"
    assert body["fullPath"] == "/Common/p1"
    assert body["monitor"] == "min 1 of { /Common/http /Common/tcp }"
    assert body["membersReference"] == {
        "link": "https://localhost/mgmt/tm/ltm/pool/~Common~p1/members?ver=15.1.0",
        "isSubcollection": True,
    }
    assert http.get("/mgmt/tm/ltm/pool/~Common~p1/").json() == body
    assert http.get("/mgmt/tm/ltm/pool/p1").json()["fullPath"] == "/Common/p1"
    deleted = http.delete("/mgmt/tm/ltm/pool/~Common~p1")
    assert deleted.status_code == 200
    assert deleted.content == b""


def test_sys_endpoints(http: httpx.Client) -> None:
    sys_doc = http.get("/mgmt/tm/sys/").json()
    assert sys_doc["selfLink"] == "https://localhost/mgmt/tm/sys?ver=15.1.0"
    version = http.get("/mgmt/tm/sys/version").json()
    entries = version["entries"]["https://localhost/mgmt/tm/sys/version/0"]["nestedStats"]
    assert entries["entries"]["Version"]["description"] == "15.1.0"
    assert http.get("/mgmt/tm/sys/global-settings").json()["hostname"] == "bigip1.sim.local"
    save = http.post("/mgmt/tm/sys/config", json={"command": "save"}).json()
    assert save["kind"] == "tm:sys:config:savestate"
    assert http.get("/mgmt/shared/echo-query").status_code == 200
    builtins = {m["fullPath"] for m in http.get("/mgmt/tm/ltm/monitor/http").json()["items"]}
    assert "/Common/http" in builtins
    rd0 = http.get("/mgmt/tm/net/route-domain/~Common~0").json()
    assert rd0["id"] == 0


def test_query_parameters(http: httpx.Client) -> None:
    assert http.post("/mgmt/tm/auth/partition", json={"name": "A"}).status_code == 200
    for i in range(5):
        _pool(http, f"a{i}", "A")
    _pool(http, "c0")
    for raw in ("$filter=partition+eq+A", "$filter=partition%20eq%20A", "%24filter=partition+eq+A"):
        items = http.get(f"/mgmt/tm/ltm/pool?{raw}").json()["items"]
        assert [i["name"] for i in items] == [f"a{i}" for i in range(5)]
    sel = http.get(
        "/mgmt/tm/ltm/pool", params={"$select": "name,selfLink", "$filter": "partition eq A"}
    ).json()
    assert set(sel["items"][0]) == {"name", "selfLink"}
    assert "$select=name%2CselfLink" in sel["selfLink"]
    page = http.get(
        "/mgmt/tm/ltm/pool", params={"$top": 2, "$skip": 4, "$filter": "partition eq A"}
    ).json()
    assert [i["name"] for i in page["items"]] == ["a4"]
    past = http.get(
        "/mgmt/tm/ltm/pool", params={"$top": 2, "$skip": 10, "$filter": "partition eq A"}
    ).json()
    assert "items" not in past
    http.post("/mgmt/tm/ltm/pool/~A~a0/members", json={"name": "10.0.0.5:80", "partition": "A"})
    for flag in ("expandSubcollections=true", "expandSubCollections=true"):
        doc = http.get(f"/mgmt/tm/ltm/pool/~A~a0?{flag}").json()
        assert [m["name"] for m in doc["membersReference"]["items"]] == ["10.0.0.5:80"]


def test_subpath_and_route_domain_names(http: httpx.Client) -> None:
    http.post("/mgmt/tm/auth/partition", json={"name": "T"})
    assert (
        http.post("/mgmt/tm/sys/folder", json={"name": "App", "partition": "T"}).status_code == 200
    )
    _pool(http, "web", "T", subPath="App")
    doc = http.get("/mgmt/tm/ltm/pool/~T~App~web").json()
    assert doc["fullPath"] == "/T/App/web"
    assert doc["subPath"] == "App"
    http.post("/mgmt/tm/net/route-domain", json={"name": "rd2", "partition": "Common", "id": 2})
    r = http.post(
        "/mgmt/tm/ltm/pool/~T~App~web/members",
        json={"name": "10.0.0.1%2:80", "partition": "T", "subPath": "App"},
    )
    assert r.status_code == 200, r.text
    member = http.get("/mgmt/tm/ltm/pool/~T~App~web/members/~T~App~10.0.0.1%252:80").json()
    assert member["address"] == "10.0.0.1%2"
    bad = http.post(
        "/mgmt/tm/ltm/pool/~T~App~web/members",
        json={"name": "10.0.0.1%7:80", "partition": "T", "subPath": "App"},
    )
    assert bad.status_code == 400
    assert "route domain (7)" in bad.json()["message"]
    folder = http.delete("/mgmt/tm/sys/folder/~T~App")
    assert folder.status_code == 400
    assert folder.json()["message"].startswith("010713f9:3: The folder /T/App cannot be deleted")


def test_malformed_input_is_400_never_500(http: httpx.Client) -> None:
    for body in (b"{not json", b"[1,2]", b"\xff\xfe"):
        r = http.post("/mgmt/tm/ltm/pool", content=body)
        assert r.status_code == 400
        assert r.json()["message"] == "Found invalid JSON body in the request."
    r = http.post("/mgmt/tm/ltm/pool", json={"name": "p", "unknownField": True})
    assert r.status_code == 400
    assert "Found unexpected json pair" in r.json()["message"]
    r = http.post("/mgmt/tm/ltm/pool", json={"partition": "Common"})
    assert r.status_code == 400
    for collection in ("sys/folder", "auth/partition"):  # folders check their fields too
        r = http.post(f"/mgmt/tm/{collection}", json={"name": "Junk", "unknownField": True})
        assert r.status_code == 400, (collection, r.text)
        assert "Found unexpected json pair" in r.json()["message"]
        assert http.get(f"/mgmt/tm/{collection}/~Junk").status_code == 404
    r = http.post("/mgmt/tm/ltm/pool/~Common~nope/members", json={"name": "1.1.1.1:80"})
    assert r.status_code == 404
    r = http.get("/mgmt/tm/ltm/nonsense")
    assert r.status_code == 404
    assert r.json()["kind"] == ":resterrorresponse"
    r = http.post("/mgmt/tm/ltm/pool", json={"name": "p", "loadBalancingMode": "magic"})
    assert r.status_code == 400
    r = http.post(
        "/mgmt/tm/ltm/virtual",
        json={"name": "v", "destination": "10.0.0.1:80", "pool": "/Common/nope"},
    )
    assert r.status_code == 400
    assert "01020036:3: The requested Pool (/Common/nope) was not found." in r.json()["message"]


def test_integrity_rules(http: httpx.Client) -> None:
    _pool(http, "p")
    http.post("/mgmt/tm/ltm/node", json={"name": "web01", "address": "10.7.0.1"})
    r = http.post("/mgmt/tm/ltm/pool/~Common~p/members", json={"name": "10.7.0.1:80"})
    assert r.status_code == 400
    assert r.json()["message"].startswith(
        "0107003a:3: Pool member node (/Common/10.7.0.1) and existing node (/Common/web01)"
    )
    assert (
        http.post("/mgmt/tm/ltm/pool/~Common~p/members", json={"name": "web01:80"}).status_code
        == 200
    )
    dup = http.post("/mgmt/tm/ltm/pool/~Common~p/members", json={"name": "web01:80"})
    assert dup.status_code == 409
    r = http.patch("/mgmt/tm/ltm/node/~Common~web01", json={"address": "10.7.0.2"})
    assert r.status_code == 400
    r = http.delete("/mgmt/tm/ltm/monitor/http/~Common~http")
    assert r.status_code == 400
    http.post("/mgmt/tm/net/vlan", json={"name": "v10", "tag": 10})
    http.post("/mgmt/tm/net/self", json={"name": "s1", "address": "10.10.0.2/24", "vlan": "v10"})
    r = http.delete("/mgmt/tm/net/vlan/~Common~v10")
    assert "cannot be deleted because it is in use by a Self IP" in r.json()["message"]
    http.post("/mgmt/tm/ltm/snatpool", json={"name": "sp", "members": ["10.0.0.9"]})
    http.post(
        "/mgmt/tm/ltm/virtual",
        json={
            "name": "v",
            "destination": "10.0.0.1:80",
            "sourceAddressTranslation": {"type": "snat", "pool": "sp"},
        },
    )
    r = http.delete("/mgmt/tm/ltm/snatpool/~Common~sp")
    assert r.json()["message"] == (
        "01070320:3: Snatpool /Common/sp is still referenced by a virtual server."
    )
    r = http.post("/mgmt/tm/ltm/pool", json={"name": "/Nowhere/p"})
    assert r.status_code == 400
    assert "folder does not exist" in r.json()["message"]


def test_auth_shapes_and_tokens(sim: SimHandle) -> None:
    with httpx.Client(base_url=sim.urls[0], verify=str(sim.ca_file), timeout=10) as anon:
        r = anon.get("/mgmt/tm/ltm/pool")
        assert r.status_code == 401
        assert r.json()["message"].startswith("Authorization failed: no user authentication")
        assert anon.get("/mgmt/tm/ltm/pool", auth=("admin", "wrong")).status_code == 401
        r = anon.post(
            "/mgmt/shared/authn/login",
            json={"username": "admin", "password": "x", "loginProviderName": "tmos"},
        )
        assert r.status_code == 401
        assert r.json()["kind"] == ":resterrorresponse"
        login = anon.post(
            "/mgmt/shared/authn/login",
            json={"username": "admin", "password": "admin", "loginProviderName": "tmos"},
        ).json()
        tok = login["token"]
        for key in ("token", "timeout", "lastUpdateMicros", "expirationMicros"):
            assert key in tok
        hdr = {"X-F5-Auth-Token": tok["token"]}
        assert anon.get("/mgmt/tm/ltm/pool", headers=hdr).status_code == 200
        r = anon.patch(
            f"/mgmt/shared/authz/tokens/{tok['token']}", headers=hdr, json={"timeout": "36001"}
        )
        assert r.status_code == 406
        r = anon.patch(
            f"/mgmt/shared/authz/tokens/{tok['token']}", headers=hdr, json={"timeout": 1}
        )
        assert r.json()["timeout"] == 1
        time.sleep(1.2)
        r = anon.get("/mgmt/tm/ltm/pool", headers=hdr)
        assert r.status_code == 401
        assert r.json()["message"] == "X-F5-Auth-Token does not exist."
        tok2 = anon.post(
            "/mgmt/shared/authn/login", json={"username": "admin", "password": "admin"}
        ).json()["token"]
        hdr2 = {"X-F5-Auth-Token": tok2["token"]}
        assert (
            anon.delete(f"/mgmt/shared/authz/tokens/{tok2['token']}", headers=hdr2).status_code
            == 200
        )
        assert anon.get("/mgmt/tm/ltm/pool", headers=hdr2).status_code == 401


def test_transaction_protocol(http: httpx.Client) -> None:
    tx = http.post("/mgmt/tm/transaction", json={}).json()
    assert tx["state"] == "STARTED"
    assert tx["kind"] == "tm:transactionstate"
    tid = str(tx["transId"])
    r = http.patch(f"/mgmt/tm/transaction/{tid}", json={"state": "VALIDATING"})
    assert r.status_code == 404
    assert r.json()["message"] == "there is no command to commit in the transaction."
    hdr = {"X-F5-REST-Coordination-Id": tid}
    queued = http.post("/mgmt/tm/ltm/pool", json={"name": "tp"}, headers=hdr).json()
    assert queued["kind"] == "tm:transaction:commandsstate"
    assert queued["commandId"] == 1
    assert http.get("/mgmt/tm/ltm/pool/~Common~tp").status_code == 404  # not applied yet
    cmds = http.get(f"/mgmt/tm/transaction/{tid}/commands").json()["items"]
    assert [c["method"] for c in cmds] == ["POST"]
    done = http.patch(f"/mgmt/tm/transaction/{tid}/", json={"state": "VALIDATING"})
    assert done.status_code == 200
    assert done.json()["state"] == "COMPLETED"
    assert http.get("/mgmt/tm/ltm/pool/~Common~tp").status_code == 200


def test_member_monitor_rule_and_moving_stats(sim: SimHandle, http: httpx.Client) -> None:
    _pool(http, "mp", monitor="/Common/tcp")
    http.post("/mgmt/tm/ltm/pool/~Common~mp/members", json={"name": "10.8.0.1:80"})
    http.post("/mgmt/tm/ltm/pool/~Common~mp/members", json={"name": "10.8.0.2:80"})
    _pool(http, "nomon")
    http.post("/mgmt/tm/ltm/pool/~Common~nomon/members", json={"name": "10.8.0.3:80"})
    sim.control("PUT", "members-down", {"addresses": ["10.8.0.2"]})
    members = http.get("/mgmt/tm/ltm/pool/~Common~mp/members").json()["items"]
    assert {m["name"]: m["state"] for m in members} == {"10.8.0.1:80": "up", "10.8.0.2:80": "down"}
    m3 = http.get("/mgmt/tm/ltm/pool/~Common~nomon/members/~Common~10.8.0.3:80").json()
    assert m3["state"] == "unchecked"
    http.patch(
        "/mgmt/tm/ltm/pool/~Common~mp/members/~Common~10.8.0.1:80",
        json={"state": "user-down", "session": "user-disabled"},
    )
    m1 = http.get("/mgmt/tm/ltm/pool/~Common~mp/members/~Common~10.8.0.1:80").json()
    assert (m1["state"], m1["session"]) == ("user-down", "user-disabled")
    key = "https://localhost/mgmt/tm/ltm/pool/~Common~mp/stats"

    def tot() -> int:
        doc = http.get("/mgmt/tm/ltm/pool/~Common~mp/stats").json()
        return int(doc["entries"][key]["nestedStats"]["entries"]["serverside.totConns"]["value"])

    first = tot()
    time.sleep(1.1)
    assert tot() > first
    mstats = http.get("/mgmt/tm/ltm/pool/~Common~mp/members/stats").json()
    assert mstats["kind"] == "tm:ltm:pool:members:memberscollectionstats"


def test_virtual_counts_only_with_a_member_to_send_to(sim: SimHandle, http: httpx.Client) -> None:
    """A fresh virtual with no pool reads all zeros (Octavia's API tests expect a new listener's
    stats to be 0); with a pool holding a member it counts, and stops when that member is
    user-down."""
    key = "https://localhost/mgmt/tm/ltm/virtual/~Common~vs/stats"

    def counters() -> dict[str, int]:
        doc = http.get("/mgmt/tm/ltm/virtual/~Common~vs/stats").json()
        entries = doc["entries"][key]["nestedStats"]["entries"]
        return {k: int(v["value"]) for k, v in entries.items()
                if k.startswith("clientside.")}

    r = http.post("/mgmt/tm/ltm/virtual", json={
        "name": "vs", "partition": "Common", "destination": "/Common/10.9.0.1:80"})
    assert r.status_code == 200, r.text
    time.sleep(1.1)
    assert set(counters().values()) == {0}
    _pool(http, "vp")
    assert http.patch("/mgmt/tm/ltm/virtual/~Common~vs", json={"pool": "/Common/vp"}).is_success
    assert set(counters().values()) == {0}  # a pool with no member: nowhere to send
    r = http.post("/mgmt/tm/ltm/pool/~Common~vp/members", json={"name": "10.9.0.2:80"})
    assert r.status_code == 200, r.text
    assert counters()["clientside.totConns"] > 0
    http.patch("/mgmt/tm/ltm/pool/~Common~vp/members/~Common~10.9.0.2:80",
               json={"state": "user-down", "session": "user-disabled"})
    assert set(counters().values()) == {0}


def test_cm_cluster_view(sim: SimHandle, http: httpx.Client) -> None:
    devices = http.get("/mgmt/tm/cm/device").json()["items"]
    assert [(d["name"], d["selfDevice"], d["failoverState"]) for d in devices] == [
        ("bigip1.sim.local", "true", "active"),
        ("bigip2.sim.local", "false", "standby"),
    ]
    groups = {g["name"]: g for g in http.get("/mgmt/tm/cm/device-group").json()["items"]}
    assert groups["sync-failover-group"]["type"] == "sync-failover"
    assert groups["sync-failover-group"]["autoSync"] == "disabled"
    tgs = {t["name"] for t in http.get("/mgmt/tm/cm/traffic-group").json()["items"]}
    assert tgs == {"traffic-group-1", "traffic-group-local-only"}

    def status() -> str:
        doc = http.get("/mgmt/tm/cm/sync-status").json()
        nested = doc["entries"]["https://localhost/mgmt/tm/cm/sync-status/0"]["nestedStats"]
        return str(nested["entries"]["status"]["description"])

    def peer_status() -> str:
        with sim.client(2) as peer:
            doc = peer.get("/mgmt/tm/cm/sync-status").json()
        nested = doc["entries"]["https://localhost/mgmt/tm/cm/sync-status/0"]["nestedStats"]
        return str(nested["entries"]["status"]["description"])

    assert status() == peer_status() == "In Sync"
    _pool(http, "changes")
    # every member of the sync-failover group reports the group's state
    assert status() == peer_status() == "Changes Pending"
    assert sim.control("GET", "state", device=2)["syncStatus"] == "Changes Pending"
    r = http.post(
        "/mgmt/tm/cm",
        json={"command": "run", "utilCmdArgs": "config-sync to-group sync-failover-group"},
    )
    assert r.status_code == 200
    assert status() == peer_status() == "In Sync"
    with sim.client(2) as peer:
        assert peer.get("/mgmt/tm/ltm/pool/~Common~changes").status_code == 200
        doc = peer.get("/mgmt/tm/cm/device").json()["items"]
        assert [d["selfDevice"] for d in doc] == ["false", "true"]
    bad = http.post(
        "/mgmt/tm/cm", json={"command": "run", "utilCmdArgs": "config-sync to-group nope"}
    )
    assert bad.status_code == 400
    sim.control("PUT", "autosync", {"enabled": True})
    assert (
        http.get("/mgmt/tm/cm/device-group/~Common~sync-failover-group").json()["autoSync"]
        == "enabled"
    )


def _commit_fails(http: httpx.Client, tid: int) -> str:
    """Commit `tid`, expecting a failed commit; return the failure reason the device keeps."""
    r = http.patch(f"/mgmt/tm/transaction/{tid}", json={"state": "VALIDATING"})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["message"].startswith("transaction failed:")
    assert body["apiError"] == 2
    tx = http.get(f"/mgmt/tm/transaction/{tid}").json()
    assert tx["state"] == "FAILED"
    assert body["message"] == "transaction failed:" + tx["failureReason"]
    again = http.patch(f"/mgmt/tm/transaction/{tid}", json={"state": "VALIDATING"})
    assert again.status_code == 400 and "is in state FAILED" in again.json()["message"]
    return str(tx["failureReason"])


def test_bad_value_shape_in_a_transaction_fails_the_commit(http: httpx.Client) -> None:
    tid = http.post("/mgmt/tm/transaction", json={}).json()["transId"]
    hdr = {"X-F5-REST-Coordination-Id": str(tid)}
    http.post("/mgmt/tm/ltm/pool", json={"name": "txp", "partition": "Common"}, headers=hdr)
    bad = {"name": "/Common/txv", "destination": "10.3.0.1:80", "persist": [5]}
    assert http.post("/mgmt/tm/ltm/virtual", json=bad, headers=hdr).status_code == 200
    reason = _commit_fails(http, tid)
    assert reason.startswith("persist must be a list of persistence profile names")
    assert "object has no attribute" not in reason
    for path in ("/mgmt/tm/ltm/pool/~Common~txp", "/mgmt/tm/ltm/virtual/~Common~txv"):
        assert http.get(path).status_code == 404  # rolled back, both commands
    commit = http.get("/sim/audit").json()["items"][-1]
    assert (commit["method"], commit["status"]) == ("PATCH", 400)
    assert (commit["transaction"], commit["commands"]) == (tid, 2)
    assert commit["partitions"] == ["Common"]


def test_virtual_list_properties_name_the_field(http: httpx.Client) -> None:
    for key, value in (
        ("persist", [5]),
        ("persist", "source_addr"),
        ("persist", [{"name": 5}]),
        ("rules", "r1"),
        ("rules", [7]),
        ("vlans", "v1"),
        ("fallbackPersistence", ["x"]),
    ):
        body = {"name": "lv", "destination": "10.3.0.2:80", key: value}
        r = http.post("/mgmt/tm/ltm/virtual", json=body)
        assert r.status_code == 400, (key, value, r.text)
        assert r.json()["message"].startswith(key), (key, value, r.text)
    ok = {"name": "lv", "destination": "10.3.0.2:80", "persist": [{"name": "cookie"}]}
    assert http.post("/mgmt/tm/ltm/virtual", json=ok).json()["persist"][0]["name"] == "cookie"


def test_any_internal_failure_in_a_commit_fails_the_transaction(
    http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bigip_lbaas.sim import objects

    def broken(*args: object) -> None:
        raise KeyError("surprise")

    tid = http.post("/mgmt/tm/transaction", json={}).json()["transId"]
    hdr = {"X-F5-REST-Coordination-Id": str(tid)}
    http.post("/mgmt/tm/ltm/pool", json={"name": "ip"}, headers=hdr)
    monkeypatch.setitem(objects._NORMALIZE, "ltm/pool", broken)
    assert "surprise" in _commit_fails(http, tid)
    assert http.get("/sim/audit").json()["items"][-1]["transaction"] == tid


def test_default_route_domain_must_be_a_number(http: httpx.Client) -> None:
    r = http.post("/mgmt/tm/auth/partition", json={"name": "RdX", "defaultRouteDomain": "x"})
    assert r.status_code == 400
    assert r.json()["message"] == "invalid value for defaultRouteDomain: 'x'"
    assert http.post("/mgmt/tm/auth/partition", json={"name": "RdX"}).status_code == 200
    r = http.patch("/mgmt/tm/auth/partition/RdX", json={"defaultRouteDomain": [1]})
    assert r.json()["message"] == "invalid value for defaultRouteDomain: [1]"


def test_global_settings_refuse_unknown_fields_and_count_as_writes(
    sim: SimHandle, http: httpx.Client
) -> None:
    dev = sim.sim.devices[0]
    sim.call(lambda: setattr(dev, "dirty", False))
    r = http.patch("/mgmt/tm/sys/global-settings", json={"hostname": "lb1", "bogus": 1})
    assert r.status_code == 400
    assert r.json()["message"].startswith(
        "Found unexpected json pair at configuration item /sys/global-settings/."
    )
    assert http.get("/mgmt/tm/sys/global-settings").json()["hostname"] == "bigip1.sim.local"
    assert sim.call(lambda: dev.dirty) is False
    for bad in ({"hostname": ""}, {"hostname": 5}, {"consoleInactivityTimeout": "x"}):
        assert http.patch("/mgmt/tm/sys/global-settings", json=bad).status_code == 400, bad
    doc = http.patch(
        "/mgmt/tm/sys/global-settings", json={"hostname": "lb1", "guiSetup": "enabled"}
    ).json()
    assert (doc["hostname"], doc["guiSetup"]) == ("lb1", "enabled")
    assert sim.call(lambda: dev.dirty) is True  # the state file will be written
    # a read-back document (kind, selfLink) can be PUT back as it is
    assert http.put("/mgmt/tm/sys/global-settings", json=doc).json() == doc
    assert sim.control("GET", "state")["syncStatus"] == "In Sync"  # not synced config
    sim.control("POST", "wipe")
    doc = http.get("/mgmt/tm/sys/global-settings").json()
    assert (doc["hostname"], doc["guiSetup"]) == ("bigip1.sim.local", "disabled")


def test_global_settings_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "gs.json"
    with run_sim_in_thread(devices=1, state_file=state) as h, h.client(1) as c:
        c.patch("/mgmt/tm/sys/global-settings", json={"hostname": "lb9", "lcdDisplay": "disabled"})
    with run_sim_in_thread(devices=1, state_file=state) as h, h.client(1) as c:
        doc = c.get("/mgmt/tm/sys/global-settings").json()
        assert (doc["hostname"], doc["lcdDisplay"]) == ("lb9", "disabled")


def test_read_only_endpoints_answer_405(http: httpx.Client) -> None:
    for method, path in (
        ("POST", "/mgmt/tm/sys/version"),
        ("DELETE", "/mgmt/tm/sys/version"),
        ("PATCH", "/mgmt/tm/sys/version"),
        ("PUT", "/mgmt/tm/cm/sync-status"),
        ("POST", "/mgmt/tm/sys/provision"),
        ("POST", "/mgmt/tm/sys/global-settings"),
        ("DELETE", "/mgmt/tm/sys/global-settings"),
    ):
        r = http.request(method, path, json={})
        assert r.status_code == 405, (method, path, r.text)
        assert r.json() == {
            "code": 405,
            "message": f"Method {method} is not allowed on {path}.",
            "errorStack": [],
            "apiError": 1,
        }


def test_policy_action_references_must_exist(http: httpx.Client) -> None:
    http.post("/mgmt/tm/auth/partition", json={"name": "Pa"})
    _pool(http, "pp", "Pa")

    def policy(action: dict[str, object]) -> httpx.Response:
        rule = {"name": "r", "actions": [dict(action, name="0", request=True)]}
        body = {"name": "pol", "partition": "Pa", "subPath": "Drafts", "rules": [rule]}
        return http.post("/mgmt/tm/ltm/policy", json=body)

    r = policy({"forward": True, "pool": "5"})
    assert r.status_code == 400
    assert r.json()["message"] == (
        "01070712:3: Policy rule (r) action (0) references the pool (/Pa/5), which does not exist."
    )
    r = policy({"forward": True, "virtual": "/Common/nope"})
    assert r.status_code == 400 and "virtual server (/Common/nope)" in r.json()["message"]
    assert http.get("/mgmt/tm/ltm/policy/~Pa~Drafts~pol").status_code == 404
    # a relative name resolves in the policy's partition
    assert policy({"forward": True, "pool": "pp"}).status_code == 200
    base = "/mgmt/tm/ltm/policy/~Pa~Drafts~pol/rules/r/actions"
    assert http.get(f"{base}/0").json()["pool"] == "/Pa/pp"
    r = http.post(base, json={"name": "1", "forward": True, "pool": "/Pa/gone"})
    assert r.status_code == 400 and "(/Pa/gone), which does not exist" in r.json()["message"]
    # and the pool is now in use
    r = http.delete("/mgmt/tm/ltm/pool/~Pa~pp")
    assert r.status_code == 400 and "in use by a Policy (/Pa/Drafts/pol)" in r.json()["message"]


def test_filter_on_folders_and_partitions_select_on_items_and_negative_skip(
    http: httpx.Client,
) -> None:
    for name in ("F1", "F2"):
        assert http.post("/mgmt/tm/auth/partition", json={"name": name}).status_code == 200
    http.post("/mgmt/tm/sys/folder", json={"name": "App", "partition": "F1"})
    folders = http.get("/mgmt/tm/sys/folder", params={"$filter": "partition eq F1"}).json()
    assert sorted(f["fullPath"] for f in folders["items"]) == ["/F1", "/F1/App", "/F1/Drafts"]
    parts = http.get("/mgmt/tm/auth/partition", params={"$filter": "partition eq F2"}).json()
    assert [p["name"] for p in parts["items"]] == ["F2"]
    none = http.get("/mgmt/tm/auth/partition", params={"$filter": "partition eq Nope"}).json()
    assert "items" not in none
    # $select on one object, on a subcollection item, on a folder and on a partition
    _pool(http, "sp", "F1", description="d")
    http.post("/mgmt/tm/ltm/pool/~F1~sp/members", json={"name": "10.4.0.1:80", "partition": "F1"})
    sel = {"$select": "name,description"}
    assert http.get("/mgmt/tm/ltm/pool/~F1~sp", params=sel).json() == {
        "name": "sp",
        "description": "d",
    }
    member = http.get("/mgmt/tm/ltm/pool/~F1~sp/members/~F1~10.4.0.1:80", params=sel).json()
    assert member == {"name": "10.4.0.1:80"}
    assert http.get("/mgmt/tm/sys/folder/~F1~App", params=sel).json() == {"name": "App"}
    assert http.get("/mgmt/tm/auth/partition/F2", params=sel).json() == {"name": "F2"}
    # a negative $skip skips nothing (it used to count from the end)
    for i in range(4):
        _pool(http, f"k{i}", "F2")
    q = {"$filter": "partition eq F2", "$skip": "-3"}
    names = [i["name"] for i in http.get("/mgmt/tm/ltm/pool", params=q).json()["items"]]
    assert names == ["k0", "k1", "k2", "k3"]
    page = http.get("/mgmt/tm/ltm/pool", params=dict(q, **{"$top": "2"})).json()
    assert [i["name"] for i in page["items"]] == ["k0", "k1"]
    assert page["startIndex"] == 1


def test_put_keeps_what_a_create_requires(http: httpx.Client) -> None:
    http.post("/mgmt/tm/ltm/virtual", json={"name": "pv", "destination": "10.5.0.1:80"})
    r = http.put("/mgmt/tm/ltm/virtual/~Common~pv", json={"description": "x"})
    assert r.status_code == 200
    doc = http.get("/mgmt/tm/ltm/virtual/~Common~pv").json()
    assert (doc["destination"], doc["description"]) == ("/Common/10.5.0.1:80", "x")
    assert http.patch("/mgmt/tm/ltm/virtual/~Common~pv", json={"description": "y"}).is_success
    http.put("/mgmt/tm/ltm/virtual-address/~Common~10.5.0.1", json={"description": "va"})
    va = http.get("/mgmt/tm/ltm/virtual-address/~Common~10.5.0.1").json()
    assert va["address"] == "10.5.0.1"
    # given keys still replace
    r = http.put("/mgmt/tm/ltm/virtual/~Common~pv", json={"destination": "10.5.0.2:81"})
    assert r.json()["destination"] == "/Common/10.5.0.2:81" and "description" not in r.json()
    http.post("/mgmt/tm/net/vlan", json={"name": "pvl", "tag": 20})
    http.post("/mgmt/tm/net/self", json={"name": "ps", "address": "10.20.0.2/24", "vlan": "pvl"})
    http.put("/mgmt/tm/net/self/~Common~ps", json={"description": "s"})
    self_ip = http.get("/mgmt/tm/net/self/~Common~ps").json()
    assert (self_ip["address"], self_ip["vlan"]) == ("10.20.0.2/24", "/Common/pvl")
    http.post("/mgmt/tm/ltm/snatpool", json={"name": "psp", "members": ["10.0.0.9"]})
    http.put("/mgmt/tm/ltm/snatpool/~Common~psp", json={"description": "s"})
    assert http.get("/mgmt/tm/ltm/snatpool/~Common~psp").json()["members"] == ["/Common/10.0.0.9"]
