"""bigrest (`BIGIP`) drives the simulator with basic and token auth."""

from __future__ import annotations

import pytest
from bigrest.bigip import BIGIP
from bigrest.common.exceptions import RESTAPIError

from bigip_lbaas.sim.testing import SimHandle


@pytest.fixture(params=[False, True], ids=["basic", "token"])
def big(sim: SimHandle, request: pytest.FixtureRequest) -> BIGIP:
    return BIGIP(f"127.0.0.1:{sim.ports[0]}", "admin", "admin", request_token=request.param)


def test_partition_pool_member_node_virtual(big: BIGIP) -> None:
    big.create("/mgmt/tm/sys/folder", {"name": "bigrest", "partition": "/"})
    assert big.load("/mgmt/tm/sys/folder/~bigrest").properties["fullPath"] == "/bigrest"
    pool = big.create("/mgmt/tm/ltm/pool", {"name": "/bigrest/bigrest_pool"})
    assert pool.properties["fullPath"] == "/bigrest/bigrest_pool"
    big.create(
        "/mgmt/tm/ltm/pool/~bigrest~bigrest_pool/members", {"name": "/bigrest/172.17.0.1:80"}
    )
    node = big.load("/mgmt/tm/ltm/node/~bigrest~172.17.0.1")
    assert node.properties["address"] == "172.17.0.1"
    member = big.load("/mgmt/tm/ltm/pool/~bigrest~bigrest_pool/members/~bigrest~172.17.0.1:80")
    assert member.properties["state"] == "unchecked"
    assert member.properties["session"] == "user-enabled"
    big.create("/mgmt/tm/ltm/monitor/http", {"name": "/bigrest/mon", "interval": 10})
    big.modify("/mgmt/tm/ltm/pool/~bigrest~bigrest_pool", {"monitor": "/bigrest/mon"})
    vs = big.create(
        "/mgmt/tm/ltm/virtual",
        {"name": "/bigrest/vs", "destination": "10.0.0.1:80", "pool": "/bigrest/bigrest_pool"},
    )
    vs.properties["description"] = "saved"
    saved = big.save(vs)
    assert saved.properties["description"] == "saved"
    stats = big.show("/mgmt/tm/ltm/virtual/~bigrest~vs")
    assert stats.properties["clientside.maxConns"]["value"] >= 0
    member_stats = big.show(
        "/mgmt/tm/ltm/pool/~bigrest~bigrest_pool/members/~bigrest~172.17.0.1:80"
    )
    assert member_stats.properties["monitorStatus"]["description"] == "up"
    items = big.load("/mgmt/tm/ltm/pool?$filter=partition+eq+bigrest")
    assert [p.properties["name"] for p in items] == ["bigrest_pool"]
    big.delete("/mgmt/tm/ltm/virtual/~bigrest~vs")
    big.delete("/mgmt/tm/ltm/pool/~bigrest~bigrest_pool")
    assert big.exist("/mgmt/tm/ltm/node/~bigrest~172.17.0.1")  # members never delete nodes
    big.delete("/mgmt/tm/ltm/node/~bigrest~172.17.0.1")
    big.delete("/mgmt/tm/ltm/monitor/http/~bigrest~mon")
    big.delete("/mgmt/tm/sys/folder/~bigrest")
    assert not big.exist("/mgmt/tm/sys/folder/~bigrest")


def test_policy_via_drafts(big: BIGIP) -> None:
    big.create(
        "/mgmt/tm/ltm/policy",
        {
            "name": "p",
            "partition": "Common",
            "subPath": "Drafts",
            "strategy": "first-match",
            "rules": [{"name": "r1"}],
        },
    )
    assert big.load("/mgmt/tm/ltm/policy/~Common~Drafts~p").properties["status"] == "draft"
    big.create("/mgmt/tm/ltm/policy", {"command": "publish", "name": "/Common/Drafts/p"})
    assert big.load("/mgmt/tm/ltm/policy/~Common~p").properties["status"] == "published"
    assert not big.exist("/mgmt/tm/ltm/policy/~Common~Drafts~p")
    big.modify("/mgmt/tm/ltm/policy/~Common~p", {"createDraft": True})
    assert big.exist("/mgmt/tm/ltm/policy/~Common~Drafts~p")


def test_transaction_commit_and_rollback(big: BIGIP) -> None:
    with big:
        big.create("/mgmt/tm/ltm/pool", {"name": "/Common/t1"})
        big.create("/mgmt/tm/ltm/pool", {"name": "/Common/t2"})
    assert big.exist("/mgmt/tm/ltm/pool/~Common~t1")
    big.transaction_create()
    big.create("/mgmt/tm/ltm/pool", {"name": "/Common/t3"})
    big.delete("/mgmt/tm/ltm/pool/~Common~missing")
    with pytest.raises(RESTAPIError) as err:
        big.transaction_commit()
    assert "transaction failed:01020036:3" in str(err.value)
    assert not big.exist("/mgmt/tm/ltm/pool/~Common~t3")


def test_error_cases(big: BIGIP) -> None:
    big.create("/mgmt/tm/ltm/pool", {"name": "/Common/used"})
    big.create(
        "/mgmt/tm/ltm/virtual",
        {"name": "/Common/v", "destination": "10.5.0.1:80", "pool": "/Common/used"},
    )
    with pytest.raises(RESTAPIError) as err:
        big.delete("/mgmt/tm/ltm/pool/~Common~used")
    assert (
        "01070265:3: The Pool (/Common/used) cannot be deleted because it is in use by a "
        "Virtual Server (/Common/v)."
    ) in str(err.value)
    with pytest.raises(RESTAPIError) as err:
        big.create("/mgmt/tm/ltm/pool", {"name": "/Common/used"})
    assert "409" in str(err.value)
    big.create("/mgmt/tm/net/route-domain", {"name": "rd2", "id": 2})
    big.create("/mgmt/tm/auth/partition", {"name": "P2", "defaultRouteDomain": 2})
    with pytest.raises(RESTAPIError) as err:
        big.delete("/mgmt/tm/net/route-domain/~Common~rd2")
    assert "0107097c:3: The specified route domain (2) is the default route domain" in str(
        err.value
    )
    big.create("/mgmt/tm/ltm/pool", {"name": "/P2/p"})
    with pytest.raises(RESTAPIError) as err:
        big.delete("/mgmt/tm/auth/partition/P2")
    assert "0107082a:3: All objects must be removed from a partition (P2)" in str(err.value)
    with pytest.raises(RESTAPIError) as err:
        big.create("/mgmt/tm/ltm/pool", {"name": "/Common/x", "bogus": 1})
    assert "Found unexpected json pair" in str(err.value)
