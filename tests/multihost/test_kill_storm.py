"""Scenario 1 on separate hosts: kill -9 a random agent every few seconds during a stream of changes.

Three agents, each in its own network and UTS namespace, serve eight projects. Changes stream over
all of them while, every few seconds, a random live agent is killed with SIGKILL; once the cluster
has seen it dead, it is started again on its own host (as systemd's `Restart=` would), so at most
one host is down at a time and each comes back under its own name. The killed agents' partitions
must move to the survivors, and the usual invariants hold at the end. The longer soak with richer
changes and device faults is `bench/chaos.py` (and, short, tests/integration/agents).
"""

from __future__ import annotations

import random

import pytest

from tests.cluster import wait_for
from tests.multihost.harness import (
    MultiHost,
    Workload,
    check_invariants,
    ensure_subnet,
    stream,
)

PROJECTS = [f"ks{i}" for i in range(8)]
KILLS = 4


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_agents_killed_one_after_another_lose_no_work(multihost: MultiHost) -> None:
    mh = multihost.start()
    c = mh.c
    rng = random.Random(11)
    with c.client("admin") as api:
        work = Workload([api], PROJECTS, seed=11)
        work.setup(ensure_subnet(api))
        wait_for(lambda: len(c.owners()) == len(PROJECTS), 30, "every partition owned")
        epochs_before = mh.epochs()
        moved = 0
        for _ in range(KILLS):
            stream(work, 20)
            victim = rng.choice(sorted(h for h in mh.hosts if c.agents[h].alive))
            moved += kill_and_restart(mh, work, victim)
        stream(work, 20)
        assert moved > 0, "no killed agent held a partition"
        assert mh.epochs() > epochs_before  # partitions did change owner
    check_invariants(mh, work, PROJECTS)


def kill_and_restart(mh: MultiHost, work: Workload, victim: str) -> int:
    """SIGKILL `victim`'s agent while changes go on; once its partitions are on the survivors,
    start it again on its own host. Returns how many partitions it held."""
    c = mh.c
    held = {p for p, h in c.owners().items() if h == victim}
    c.agents[victim].kill9()
    stream(work, 20)
    wait_for(lambda: victim not in mh.agents_alive(), 30, f"{victim} seen dead")
    wait_for(lambda: all(c.owners().get(p) not in (None, victim) for p in held), 30,
             f"{victim}'s partitions re-homed", every=0.5)
    mh.start_agent(victim)
    wait_for(lambda: victim in mh.agents_alive(), 30, f"{victim} back")
    return len(held)
