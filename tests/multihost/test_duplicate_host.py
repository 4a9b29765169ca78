"""Scenario 6: two agents with the same host on different network hosts: the second is refused.

No agent sets `host` in its configuration; each takes its UTS namespace's hostname, so the hosts
the agents report prove that they run on different (namespaced) hosts.
"""

from __future__ import annotations

import time

import pytest

from tests.cluster import wait_for
from tests.multihost.harness import MultiHost, Workload, check_invariants, ensure_subnet


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_same_hostname_on_another_host_is_refused(multihost: MultiHost) -> None:
    mh = multihost.start(agents=("h1", "h2"))
    wait_for(lambda: mh.agents_alive() == ["h1", "h2"], 30, "h1 and h2 alive (hostnames)")
    with mh.c.client("admin") as api:
        work = Workload([api], ["dup0", "dup1"])
        work.setup(ensure_subnet(api))
        for _ in range(6):
            work.step()

        # Same hostname "h1", but in h2's network namespace: a different host.
        dup = mh.start_agent("h1", in_namespace="h2", name="h1-dup")
        assert dup.popen is not None
        code = dup.popen.wait(timeout=60)
        out = dup.output()
        assert code != 0, out
        assert "h1" in out and "already running" in out, out

        time.sleep(2 * mh.c.heartbeat)
        assert mh.c.agents["h1"].alive, mh.c.agents["h1"].output()
        assert mh.agents_alive() == ["h1", "h2"]
        for _ in range(4):
            work.step()
        check_invariants(mh, work, work.projects)
