"""Certificates, keys and CRLs as the device reads them from PEM files.

Owns parsing the PEM of a `sys/file/ssl-cert`, `ssl-key` or `ssl-crl` object into the fields a
device shows (`fingerprint` `SHA256/…`, `subject`, `issuer`, `expirationString`, key type and
size, `checksum` `SHA1:<size>:<sha1>`), the public-key identity that decides whether a key and a
certificate are a pair, and `redact`, which removes private-key PEM blocks from any text before
it can reach an error message. Pure functions over bytes; nothing here logs, and no exception
raised here carries file content.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


class PemError(ValueError):
    """A file that is not what its object type needs; the message names no content."""


_PRIVATE_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_NAME_OVERRIDES = {NameOID.EMAIL_ADDRESS: "emailAddress"}


def redact(text: str) -> str:
    """`text` with every PEM private-key block (complete or cut off) replaced."""
    if "PRIVATE KEY" not in text:
        return text
    return _PRIVATE_PEM.sub("<private key redacted>", text)


def _timestamp(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_string() -> str:
    """The device's `createTime`/`lastUpdateTime` format."""
    return _timestamp(datetime.datetime.now(datetime.UTC))


def _openssl_date(when: datetime.datetime) -> str:
    """OpenSSL's `notAfter` format, as `expirationString` shows it: `Jun  5 16:46:09 2036 GMT`."""
    return f"{when:%b} {when.day:2d} {when:%H:%M:%S %Y} GMT"


def _checksum(data: bytes) -> str:
    return f"SHA1:{len(data)}:{hashlib.sha1(data, usedforsecurity=False).hexdigest()}"


def _spki_id(public_key: Any) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _curve(public_key: Any) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        name = public_key.curve.name
        return {"secp256r1": "prime256v1"}.get(name, name)
    return "none"


def _key_kind(public_key: Any) -> str:
    if isinstance(public_key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ec"
    return "dsa"


def _key_size(public_key: Any) -> int:
    size = getattr(public_key, "key_size", None)
    if isinstance(size, int):
        return size
    curve = getattr(public_key, "curve", None)
    return int(getattr(curve, "key_size", 0))


def _name(name: x509.Name) -> str:
    return name.rfc4514_string(_NAME_OVERRIDES)


def certificate_info(data: bytes) -> tuple[dict[str, Any], str]:
    """The fields a device shows for a certificate file, and the public-key identity of its
    first certificate. A file of several certificates is a bundle (a CA file)."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise PemError("the file is not a PEM certificate") from exc
    cert = certs[0]
    public_key = cert.public_key()
    fingerprint = cert.fingerprint(hashes.SHA256()).hex().upper()
    expires = cert.not_valid_after_utc
    info: dict[str, Any] = {
        "certificateKeyCurveName": _curve(public_key),
        "certificateKeySize": _key_size(public_key),
        "checksum": _checksum(data),
        "expirationDate": int(expires.timestamp()),
        "expirationString": _openssl_date(expires),
        "fingerprint": "SHA256/"
        + ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)),
        "isBundle": "true" if len(certs) > 1 else "false",
        "issuer": _name(cert.issuer),
        "keyType": f"{_key_kind(public_key)}-public",
        "serialNumber": str(cert.serial_number),
        "size": len(data),
        "subject": _name(cert.subject),
        "version": cert.version.value + 1,
    }
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        pass
    else:
        names = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
        names += [f"IP Address:{a}" for a in san.get_values_for_type(x509.IPAddress)]
        if names:
            info["subjectAlternativeName"] = ", ".join(names)
    return info, _spki_id(public_key)


def key_info(data: bytes, passphrase: str | None) -> tuple[dict[str, Any], str]:
    """The fields a device shows for a private key file, and its public-key identity."""
    if b"PRIVATE KEY-----" not in data:
        raise PemError("the file is not a PEM private key")
    password = passphrase.encode() if passphrase else None
    try:
        key = serialization.load_pem_private_key(data, password)
    except TypeError as exc:  # encrypted without a passphrase, or a passphrase for a plain key
        raise PemError("the key's passphrase is missing or not needed") from exc
    except ValueError as exc:  # wrong passphrase or not a key: cryptography names no content
        raise PemError(
            "the file is not a usable PEM private key (or the passphrase is wrong)"
        ) from exc
    public_key = key.public_key()
    info: dict[str, Any] = {
        "checksum": _checksum(data),
        "curveName": _curve(public_key),
        "keySize": _key_size(public_key),
        "keyType": f"{_key_kind(public_key)}-private",
        "securityType": "password" if password else "normal",
        "size": len(data),
    }
    return info, _spki_id(public_key)


def pkcs12_pair(data: bytes, passphrase: str | None) -> tuple[bytes, bytes]:
    """The private key (PEM, PKCS8, unencrypted) and certificate (PEM) of a PKCS12 bundle, as
    `sys crypto pkcs12 install` takes them; PemError (naming no content) when the bundle cannot
    be read, lacks either, or its key is not its certificate's."""
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(
            data, passphrase.encode() if passphrase else None)
    except (TypeError, ValueError) as exc:
        raise PemError("the file is not a PKCS12 bundle (or the passphrase is wrong)") from exc
    if key is None or cert is None:
        raise PemError("the PKCS12 bundle does not hold a certificate with its private key")
    if _spki_id(key.public_key()) != _spki_id(cert.public_key()):
        raise PemError("key and certificate do not match")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def crl_info(data: bytes) -> dict[str, Any]:
    """The fields shown for a CRL file (`sys/file/ssl-crl`)."""
    try:
        crl = x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise PemError("the file is not a PEM certificate revocation list") from exc
    info: dict[str, Any] = {
        "checksum": _checksum(data),
        "issuer": _name(crl.issuer),
        "size": len(data),
    }
    if crl.next_update_utc is not None:
        info["nextUpdate"] = _openssl_date(crl.next_update_utc)
    return info


@functools.cache
def default_pair() -> tuple[bytes, bytes]:
    """`/Common/default.crt` and `/Common/default.key`: a self-signed certificate every device
    ships (one per simulator process; EC P-256 so that seeding stays cheap)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Seattle"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MyCompany"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IT"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost.localdomain"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
