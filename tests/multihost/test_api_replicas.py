"""Scenario 7: two API replicas behind a client that retries on the other; one is killed (-9)
in the middle of a stream of writes.

No acknowledged write is lost (each is on the devices or in ERROR with a reason), and no request
gets a 5xx: the API is stateless, every write is one database transaction, so the survivor
answers everything the client sends it.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.cluster import PY, Proc, free_ports, port_open, wait_for
from tests.multihost.harness import MultiHost, Workload, check_invariants, ensure_subnet

PROJECTS = [f"ar{i}" for i in range(4)]


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_killed_api_replica_loses_no_acknowledged_write(multihost: MultiHost) -> None:
    mh = multihost.start(agents=("h1", "h2"))
    c = mh.c
    # A port found free by binding it, not the first API's port + 1: that one was never checked
    # and can be any process's (an outgoing connection's ephemeral port: 'address already in use').
    port = free_ports(1)
    over = c.workdir / "api2.conf"
    over.write_text(f"[api_settings]\nbind_port = {port}\n")
    replica = Proc("api2", [PY, "-m", "bigip_lbaas.cli", "api", "--config-file",
                            str(c.workdir / "common.conf"), "--config-file", str(over)],
                   c.workdir / "api2.log").start()
    try:
        wait_for(lambda: port_open(port) or not replica.alive, 30, "second API replica")
        assert replica.alive, replica.output()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as second, \
                httpx.Client(base_url=c.api_url, timeout=30) as first:
            # The replica about to die is tried first; the client moves on to the other.
            work = Workload([second, first], PROJECTS, seed=7)
            work.setup(ensure_subnet(first))
            errors: list[BaseException] = []

            def changes() -> None:
                try:
                    for _ in range(60):
                        work.step()
                        time.sleep(0.03)
                except BaseException as err:
                    errors.append(err)

            streamer = threading.Thread(target=changes, daemon=True)
            streamer.start()
            time.sleep(1.0)
            replica.kill9()
            streamer.join(timeout=120)
            assert not errors, errors
            assert work.retried > 0, "the kill happened after the stream"
            assert not [s for s in work.statuses if s >= 500], work.statuses
            check_invariants(mh, work, PROJECTS)
    finally:
        replica.terminate()
