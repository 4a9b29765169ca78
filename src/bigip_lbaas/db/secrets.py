"""The built-in certificate store: every SQL statement on table `secret`, the storage key file,
and `DatabaseSecrets`, the `CertificateSource` agents (on any host with the database and the key
file) and the API use to read a payload.

Payloads enter and leave this module only as plaintext bytes handed to or returned to the caller;
rows hold them sealed (core.certs.seal). Nothing here logs, and no error carries a payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core.certs import (
    SecretNotFound,
    parse_storage_key,
    seal,
    secret_id_from_ref,
    unseal,
)
from bigip_lbaas.db.models import Secret
from bigip_lbaas.db.session import Database

# Filters of Barbican's secret list: query parameter -> column.
LIST_FILTERS = {"name": Secret.name, "alg": Secret.algorithm, "mode": Secret.mode,
                "bits": Secret.bit_length, "secret_type": Secret.secret_type}


def utcnow() -> datetime:
    """Now in UTC, naive, to the second (what every backend's DATETIME keeps)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def read_storage_key(path: str) -> bytes:
    """The key in `path`. Raises OSError (missing, unreadable) or InvalidStorageKey."""
    return parse_storage_key(Path(path).read_text(encoding="ascii"))


def _live() -> sa.ColumnElement[bool]:
    """Barbican hides expired secrets from every read."""
    return sa.or_(Secret.expiration.is_(None), Secret.expiration > utcnow())


def create(session: Session, key: bytes, values: dict[str, Any],
           payload: bytes | None) -> Secret:
    """Insert a secret (`values`: its metadata columns, with id and project_id); `payload`, when
    given, is sealed with `key` before it reaches the database."""
    now = utcnow()
    row = Secret(**values, created_at=now, updated_at=now)
    if payload is not None:
        row.payload = seal(key, row.id, payload)
    session.add(row)
    session.flush()
    return row


def find(session: Session, secret_id: str, project_id: str | None) -> Secret | None:
    """The live secret `secret_id`; with `project_id`, only if it belongs to that project."""
    stmt = sa.select(Secret).where(Secret.id == secret_id, _live())
    if project_id is not None:
        stmt = stmt.where(Secret.project_id == project_id)
    return session.scalars(stmt).first()


def put_payload(session: Session, key: bytes, row: Secret, payload: bytes,
                content_type: str) -> bool:
    """Store the payload of a secret created without one; False if it already has one (checked
    and set in one statement, so two concurrent PUTs cannot both succeed)."""
    done = session.execute(
        sa.update(Secret)
        .where(Secret.id == row.id, Secret.payload.is_(None))
        .values(payload=seal(key, row.id, payload), content_type=content_type,
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    return bool(getattr(done, "rowcount", 0))


def payload_of(key: bytes, row: Secret) -> bytes | None:
    return None if row.payload is None else unseal(key, row.id, row.payload)


def page(session: Session, project_id: str | None, filters: dict[str, Any], limit: int,
         offset: int) -> tuple[list[Secret], int]:
    """One page of live secrets (oldest first, as Barbican lists them) and the total count;
    `project_id` None lists every project's."""
    where = [_live()]
    if project_id is not None:
        where.append(Secret.project_id == project_id)
    where += [LIST_FILTERS[name] == value for name, value in filters.items()]
    total = session.scalar(sa.select(sa.func.count()).select_from(Secret).where(*where)) or 0
    rows = session.scalars(sa.select(Secret).where(*where)
                           .order_by(Secret.created_at, Secret.id)
                           .limit(limit).offset(offset))
    return list(rows), int(total)


def delete(session: Session, row: Secret) -> None:
    session.execute(sa.delete(Secret).where(Secret.id == row.id))


@dataclass(frozen=True)
class DatabaseSecrets:
    """`CertificateSource` of the built-in store: the shared database plus the storage key."""

    db: Database
    key: bytes

    def get_secret(self, ref: str, project_id: str) -> bytes:
        secret_id = secret_id_from_ref(ref)
        if secret_id is None:
            raise SecretNotFound(ref)

        def fn(session: Session) -> bytes | None:
            row = find(session, secret_id, project_id)
            return None if row is None else payload_of(self.key, row)

        payload = self.db.query(fn)
        if payload is None:
            raise SecretNotFound(ref)
        return payload
