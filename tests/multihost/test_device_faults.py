"""Scenario 5: device errors throughout: a share of requests answered 503, some hang and are dropped.

Both devices answer ~10% of iControl requests with 503 and let a few hang while a stream of
changes runs: device 1 for 2 s, within the agents' 3 s request timeout (the connection is then
closed without an answer), device 2 for 8 s, beyond it (the agent gives up first: a real client
timeout). Every object still ends ACTIVE or ERROR with a reason, and once the faults stop the
devices equal the desired state.
"""

from __future__ import annotations

import pytest

from tests.cluster import Cluster, wait_for
from tests.multihost.harness import (
    MultiHost,
    Workload,
    check_invariants,
    ensure_subnet,
    pending_objects,
    sim_control,
    stream,
)

PROJECTS = [f"df{i}" for i in range(4)]
TIMEOUT = 3  # the agents' request timeout (icontrol_connection_timeout)
FAULTS = {1: {"errorRate": 0.1, "hangRate": 0.02, "hangSeconds": 2},  # within the timeout
          2: {"errorRate": 0.1, "hangRate": 0.04, "hangSeconds": 8}}  # beyond it


def unanswered(c: Cluster, dev: int) -> int:
    """Requests device `dev` counted but never answered: each took the hang path (the simulator
    counts a request on arrival and its status when it answers, with no wait in between but a
    fault's)."""
    counts = sim_control(c, "GET", f"devices/{dev}/counters")
    return int(counts["methods"].get("total", 0) - sum(counts["statuses"].values()))


@pytest.mark.parametrize("db_kind", ["sqlite", "mariadb"])
def test_device_errors_and_timeouts_throughout(multihost: MultiHost) -> None:
    multihost.extra_conf = f"[DEFAULT]\nicontrol_connection_timeout = {TIMEOUT}\n"
    mh = multihost.start(agents=("h1", "h2"))
    c = mh.c
    with c.client("admin") as api:
        work = Workload([api], PROJECTS, seed=5)
        subnet = ensure_subnet(api)
        for dev in range(1, c.devices + 1):
            sim_control(c, "PATCH", f"devices/{dev}/faults", FAULTS[dev])
        try:
            work.setup(subnet, timeout=120)
            stream(work, 40)
            # Everything settles while the faults go on (our own reads below need them off).
            wait_for(lambda: not pending_objects(c.db_url), 120, "no object pending under faults",
                     every=0.5)
            for _ in range(5):  # bounded: a few more changes if no long hang has happened yet
                if unanswered(c, 2):
                    break
                stream(work, 10)
                wait_for(lambda: not pending_objects(c.db_url), 120, "no object pending",
                         every=0.5)
            # Only agents send /mgmt requests here (our calls are /sim), and every hang of device
            # 2 lasts 8 s: each request it left unanswered was given up by an agent after 3 s.
            assert unanswered(c, 2) > 0, "no agent request timed out on device 2"
            for dev in range(1, c.devices + 1):
                counts = sim_control(c, "GET", f"devices/{dev}/counters")
                assert counts["statuses"].get("503"), f"device {dev} injected no 503: {counts}"
        finally:
            for dev in range(1, c.devices + 1):
                sim_control(c, "DELETE", f"devices/{dev}/faults")
        check_invariants(mh, work, PROJECTS)
