"""One API server per test module per database kind, against a fresh migrated database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases import KINDS
from tests.integration.api.server import Api, api_server


@pytest.fixture(scope="module", params=KINDS)
def api(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = getattr(request.module, "API_SETTINGS", {})
    with api_server(str(request.param), tmp_path_factory.mktemp("db"), **settings) as api:
        yield api


@pytest.fixture(scope="module")
def subnet(api: Api) -> dict[str, object]:
    return api.network("10.0.0.0/16")
