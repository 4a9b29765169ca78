"""The harness's own hygiene: blocks picked without clashes, leftovers of dead runs swept, and a
SIGTERM to pytest still tearing a multi-host test down."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.cluster import wait_for
from tests.multihost import net
from tests.multihost.harness import MultiHost
from tests.multihost.net import Network, run_dir, sweep

ROOT = Path(__file__).resolve().parents[2]


def namespaces(tag: str) -> list[str]:
    out = net.ip("netns", "list").stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"bl-{tag}-")]


def veths(tag: str) -> list[str]:
    return [d for d in net._veths() if d.startswith(f"bl{tag}")]


def ns_pids(ns: str) -> list[str]:
    return net.ip("netns", "pids", ns).stdout.split()


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_blocks_picked_at_once_never_clash(swept: list[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Always the lowest free block: without the lock and the records, all would take the same."""
    monkeypatch.setattr("tests.multihost.net.secrets.randbelow", lambda n: 0)
    start = threading.Barrier(6)
    made: list[Network] = []

    def pick() -> None:
        start.wait(timeout=30)
        made.append(Network())

    threads = [threading.Thread(target=pick) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert len(made) == 6
        octets = [n.octet for n in made]
        assert len(set(octets)) == 6, octets
        recorded = {r["tag"]: r["octet"] for r in net.records()}
        assert all(recorded[n.tag] == n.octet for n in made)
    finally:
        for n in made:
            n.close()
    assert not {n.tag for n in made} & {r["tag"] for r in net.records()}


def test_sweep_removes_a_dead_runs_namespaces_veths_and_processes(swept: list[str],
                                                                  tmp_path: Path) -> None:
    dead = Network()
    live = Network()
    procs: list[subprocess.Popen[bytes]] = []
    foreign = f"xx-{dead.tag}-h1"  # the dead run's tag without the harness's prefix
    try:
        for n in (dead, live):
            n.add("svc")
            n.add("h1")
        work = tmp_path / "dead-run"
        work.mkdir()
        dead.set_workdir(work)
        with (work / "sim.log").open("ab") as log:  # like the simulator: root namespace, a log
            procs.append(subprocess.Popen(["sleep", "300"], stdout=log, start_new_session=True))
        procs.append(subprocess.Popen(dead.wrap("h1", ["sleep", "300"]), start_new_session=True))
        procs.append(subprocess.Popen(live.wrap("h1", ["sleep", "300"]), start_new_session=True))
        net.ip("netns", "add", foreign)
        wait_for(lambda: ns_pids(dead.links["h1"].ns), 10,
                 "a process inside the dead run's namespace")
        record = run_dir() / f"{dead.tag}.json"
        data = json.loads(record.read_text())
        data["pid"] = dead_pid()  # its owner died without tearing down
        record.write_text(json.dumps(data))

        removed = sweep()

        assert namespaces(dead.tag) == [] and veths(dead.tag) == []
        assert set(removed) >= {f"bl-{dead.tag}-svc", f"bl-{dead.tag}-h1"}
        assert not record.exists()
        for p in procs[:2]:
            assert p.wait(timeout=10) == -signal.SIGKILL
        # The live run and a name without the prefix are untouched.
        assert procs[2].poll() is None
        assert len(namespaces(live.tag)) == 2 and len(veths(live.tag)) == 2
        assert (run_dir() / f"{live.tag}.json").exists()
        assert foreign in net.ip("netns", "list").stdout
        assert all(re.fullmatch(r"bl-[0-9a-f]{6}-\S+|bl[0-9a-f]{6}[rn]\d+", r) for r in removed)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        net.ip("netns", "del", foreign, check=False)
        dead.close()
        live.close()
    assert namespaces(live.tag) == []


@pytest.mark.skipif(not os.environ.get("BL_INNER_SIGTERM"), reason="run by the test below")
@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_inner_waits_to_be_terminated(multihost: MultiHost) -> None:
    mh = multihost.start(agents=["h1"])
    Path(os.environ["BL_INNER_SIGTERM"]).write_text(json.dumps(
        {"tag": mh.net.tag, "workdir": str(mh.workdir)}))
    time.sleep(240)


def test_sigterm_to_pytest_tears_the_test_down(swept: list[str], tmp_path: Path) -> None:
    marker = tmp_path / "inner.json"
    env = {**os.environ, "BL_INNER_SIGTERM": str(marker)}
    inner = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:f5sdk_fixtures", "-p", "no:cacheprovider",
         f"{__file__}::test_inner_waits_to_be_terminated"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: marker.exists() or inner.poll() is not None, 120, "the inner test to run")
        assert marker.exists(), inner.communicate(timeout=10)[0].decode()
        started = json.loads(marker.read_text())
        assert namespaces(started["tag"])
        assert net._holders(started["workdir"])  # simulator, API, agent
        inner.send_signal(signal.SIGTERM)
        out = inner.communicate(timeout=90)[0].decode()
    finally:
        if inner.poll() is None:
            inner.kill()
            inner.wait(timeout=10)
    assert "KeyboardInterrupt" in out, out
    assert namespaces(started["tag"]) == [] and veths(started["tag"]) == [], out
    assert not (run_dir() / f"{started['tag']}.json").exists()
    assert net._holders(started["workdir"]) == set(), out


def test_sweep_of_unrecorded_namespaces_spares_busy_ones(swept: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A `bl-` namespace without a record (older code) goes once old, unless a process runs in
    it."""
    monkeypatch.setattr(net, "ORPHAN_AGE", -1.0)
    idle, busy = f"bl-{secrets.token_hex(3)}-h1", f"bl-{secrets.token_hex(3)}-h1"
    net.ip("netns", "add", idle)
    net.ip("netns", "add", busy)
    proc = subprocess.Popen(["ip", "netns", "exec", busy, "sleep", "300"])
    try:
        wait_for(lambda: ns_pids(busy), 10, "a process inside")
        removed = sweep()
        listed = net.ip("netns", "list").stdout
        assert idle in removed and idle not in listed
        assert busy not in removed and busy in listed and proc.poll() is None
    finally:
        proc.kill()
        proc.wait(timeout=10)
        net.ip("netns", "del", idle, check=False)
        net.ip("netns", "del", busy, check=False)
