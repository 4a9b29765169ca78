"""`bigip-lbaas db upgrade` as an operator runs it: idempotent on each database, and a bad URL is
one line naming scheme and host, never the password, with a non-zero exit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.cluster import PY


def db_upgrade(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "bigip_lbaas.cli", "db", "upgrade", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_db_upgrade_twice_is_idempotent(db_url: str, tmp_path: Path) -> None:
    conf = tmp_path / "neutron.conf"
    conf.write_text(f"[database]\nconnection = {db_url}\n")
    first = db_upgrade("--config-file", str(conf))
    assert first.returncode == 0, first.stderr
    assert f"schema upgraded from empty to {schema.head()}" in first.stdout
    second = db_upgrade("--config-file", str(conf))
    assert second.returncode == 0, second.stderr
    assert f"schema already at {schema.head()}" in second.stdout
    # --database overrides the file and is just as idempotent.
    third = db_upgrade("--database", db_url)
    assert third.returncode == 0, third.stderr
    assert "schema already at" in third.stdout
    db = Database(db_url)
    try:
        schema.require_current(db)
        assert {"agent", "partition", "partition_lease"} <= schema.table_names(db)
    finally:
        db.dispose()


@pytest.mark.parametrize(("url", "shown"), [
    # An unencoded `@` in the password: the host is what follows the last `@`.
    ("postgresql://u:S3cret@PW@h:99999/x", "postgresql://h:99999"),
    ("postgresql://lbaas:S3cret@PW@127.0.0.1:1/x", "postgresql://127.0.0.1:1"),
    ("mysql+pymysql://lbaas:S3cret@PW@127.0.0.1:1/x", "mysql+pymysql://127.0.0.1:1"),
    ("oracle://lbaas:S3cret@PW@dbhost/x", "oracle://dbhost"),
])
def test_bad_database_url_is_one_line_without_the_password(url: str, shown: str) -> None:
    done = db_upgrade("--database", url)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert shown in lines[0], lines[0]
    assert "S3cret" not in done.stderr + done.stdout
    assert "PW" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_bad_database_url_in_a_file_names_file_section_and_option(tmp_path: Path) -> None:
    conf = tmp_path / "neutron.conf"
    conf.write_text("[database]\nconnection = oracle://lbaas:S3cret@dbhost/x\n")
    done = db_upgrade("--config-file", str(conf))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for part in (str(conf), "[database] connection", "oracle://dbhost", "sqlite://"):
        assert part in lines[0], (part, lines[0])
    assert "S3cret" not in done.stderr
