"""Scenario 5: device errors throughout: a share of requests answered 503, some hang and are dropped.

Both devices answer ~10% of iControl requests with 503 and let a few hang (`hangSeconds` below the
agents' request timeout) while a stream of changes runs. Every object still ends ACTIVE or ERROR
with a reason, and once the faults stop the devices equal the desired state.
"""

from __future__ import annotations

import pytest

from tests.cluster import wait_for
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
FAULTS = {"errorRate": 0.1, "hangRate": 0.02, "hangSeconds": 2}


@pytest.mark.parametrize("db_kind", ["sqlite", "mariadb"])
def test_device_errors_and_timeouts_throughout(multihost: MultiHost) -> None:
    multihost.extra_conf = "[DEFAULT]\nicontrol_connection_timeout = 5\n"
    mh = multihost.start(agents=("h1", "h2"))
    c = mh.c
    with c.client("admin") as api:
        work = Workload([api], PROJECTS, seed=5)
        subnet = ensure_subnet(api)
        for dev in range(1, c.devices + 1):
            sim_control(c, "PATCH", f"devices/{dev}/faults", FAULTS)
        try:
            work.setup(subnet, timeout=120)
            stream(work, 40)
            # Everything settles while the faults go on (our own reads below need them off).
            wait_for(lambda: not pending_objects(c.db_url), 120, "no object pending under faults",
                     every=0.5)
            for dev in range(1, c.devices + 1):
                counts = sim_control(c, "GET", f"devices/{dev}/counters")
                assert counts["statuses"].get("503"), f"device {dev} injected no 503: {counts}"
        finally:
            for dev in range(1, c.devices + 1):
                sim_control(c, "DELETE", f"devices/{dev}/faults")
        check_invariants(mh, work, PROJECTS)
