"""Barbican v1 secret wire types (the built-in certificate store under /key-manager).

Barbican's names, not Octavia's: `secret_ref`, `payload_content_type`, `content_types`, ...
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

SECRET_TYPES = ("symmetric", "public", "private", "passphrase", "certificate", "opaque")
TEXT = "text/plain"
# Barbican's supported payload content types; the binary ones travel base64-encoded in a POST.
BINARY_TYPES = ("application/octet-stream", "application/pkcs8", "application/pkix-cert")
# Barbican's limits: max_allowed_secret_in_bytes and max_allowed_request_size_in_bytes.
MAX_SECRET_BYTES = 20000
MAX_REQUEST_BYTES = 25000


def content_type_of(value: str) -> str | None:
    """The stored form of a payload content type (text/plain with any utf-8 charset is text/plain);
    None when the store does not take it."""
    media, _, params = value.lower().replace(" ", "").partition(";")
    if media == TEXT and params in ("", "charset=utf-8"):
        return TEXT
    if media in BINARY_TYPES and not params:
        return media
    return None


class SecretPOST(BaseModel):
    """Barbican's NewSecretValidator schema (unknown properties are ignored, as there)."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, max_length=255)
    secret_type: str = "opaque"
    algorithm: str | None = Field(default=None, max_length=255)
    bit_length: int | None = Field(default=None, ge=0)
    mode: str | None = Field(default=None, max_length=255)
    expiration: datetime | None = None
    payload: str | None = None
    payload_content_type: str | None = Field(default=None, max_length=255)
    payload_content_encoding: str | None = Field(default=None, max_length=255)

    @field_validator("secret_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in SECRET_TYPES:
            raise ValueError(f"must be one of {', '.join(SECRET_TYPES)}")
        return value

    @field_validator("expiration")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        # whole seconds: what every backend's DATETIME keeps
        return None if value is None else value.replace(microsecond=0)


class SecretResponse(BaseModel):
    """GET /v1/secrets/<id>: metadata only; `content_types` once a payload is stored."""

    secret_ref: str
    name: str | None
    status: str
    secret_type: str
    content_types: dict[str, str] | None = None
    created: str
    updated: str
    expiration: str | None
    algorithm: str | None
    bit_length: int | None
    mode: str | None
    creator_id: str | None
    consumers: list[object] = []


class SecretsResponse(BaseModel):
    """GET /v1/secrets: a page, the total, and `next`/`previous` hrefs when there are more."""

    secrets: list[SecretResponse]
    total: int
    next: str | None = None
    previous: str | None = None
