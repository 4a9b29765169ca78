"""Fixtures of the multi-host suite: skip (or, in CI, fail) where namespaces are not allowed;
one `MultiHost` per test, torn down whatever happens; `disruptive` tests run last."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import in_ci
from tests.multihost.harness import MultiHost
from tests.multihost.net import netns_unavailable

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


@pytest.fixture
def multihost(db_url: str, tmp_path: Path) -> Iterator[MultiHost]:
    """Three agent hosts h1..h3 in their own namespaces, a simulated pair, one API."""
    require_netns()
    mh = MultiHost(tmp_path, db_url)
    try:
        yield mh
    finally:
        mh.close()
