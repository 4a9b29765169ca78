"""Pagination, sorting, fields, filters, tags, content negotiation, version documents."""

from __future__ import annotations

from typing import Any

from tests.integration.api.server import Api

LBS = "/v2/lbaas/loadbalancers"


def test_pagination_links_and_markers(api: Api) -> None:
    sub = api.network("10.50.0.0/24")
    for i in range(5):
        api.lb(sub["id"], name=f"page-{i}", project_id="pager", tags=[f"t{i % 2}"])
    # the server's order (created_at, then id) is the reference
    made = [x["id"] for x in api.get(LBS, params={"project_id": "pager"}).json()["loadbalancers"]]
    assert len(made) == 5
    page1 = api.get(LBS, params={"project_id": "pager", "limit": 2}).json()
    assert [x["id"] for x in page1["loadbalancers"]] == made[:2]
    nxt = [link for link in page1["loadbalancers_links"] if link["rel"] == "next"]
    assert nxt and "marker=" + made[1] in nxt[0]["href"]
    page2 = api.http.get(nxt[0]["href"]).json()
    assert [x["id"] for x in page2["loadbalancers"]] == made[2:4]
    rels = {link["rel"] for link in page2["loadbalancers_links"]}
    assert rels == {"next", "previous"}
    prev = next(link for link in page2["loadbalancers_links"] if link["rel"] == "previous")
    back = api.http.get(prev["href"]).json()
    assert [x["id"] for x in back["loadbalancers"]] == made[:2]
    everything = api.get(LBS, params={"project_id": "pager"}).json()
    assert everything["loadbalancers_links"] == []
    # full last page still has a next link
    last = api.get(LBS, params={"project_id": "pager", "limit": 1, "marker": made[3]}).json()
    assert [x["id"] for x in last["loadbalancers"]] == [made[4]]
    assert any(link["rel"] == "next" for link in last["loadbalancers_links"])


def test_sort_fields_filters_tags(api: Api) -> None:
    sub = api.network("10.51.0.0/24")
    for name in ("b", "a", "c"):
        api.lb(sub["id"], name=f"sort-{name}", project_id="sorter", tags=[name, "common"])
    q: dict[str, Any] = {"project_id": "sorter", "sort": "name:desc"}
    names = [x["name"] for x in api.get(LBS, params=q).json()["loadbalancers"]]
    assert names == ["sort-c", "sort-b", "sort-a"]
    q = {"project_id": "sorter", "sort_key": "name", "sort_dir": "asc"}
    names = [x["name"] for x in api.get(LBS, params=q).json()["loadbalancers"]]
    assert names == ["sort-a", "sort-b", "sort-c"]
    r = api.get(LBS, params=[("project_id", "sorter"), ("fields", "id"), ("fields", "name")])
    assert all(set(x) == {"id", "name"} for x in r.json()["loadbalancers"])
    r = api.get(LBS, params={"project_id": "sorter", "name": "sort-b"})
    assert [x["name"] for x in r.json()["loadbalancers"]] == ["sort-b"]
    r = api.get(LBS, params={"project_id": "sorter", "tags": "a,common"})
    assert [x["name"] for x in r.json()["loadbalancers"]] == ["sort-a"]
    r = api.get(LBS, params={"project_id": "sorter", "not-tags-any": "a,b"})
    assert [x["name"] for x in r.json()["loadbalancers"]] == ["sort-c"]
    r = api.get(LBS, params={"project_id": "sorter", "admin_state_up": "true"})
    assert len(r.json()["loadbalancers"]) == 3
    bad = api.get(LBS, params={"bogus": "1"})
    assert bad.status_code == 400
    assert bad.json()["faultstring"] == "One or more arguments are either duplicate or invalid"
    assert api.get(LBS, params={"sort": "bogus:asc"}).status_code == 400
    assert api.get(LBS, params={"sort": "name:sideways"}).status_code == 400
    r = api.get(LBS, params={"marker": "nope"})
    assert r.status_code == 400
    assert r.json()["faultstring"] == "Supplied pagination marker 'nope' is not valid."
    assert api.get(LBS, params={"limit": "x"}).status_code == 400


def test_versions_and_content_type(api: Api) -> None:
    # Octavia lists every v2.x feature marker, v2.0 ... v2.30, each linking to <host>/v2.
    versions = api.get("/").json()["versions"]
    assert [v["id"] for v in versions] == [f"v2.{i}" for i in range(31)]
    assert [v["status"] for v in versions] == ["SUPPORTED"] * 30 + ["CURRENT"]
    assert versions[0]["updated"] == "2016-12-11T00:00:00Z"
    assert versions[26]["updated"] == "2022-08-29T00:00:00Z"
    assert versions[-1]["updated"] == "2025-02-26T00:00:00Z"
    for v in versions:
        assert v["links"] == [{"href": f"{api.url}/v2", "rel": "self"}]
        assert set(v) == {"id", "status", "updated", "links"}
    for path in ("/v2", "/v2.0", "/v2/", "/v2.0/"):
        doc = api.get(path).json()
        assert doc == {"version": versions[-1]}, path
    r = api.get(LBS, headers={"Accept": "text/html"})
    assert r.status_code == 406 and r.json()["errors"][0]["status"] == 406
    assert api.get(LBS, headers={"Accept": ""}).status_code == 200
    assert api.get(LBS + ".json").status_code == 200
    assert api.get("/healthcheck").status_code == 200
    spec = api.get("/openapi.json").json()
    assert "/v2/lbaas/loadbalancers" in spec["paths"]
    missing = api.get("/v2/lbaas/nothing")
    assert missing.status_code == 404 and "faultstring" in missing.json()


def test_listener_filters_by_loadbalancer(api: Api) -> None:
    sub = api.network("10.52.0.0/24")
    lb1, lb2 = api.lb(sub["id"]), api.lb(sub["id"])
    for lb in (lb1, lb2):
        api.child("/v2/lbaas/listeners", "listener",
                  {"loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 22})
    r = api.get("/v2/lbaas/listeners", params={"loadbalancer_id": lb1["id"]}).json()
    assert [x["loadbalancers"][0]["id"] for x in r["listeners"]] == [lb1["id"]]
