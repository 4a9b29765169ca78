"""Work that cannot finish (M11), on the real API and each database, with agent rows written by
`db.agents.register` and heartbeats moved back in time on the database clock (the agent
processes themselves are in tests/integration/agents/test_unserved.py).

- a create or change for an environment no live agent serves is refused, 503, naming it;
- work accepted while an agent was alive, whose environment then has none for longer than the
  timeout, ends in ERROR with that reason (`db.unserved.sweep`, which the API process runs);
- the report (`environments`) says so meanwhile; an agent's return brings things back.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from bigip_lbaas.db import agents
from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database
from bigip_lbaas.db.unserved import environments, sweep
from tests.integration.api.server import Api

API_SETTINGS: dict[str, Any] = {"refuse_unserved": True, "lease_seconds": 10.0}
LBS = "/v2/lbaas/loadbalancers"
LEASE = 10.0
ENV = "Project"  # the default provider's environment (F5's environment_prefix default)


def register(db: Database, identity: str) -> None:
    agents.register(db, environment=ENV, identity=identity, host=identity,
                    instance_id=uuid.uuid4().hex, lease_seconds=LEASE, ha_type="standalone",
                    devices=[], configurations={})


def age(db: Database, seconds: float) -> None:
    """Every heartbeat, and every partition's oldest waiting change, `seconds` further back."""
    with db.transaction() as s:
        s.execute(sa.update(m.Agent).values(heartbeat_at=m.Agent.heartbeat_at - seconds))
        s.execute(sa.update(m.Partition).where(m.Partition.pending_since.is_not(None))
                  .values(pending_since=m.Partition.pending_since - seconds))


def status_of(db: Database, lb_id: str) -> tuple[str, str | None]:
    with db.transaction() as s:
        row = s.execute(sa.select(m.LoadBalancer.provisioning_status,
                                  m.LoadBalancer.status_reason)
                        .where(m.LoadBalancer.id == lb_id)).one()
        return str(row[0]), row[1]


def test_refused_then_error_after_timeout_then_back(api: Api, subnet: dict[str, Any]) -> None:
    db = api.db
    with db.transaction() as s:
        s.execute(sa.delete(m.Agent))
    # No agent at all: refused, naming the environment and what to do.
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"]}})
    assert r.status_code == 503, r.text
    assert f"No live agent serves environment {ENV}" in r.json()["faultstring"]
    assert db.query(lambda s: [e.served for e in environments(s, LEASE) if e.name == ENV]) \
        in ([], [False])

    # An agent is alive: accepted; it does not finish (this test plays no agent's part).
    register(db, "m11-a")
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"]}})
    assert r.status_code == 201, r.text
    waiting = r.json()["loadbalancer"]["id"]
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"]}})
    assert r.status_code == 201, r.text
    done = r.json()["loadbalancer"]["id"]
    with db.transaction() as s:  # an agent finished this one
        s.execute(sa.update(m.LoadBalancer).where(m.LoadBalancer.id == done)
                  .values(provisioning_status="ACTIVE"))

    # The agent dies (no heartbeat for 30 s, three lease periods): changes are refused...
    age(db, 30)
    r = api.put(f"{LBS}/{done}", {"loadbalancer": {"name": "x"}})
    assert r.status_code == 503 and ENV in r.json()["faultstring"], r.text
    r = api.post("/v2/lbaas/listeners", {"listener": {"loadbalancer_id": done,
                                                      "protocol": "TCP", "protocol_port": 81}})
    assert r.status_code == 503, r.text
    # ... reads are not, and the report shows the environment unserved, its work waiting.
    assert api.get(f"{LBS}/{done}").status_code == 200
    env = db.query(lambda s: {e.name: e for e in environments(s, LEASE)})[ENV]
    assert not env.served and env.pending_partitions >= 1
    assert env.unserved_for is not None and 15 <= env.unserved_for < 60

    # Not yet past the timeout (unserved 20 s of 60): nothing ends.
    assert sweep(db, LEASE, 60.0) == []
    assert status_of(db, waiting)[0] == "PENDING_CREATE"
    # Past it: the waiting work ends in ERROR with the reason; the finished LB is untouched.
    ended = sweep(db, LEASE, 15.0)
    assert [(e.environment, e.objects) for e in ended] == [(ENV, 1)]
    status, reason = status_of(db, waiting)
    assert status == "ERROR"
    assert reason is not None and f"No live agent of environment {ENV}" in reason
    assert status_of(db, done)[0] == "ACTIVE"
    assert sweep(db, LEASE, 15.0) == []  # idempotent
    assert api.get(f"{LBS}/{waiting}").json()["loadbalancer"]["provisioning_status"] == "ERROR"

    # An agent returns: changes are accepted again, and the ERROR one can be deleted.
    register(db, "m11-b")
    assert db.query(lambda s: {e.name: e.served for e in environments(s, LEASE)})[ENV]
    r = api.post("/v2/lbaas/listeners", {"listener": {"loadbalancer_id": done,
                                                      "protocol": "TCP", "protocol_port": 81}})
    assert r.status_code == 201, r.text
    assert api.delete(f"{LBS}/{waiting}").status_code == 204


def test_a_drained_environment_is_not_served(api: Api, subnet: dict[str, Any]) -> None:
    """Admin-down agents hand their partitions away: nothing would carry the change out."""
    db = api.db
    with db.transaction() as s:
        s.execute(sa.delete(m.Agent))
    register(db, "m11-drained")
    with db.transaction() as s:
        s.execute(sa.update(m.Agent).values(admin_state_up=False))
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"]}})
    assert r.status_code == 503, r.text
    with db.transaction() as s:
        s.execute(sa.update(m.Agent).values(admin_state_up=True))
    r = api.post(LBS, {"loadbalancer": {"vip_subnet_id": subnet["id"]}})
    assert r.status_code == 201, r.text
