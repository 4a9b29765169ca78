"""One API server per test module per database kind, against a fresh migrated database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bigip_lbaas.db import schema
from bigip_lbaas.db.session import Database
from tests.databases import KINDS, fresh_database
from tests.integration.api.server import Api, make_conf, serve


@pytest.fixture(scope="module", params=KINDS)
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = getattr(request.module, "API_SETTINGS", {})
    with fresh_database(str(request.param), tmp_path_factory.mktemp("db")) as url:
        db = Database(url)
        schema.upgrade(db)
        try:
            with serve(make_conf(url, **settings), db) as base:
                yield Api(base, db)
        finally:
            db.dispose()


@pytest.fixture(scope="module")
def subnet(api: Api) -> dict[str, object]:
    return api.network("10.0.0.0/16")
