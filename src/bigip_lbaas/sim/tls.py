"""TLS material for the simulator: a private CA and one server certificate signed by it.

Owns generating (or reusing) the CA and the leaf certificate valid for 127.0.0.1, ::1 and
localhost, and building the server `ssl.SSLContext`. Clients verify with the CA file.
When a state file is given, the material lives next to it and is reused across restarts,
so a client that trusted the CA before a restart still trusts it after.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files a server and its clients need."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    temp_dir: Path | None = None  # set when the files live in a directory we created


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate(directory: Path, prefix: str = "sim") -> TlsFiles:
    """Create a CA and a server certificate under `directory` and return their paths."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bigip-lbaas simulator CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_file=directory / f"{prefix}-ca.pem",
        cert_file=directory / f"{prefix}-cert.pem",
        key_file=directory / f"{prefix}-key.pem",
    )
    _write(files.key_file, _pem_key(key), 0o600)
    _write(files.cert_file, cert.public_bytes(serialization.Encoding.PEM))
    _write(files.ca_file, ca_cert.public_bytes(serialization.Encoding.PEM))
    return files


def prepare(state_file: Path | None, cert: Path | None = None, key: Path | None = None) -> TlsFiles:
    """Return usable TLS files: supplied ones, reused ones next to the state, or fresh ones."""
    if cert is not None:
        if key is None:
            raise ValueError("--cert needs --key")
        return TlsFiles(ca_file=cert, cert_file=cert, key_file=key)
    if state_file is not None:
        directory = state_file.resolve().parent
        prefix = state_file.name
        files = TlsFiles(
            ca_file=directory / f"{prefix}-ca.pem",
            cert_file=directory / f"{prefix}-cert.pem",
            key_file=directory / f"{prefix}-key.pem",
        )
        if all(p.exists() for p in (files.ca_file, files.cert_file, files.key_file)):
            try:
                server_context(files)
                return files
            except (ssl.SSLError, OSError):
                pass
        return generate(directory, prefix)
    directory = Path(tempfile.mkdtemp(prefix="bigip-sim-"))
    files = generate(directory)
    return TlsFiles(files.ca_file, files.cert_file, files.key_file, directory)


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The server-side TLS context for every simulated device."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(files.cert_file), str(files.key_file))
    return ctx
