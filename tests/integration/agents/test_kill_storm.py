"""Scenario 1 of the proof suite, short: kill -9 agents every few seconds during random changes.

Runs the chaos soak command itself (`bench/chaos.py`: real simulator pair, API and agents, a
replacement agent after each kill, 503s and hangs on the devices, 1% of them longer than the
agents' 3 s request timeout) for half a minute and checks that all four invariants it verifies
after quiesce hold, and that its self-test (device 2 tampered with, two real interleaved writers)
shows the checks catch what they should. The longer soaks are benchmarks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_kill_storm_keeps_every_invariant(tmp_path: Path) -> None:
    out = tmp_path / "chaos.json"
    proc = subprocess.run(
        [sys.executable, "bench/chaos.py", "--minutes", "0.5", "--seed", "7", "--agents", "3",
         "--projects", "8", "--kill-min", "3", "--kill-max", "5", "--request-timeout", "3",
         "--timeout-rate", "0.01", "--self-test", "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
    )
    assert out.exists(), proc.stderr[-3000:]
    report = json.loads(out.read_text())
    failed = {k: v for k, v in report["invariants"].items() if not v["pass"]}
    assert not failed, json.dumps(failed, indent=1)[:4000]
    assert report["counts"]["kills"] >= 3
    assert report["faults"]["timeoutRate"] == 0.01
    assert report["faults"]["timeoutHangSeconds"] > report["faults"]["agentRequestTimeoutSeconds"]
    assert report["checker_self_test"]["pass"] is True, report["checker_self_test"]
    assert report["pass"] is True
