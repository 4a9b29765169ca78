"""agent/certificates.fetch: what a partition's TLS settings name, fetched as its project and
parsed; each secret's problem said without its content."""

from __future__ import annotations

from bigip_lbaas.agent.certificates import NOT_FOUND, fetch
from bigip_lbaas.core.certs import SecretNotFound
from bigip_lbaas.core.model import (
    Listener,
    ListenerTls,
    LoadBalancer,
    PartitionKey,
    PartitionState,
    Pool,
    PoolTls,
)
from bigip_lbaas.engine import tls
from tests.pki import Pki


class Store:
    """A CertificateSource over a dict of (project, ref) → payload."""

    def __init__(self, payloads: dict[tuple[str, str], bytes]) -> None:
        self.payloads = payloads
        self.asked: list[tuple[str, str]] = []

    def get_secret(self, ref: str, project_id: str) -> bytes:
        self.asked.append((project_id, ref))
        try:
            return self.payloads[(project_id, ref)]
        except KeyError:
            raise SecretNotFound(ref) from None


def state() -> PartitionState:
    lst = Listener("l", "TERMINATED_HTTPS", 443, tls=ListenerTls(
        default_ref="cert", sni_refs=("bad", "foreign"), client_authentication="MANDATORY",
        client_ca_ref="ca", client_crl_ref="crl"))
    pool = Pool("p", "HTTP", "ROUND_ROBIN", tls=PoolTls(ca_ref="ca"))
    lb = LoadBalancer("lb", "10.0.0.1", listeners=(lst,), pools=(pool,))
    return PartitionState(PartitionKey("e", "proj"), 1, (lb,))


def test_fetch_parses_and_names_problems() -> None:
    pki = Pki()
    bundle, cert = pki.pkcs12("www.example.com")
    store = Store({("proj", "cert"): bundle, ("proj", "bad"): b"garbage",
                   ("other", "foreign"): bundle, ("proj", "ca"): pki.ca_pem,
                   ("proj", "crl"): pki.crl_pem()})
    got = fetch(store, state())
    assert set(got.pairs) == {"cert"} and got.pairs["cert"].certificate == cert
    assert got.cas == {"ca": pki.ca_pem} and set(got.crls) == {"crl"}
    assert got.problems["foreign"] == NOT_FOUND
    assert "PKCS12" in got.problems["bad"] and "garbage" not in got.problems["bad"]
    assert {p for p, _ in store.asked} == {"proj"}  # always as the partition's project
    assert "PRIVATE KEY" not in repr(got)


def test_nothing_to_fetch_and_no_store() -> None:
    plain = PartitionState(PartitionKey("e", "proj"), 1, (LoadBalancer("lb", "10.0.0.1"),))
    assert fetch(None, plain) is tls.NO_SECRETS
    got = fetch(None, state())
    assert set(got.problems) == {"cert", "bad", "foreign", "ca", "crl"}
    assert "storage_key_file" in got.problems["cert"]
