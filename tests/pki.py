"""Test certificates made on the spot: a CA, its CRL, server certificates in PKCS12 bundles (as
Octavia's users store them in Barbican), and a bundle whose key does not match its certificate."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert_pem: bytes) -> str:
    """The device's form: ``SHA256/AA:BB:…``."""
    digest = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex().upper()
    return "SHA256/" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@dataclass
class Pki:
    """A CA that issues server certificates (each a PKCS12 bundle) and a CRL."""

    name: str = "Test CA"
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(
        ec.SECP256R1()))

    def __post_init__(self) -> None:
        self.cert = (
            x509.CertificateBuilder().subject_name(_name(self.name)).issuer_name(_name(self.name))
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256()))

    @property
    def ca_pem(self) -> bytes:
        return pem(self.cert)

    def issue(self, host: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder().subject_name(_name(host)).issuer_name(self.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW).not_valid_after(NOW + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(self.key, hashes.SHA256()))
        return cert, key

    def pkcs12(self, host: str) -> tuple[bytes, bytes]:
        """(PKCS12 bundle without a passphrase, the certificate's PEM)."""
        cert, key = self.issue(host)
        bundle = pkcs12.serialize_key_and_certificates(
            host.encode(), key, cert, [self.cert], serialization.NoEncryption())
        return bundle, pem(cert)

    def key_pair(self, host: str) -> tuple[bytes, bytes]:
        """(certificate PEM, unencrypted private key PEM) of a new server certificate."""
        cert, key = self.issue(host)
        return pem(cert), key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())

    def crl_pem(self, *, signer: ec.EllipticCurvePrivateKey | None = None) -> bytes:
        crl = (
            x509.CertificateRevocationListBuilder().issuer_name(self.cert.subject)
            .last_update(NOW).next_update(NOW + datetime.timedelta(days=30))
            .sign(signer or self.key, hashes.SHA256()))
        return crl.public_bytes(serialization.Encoding.PEM)

    @staticmethod
    def pkcs12_key_lines(bundle: bytes) -> list[str]:
        """The base64 lines of a bundle's private key as PEM: what a leak would show."""
        key, _, _ = pkcs12.load_key_and_certificates(bundle, None)
        assert key is not None
        text = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
        return [line for line in text.splitlines() if line and "-----" not in line]
