"""db/addresses.py's commit log: which addresses this process committed on a subnet after a
probe read the database, so that the probe skips them without asking the database again, and
"cannot tell" once the log no longer reaches back that far."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bigip_lbaas.db import addresses


@pytest.fixture(autouse=True)
def clean_log() -> Iterator[None]:
    saved = (dict(addresses._commits), dict(addresses._committed), dict(addresses._pruned))
    for state in (addresses._commits, addresses._committed, addresses._pruned):
        state.clear()
    yield
    for state, old in zip((addresses._commits, addresses._committed, addresses._pruned), saved,
                          strict=True):
        state.clear()
        state.update(old)  # type: ignore[attr-defined]


def since(subnet: str, address: str, seen: int) -> bool | None:
    with addresses._hints_lock:
        return addresses._committed_since(subnet, address, seen)


def commit(*pairs: tuple[str, str]) -> None:
    with addresses._hints_lock:
        addresses._log_commit(pairs)


def test_an_address_committed_after_the_probe_read_is_reported() -> None:
    commit(("s1", "10.0.0.1"))
    seen = addresses._commits["s1"]  # a probe reads the database now
    commit(("s1", "10.0.0.2"), ("s1", "10.0.0.3"), ("s2", "10.0.0.2"))
    assert since("s1", "10.0.0.1", seen) is False  # committed before: the probe saw it
    assert since("s1", "10.0.0.2", seen) is True and since("s1", "10.0.0.3", seen) is True
    assert since("s1", "10.0.0.4", seen) is False  # never committed here
    assert since("s2", "10.0.0.2", 0) is True  # counted per subnet
    assert since("s3", "10.0.0.2", 0) is False


def test_a_pruned_log_cannot_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addresses, "COMMIT_LOG", 3)
    seen = 0
    for n in range(1, 6):
        commit(("s1", f"10.0.0.{n}"))
    assert len(addresses._committed["s1"]) == 3  # .3 .4 .5 kept
    # .1 and .2 were pruned: a probe from before them cannot rule out any address...
    assert since("s1", "10.0.0.1", seen) is None and since("s1", "10.0.0.9", seen) is None
    assert since("s1", "10.0.0.4", seen) is True  # ...but knows the ones still logged
    # A probe from after the pruned commits is answered from the log alone.
    assert since("s1", "10.0.0.9", 2) is False and since("s1", "10.0.0.5", 4) is True


def test_an_address_committed_again_moves_to_the_newest_end(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addresses, "COMMIT_LOG", 2)
    commit(("s1", "10.0.0.1"))
    commit(("s1", "10.0.0.2"))
    commit(("s1", "10.0.0.1"))  # freed and handed out again
    commit(("s1", "10.0.0.3"))  # prunes .2, the oldest, not .1
    assert list(addresses._committed["s1"]) == ["10.0.0.1", "10.0.0.3"]
    assert since("s1", "10.0.0.1", 2) is True
