"""Fixtures for the simulator tests: a simulator in a thread and clients that trust its CA."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimHandle]:
    """Two simulated devices on free loopback ports; requests-based clients trust the CA."""
    with run_sim_in_thread(devices=2) as handle:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(handle.ca_file))
        monkeypatch.setenv("CURL_CA_BUNDLE", str(handle.ca_file))
        yield handle


@pytest.fixture
def http(sim: SimHandle) -> Iterator[httpx.Client]:
    """A plain httpx client on device 1 with basic auth."""
    with sim.client(1, timeout=10.0) as client:
        yield client
