"""The per-database summary that tests/conftest.py prints at the end of a run, with and without
xdist: counts per database kind from the `db_kind` parametrisation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = "from tests.conftest import *  # noqa: F403\n"
TESTS = '''
import pytest

def test_fails_on_mariadb(db_kind):
    assert db_kind != "mariadb"

def test_skips_on_postgresql(db_kind):
    if db_kind == "postgresql":
        pytest.skip("no server")

@pytest.fixture
def broken_on_sqlite(db_kind):
    if db_kind == "sqlite":
        raise RuntimeError("setup error")

def test_setup_error_on_sqlite(broken_on_sqlite):
    pass

def test_without_a_database():
    pass
'''


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_summary_counts_each_database_kind(tmp_path: Path, workers: list[str]) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_kinds.py").write_text(TESTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:f5sdk_fixtures", "-p", "no:cacheprovider",
         "-q", *workers, str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path, env=env)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr  # the mariadb failure
    summary = out[out.index("tests per database"):]
    lines = summary.splitlines()[1:4]
    assert lines == [
        "sqlite      2 passed, 1 failed, 0 skipped",  # the setup error counts as failed
        "postgresql  2 passed, 0 failed, 1 skipped",
        "mariadb     2 passed, 1 failed, 0 skipped",
    ], summary
