"""Fixtures shared by every test layer: a fresh database of each kind, migrated or not; and a
summary, at the end of every run, of how the database-parametrised tests fared on each kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import KINDS, fresh_database

# The real OpenStack services (Keystone, Barbican) as session-scoped fixtures for every directory.
pytest_plugins = ("tests.openstack.fixtures",)


@pytest.fixture(params=KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database, one per test, on each of SQLite, PostgreSQL and MariaDB."""
    with fresh_database(db_kind, tmp_path) as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database, ready for the application."""
    database = Database(db_url)
    schema.upgrade(database)
    yield database
    database.dispose()


# --- per-database summary ---------------------------------------------------------------------
#
# Each test that depends on `db_kind` (directly or through `db_url` / `db`) carries its kind in
# `user_properties`, which travels inside every report; under xdist the controller receives the
# workers' reports through pytest_runtest_logreport, so the tally is complete either way.

_KIND_PROPERTY = "db_kind"
_RANK = {"passed": 0, "skipped": 1, "failed": 2}
_outcomes: dict[str, tuple[str, str]] = {}  # nodeid -> (kind, worst outcome so far)


def pytest_sessionstart(session: pytest.Session) -> None:
    _outcomes.clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get(_KIND_PROPERTY) if callspec is not None else None
        if kind is not None:
            item.user_properties.append((_KIND_PROPERTY, str(kind)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # After xdist's serialisation the (name, value) tuples arrive as lists.
    kind = next((str(p[1]) for p in report.user_properties if p[0] == _KIND_PROPERTY), None)
    if kind is None:
        return
    if report.failed:
        outcome = "failed"  # a setup or teardown error counts as a failure
    elif report.skipped:
        outcome = "skipped"  # skip and xfail
    elif report.when == "call":
        outcome = "passed"
    else:
        return
    previous = _outcomes.get(report.nodeid)
    if previous is None or _RANK[outcome] > _RANK[previous[1]]:
        _outcomes[report.nodeid] = (kind, outcome)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _outcomes:
        return
    counts: dict[str, dict[str, int]] = {}
    for kind, outcome in _outcomes.values():
        counts.setdefault(kind, dict.fromkeys(_RANK, 0))[outcome] += 1
    terminalreporter.write_sep("=", "tests per database")
    for kind in [*(k for k in KINDS if k in counts), *sorted(set(counts) - set(KINDS))]:
        c = counts[kind]
        terminalreporter.write_line(
            f"{kind:<11} {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
