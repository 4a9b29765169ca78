"""f5-sdk (`ManagementRoot`) drives the simulator with token and basic auth."""

from __future__ import annotations

import pytest
from f5.bigip import ManagementRoot
from f5.bigip.contexts import TransactionContextManager
from f5.sdk_exception import TransactionSubmitException
from icontrol.exceptions import iControlUnexpectedHTTPError

from bigip_lbaas.sim.testing import SimHandle


@pytest.fixture(params=[False, True], ids=["basic", "token"])
def mgmt(sim: SimHandle, request: pytest.FixtureRequest) -> ManagementRoot:
    return ManagementRoot(
        "127.0.0.1",
        "admin",
        "admin",
        port=sim.ports[0],
        token=request.param,
        verify=str(sim.ca_file),
    )


def test_version_is_parsed_from_sys_selflink(mgmt: ManagementRoot) -> None:
    assert mgmt.tmos_version == "15.1.0"


def test_partition_pool_members_monitor_virtual(mgmt: ManagementRoot) -> None:
    tm = mgmt.tm
    tm.auth.partitions.partition.create(name="Tenant1", description="t")
    assert tm.sys.folders.folder.exists(name="Tenant1")
    mon = tm.ltm.monitor.https_s.https.create(
        name="hm1", partition="Tenant1", send="GET /health HTTP/1.0\\r\\n\\r\\n"
    )
    assert mon.defaultsFrom == "/Common/https"
    pool = tm.ltm.pools.pool.create(
        name="pool1",
        partition="Tenant1",
        monitor="/Tenant1/hm1",
        loadBalancingMode="least-connections-member",
    )
    member = pool.members_s.members.create(name="10.0.0.1:80", partition="Tenant1")
    assert member.address == "10.0.0.1"
    assert member.state == "up"
    assert member.session == "monitor-enabled"
    assert tm.ltm.nodes.node.exists(name="10.0.0.1", partition="Tenant1")
    member.modify(session="user-disabled")
    member.refresh()
    assert member.session == "user-disabled"
    gen = pool.generation
    pool.modify(description="changed")
    assert pool.generation > gen
    pool.update(slowRampTime=20)
    pool.refresh()
    assert pool.slowRampTime == 20
    vs = tm.ltm.virtuals.virtual.create(
        name="vs1",
        partition="Tenant1",
        destination="10.1.0.1:443",
        pool="pool1",
        profiles=["/Common/http", "/Common/tcp"],
        persist=[{"name": "/Common/cookie"}],
        sourceAddressTranslation={"type": "automap"},
    )
    assert vs.destination == "/Tenant1/10.1.0.1:443"
    assert vs.pool == "/Tenant1/pool1"
    assert sorted(p.name for p in vs.profiles_s.get_collection()) == ["http", "tcp"]
    assert tm.ltm.virtual_address_s.virtual_address.exists(name="10.1.0.1", partition="Tenant1")
    members = pool.members_s.get_collection()
    assert [m.name for m in members] == ["10.0.0.1:80"]
    pools = tm.ltm.pools.get_collection(
        requests_params={"params": {"$filter": "partition eq Tenant1"}}
    )
    assert [p.name for p in pools] == ["pool1"]
    vs.delete()
    assert not tm.ltm.virtual_address_s.virtual_address.exists(name="10.1.0.1", partition="Tenant1")
    pool.delete()
    assert not tm.ltm.pools.pool.exists(name="pool1", partition="Tenant1")


def test_stats_for_pool_and_virtual(mgmt: ManagementRoot) -> None:
    pool = mgmt.tm.ltm.pools.pool.create(name="sp", partition="Common")
    pool.members_s.members.create(name="10.2.0.1:80", partition="Common")
    stats = pool.stats.load()
    key = "https://localhost/mgmt/tm/ltm/pool/~Common~sp/stats"
    nested = stats.entries[key]["nestedStats"]
    assert nested["selfLink"] == key + "?ver=15.1.0"
    assert nested["entries"]["tmName"]["description"] == "/Common/sp"
    assert nested["entries"]["status.enabledState"]["description"] == "enabled"
    coll = mgmt.tm.ltm.pools.stats.load()
    assert key in coll.entries


def test_policy_draft_publish_and_legacy(mgmt: ManagementRoot) -> None:
    tm = mgmt.tm
    tm.ltm.pools.pool.create(name="fwd", partition="Common")
    pol = tm.ltm.policys.policy.create(
        name="pol1",
        partition="Common",
        subPath="Drafts",
        strategy="first-match",
        requires=["http"],
        controls=["forwarding"],
        rules=[
            {
                "name": "r1",
                "actions": [{"name": "0", "forward": True, "pool": "/Common/fwd", "request": True}],
                "conditions": [
                    {
                        "name": "0",
                        "httpUri": True,
                        "path": True,
                        "startsWith": True,
                        "values": ["/api"],
                        "request": True,
                    }
                ],
            }
        ],
    )
    assert pol.status == "draft"
    assert pol.fullPath == "/Common/Drafts/pol1"
    rules = pol.rules_s.get_collection()
    assert [r.name for r in rules] == ["r1"]
    pol.publish()
    assert pol.status == "published"
    assert tm.ltm.policys.policy.exists(name="pol1", partition="Common")
    legacy = tm.ltm.policys.policy.create(
        name="pol2", partition="Common", legacy=True, strategy="first-match", rules=[{"name": "r"}]
    )
    assert legacy.status == "published"
    vs = tm.ltm.virtuals.virtual.create(
        name="vsp",
        partition="Common",
        destination="10.9.0.1:80",
        profiles=["/Common/http"],
        policies=[{"name": "pol1", "partition": "Common"}],
    )
    assert [p.name for p in vs.policies_s.get_collection()] == ["pol1"]
    with pytest.raises(iControlUnexpectedHTTPError) as err:
        tm.ltm.policys.policy.load(name="pol1", partition="Common").delete()
    assert err.value.response.status_code == 400


def test_transaction_commits(mgmt: ManagementRoot) -> None:
    tx = mgmt.tm.transactions.transaction
    with TransactionContextManager(tx) as api:
        api.tm.ltm.pools.pool.create(name="tp1", partition="Common")
        api.tm.ltm.pools.pool.create(name="tp2", partition="Common")
    assert mgmt.tm.ltm.pools.pool.exists(name="tp1", partition="Common")
    assert mgmt.tm.ltm.pools.pool.exists(name="tp2", partition="Common")


def test_transaction_rolls_back(mgmt: ManagementRoot) -> None:
    mgmt.tm.ltm.pools.pool.create(name="exists", partition="Common")
    tx = mgmt.tm.transactions.transaction
    with (
        pytest.raises(TransactionSubmitException) as err,
        TransactionContextManager(tx) as api,
    ):
        api.tm.ltm.pools.pool.create(name="fresh", partition="Common")
        api.tm.ltm.pools.pool.create(name="exists", partition="Common")
    assert "transaction failed" in str(err.value)
    assert not mgmt.tm.ltm.pools.pool.exists(name="fresh", partition="Common")


def test_error_cases(mgmt: ManagementRoot) -> None:
    tm = mgmt.tm
    tm.ltm.pools.pool.create(name="dup", partition="Common")
    with pytest.raises(iControlUnexpectedHTTPError) as err:
        tm.ltm.pools.pool.create(name="dup", partition="Common")
    assert err.value.response.status_code == 409
    assert "01020066:3" in err.value.response.json()["message"]
    with pytest.raises(iControlUnexpectedHTTPError) as err:
        tm.ltm.pools.pool.load(name="missing", partition="Common")
    assert err.value.response.status_code == 404
    assert err.value.response.json()["message"] == (
        "01020036:3: The requested Pool (/Common/missing) was not found."
    )
    pool = tm.ltm.pools.pool.load(name="dup", partition="Common")
    pool.members_s.members.create(name="10.3.0.1:80", partition="Common")
    node = tm.ltm.nodes.node.load(name="10.3.0.1", partition="Common")
    with pytest.raises(iControlUnexpectedHTTPError) as err:
        node.delete()
    assert err.value.response.json()["message"] == (
        "01070110:3: Node address '/Common/10.3.0.1' is referenced by a member of pool "
        "'/Common/dup'."
    )
    assert not pool.members_s.members.exists(name="10.9.9.9:80", partition="Common")


def test_update_round_trips(mgmt: ManagementRoot) -> None:
    """`update()` PUTs back what a load returned: every shape the simulator emits is accepted."""
    tm = mgmt.tm
    tm.ltm.snatpools.snatpool.create(name="sp", partition="Common", members=["10.9.9.9"])
    tm.ltm.pools.pool.create(name="p", partition="Common", monitor="/Common/http")
    vs = tm.ltm.virtuals.virtual.create(
        name="v",
        partition="Common",
        destination="10.1.1.1:80",
        pool="p",
        persist=[{"name": "/Common/source_addr"}],
        sourceAddressTranslation={"type": "snat", "pool": "/Common/sp"},
    )
    vs.update(description="u")
    vs.refresh()
    assert vs.description == "u"
    assert vs.sourceAddressTranslation["pool"] == "/Common/sp"
    rd = tm.net.route_domains.route_domain.create(name="rd5", partition="Common", id=5)
    tm.net.vlans.vlan.create(name="v1", partition="Common", tag=101)
    rd.modify(vlans=["/Common/v1"])
    rd.update(description="x")
    selfip = tm.net.selfips.selfip.create(
        name="s1", partition="Common", address="10.5.0.1%5/24", vlan="/Common/v1"
    )
    selfip.update(description="s")
    folder = tm.sys.folders.folder.create(name="tf", subPath="/")
    folder.update(description="fd")
    folder.refresh()
    assert folder.description == "fd"
    node = tm.ltm.nodes.node.create(name="n1", partition="Common", address="10.4.0.1")
    node.update(description="nd")
    assert node.address == "10.4.0.1"
