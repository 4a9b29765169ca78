"""The `/sim` control API, the state file and running the simulator as a subprocess."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread, start_sim_process, wait_ready
from tests.cluster import free_ports, overlapping_writers, two_writers


def test_counters_and_audit_log(sim: SimHandle, http: httpx.Client) -> None:
    sim.control("DELETE", "counters")
    http.get("/mgmt/tm/ltm/pool")
    http.post("/mgmt/tm/auth/partition", json={"name": "Aud"})
    http.post(
        "/mgmt/tm/ltm/pool",
        json={"name": "p", "partition": "Aud"},
        headers={"X-Client-Id": "agent-a", "User-Agent": "ua-test"},
    )
    http.post("/mgmt/tm/ltm/pool", json={"name": "p", "partition": "Aud"})  # 409, still audited
    tid = http.post("/mgmt/tm/transaction", json={}).json()["transId"]
    hdr = {"X-F5-REST-Coordination-Id": str(tid), "X-Client-Id": "agent-b"}
    http.post("/mgmt/tm/ltm/pool", json={"name": "q", "partition": "Aud"}, headers=hdr)
    http.delete("/mgmt/tm/ltm/pool/~Aud~p", headers=hdr)
    http.patch(
        f"/mgmt/tm/transaction/{tid}",
        json={"state": "VALIDATING"},
        headers={"X-Client-Id": "agent-b"},
    )
    counters = sim.control("GET", "counters")
    assert counters["methods"]["GET"] == 1
    assert counters["methods"]["POST"] == 5  # incl. transaction create and queued command
    audit = sim.control("GET", "audit?partition=Aud")["items"]
    assert [(e["method"], e["status"], e["clientId"]) for e in audit] == [
        ("POST", 200, None),
        ("POST", 200, "agent-a"),
        ("POST", 409, None),
        ("PATCH", 200, "agent-b"),
    ]
    assert audit[1]["userAgent"] == "ua-test"
    commit = audit[-1]
    assert commit["transaction"] == tid
    assert commit["commands"] == 2
    assert commit["partitions"] == ["Aud"]
    for entry in audit:
        assert entry["start"] <= entry["end"]
        assert entry["wallTime"].endswith("+00:00")
    # a commit's entry also says when its transaction was created; other writes have none
    assert commit["txStart"] is not None and commit["txStart"] < commit["start"]
    assert [e["txStart"] for e in audit[:-1]] == [None, None, None]
    since = sim.control("GET", f"audit?since={audit[-1]['seq']}")["items"]
    assert since == []


def test_interleaved_transactions_are_overlapping_writers(
    sim: SimHandle, http: httpx.Client
) -> None:
    """The single-writer check on the real simulator: it executes one write at a time, so only
    a transaction's span (creation to commit, `txStart`) can show two writers at once."""
    http.post("/mgmt/tm/auth/partition", json={"name": "Tx"}).raise_for_status()
    sim.control("DELETE", "audit")
    two_writers(http, "Tx", interleave=False, clients=("agent-a", "agent-b"))
    audit = sim.control("GET", "audit")["items"]
    assert [e["clientId"] for e in audit] == ["agent-a", "agent-b"]
    assert overlapping_writers(audit) == []
    # A creates its transaction and queues, B creates, queues and commits, then A commits
    sim.control("DELETE", "audit")
    two_writers(http, "Tx", interleave=True, clients=("agent-a", "agent-b"))
    audit = sim.control("GET", "audit")["items"]
    assert [(e["clientId"], e["partitions"], e["status"]) for e in audit] == [
        ("agent-b", ["Tx"], 200), ("agent-a", ["Tx"], 200)]
    b, a = audit
    assert b["end"] <= a["start"]  # the two requests themselves do not overlap
    assert a["txStart"] < b["txStart"] < b["end"] <= a["start"]
    assert overlapping_writers(audit) == ["Tx"]
    # one client interleaving its own transactions is one writer
    sim.control("DELETE", "audit")
    two_writers(http, "Tx", interleave=True, clients=("agent-a", "agent-a"))
    assert overlapping_writers(sim.control("GET", "audit")["items"]) == []


def test_latency_and_error_rate(sim: SimHandle, http: httpx.Client) -> None:
    sim.control("PATCH", "faults", {"latencyMs": 200})
    start = time.monotonic()
    assert http.get("/mgmt/tm/sys/version").status_code == 200
    assert time.monotonic() - start >= 0.2
    sim.control("PUT", "faults", {"errorRate": 1.0})
    r = http.get("/mgmt/tm/sys/version")
    assert r.status_code == 503
    sim.control("DELETE", "faults")
    assert http.get("/mgmt/tm/sys/version").status_code == 200


def test_hang_looks_like_a_timeout(sim: SimHandle, http: httpx.Client) -> None:
    sim.control("PUT", "faults", {"hangRate": 1.0, "hangSeconds": 3})
    with pytest.raises(httpx.ReadTimeout):
        http.get("/mgmt/tm/sys/version", timeout=0.5)
    sim.control("DELETE", "faults")


def test_down_refuses_connections_and_comes_back(sim: SimHandle) -> None:
    sim.control("POST", "down", {"mode": "refuse"}, device=2, via=1)
    with sim.client(2, timeout=5) as c, pytest.raises(httpx.ConnectError):
        c.get("/mgmt/tm/sys/version")
    devices = sim.control("GET", "state", device=2, via=1)
    assert devices["down"] == "refuse"
    sim.control("POST", "up", device=2, via=1)
    with sim.client(2, timeout=5) as c:
        assert c.get("/mgmt/tm/sys/version").status_code == 200


def test_down_with_auto_recovery_and_drop_mode(sim: SimHandle) -> None:
    sim.control("POST", "down", {"mode": "refuse", "seconds": 0.5}, device=1, via=1)
    time.sleep(1.0)
    with sim.client(1, timeout=5) as c:
        assert c.get("/mgmt/tm/sys/version").status_code == 200
    sim.control("POST", "down", {"mode": "drop"}, device=1, via=1)
    with sim.client(1, timeout=5) as c:
        with pytest.raises(httpx.TransportError):
            c.get("/mgmt/tm/sys/version")
        assert c.get("/sim/state").json()["down"] == "drop"  # control still answers
        c.post("/sim/up")
        assert c.get("/mgmt/tm/sys/version").status_code == 200


def test_wipe_returns_to_factory(sim: SimHandle, http: httpx.Client) -> None:
    http.post("/mgmt/tm/auth/partition", json={"name": "W"})
    http.post("/mgmt/tm/ltm/pool", json={"name": "p", "partition": "W"})
    sim.control("POST", "wipe")
    assert http.get("/mgmt/tm/ltm/pool/~W~p").status_code == 404
    assert http.get("/mgmt/tm/auth/partition/W").status_code == 404
    assert http.get("/mgmt/tm/ltm/monitor/http/~Common~http").status_code == 200
    assert http.get("/mgmt/tm/cm/device").json()["items"][0]["selfDevice"] == "true"


def test_control_requires_auth(sim: SimHandle) -> None:
    with httpx.Client(base_url=sim.urls[0], verify=str(sim.ca_file), timeout=5) as anon:
        assert anon.get("/sim/state").status_code == 401


def test_state_file_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim-state.json"
    with run_sim_in_thread(devices=2, state_file=state) as h:
        with h.client(1) as c:
            c.post("/mgmt/tm/auth/partition", json={"name": "Keep", "description": "d"})
            c.post(
                "/mgmt/tm/ltm/pool",
                json={"name": "p", "partition": "Keep", "monitor": "/Common/http"},
            )
            c.post("/mgmt/tm/ltm/pool/~Keep~p/members", json={"name": "10.1.1.1:80"})
        with h.client(2) as c:
            c.post("/mgmt/tm/ltm/pool", json={"name": "only-on-2"})
        h.control("PUT", "autosync", {"enabled": True})
        ca_before = h.ca_file.read_bytes()
    assert state.exists()
    with run_sim_in_thread(devices=2, state_file=state) as h:
        assert h.ca_file.read_bytes() == ca_before
        with h.client(1) as c:
            pool = c.get("/mgmt/tm/ltm/pool/~Keep~p?expandSubcollections=true").json()
            assert pool["monitor"] == "/Common/http"
            assert [m["name"] for m in pool["membersReference"]["items"]] == ["10.1.1.1:80"]
            assert c.get("/mgmt/tm/ltm/node/~Keep~10.1.1.1").status_code == 200
            assert c.get("/mgmt/tm/auth/partition/Keep").json()["description"] == "d"
            assert c.get("/mgmt/tm/ltm/pool/~Common~only-on-2").status_code == 404
            group = c.get("/mgmt/tm/cm/device-group/~Common~sync-failover-group").json()
            assert group["autoSync"] == "enabled"
            # integrity indexes are rebuilt from the file
            assert c.delete("/mgmt/tm/ltm/node/~Keep~10.1.1.1").status_code == 400
        with h.client(2) as c:
            assert c.get("/mgmt/tm/ltm/pool/~Common~only-on-2").status_code == 200


def test_runs_as_a_subprocess(tmp_path: Path) -> None:
    port = free_ports(2)
    state = tmp_path / "proc.json"
    proc = start_sim_process(["--port", str(port), "--devices", "2", "--state-file", str(state)])
    try:
        devices = wait_ready(proc)
        assert [d["url"] for d in devices] == [
            f"https://127.0.0.1:{port}",
            f"https://127.0.0.1:{port + 1}",
        ]
        assert devices[0]["ca"] == str(tmp_path / "proc.json-ca.pem")
        with httpx.Client(
            base_url=devices[1]["url"], verify=devices[1]["ca"], auth=("admin", "admin"), timeout=10
        ) as c:
            assert c.get("/mgmt/tm/sys/global-settings").json()["hostname"] == "bigip2.sim.local"
            c.post("/mgmt/tm/ltm/pool", json={"name": "persisted"})
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
    assert code == 0
    assert "persisted" in state.read_text()
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert os.stat(tmp_path / "proc.json-key.pem").st_mode & 0o077 == 0


def test_device_numbers_are_one_based_and_never_from_the_end(
    sim: SimHandle, http: httpx.Client
) -> None:
    assert http.get("/sim/devices/2/state").json()["index"] == 2
    for n in ("0", "-1", "3", "x", "²"):
        r = http.get(f"/sim/devices/{n}/state")
        assert r.status_code == 404, (n, r.text)
        assert r.json()["message"] == f"no simulated device {n}"
    assert http.post("/sim/devices/0/wipe").status_code == 404


def test_members_down_takes_lists_only(sim: SimHandle, http: httpx.Client) -> None:
    sim.control("PUT", "members-down", {"addresses": ["10.1.0.9"]})
    for method, body in (
        ("PATCH", {"add": "10.1.0.1"}),
        ("PATCH", {"remove": "10.1.0.9"}),
        ("PUT", {"addresses": "10.1.0.1"}),
        ("PATCH", {"add": [5]}),
        ("PATCH", {"add": ["10.1.0.2"], "remove": "x"}),
    ):
        r = http.request(method, "/sim/members-down", json=body)
        assert r.status_code == 400, (method, body, r.text)
        assert r.json()["message"].endswith("must be a list of addresses")
    assert sim.control("GET", "members-down")["addresses"] == ["10.1.0.9"]
    done = sim.control("PATCH", "members-down", {"add": ["10.1.0.1"], "remove": ["10.1.0.9"]})
    assert done["addresses"] == ["10.1.0.1"]


def test_fault_settings_are_validated(sim: SimHandle, http: httpx.Client) -> None:
    for body in (
        {"latencyMs": "nan"},
        {"latencyMs": -1},
        {"hangSeconds": "inf"},
        {"errorRate": 1.5},
        {"errorStatus": 42},
        {"latencyMs": True},
        {"latencyMs": [1]},
    ):
        r = http.patch("/sim/faults", json=body)
        assert r.status_code == 400, (body, r.text)
    r = http.post("/sim/devices/2/down", json={"mode": "refuse", "seconds": "nan"})
    assert r.status_code == 400
    assert sim.control("GET", "state", device=2)["down"] is None
    assert sim.control("GET", "faults") == {
        "latencyMs": 0.0,
        "errorRate": 0.0,
        "errorStatus": 503,
        "hangRate": 0.0,
        "hangSeconds": 0.0,
    }
    assert sim.control("PATCH", "faults", {"errorStatus": "500"})["errorStatus"] == 500
    sim.control("DELETE", "faults")


def test_token_login_can_be_switched_off(sim: SimHandle, http: httpx.Client) -> None:
    creds = {"username": "admin", "password": "admin", "loginProviderName": "tmos"}
    assert sim.control("GET", "auth") == {"tokenLogin": True}
    sim.control("DELETE", "counters")
    assert sim.control("PATCH", "auth", {"tokenLogin": False}) == {"tokenLogin": False}
    r = http.post("/mgmt/shared/authn/login", json=creds)
    assert r.status_code == 404
    body = r.json()
    assert body["kind"] == ":resterrorresponse"
    assert body["message"].startswith("URI path /mgmt/shared/authn/login not registered.")
    assert http.get("/mgmt/tm/sys/version").status_code == 200  # basic auth still works
    with sim.client(2) as peer:  # per device
        assert peer.post("/mgmt/shared/authn/login", json=creds).status_code == 200
    counters = sim.control("GET", "counters")
    assert counters["auth"] == {"login": 1, "basic": 1}
    assert counters["statuses"] == {"404": 1, "200": 1}
    for bad in ({"tokenLogin": "no"}, {"tokenLogin": 0}, {"other": True}):
        assert http.patch("/sim/auth", json=bad).status_code == 400, bad
    sim.control("PUT", "auth", {})  # PUT restores the default
    token = http.post("/mgmt/shared/authn/login", json=creds).json()["token"]["token"]
    assert http.get("/mgmt/tm/sys/version", headers={"X-F5-Auth-Token": token}).is_success
    assert sim.control("GET", "counters")["auth"] == {"login": 2, "basic": 1, "token": 1}
