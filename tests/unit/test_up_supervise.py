"""`up`'s supervision on an injected clock, with real (instantly exiting) child processes: restarts
back off 1, 2, 4, 8, 10 s; the count starts afresh once a child has run for STABLE_SECONDS; a
crash loop is given up on after RESTART_LIMIT restarts in a row."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bigip_lbaas import up
from bigip_lbaas.up import Child

EXITS = [sys.executable, "-c", "raise SystemExit(3)"]
SLEEPS = [sys.executable, "-c", "import time; time.sleep(60)"]


def dead(child: Child) -> None:
    assert child.proc is not None
    child.proc.wait(timeout=30)


def run_until_started(child: Child, now: float, limit: float) -> float:
    """Tick the supervisor every 0.25 s of injected time until it starts a new process."""
    before = child.proc
    t = now
    while t <= limit:
        up._supervise([child], now=t)
        if child.proc is not before:
            return t
        t += 0.25
    raise AssertionError(f"not restarted by t={limit}")


def test_restarts_back_off_and_give_up_after_the_limit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    child = Child("agent x", EXITS, tmp_path / "x.log")
    child.start(now=0.0)
    t = 0.0
    delays = []
    for _ in range(up.RESTART_LIMIT):
        dead(child)
        died = t + 0.5
        up._supervise([child], now=died)  # notices the exit, schedules the restart
        t = run_until_started(child, died, died + 30)
        delays.append(t - died)
    assert delays == [1.0, 2.0, 4.0, 8.0, up.BACKOFF_CAP]
    dead(child)
    up._supervise([child], now=t + 0.5)
    assert child.gave_up
    up._supervise([child], now=t + 100)  # given up: never started again
    assert child.proc is not None and child.proc.poll() is not None
    out = capsys.readouterr().out
    assert out.count("exited with code 3; restarting in") == up.RESTART_LIMIT
    assert "restarting in 1s (1/5)" in out and "restarting in 8s (4/5)" in out
    assert out.count("giving up") == 1


def test_a_child_that_ran_for_a_minute_starts_a_fresh_count(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    child = Child("agent y", EXITS, tmp_path / "y.log")
    child.start(now=0.0)
    child.restarts = up.RESTART_LIMIT  # as if it had been restarted in a row before
    dead(child)
    up._supervise([child], now=up.STABLE_SECONDS + 1)  # it had run long enough before dying
    assert not child.gave_up
    assert child.restarts == 1
    assert "restarting in 1s (1/5)" in capsys.readouterr().out


def test_a_running_child_resets_its_count_after_a_minute(tmp_path: Path) -> None:
    child = Child("agent z", SLEEPS, tmp_path / "z.log")
    child.start(now=0.0)
    try:
        child.restarts = 3
        up._supervise([child], now=up.STABLE_SECONDS - 1)
        assert child.restarts == 3
        up._supervise([child], now=up.STABLE_SECONDS + 1)
        assert child.restarts == 0
    finally:
        assert child.proc is not None
        child.proc.kill()
        child.proc.wait(timeout=10)


def test_killed_child_is_reported_by_signal_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    child = Child("agent k", SLEEPS, tmp_path / "k.log")
    child.start(now=0.0)
    assert child.proc is not None
    child.proc.kill()
    child.proc.wait(timeout=10)
    up._supervise([child], now=1.0)
    assert "agent k was killed by SIGKILL; restarting in 1s" in capsys.readouterr().out
    child.next_start = None  # do not start it again


def test_each_death_is_told_once_before_its_restart(tmp_path: Path) -> None:
    child = Child("agent e", EXITS, tmp_path / "e.log", identity="up-agent-9")
    child.start(now=0.0)
    told: list[tuple[str | None, int]] = []

    def exited(c: Child) -> None:
        assert c.proc is not None
        told.append((c.identity, c.proc.pid))

    first = child.proc
    dead(child)
    for t in (0.5, 0.75, 1.0):  # noticed, then backing off: told once
        up._supervise([child], now=t, exited=exited)
    assert first is not None and told == [("up-agent-9", first.pid)]
    up._supervise([child], now=1.5, exited=exited)  # restarted
    assert child.proc is not first
    dead(child)
    up._supervise([child], now=2.0, exited=exited)
    assert child.proc is not None and told[-1] == ("up-agent-9", child.proc.pid)
    assert len(told) == 2
    child.next_start = None
