"""db/session.py without a database server: URL descriptions never leak a password, SQLite
connections carry their PRAGMAs, and the retry helper retries what is transient and only that."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import tenacity
from sqlalchemy import exc

from bigip_lbaas.core.errors import DatabaseError, DatabaseUnavailable, DuplicateRow
from bigip_lbaas.db import session
from bigip_lbaas.db.session import Database, describe_url, is_transient, normalise_url


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://u:S3cret@PW@h:99999/x", "postgresql://h:99999"),
    ("postgresql://u:S3cret@h/x", "postgresql://h"),
    ("mysql+pymysql://u:a@b@c:d@[::1]:3306/x?charset=utf8", "mysql+pymysql://[::1]:3306"),
    ("postgresql://u:pa/ss@h:5432/db", "postgresql://h:5432"),
    ("sqlite:////var/lib/x.sqlite", "sqlite:////var/lib/x.sqlite"),
    ("not a url", "?://?"),
])
def test_describe_url_names_scheme_and_host_only(url: str, shown: str) -> None:
    assert describe_url(url) == shown
    for secret in ("S3cret", "PW", "pa/ss", "a@b"):
        assert secret not in describe_url(url)


def test_normalise_url_takes_the_host_after_the_last_at() -> None:
    parsed = normalise_url("postgresql://u:S3cret@PW@db.example:5433/x")
    assert parsed.host == "db.example"
    assert parsed.port == 5433
    assert parsed.username == "u"
    assert parsed.password == "S3cret@PW"
    assert parsed.drivername == "postgresql+psycopg"
    # Unaffected: a URL with one `@`, and sqlite paths holding one.
    assert normalise_url("mysql://u:p@h/x").host == "h"
    assert normalise_url("sqlite:////tmp/a@b.sqlite").database == "/tmp/a@b.sqlite"


def test_unsupported_scheme_error_hides_the_password() -> None:
    with pytest.raises(DatabaseError) as err:
        normalise_url("oracle://scott:T1ger@PW@dbhost/orcl")
    assert "oracle" in str(err.value) and "dbhost" in str(err.value)
    assert "T1ger" not in str(err.value) and "PW" not in str(err.value)


def test_sqlite_connections_have_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'p.sqlite'}")
    try:
        for _ in range(2):  # every pooled connection, not just the first
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == (
                    session.SQLITE_BUSY_SECONDS * 1000)
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def _operational(text: str) -> exc.OperationalError:
    return exc.OperationalError("SELECT 1", {}, Exception(text))


def _integrity(text: str) -> exc.IntegrityError:
    return exc.IntegrityError("INSERT", {}, Exception(text))


def test_is_transient_classifies() -> None:
    assert is_transient(_operational("server closed the connection unexpectedly"))
    assert is_transient(exc.DBAPIError("x", {}, Exception("Deadlock found when trying to get "
                                                         "lock"), connection_invalidated=False))
    assert is_transient(exc.DBAPIError("x", {}, Exception("database is locked")))
    assert not is_transient(_integrity("duplicate key value violates unique constraint"))
    assert not is_transient(ValueError("not a database error"))


def _sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the retry helper's back-off instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(tenacity.nap.time, "sleep", slept.append)
    return slept


def test_retry_transient_retries_with_backoff_then_succeeds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept = _sleeps(monkeypatch)
    calls: list[int] = []

    def operation(value: int) -> int:
        calls.append(value)
        if len(calls) < 3:
            raise _operational("could not serialize access due to concurrent update")
        return value * 2

    assert session.retry_transient(attempts=5)(operation)(21) == 42
    assert calls == [21, 21, 21]
    assert len(slept) == 2  # a pause before each retry
    assert all(0 <= s <= 2.0 for s in slept)


def test_retry_transient_gives_up_after_attempts_with_the_last_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept = _sleeps(monkeypatch)
    calls = 0

    def operation() -> None:
        nonlocal calls
        calls += 1
        raise _operational(f"connection lost #{calls}")

    with pytest.raises(exc.OperationalError, match="connection lost #4"):
        session.retry_transient(attempts=4)(operation)()
    assert calls == 4
    assert len(slept) == 3


def test_retry_transient_reraises_a_permanent_error_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept = _sleeps(monkeypatch)
    calls = 0

    def operation() -> None:
        nonlocal calls
        calls += 1
        raise _integrity("duplicate key")

    with pytest.raises(exc.IntegrityError):
        session.retry_transient(attempts=5)(operation)()
    assert calls == 1
    assert slept == []


def test_database_run_retries_a_transient_failure_inside_the_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _sleeps(monkeypatch)
    db = Database(f"sqlite:///{tmp_path / 'r.sqlite'}")
    attempts = 0

    def work(s: object) -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise _operational("database is locked")
        return "done"

    try:
        assert db.run(work) == "done"  # type: ignore[arg-type]
        assert attempts == 2
    finally:
        db.dispose()


def test_transactions_raise_the_projects_errors_never_sqlalchemys(tmp_path: Path) -> None:
    """The database boundary: a unique-key clash is DuplicateRow, a programming error a plain
    DatabaseError, a transient error DatabaseUnavailable (which the retry helper still retries); the message is the
    driver's first line, never the statement or its parameters."""
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    try:
        with db.transaction() as s:
            s.execute(sa.text("CREATE TABLE t (k TEXT PRIMARY KEY)"))
            s.execute(sa.text("INSERT INTO t VALUES ('a')"))
        with pytest.raises(DuplicateRow) as dup, db.transaction() as s:
            s.execute(sa.text("INSERT INTO t VALUES (:k)"), {"k": "a"})
        assert not isinstance(dup.value, exc.SQLAlchemyError)
        assert "UNIQUE" in str(dup.value) and "INSERT" not in str(dup.value)
        with pytest.raises(DatabaseError) as bad, session.translated_errors():
            raise exc.ProgrammingError("SELECT secret", {"p": "hunter2"}, Exception("syntax error"))
        assert type(bad.value) is DatabaseError
        assert "hunter2" not in str(bad.value) and "syntax error" in str(bad.value)
        with pytest.raises(DatabaseUnavailable), session.translated_errors():
            raise _operational("server closed the connection unexpectedly")
        assert is_transient(DatabaseUnavailable("x"))
    finally:
        db.dispose()
