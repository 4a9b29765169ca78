"""Simulated BIG-IPs on loopback for the device tests, plus a client factory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with run_sim_in_thread(devices=3) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _devices_up(sim: SimHandle) -> None:
    for n in (1, 2, 3):
        sim.control("POST", "up", device=n)
        sim.control("DELETE", "faults", device=n)


def make_client(sim: SimHandle, device: int = 1, **kw: Any) -> BigipClient:
    kw.setdefault("verify", str(sim.ca_file))
    kw.setdefault("retries", 1)
    kw.setdefault("backoff", 0.05)
    return BigipClient("127.0.0.1", sim.username, sim.password, port=sim.ports[device - 1], **kw)


def writes(sim: SimHandle, device: int = 1) -> int:
    counts = sim.control("GET", "counters", device=device)["methods"]
    return sum(v for k, v in counts.items() if k not in ("GET", "total"))
