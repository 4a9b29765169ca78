"""core.certs: secret references, sealing with the storage key, and PKCS12/PEM parsing.

Every key and certificate is generated here, in the test; no key material is committed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from bigip_lbaas.core.certs import (
    InvalidBundle,
    InvalidStorageKey,
    UndecryptablePayload,
    generate_storage_key,
    parse_pem_certificates,
    parse_pem_crl,
    parse_pkcs12,
    parse_storage_key,
    seal,
    secret_id_from_ref,
    unseal,
)

SID = "0b5c3c0e-6a1e-4f5e-9a37-1d2b3c4d5e6f"
NOW = dt.datetime.now(dt.UTC)


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
          signer: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256()))


@pytest.fixture(scope="module")
def chain() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, x509.Certificate,
                     ec.EllipticCurvePrivateKey]:
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    inter = _cert("inter", inter_key, "root", root_key, ca=True)
    leaf = _cert("www.example.test", leaf_key, "inter", inter_key, ca=False)
    return leaf_key, leaf, inter, root_key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def test_pkcs12_gives_certificate_unencrypted_key_and_intermediates(chain: tuple) -> None:
    leaf_key, leaf, inter, _ = chain
    data = pkcs12.serialize_key_and_certificates(b"tls", leaf_key, leaf, [inter],
                                                 serialization.NoEncryption())
    bundle = parse_pkcs12(data)
    assert bundle.certificate == _pem(leaf)
    assert bundle.intermediates == (_pem(inter),)
    assert bundle.private_key.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(bundle.private_key, None)
    assert loaded.public_key() == leaf_key.public_key()


def test_pkcs12_without_intermediates(chain: tuple) -> None:
    leaf_key, leaf, _, _ = chain
    data = pkcs12.serialize_key_and_certificates(None, leaf_key, leaf, None,
                                                 serialization.NoEncryption())
    assert parse_pkcs12(data).intermediates == ()


def test_pkcs12_refusals_carry_no_payload(chain: tuple) -> None:
    leaf_key, leaf, _, _ = chain
    locked = pkcs12.serialize_key_and_certificates(
        None, leaf_key, leaf, None, serialization.BestAvailableEncryption(b"pw"))
    no_key = pkcs12.serialize_key_and_certificates(None, None, leaf, None,
                                                   serialization.NoEncryption())
    garbage = b"-----BEGIN NOT A BUNDLE-----"
    for data in (locked, no_key, garbage, _pem(leaf)):
        with pytest.raises(InvalidBundle) as err:
            parse_pkcs12(data)
        assert "BEGIN" not in str(err.value)


def test_pem_certificates_and_crl(chain: tuple) -> None:
    _, leaf, inter, root_key = chain
    assert parse_pem_certificates(_pem(leaf) + _pem(inter)) == (_pem(leaf), _pem(inter))
    with pytest.raises(InvalidBundle):
        parse_pem_certificates(b"nothing here")
    crl = (x509.CertificateRevocationListBuilder()
           .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "root")]))
           .last_update(NOW).next_update(NOW + dt.timedelta(days=1))
           .sign(root_key, hashes.SHA256()))
    pem = crl.public_bytes(serialization.Encoding.PEM)
    assert parse_pem_crl(pem) == pem
    with pytest.raises(InvalidBundle):
        parse_pem_crl(_pem(leaf))


@given(st.binary(max_size=2048))
def test_seal_then_unseal_is_identity(payload: bytes) -> None:
    key = parse_storage_key(generate_storage_key())
    sealed = seal(key, SID, payload)
    assert unseal(key, SID, sealed) == payload
    assert len(payload) < 8 or payload not in sealed


def test_sealed_payload_is_bound_to_its_key_and_secret() -> None:
    key, other = (parse_storage_key(generate_storage_key()) for _ in range(2))
    sealed = seal(key, SID, b"payload")
    with pytest.raises(UndecryptablePayload):
        unseal(other, SID, sealed)
    with pytest.raises(UndecryptablePayload):
        unseal(key, SID.replace("0b5c", "1b5c"), sealed)  # copied onto another row
    with pytest.raises(UndecryptablePayload):
        unseal(key, SID, b"\x02" + sealed[1:])
    assert seal(key, SID, b"payload") != sealed  # a fresh nonce each time


def test_storage_key_format() -> None:
    assert len(parse_storage_key(generate_storage_key() + "\n")) == 32
    for bad in ("", "not base64!", "c2hvcnQ="):
        with pytest.raises(InvalidStorageKey):
            parse_storage_key(bad)


def test_secret_id_from_ref() -> None:
    base = "http://127.0.0.1:9876/key-manager/v1/secrets/"
    assert secret_id_from_ref(base + SID) == SID
    assert secret_id_from_ref(base + SID.upper() + "/") == SID
    assert secret_id_from_ref(SID) == SID
    assert secret_id_from_ref("https://barbican:9311/v1/secrets/" + SID) == SID
    for bad in (base + "nope", base + SID + "/payload", "", "http://x/v1/containers/" + SID):
        assert secret_id_from_ref(bad) is None
