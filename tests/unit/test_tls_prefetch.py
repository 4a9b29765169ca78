"""api/tls.py: a remote certificate store is read outside the write transaction, and what it
answered (a payload or a refusal) is what the checks inside the transaction see."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from bigip_lbaas.api import tls
from bigip_lbaas.config import options
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


def _conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    options.register(conf)
    conf([], project="bigip-lbaas-test", default_config_files=[])
    return conf


def test_defaults_fill_left_out_fields_on_create_and_null_ones_on_put() -> None:
    conf = _conf()
    created: dict[str, object] = {"tls_enabled": True, "tls_versions": ["TLSv1.3"]}
    tls.pool_defaults(conf, created)
    assert created["tls_versions"] == ["TLSv1.3"]  # asked for: kept
    assert created["tls_ciphers"] == conf.api_settings.default_pool_ciphers
    assert created["alpn_protocols"] == list(conf.api_settings.default_pool_alpn_protocols)

    put: dict[str, object] = {"tls_ciphers": None, "alpn_protocols": None}
    tls.pool_put_defaults(conf, put)
    # Octavia's pool PUT resets a null cipher string, leaves a null ALPN list null, and does
    # not add what the PUT left out.
    assert put == {"tls_ciphers": conf.api_settings.default_pool_ciphers, "alpn_protocols": None}

    listener_put: dict[str, object] = {"alpn_protocols": None}
    tls.listener_put_defaults(conf, listener_put)
    assert listener_put == {
        "alpn_protocols": list(conf.api_settings.default_listener_alpn_protocols)}
