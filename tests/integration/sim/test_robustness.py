"""Whatever a client sends, the simulator answers like a device: never a 500."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread

PATHS = [
    "/mgmt/tm/ltm/pool",
    "/mgmt/tm/ltm/pool/~Common~p",
    "/mgmt/tm/ltm/pool/~Common~p/members",
    "/mgmt/tm/ltm/pool/~Common~p/members/~Common~10.0.0.1:80",
    "/mgmt/tm/ltm/virtual",
    "/mgmt/tm/ltm/virtual/~Common~v",
    "/mgmt/tm/ltm/virtual/~Common~v/profiles",
    "/mgmt/tm/ltm/node",
    "/mgmt/tm/ltm/node/~Common~10.0.0.1",
    "/mgmt/tm/ltm/policy",
    "/mgmt/tm/ltm/policy/~Common~Drafts~pol/rules",
    "/mgmt/tm/net/self",
    "/mgmt/tm/net/vlan",
    "/mgmt/tm/net/route-domain",
    "/mgmt/tm/auth/partition",
    "/mgmt/tm/auth/partition/X",
    "/mgmt/tm/sys/folder",
    "/mgmt/tm/sys/folder/~X",
    "/mgmt/tm/transaction",
    "/mgmt/tm/transaction/1",
    "/mgmt/tm/sys/config",
    "/mgmt/tm/cm",
    "/mgmt/tm/ltm/rule",
    "/mgmt/tm/ltm/snatpool",
    "/mgmt/tm/ltm/monitor/http",
    "/mgmt/tm/cm/device-group",
    "/mgmt/shared/authz/tokens/x",
    "/mgmt/tm/ltm/pool/stats",
    "/mgmt/tm/%7E%25/x",
    "/sim/faults",
    "/sim/members-down",
    "/sim/audit?since=x",
]
KEYS = [
    "name",
    "partition",
    "subPath",
    "monitor",
    "members",
    "destination",
    "pool",
    "profiles",
    "policies",
    "rules",
    "address",
    "vlan",
    "vlans",
    "id",
    "command",
    "state",
    "session",
    "persist",
    "sourceAddressTranslation",
    "defaultRouteDomain",
    "tag",
    "timeout",
    "latencyMs",
    "addresses",
    "actions",
    "ratio",
    "description",
    "createDraft",
]
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "/Common/p",
            "10.0.0.1:80",
            "p",
            "/Common/http",
            "10.0.0.1%3",
            "/X/y/z",
            "Drafts",
            "VALIDATING",
            "publish",
            "~",
            "%",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=6,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
    st.binary(max_size=20),
)


def _seed(sim: SimHandle) -> None:
    with sim.client(1) as c:
        c.post("/mgmt/tm/auth/partition", json={"name": "X"})
        c.post("/mgmt/tm/ltm/pool", json={"name": "p", "members": ["10.0.0.1:80"]})
        c.post(
            "/mgmt/tm/ltm/virtual", json={"name": "v", "destination": "10.1.0.1:80", "pool": "p"}
        )
        c.post("/mgmt/tm/ltm/policy", json={"name": "pol", "subPath": "Drafts"})


def test_never_500() -> None:
    with run_sim_in_thread(devices=1) as sim:
        _seed(sim)
        with sim.client(1, timeout=10) as client:

            @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
            @given(
                method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
                path=st.sampled_from(PATHS),
                body=bodies,
            )
            def one(method: str, path: str, body: bytes) -> None:
                if path.startswith("/sim/faults") and method != "GET":
                    return  # would slow or break the rest of the run on purpose
                resp = client.request(
                    method, path, content=body, headers={"Content-Type": "application/json"}
                )
                assert resp.status_code < 500, (method, path, body, resp.text)
                if resp.content:
                    json.loads(resp.content)

            one()
            # the device is still healthy and consistent afterwards
            assert client.get("/mgmt/tm/sys/version").status_code == 200
            assert client.get("/mgmt/tm/ltm/pool").status_code == 200
            assert isinstance(client.get("/mgmt/tm/ltm/virtual").json(), dict)
            assert httpx.codes.is_success(client.get("/mgmt/tm/cm/sync-status").status_code)


BAD_JSON = "Found invalid JSON body in the request."
DEEP = b"[" * 100_000 + b"]" * 100_000


def _nested(depth: int) -> str:
    """A JSON value `depth` lists deep."""
    return "[" * depth + "]" * depth


def _is_bad_json(resp: httpx.Response) -> bool:
    return resp.status_code == 400 and resp.json()["message"] == BAD_JSON


def test_deeply_nested_bodies_are_400_everywhere(sim: SimHandle, http: httpx.Client) -> None:
    with httpx.Client(base_url=sim.urls[0], verify=str(sim.ca_file), timeout=10) as anon:
        assert _is_bad_json(anon.post("/mgmt/shared/authn/login", content=DEEP))
    token = http.post(
        "/mgmt/shared/authn/login", json={"username": "admin", "password": "admin"}
    ).json()["token"]["token"]
    assert _is_bad_json(http.patch(f"/mgmt/shared/authz/tokens/{token}", content=DEEP))
    assert _is_bad_json(http.post("/mgmt/tm/ltm/pool", content=DEEP))
    assert _is_bad_json(http.patch("/mgmt/tm/sys/global-settings", content=DEEP))
    assert _is_bad_json(http.patch("/sim/faults", content=DEEP))
    assert _is_bad_json(http.put("/sim/members-down", content=DEEP))
    tid = http.post("/mgmt/tm/transaction", json={}).json()["transId"]
    queued = http.post(
        "/mgmt/tm/ltm/pool", content=DEEP, headers={"X-F5-REST-Coordination-Id": str(tid)}
    )
    assert _is_bad_json(queued)
    # the failed writes are still audited, with no partition guessed from the body
    audit = http.get("/sim/audit").json()["items"]
    assert [(e["path"], e["status"], e["partitions"]) for e in audit] == [
        ("/mgmt/tm/ltm/pool", 400, []),
        ("/mgmt/tm/sys/global-settings", 400, []),
    ]


def test_nesting_is_capped_and_stored_objects_stay_editable(http: httpx.Client) -> None:
    # the top-level object is level 1, so a value may hold 31 more levels
    ok = f'{{"name":"ok","description":{_nested(31)}}}'
    assert http.post("/mgmt/tm/ltm/pool", content=ok).status_code == 200
    assert http.patch("/mgmt/tm/ltm/pool/~Common~ok", json={"description": "d"}).status_code == 200
    for depth in (32, 800):
        body = f'{{"name":"deep","description":{_nested(depth)}}}'
        assert _is_bad_json(http.post("/mgmt/tm/ltm/pool", content=body))
    assert http.get("/mgmt/tm/ltm/pool/~Common~deep").status_code == 404


def test_nan_infinity_and_overflowing_numbers_are_refused(http: httpx.Client) -> None:
    for value in ("NaN", "Infinity", "-Infinity", "1e400", "-1e400"):
        r = http.post("/mgmt/tm/ltm/pool", content=f'{{"name":"n","description":{value}}}')
        assert _is_bad_json(r), (value, r.text)
        r = http.patch("/sim/faults", content=f'{{"latencyMs":{value}}}')
        assert _is_bad_json(r), (value, r.text)
    assert http.get("/mgmt/tm/ltm/pool/~Common~n").status_code == 404
    # ordinary floats still parse
    r = http.patch("/sim/faults", content=b'{"latencyMs":0.0,"errorRate":1e-9}')
    assert r.status_code == 200 and r.json()["errorRate"] == 1e-9
    http.delete("/sim/faults")
