"""F5's agent 9.6.0 as it leaves a device: the recorded writes of `../shared/fixtures/
f5-agent-9.6.0/` (the writes the unmodified agent sends to build `graph.json`), replayed in order.

Used by the simulator's read-back test and by the take-over and `diff --adopt` tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

FIXTURE = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "f5-agent-9.6.0"


def graph() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURE / "graph.json").read_text())
    return data


def writes() -> list[dict[str, Any]]:
    lines = (FIXTURE / "writes.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def replay(client: httpx.Client) -> None:
    """Send every recorded write in order; each must get the status F5's agent got."""
    for w in writes():
        r = client.request(w["method"], w["path"], json=w["body"])
        assert r.status_code == w["status"], (w["seq"], r.status_code, r.text)
