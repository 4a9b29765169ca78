"""api/tls.py: a remote certificate store is read outside the write transaction, and what it
answered (a payload or a refusal) is what the checks inside the transaction see."""

from __future__ import annotations

import pytest

from bigip_lbaas.api import tls
from bigip_lbaas.core.certs import SecretNotFound


class Remote:
    """A store that records whether it was asked while a transaction was open."""

    def __init__(self) -> None:
        self.in_transaction = False
        self.asked: list[tuple[str, str, bool]] = []

    def get_secret(self, ref: str, project_id: str) -> bytes:
        self.asked.append((ref, project_id, self.in_transaction))
        if ref == "unknown":
            raise SecretNotFound(ref)
        return ref.encode()


def test_reads_happen_outside_the_transaction_and_each_ref_once() -> None:
    remote = Remote()
    source = tls.Prefetched(remote)
    runs = 0

    def transaction() -> list[bytes]:
        nonlocal runs
        runs += 1
        remote.in_transaction = True
        try:
            return [source.get_secret(ref, "p1") for ref in ("a", "b", "a")]
        finally:
            remote.in_transaction = False

    assert tls.write(transaction) == [b"a", b"b", b"a"]
    assert remote.asked == [("a", "p1", False), ("b", "p1", False)]
    assert runs == 3  # one round per reference read, then the one that commits


def test_a_refusal_read_outside_is_raised_inside() -> None:
    remote = Remote()
    source = tls.Prefetched(remote)
    with pytest.raises(SecretNotFound):
        tls.write(lambda: source.get_secret("unknown", "p1"))
    assert remote.asked == [("unknown", "p1", False)]
