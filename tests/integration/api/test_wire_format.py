"""The response schemas are the wire format: every body the API sends matches the schema OpenAPI
publishes for it, and a body that drifts from its schema (a field the schema lacks, a wrong type)
fails the same check schemathesis' `response_schema_conformance` makes.

Runs on SQLite; the HTTP layer and schemas are the same for every backend.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bigip_lbaas.api.resources import RESOURCES
from tests.integration.api.server import Api, api_server

jsonschema_rs = pytest.importorskip("jsonschema_rs")

V2 = "/v2/lbaas"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_server("sqlite", tmp_path_factory.mktemp("db")) as api:
        yield api


@pytest.fixture(scope="module")
def spec(api: Api) -> dict[str, Any]:
    return dict(api.get("/openapi.json").json())


def validator(spec: dict[str, Any], path: str, method: str, status: int) -> Any:
    """The validator for the documented JSON body of `method path` answering `status`."""
    schema = spec["paths"][path][method]["responses"][str(status)]["content"][
        "application/json"]["schema"]
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


def errors(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> list[str]:
    return [str(e) for e in validator(spec, path, method, status).iter_errors(body)]


@pytest.fixture(scope="module")
def graph(api: Api) -> dict[str, Any]:
    """One load balancer with one object of every resource below it, all ACTIVE."""
    subnet = api.network("10.77.0.0/24")
    second = api.post("/v2.0/subnets", {"subnet": {"network_id": subnet["network_id"],
                                                   "cidr": "10.78.0.0/24", "ip_version": 4}})
    assert second.status_code == 201, second.text
    r = api.post(f"{V2}/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": subnet["id"], "name": "wire", "tags": ["t"],
        "additional_vips": [{"subnet_id": second.json()["subnet"]["id"]}],
        "listeners": [{"name": "l1", "protocol": "HTTP", "protocol_port": 80,
                       "default_pool": {"name": "p1"},
                       "insert_headers": {"X-Forwarded-For": "true"},
                       "l7policies": [{"action": "REDIRECT_TO_POOL",
                                       "redirect_pool": {"name": "p1"},
                                       "rules": [{"type": "PATH", "compare_type": "STARTS_WITH",
                                                  "value": "/api"}]}]}],
        "pools": [{"name": "p1", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                   "session_persistence": {"type": "HTTP_COOKIE"},
                   "members": [{"address": "10.77.0.50", "protocol_port": 8080}],
                   "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3,
                                     "max_retries": 2, "http_version": 1.1,
                                     "domain_name": "a.example"}}]}})
    assert r.status_code == 201, r.text
    api.settle()
    created = dict(r.json())
    lb = created["loadbalancer"]
    listener = lb["listeners"][0]
    pool = lb["pools"][0]
    policy = listener["l7policies"][0]
    prof = api.post(f"{V2}/flavorprofiles", {"flavorprofile": {
        "name": "fp", "provider_name": "f5", "flavor_data": json.dumps({"environment": "E"})}})
    assert prof.status_code == 201, prof.text
    flavor = api.post(f"{V2}/flavors", {"flavor": {
        "name": "wire", "flavor_profile_id": prof.json()["flavorprofile"]["id"]}})
    assert flavor.status_code == 201, flavor.text
    return {"created": created,
            "ids": {"loadbalancer_id": lb["id"], "listener_id": listener["id"],
                    "pool_id": pool["id"], "member_id": pool["members"][0]["id"],
                    "healthmonitor_id": pool["healthmonitor"]["id"],
                    "l7policy_id": policy["id"], "l7rule_id": policy["rules"][0]["id"],
                    "network_id": subnet["network_id"], "subnet_id": subnet["id"],
                    "flavorprofile_id": prof.json()["flavorprofile"]["id"],
                    "flavor_id": flavor.json()["flavor"]["id"],
                    "project_id": lb["project_id"], "provider": "f5"}}


def test_every_get_body_matches_its_published_schema(
        api: Api, spec: dict[str, Any], graph: dict[str, Any]) -> None:
    ids: dict[str, str] = graph["ids"]
    checked: list[str] = []
    for path, ops in sorted(spec["paths"].items()):
        if "get" not in ops or "200" not in ops["get"]["responses"]:
            continue
        if "application/json" not in ops["get"]["responses"]["200"].get("content", {}):
            continue
        params = re.findall(r"\{(\w+)\}", path)
        if any(p not in ids for p in params):
            continue
        url = path.format(**ids)
        r = api.get(url)
        assert r.status_code == 200, (url, r.text)
        assert errors(spec, path, "get", 200, r.json()) == [], url
        checked.append(path)
    for res in RESOURCES:  # every resource's list and show, at least
        assert any(p.endswith(f"/{res.plural}") for p in checked), res.plural
        assert any(re.search(rf"/{res.plural}/\{{\w+\}}$", p) for p in checked), res.key
    assert any(p.endswith("/status") for p in checked) and any(
        p.endswith("/stats") for p in checked)


def test_fully_populated_create_matches_its_published_schema(
        spec: dict[str, Any], graph: dict[str, Any]) -> None:
    path = f"{V2}/loadbalancers"
    assert errors(spec, path, "post", 201, graph["created"]) == []


def test_a_drifting_body_fails_the_conformance_check(
        api: Api, spec: dict[str, Any], graph: dict[str, Any]) -> None:
    """What the schemathesis run would report if a body and its schema ever disagreed."""
    ids = graph["ids"]
    one = f"{V2}/loadbalancers/{{loadbalancer_id}}"
    body = api.get(one.format(**ids)).json()
    assert errors(spec, one, "get", 200, body) == []
    extra = {"loadbalancer": {**body["loadbalancer"], "vip_surprise": "x"}}
    assert any("vip_surprise" in e for e in errors(spec, one, "get", 200, extra))
    wrong_type = {"loadbalancer": {**body["loadbalancer"], "admin_state_up": "yes"}}
    assert errors(spec, one, "get", 200, wrong_type)
    nested = json.loads(json.dumps(graph["created"]))
    nested["loadbalancer"]["pools"][0]["members"][0]["surprise"] = 1
    assert any("surprise" in e for e in errors(spec, f"{V2}/loadbalancers", "post", 201, nested))
    listed = api.get(f"{V2}/pools").json()
    listed["pools"][0]["healthmonitor"] = None  # only the fully populated create carries it
    assert errors(spec, f"{V2}/pools", "get", 200, listed)


def test_no_response_schema_allows_unknown_fields(spec: dict[str, Any]) -> None:
    loose = [name for name, schema in spec["components"]["schemas"].items()
             if schema.get("type") == "object" and "properties" in schema
             and schema.get("additionalProperties") is not False
             and not name.endswith(("POST", "PUT", "Create", "Vip", "Error", "Link", "Fault"))
             and "Response" in name]
    assert loose == []
