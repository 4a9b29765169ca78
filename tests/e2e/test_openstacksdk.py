"""openstacksdk's `conn.load_balancer.*`, unchanged, in noauth mode against our API server.

The connection is built as reference D1 says: auth_type none with the endpoint as the override
for every service; keystoneauth runs version discovery on it, so `/` and `/v2` must both answer
with real version documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openstack
import pytest

from tests.databases import KINDS
from tests.integration.api.server import Api, api_server


@pytest.fixture(scope="module", params=KINDS)
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_server(str(request.param), tmp_path_factory.mktemp("db")) as api:
        yield api


def connect(endpoint: str) -> Any:
    return openstack.connect(auth_type="none", auth={"endpoint": endpoint},
                             load_yaml_config=False, load_envvars=False)


@pytest.mark.parametrize("suffix", ["", "/v2", "/v2.0"])
def test_discovery_on_each_endpoint_form(api: Api, suffix: str) -> None:
    conn = connect(api.url + suffix)
    assert next(iter(conn.load_balancer.providers())).name == "f5"


def test_sdk_life_cycle(api: Api) -> None:
    subnet = api.network("10.90.0.0/24")
    conn = connect(api.url)
    lb = conn.load_balancer.create_load_balancer(name="sdk-lb", project_id="p1",
                                                 vip_subnet_id=subnet["id"])
    assert lb.provisioning_status == "PENDING_CREATE" and lb.project_id == "p1"
    api.settle()
    lb = conn.load_balancer.wait_for_load_balancer(lb.id, interval=0.2, wait=10)
    assert lb.provisioning_status == "ACTIVE"
    assert [x.id for x in conn.load_balancer.load_balancers(project_id="p1")] == [lb.id]
    lst = conn.load_balancer.create_listener(name="sdk-l", protocol="HTTP", protocol_port=80,
                                             load_balancer_id=lb.id)
    api.settle()
    pool = conn.load_balancer.create_pool(name="sdk-p", protocol="HTTP", listener_id=lst.id,
                                          lb_algorithm="ROUND_ROBIN")
    api.settle()
    member = conn.load_balancer.create_member(pool, address="10.90.0.20", protocol_port=80)
    api.settle()
    hm = conn.load_balancer.create_health_monitor(pool_id=pool.id, type="TCP", delay=3,
                                                  timeout=2, max_retries=2)
    api.settle()
    assert conn.load_balancer.get_member(member, pool).address == "10.90.0.20"
    assert conn.load_balancer.get_health_monitor(hm).type == "TCP"
    policy = conn.load_balancer.create_l7_policy(listener_id=lst.id, action="REJECT")
    api.settle()
    rule = conn.load_balancer.create_l7_rule(policy, type="PATH", compare_type="STARTS_WITH",
                                             value="/admin")
    api.settle()
    assert [r.id for r in conn.load_balancer.l7_rules(policy)] == [rule.id]
    stats = conn.load_balancer.get_load_balancer_statistics(lb.id)
    assert stats.bytes_in == 0
    updated = conn.load_balancer.update_load_balancer(lb, description="d")
    assert updated.description == "d"
    api.settle()
    quota = conn.load_balancer.update_quota("p1", load_balancers=5)
    assert quota.load_balancers == 5
    assert [f.name for f in conn.load_balancer.flavors()] == []
    assert list(conn.load_balancer.availability_zones()) == []
    conn.load_balancer.failover_load_balancer(lb.id)
    api.settle()
    conn.load_balancer.delete_load_balancer(lb, cascade=True)
    api.settle()
    assert list(conn.load_balancer.load_balancers(project_id="p1")) == []


def test_sdk_pagination_follows_links(api: Api) -> None:
    subnet = api.network("10.91.0.0/24")
    for i in range(5):
        api.lb(subnet["id"], name=f"sdk-page-{i}", project_id="pages")
    conn = connect(api.url)
    got = list(conn.load_balancer.load_balancers(project_id="pages", limit=2))
    assert sorted(x.name for x in got) == [f"sdk-page-{i}" for i in range(5)]
