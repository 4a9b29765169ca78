"""Fixtures of the multi-host suite: skip (or, in CI, fail) where namespaces are not allowed;
one `MultiHost` per test, torn down whatever happens (a SIGTERM to pytest included); what a run
killed harder left behind is swept before the first multi-host test; `disruptive` tests run
last."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tests.databases import in_ci
from tests.multihost.harness import MultiHost
from tests.multihost.net import netns_unavailable, sweep

_why: list[str | None] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Disruptive tests after all others, so a database restart never hits another test."""
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)


def require_netns() -> None:
    if not _why:
        _why.append(netns_unavailable())
    if _why[0]:
        message = f"multi-host tests need network and UTS namespaces (root): {_why[0]}"
        if in_ci():
            pytest.fail(f"{message}; CI requires them", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def swept() -> list[str]:
    """Once per session, before the first multi-host test: namespaces, veths and processes of
    runs whose owner died (see `net.sweep`)."""
    require_netns()
    removed = sweep()
    if removed:
        print(f"swept what dead multi-host runs left: {' '.join(removed)}")
    return removed


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture
def multihost(swept: list[str], db_url: str, tmp_path: Path) -> Iterator[MultiHost]:
    """Three agent hosts h1..h3 in their own namespaces, a simulated pair, one API.

    While it lives, SIGTERM raises KeyboardInterrupt (in the main thread), so this fixture's
    teardown runs when pytest is terminated; a SIGTERM during the teardown waits for its end."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        mh = MultiHost(tmp_path, db_url)
        mh.net.set_workdir(tmp_path)
        try:
            yield mh
        finally:
            late: list[int] = []
            if main:
                signal.signal(signal.SIGTERM, lambda signum, _frame: late.append(signum))
            mh.close()
            if late:
                raise KeyboardInterrupt(f"signal {late[0]} during teardown")
    finally:
        if main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
