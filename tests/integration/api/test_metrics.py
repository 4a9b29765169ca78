"""`GET /metrics`: request counters by route template, and work figures read from the database."""

from __future__ import annotations

import re

from tests.integration.api.server import Api


def metric(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if m and ",".join(sorted((m.group(1) or "").split(","))) == want:
            return float(m.group(2))
    return None


def test_metrics_count_requests_and_pending_objects(api: Api, subnet: dict[str, object]) -> None:
    r = api.post("/v2/lbaas/loadbalancers", {"loadbalancer": {"vip_subnet_id": subnet["id"]}})
    assert r.status_code == 201, r.text
    lb_id = r.json()["loadbalancer"]["id"]
    assert api.get(f"/v2/lbaas/loadbalancers/{lb_id}").status_code == 200
    text = api.get("/metrics").text
    assert (metric(text, "bigip_lbaas_pending_objects", kind="load_balancer") or 0) >= 1
    assert (metric(text, "bigip_lbaas_partitions_behind_total") or 0) >= 1
    # Labels carry the route template, never an object id (bounded cardinality).
    created = metric(text, "bigip_lbaas_api_requests_total", method="POST",
                     route="/v2/lbaas/loadbalancers", status="201")
    assert created is not None and created >= 1
    assert lb_id not in text
    api.settle()
    after = api.get("/metrics").text
    assert metric(after, "bigip_lbaas_pending_objects", kind="load_balancer") == 0
