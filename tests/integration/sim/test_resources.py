"""Resource types and integrity rules beyond pools and virtuals: iRules, monitors, SSL
profiles and route domains."""

from __future__ import annotations

import httpx

IN_USE = "01070265:3: The {label} ({path}) cannot be deleted because it is in use by a {user}."


def test_irule_create_reference_and_delete_in_use(http: httpx.Client) -> None:
    text = "when HTTP_REQUEST { HTTP::respond 200 content ok }"
    r = http.post("/mgmt/tm/ltm/rule", json={"name": "r1", "apiAnonymous": text})
    assert r.status_code == 200
    assert (r.json()["kind"], r.json()["apiAnonymous"]) == ("tm:ltm:rule:rulestate", text)
    broken = http.post("/mgmt/tm/ltm/rule", json={"name": "r2", "apiAnonymous": "when X {"})
    assert broken.status_code == 400
    assert broken.json()["message"] == "01070151:3: Rule [/Common/r2] error: missing close-brace"
    missing = http.post(
        "/mgmt/tm/ltm/virtual",
        json={"name": "rv", "destination": "10.6.0.1:80", "rules": ["/Common/nope"]},
    )
    assert missing.status_code == 400
    assert missing.json()["message"] == "01020036:3: The requested rule (/Common/nope) was not found."
    v = http.post(
        "/mgmt/tm/ltm/virtual", json={"name": "rv", "destination": "10.6.0.1:80", "rules": ["r1"]}
    ).json()
    assert v["rules"] == ["/Common/r1"]
    assert v["rulesReference"][0]["link"].startswith(
        "https://localhost/mgmt/tm/ltm/rule/~Common~r1?"
    )
    r = http.delete("/mgmt/tm/ltm/rule/~Common~r1")
    assert r.status_code == 400
    assert r.json()["message"] == IN_USE.format(
        label="rule", path="/Common/r1", user="Virtual Server (/Common/rv)"
    )
    assert http.patch("/mgmt/tm/ltm/virtual/~Common~rv", json={"rules": []}).is_success
    assert http.delete("/mgmt/tm/ltm/rule/~Common~r1").status_code == 200


def test_tcp_and_gateway_icmp_monitors(http: httpx.Client) -> None:
    tcp = http.post(
        "/mgmt/tm/ltm/monitor/tcp", json={"name": "t1", "send": "PING", "interval": "7"}
    ).json()
    assert tcp["kind"] == "tm:ltm:monitor:tcp:tcpstate"
    assert (tcp["defaultsFrom"], tcp["interval"], tcp["send"]) == ("/Common/tcp", 7, "PING")
    gw = http.post("/mgmt/tm/ltm/monitor/gateway-icmp", json={"name": "g1"}).json()
    assert gw["kind"] == "tm:ltm:monitor:gateway-icmp:gateway-icmpstate"
    assert gw["defaultsFrom"] == "/Common/gateway_icmp"
    # a monitor of the wrong type cannot be a parent
    r = http.post(
        "/mgmt/tm/ltm/monitor/tcp", json={"name": "t2", "defaultsFrom": "/Common/gateway_icmp"}
    )
    assert r.status_code == 404
    assert "The requested Monitor (/Common/gateway_icmp) was not found." in r.json()["message"]
    r = http.post(
        "/mgmt/tm/ltm/pool", json={"name": "mp", "monitor": "min 1 of /Common/t1 /Common/g1"}
    )
    assert r.json()["monitor"] == "min 1 of { /Common/t1 /Common/g1 }"
    for name, kind in (("t1", "tcp"), ("g1", "gateway-icmp")):
        r = http.delete(f"/mgmt/tm/ltm/monitor/{kind}/~Common~{name}")
        assert r.status_code == 400
        assert r.json()["message"] == f"01070083:3: Monitor /Common/{name} is in use."
    assert http.delete("/mgmt/tm/ltm/pool/~Common~mp").status_code == 200
    assert http.delete("/mgmt/tm/ltm/monitor/gateway-icmp/~Common~g1").status_code == 200
    r = http.post("/mgmt/tm/ltm/monitor/tcp", json={"name": "t3", "bogus": 1})
    assert r.status_code == 400 and "Found unexpected json pair" in r.json()["message"]


def test_client_ssl_profile(http: httpx.Client) -> None:
    r = http.post(
        "/mgmt/tm/ltm/profile/client-ssl",
        json={"name": "cs", "cert": "/Common/default.crt", "key": "/Common/default.key"},
    )
    assert r.status_code == 200
    doc = r.json()
    assert doc["kind"] == "tm:ltm:profile:client-ssl:client-sslstate"
    assert (doc["defaultsFrom"], doc["ciphers"]) == ("/Common/clientssl", "DEFAULT")
    clash = http.post("/mgmt/tm/ltm/profile/http", json={"name": "cs"})
    assert clash.status_code == 400
    assert clash.json()["message"] == (
        "01070293:3: The profile name (/Common/cs) is already assigned to another profile."
    )
    v = http.post(
        "/mgmt/tm/ltm/virtual",
        json={"name": "sv", "destination": "10.6.0.2:443", "profiles": ["/Common/tcp", "cs"]},
    )
    assert v.status_code == 200, v.text
    profiles = http.get("/mgmt/tm/ltm/virtual/~Common~sv/profiles").json()["items"]
    by_name = {p["fullPath"]: p["nameReference"]["link"] for p in profiles}
    assert by_name["/Common/cs"].startswith(
        "https://localhost/mgmt/tm/ltm/profile/client-ssl/~Common~cs?"
    )
    r = http.delete("/mgmt/tm/ltm/profile/client-ssl/~Common~cs")
    assert r.status_code == 400
    assert r.json()["message"] == IN_USE.format(
        label="Profile", path="/Common/cs", user="Virtual Server (/Common/sv)"
    )


def test_route_domain_used_by_a_node_cannot_be_deleted(http: httpx.Client) -> None:
    assert http.post("/mgmt/tm/net/route-domain", json={"name": "rd5", "id": 5}).is_success
    assert http.post("/mgmt/tm/ltm/node", json={"name": "n5", "address": "10.9.0.1%5"}).is_success
    r = http.delete("/mgmt/tm/net/route-domain/~Common~rd5")
    assert r.status_code == 400
    assert r.json()["message"] == IN_USE.format(
        label="Route Domain", path="/Common/rd5", user="Node (/Common/n5)"
    )
    assert http.delete("/mgmt/tm/ltm/node/~Common~n5").status_code == 200
    assert http.delete("/mgmt/tm/net/route-domain/~Common~rd5").status_code == 200
    r = http.post("/mgmt/tm/ltm/node", json={"name": "n6", "address": "10.9.0.1%5"})
    assert r.status_code == 400
    assert r.json()["message"] == "01020036:3: The requested route domain (5) was not found."
