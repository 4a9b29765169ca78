"""Scenario 3: one device of a pair down for a while, then back.

Changes made while device 2 refuses connections still reach ACTIVE (a device that is down does not
block the others); when it comes back it converges to the desired state: nothing missing, no
orphans, for objects created, changed and deleted while it was away.
"""

from __future__ import annotations

import httpx
import pytest

from tests.cluster import wait_for
from tests.multihost.harness import (
    MultiHost,
    Workload,
    check_invariants,
    drift,
    ensure_subnet,
    pending_objects,
    sim_control,
    stream,
)

PROJECTS = [f"dd{i}" for i in range(4)]


@pytest.mark.parametrize(("db_kind", "mode"), [("sqlite", "drop"), ("mariadb", "refuse")])
def test_device_down_then_back_converges(multihost: MultiHost, mode: str) -> None:
    mh = multihost.start(agents=("h1", "h2"))
    c = mh.c
    with c.client("admin") as api:
        work = Workload([api], PROJECTS, seed=3)
        work.setup(ensure_subnet(api))
        stream(work, 8)
        wait_for(lambda: not pending_objects(c.db_url), 60, "settled before the outage")

        sim_control(c, "POST", "devices/2/down", {"mode": mode})
        acked_before = len(work.acks)
        stream(work, 30)
        assert len(work.acks) > acked_before, "no change was acknowledged during the outage"
        # Changes reach ACTIVE (or ERROR with a reason) with device 1 alone, and device 1 has them.
        wait_for(lambda: not pending_objects(c.db_url), 90, "no object pending, device 2 down",
                 every=0.5)
        with httpx.Client(base_url=c.api_url, timeout=30) as plain:
            assert drift(c, plain, PROJECTS, devices=[0]) == []
        seq_before = max((e["seq"] for e in c.audit(1)), default=0) if mode != "refuse" else None

        sim_control(c, "POST", "devices/2/up")
        if seq_before is None:
            seq_before = max((e["seq"] for e in c.audit(1)), default=0)
        check_invariants(mh, work, PROJECTS)
        # It was brought back in step by writes made after it returned.
        assert any(e["seq"] > seq_before and e["clientId"] for e in c.audit(1))
