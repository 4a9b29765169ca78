"""The provider driver's writes and the statuses owed to Octavia, on each database (SQLite,
PostgreSQL, MariaDB): the driver is called as Octavia calls it (octavia-lib data models), and
what an agent would write is written the way db/outcomes.py writes it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from octavia_lib.api.drivers import data_models as dm
from octavia_lib.api.drivers import exceptions as lib_exc

from bigip_lbaas.db import models as m
from bigip_lbaas.db import octavia as owed
from bigip_lbaas.db.session import Database
from bigip_lbaas.octavia.bridge import Bridge
from bigip_lbaas.octavia.driver import BigipProviderDriver

PROJECT = "p-octavia"


def uid() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def driver(db: Database, tmp_path: Path) -> BigipProviderDriver:
    conf = tmp_path / "bigip-lbaas.conf"
    conf.write_text(f"[DEFAULT]\nenvironment_prefix = Env1\n[database]\nconnection = {db.url}\n")
    return BigipProviderDriver(config_file=str(conf))


def graph() -> dm.LoadBalancer:
    lb_id, lst_id, pool_id, hm_id, pol_id, rule_id = (uid() for _ in range(6))
    members = [dm.Member(member_id=uid(), pool_id=pool_id, address=f"10.0.0.{i}",
                         protocol_port=80, weight=1, admin_state_up=True, backup=False,
                         project_id=PROJECT, vnic_type="normal") for i in (11, 12)]
    pool = dm.Pool(pool_id=pool_id, loadbalancer_id=lb_id, listener_id=lst_id, protocol="HTTP",
                   lb_algorithm="ROUND_ROBIN", admin_state_up=True, project_id=PROJECT,
                   members=members, tls_enabled=False,
                   healthmonitor=dm.HealthMonitor(healthmonitor_id=hm_id, pool_id=pool_id,
                                                  type="HTTP", delay=5, timeout=3,
                                                  max_retries=3, admin_state_up=True,
                                                  project_id=PROJECT))
    rule = dm.L7Rule(l7rule_id=rule_id, l7policy_id=pol_id, type="PATH",
                     compare_type="STARTS_WITH", value="/old", invert=False, admin_state_up=True,
                     project_id=PROJECT)
    policy = dm.L7Policy(l7policy_id=pol_id, listener_id=lst_id, action="REDIRECT_TO_URL",
                         redirect_url="http://example.com/", position=1, admin_state_up=True,
                         rules=[rule], project_id=PROJECT)
    listener = dm.Listener(listener_id=lst_id, loadbalancer_id=lb_id, protocol="HTTP",
                           protocol_port=80, admin_state_up=True, default_pool=pool,
                           default_pool_id=pool_id, l7policies=[policy], project_id=PROJECT,
                           connection_limit=-1, insert_headers={})
    return dm.LoadBalancer(loadbalancer_id=lb_id, project_id=PROJECT, name="lb",
                           admin_state_up=True, vip_address="10.0.0.5",
                           vip_subnet_id=uid(), vip_network_id=uid(), vip_port_id=uid(),
                           listeners=[listener], pools=[pool], flavor={},
                           availability_zone={})  # as Octavia passes them: metadata


def finish(db: Database, lb_id: str) -> None:
    """What an agent's outcome does: pending objects ACTIVE, PENDING_DELETE rows removed."""
    with db.transaction() as s:
        for table in (m.L7Rule, m.L7Policy, m.Member, m.HealthMonitor, m.Listener, m.Pool):
            s.execute(sa.delete(table).where(table.load_balancer_id == lb_id,
                                             table.provisioning_status == "PENDING_DELETE"))
            s.execute(sa.update(table).where(table.load_balancer_id == lb_id,
                                             table.provisioning_status.like("PENDING_%"))
                      .values(provisioning_status="ACTIVE"))
        s.execute(sa.delete(m.LoadBalancer).where(m.LoadBalancer.id == lb_id,
                                                  m.LoadBalancer.provisioning_status ==
                                                  "PENDING_DELETE"))
        s.execute(sa.update(m.LoadBalancer).where(m.LoadBalancer.id == lb_id,
                                                  m.LoadBalancer.provisioning_status.like(
                                                      "PENDING_%"))
                  .values(provisioning_status="ACTIVE", operating_status="ONLINE"))


class Recorder:
    """Stands in for Octavia's driver agent socket only (octavia-lib's DriverLibrary side)."""

    def __init__(self) -> None:
        self.updates: list[dict[str, list[dict[str, str]]]] = []
        self.fail = False
        self.known: dict[str, Any] = {}  # what Octavia's get socket would find, by id

    def __getattr__(self, name: str) -> Any:
        if name.startswith("get_"):
            return self.known.get
        raise AttributeError(name)

    def update_loadbalancer_status(self, status: dict[str, list[dict[str, str]]]) -> None:
        if self.fail:
            raise lib_exc.UpdateStatusError(fault_string="driver agent gone")
        self.updates.append(status)

    def update_listener_statistics(self, statistics: dict[str, object]) -> None:
        pass


def statuses(update: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    return {x["id"]: x["provisioning_status"] for items in update.values() for x in items}


def test_graph_create_is_one_transaction_with_octavia_ids_and_marks(
        driver: BigipProviderDriver, db: Database) -> None:
    lb = graph()
    driver.loadbalancer_create(lb)
    with db.transaction() as s:
        row = s.get(m.LoadBalancer, lb.loadbalancer_id)
        assert row is not None and row.provider == "bigip"
        assert s.scalar(sa.select(m.Partition.environment)
                        .where(m.Partition.id == row.partition_id)) == "Env1"
        assert s.scalar(sa.select(sa.func.count()).select_from(m.Member)) == 2
        listener = s.get(m.Listener, lb.listeners[0].listener_id)
        assert listener is not None and listener.default_pool_id == lb.pools[0].pool_id
        marks = {(r.kind, r.provisioning_status) for r in s.scalars(sa.select(m.OctaviaStatus))}
    assert marks == {(k, "PENDING_CREATE") for k in (
        "load_balancer", "listener", "pool", "member", "health_monitor", "l7policy", "l7rule")}
    # Nothing is owed while the change is pending here.
    assert [d.owed for d in owed.owed(db, [lb.loadbalancer_id])] == []


def test_bridge_delivers_once_settled_and_acknowledges_under_versions(
        driver: BigipProviderDriver, db: Database) -> None:
    lb = graph()
    driver.loadbalancer_create(lb)
    octavia = Recorder()
    a = Bridge(db, octavia, me="bridge-a", confirm_creates=True)
    assert a.poll() == 0 and octavia.updates == []
    finish(db, lb.loadbalancer_id)
    assert a.poll() == 0  # Octavia has not committed its rows yet: nothing is sent
    octavia.known[lb.loadbalancer_id] = lb
    octavia.fail = True  # the driver agent is down: nothing is recorded, all is kept
    assert a.poll() == 0
    octavia.fail = False
    assert a.poll() == 1
    [update] = octavia.updates
    assert set(statuses(update).values()) == {"ACTIVE"} and len(statuses(update)) == 8
    assert a.poll() == 0  # acknowledged: nothing more is owed

    # A member update: the member and its parents go pending in Octavia; then ACTIVE again.
    member = lb.pools[0].members[0]
    driver.member_update(member, dm.Member(member_id=member.member_id, weight=7))
    assert a.poll() == 0
    finish(db, lb.loadbalancer_id)
    assert a.poll() == 1
    assert statuses(octavia.updates[-1]) == {
        lb.loadbalancer_id: "ACTIVE", lb.listeners[0].listener_id: "ACTIVE",
        lb.pools[0].pool_id: "ACTIVE", member.member_id: "ACTIVE"}

    # Cascade delete: everything reported DELETED, and the rows owed are gone afterwards.
    driver.loadbalancer_delete(lb, cascade=True)
    finish(db, lb.loadbalancer_id)
    assert a.poll() == 1
    assert set(statuses(octavia.updates[-1]).values()) == {"DELETED"}
    assert len(statuses(octavia.updates[-1])) == 8
    with db.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(m.OctaviaStatus)) == 0


def test_a_newer_mark_is_never_overwritten_by_an_older_delivery(
        driver: BigipProviderDriver, db: Database) -> None:
    lb = graph()
    driver.loadbalancer_create(lb)
    finish(db, lb.loadbalancer_id)
    claimed = owed.claim(db, "bridge-a", [lb.loadbalancer_id], 30)
    [delivery] = owed.owed(db, claimed)
    # Octavia took the delivery, and a new change arrives before it is recorded.
    driver.loadbalancer_update(lb, dm.LoadBalancer(loadbalancer_id=lb.loadbalancer_id,
                                                   name="renamed"))
    assert owed.acknowledge(db, "bridge-a", delivery)
    with db.transaction() as s:
        row = s.get(m.OctaviaStatus, ("load_balancer", lb.loadbalancer_id))
        assert row is not None and row.provisioning_status == "PENDING_UPDATE"


def test_one_load_balancer_is_claimed_by_one_bridge_at_a_time(
        driver: BigipProviderDriver, db: Database) -> None:
    lb = graph()
    driver.loadbalancer_create(lb)
    assert owed.claim(db, "bridge-a", [lb.loadbalancer_id], 30) == [lb.loadbalancer_id]
    assert owed.claim(db, "bridge-b", [lb.loadbalancer_id], 30) == []
    owed.release(db, "bridge-a", [lb.loadbalancer_id])
    assert owed.claim(db, "bridge-b", [lb.loadbalancer_id], 30) == [lb.loadbalancer_id]
    # A bridge whose claim was taken over records nothing.
    finish(db, lb.loadbalancer_id)
    [delivery] = owed.owed(db, [lb.loadbalancer_id])
    assert not owed.acknowledge(db, "bridge-a", delivery)


def test_unsupported_options_are_refused_with_the_reason(
        driver: BigipProviderDriver, db: Database) -> None:
    lb = graph()
    driver.loadbalancer_create(lb)
    finish(db, lb.loadbalancer_id)
    refused = graph()
    refused.vip_qos_policy_id = uid()
    refused.vip_address = "10.0.0.7"
    with pytest.raises(lib_exc.UnsupportedOptionError) as err:
        driver.loadbalancer_create(refused)
    assert "QoS" in err.value.user_fault_string
    with pytest.raises(lib_exc.UnsupportedOptionError):
        driver.validate_flavor({"compute_flavor": "x"})
    driver.validate_flavor({"environment": "Env2"})
    with db.transaction() as s:  # nothing written, nothing left pending
        assert s.get(m.LoadBalancer, refused.loadbalancer_id) is None
        assert {r.load_balancer_id for r in s.scalars(sa.select(m.OctaviaStatus))} == {
            lb.loadbalancer_id}


def test_the_driver_says_why_it_cannot_start(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(Exception, match="does not exist"):
        BigipProviderDriver(config_file=str(tmp_path / "missing.conf"))
    assert "the bigip provider driver cannot start" in caplog.text


def test_ready_load_balancers_go_to_octavia_in_one_request(
        driver: BigipProviderDriver, db: Database) -> None:
    first, second = graph(), graph()
    second.vip_address = "10.0.0.6"
    driver.loadbalancer_create(first)
    driver.loadbalancer_create(second)
    finish(db, first.loadbalancer_id)
    finish(db, second.loadbalancer_id)
    octavia = Recorder()
    octavia.known.update({first.loadbalancer_id: first, second.loadbalancer_id: second})
    assert Bridge(db, octavia, me="bridge-a").poll() == 2
    [update] = octavia.updates
    assert {x["id"] for x in update["loadbalancers"]} == {first.loadbalancer_id,
                                                          second.loadbalancer_id}


def test_l7_policies_octavia_did_not_pass_are_read_back_and_added(
        driver: BigipProviderDriver, db: Database) -> None:
    """Octavia 19's fully populated create hands the driver its listeners without their L7
    policies; the bridge reads them back through the driver agent before reporting."""
    lb = graph()
    listener = lb.listeners[0]
    policies = listener.l7policies
    listener.l7policies = []
    driver.loadbalancer_create(lb)
    listener.l7policies = policies
    octavia = Recorder()
    # As octavia-lib's get_loadbalancer answers: made from a dict, nested ones left as dicts.
    octavia.known[lb.loadbalancer_id] = dm.LoadBalancer.from_dict(
        lb.to_dict(recurse=True, render_unsets=False))
    bridge = Bridge(db, octavia, me="bridge-a")
    finish(db, lb.loadbalancer_id)
    assert bridge.poll() == 0 and octavia.updates == []  # the policy was missing: added
    with db.transaction() as s:
        assert s.get(m.L7Policy, policies[0].l7policy_id) is not None
        assert s.get(m.L7Rule, policies[0].rules[0].l7rule_id) is not None
    finish(db, lb.loadbalancer_id)
    assert bridge.poll() == 1
    reported = statuses(octavia.updates[0])
    assert len(reported) == 8 and set(reported.values()) == {"ACTIVE"}


def test_the_own_apis_tls_checks_run_on_octavias_calls(driver: BigipProviderDriver,
                                                       db: Database) -> None:
    """Octavia 19's default ALPN list for TLS pools and listeners starts with h2, which a BIG-IP
    does not negotiate without an HTTP/2 profile: refused at the call (docs/octavia.md says to
    set Octavia's defaults without it)."""
    lb = graph()
    driver.loadbalancer_create(lb)
    finish(db, lb.loadbalancer_id)
    with pytest.raises(lib_exc.UnsupportedOptionError) as err:
        driver.pool_create(dm.Pool(pool_id=uid(), loadbalancer_id=lb.loadbalancer_id,
                                   protocol="HTTP", lb_algorithm="ROUND_ROBIN", tls_enabled=True,
                                   alpn_protocols=["h2", "http/1.1", "http/1.0"],
                                   admin_state_up=True, project_id=PROJECT))
    assert "alpn_protocols h2" in err.value.user_fault_string
    driver.pool_create(dm.Pool(pool_id=uid(), loadbalancer_id=lb.loadbalancer_id,
                               protocol="HTTP", lb_algorithm="ROUND_ROBIN", tls_enabled=True,
                               alpn_protocols=["http/1.1", "http/1.0"], admin_state_up=True,
                               project_id=PROJECT))
