"""Certificates and stored secrets, without I/O: what a secret reference names, how a stored
payload is sealed, and what a PKCS12 bundle or a PEM file holds.

- `CertificateSource` is what the API (reference validation) and the agents (at reconcile time)
  ask for a secret's bytes; `db.secrets.DatabaseSecrets` is the built-in store's implementation.
- `seal`/`unseal`: AES-256-GCM with the storage key; the secret's id is the associated data, so a
  ciphertext copied onto another row does not decrypt.
- `parse_pkcs12`: certificate, private key (unencrypted PEM) and intermediates, as Octavia's
  Barbican certificate manager reads a bundle.

Decrypted payloads and keys are returned to the caller and kept nowhere here; nothing in this
module logs, and no error message carries payload bytes.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs12

from bigip_lbaas.core.errors import BigipLbaasError

KEY_BYTES = 32
NONCE_BYTES = 12
# The first byte of every sealed payload: the format, so that another can follow.
SEALED_V1 = b"\x01"
_REF = re.compile(r"(?:^|/)secrets/([0-9a-fA-F-]{36})/?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SecretNotFound(BigipLbaasError):
    """The reference names no secret this project may use (unknown, another's, expired, empty)."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(f"secret {ref} not found")


class InvalidStorageKey(BigipLbaasError):
    """The storage key is not 32 bytes of URL-safe base64 (the key itself is never shown)."""


class UndecryptablePayload(BigipLbaasError):
    """A stored payload does not decrypt with this key (another key, or a damaged row)."""


class InvalidBundle(BigipLbaasError):
    """A payload is not what it must be (PKCS12 without a passphrase, PEM certificates)."""


class CertificateSource(Protocol):
    """Where secrets come from: the built-in store or, later, a real Barbican."""

    def get_secret(self, ref: str, project_id: str) -> bytes:
        """The payload of `ref` if it belongs to `project_id`; raises SecretNotFound otherwise."""
        ...


@dataclass(frozen=True)
class TlsBundle:
    """A certificate with its key: PEM bytes, the key unencrypted (keep it in memory only)."""

    certificate: bytes
    private_key: bytes
    intermediates: tuple[bytes, ...] = ()


def secret_id_from_ref(ref: str) -> str | None:
    """The secret id of a reference: a bare UUID or a URL ending in `/secrets/<uuid>`."""
    text = ref.strip()
    if _UUID.match(text):
        return text.lower()
    found = _REF.search(text.split("?", 1)[0])
    if found and _UUID.match(found.group(1)):
        return found.group(1).lower()
    return None


def generate_storage_key() -> str:
    """A new storage key as a file holds it: 32 random bytes, URL-safe base64, one line."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def parse_storage_key(text: str) -> bytes:
    """The 32-byte key from a key file's text (the format `Fernet.generate_key()` also writes)."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidStorageKey("not URL-safe base64") from None
    if len(key) != KEY_BYTES:
        raise InvalidStorageKey(f"decodes to {len(key)} bytes, not {KEY_BYTES}")
    return key


def seal(key: bytes, secret_id: str, payload: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return SEALED_V1 + nonce + AESGCM(key).encrypt(nonce, payload, secret_id.encode("ascii"))


def unseal(key: bytes, secret_id: str, sealed: bytes) -> bytes:
    if not sealed.startswith(SEALED_V1) or len(sealed) < 1 + NONCE_BYTES + 16:
        raise UndecryptablePayload(f"secret {secret_id}: unknown sealed format")
    nonce, body = sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, secret_id.encode("ascii"))
    except InvalidTag:
        raise UndecryptablePayload(
            f"secret {secret_id} does not decrypt with the storage key") from None


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def parse_pkcs12(data: bytes) -> TlsBundle:
    """Certificate, unencrypted private key and intermediates of a PKCS12 bundle that has no
    passphrase (Octavia refuses passphrase-protected bundles too)."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, None)
    except (ValueError, TypeError):
        raise InvalidBundle("not a PKCS12 bundle without a passphrase") from None
    if cert is None:
        raise InvalidBundle("the PKCS12 bundle holds no certificate")
    if key is None:
        raise InvalidBundle("the PKCS12 bundle holds no private key")
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return TlsBundle(certificate=_pem(cert), private_key=private,
                     intermediates=tuple(_pem(c) for c in extra))


def parse_pem_certificates(data: bytes) -> tuple[bytes, ...]:
    """Every certificate of a PEM file (a CA bundle), each re-encoded; at least one."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InvalidBundle("not PEM-encoded certificates") from None
    return tuple(_pem(c) for c in certs)


def parse_pem_crl(data: bytes) -> bytes:
    """A PEM certificate revocation list, re-encoded."""
    try:
        crl = x509.load_pem_x509_crl(data)
    except ValueError:
        raise InvalidBundle("not a PEM-encoded certificate revocation list") from None
    return crl.public_bytes(serialization.Encoding.PEM)
