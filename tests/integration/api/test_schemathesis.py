"""schemathesis against /openapi.json: no 5xx, and every documented response matches its schema.

Bounded (few examples per operation, fuzzing phase only) so the run stays well under two minutes.
Runs on SQLite; the HTTP layer and schemas are the same for every backend.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import fresh_database
from tests.integration.api.server import Api, make_conf, serve

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    if not SCHEMATHESIS.exists():
        pytest.skip("schemathesis is not installed")
    with fresh_database("sqlite", tmp_path_factory.mktemp("db")) as url:
        db = Database(url)
        schema.upgrade(db)
        try:
            with serve(make_conf(url), db) as base:
                yield Api(base, db)
        finally:
            db.dispose()


def test_openapi_fuzz(api: Api) -> None:
    subnet = api.network("10.99.0.0/24")
    api.lb(subnet["id"], name="fuzz-target")
    cmd = [str(SCHEMATHESIS), "run", f"{api.url}/openapi.json",
           "--checks", "not_a_server_error,response_schema_conformance",
           "--phases", "examples,fuzzing", "--max-examples", "8", "--workers", "2",
           "--request-timeout", "20", "--no-color"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=170, check=False)
    assert done.returncode == 0, done.stdout[:8000] + done.stderr[-2000:]
