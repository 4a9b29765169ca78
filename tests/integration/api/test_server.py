"""Start-up refusal on an out-of-date schema, 503 when the database is gone, concurrent creates."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from bigip_lbaas.api.server import run
from bigip_lbaas.core.errors import ConfigError
from bigip_lbaas.db.session import Database
from tests.integration.api.server import Api, free_port, make_conf, serve


def test_refuses_out_of_date_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = make_conf(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    assert run(conf) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "schema is at nothing" in err[0]


def test_keystone_without_extra_is_a_clear_error(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from bigip_lbaas.api.app import create_app
    conf = make_conf(f"sqlite:///{tmp_path / 'k.sqlite'}", auth_strategy="keystone")
    # As if the extra were not installed (None in sys.modules makes the import fail).
    monkeypatch.setitem(sys.modules, "keystonemiddleware", None)
    monkeypatch.setitem(sys.modules, "keystonemiddleware.auth_token", None)
    with pytest.raises(ConfigError, match=r"install bigip-lbaas\[keystone\]"):
        create_app(conf)


def test_database_down_is_503(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=1"
    db = Database(url)
    with serve(make_conf(url), db) as base:
        api = Api(base, db)
        r = api.get("/v2/lbaas/loadbalancers")
        assert r.status_code == 503
        assert r.json()["faultstring"] == "The database is unavailable; retry later."
        assert api.get("/healthcheck").status_code == 503
        assert api.get("/").status_code == 200
    db.dispose()


def test_concurrent_creates_get_distinct_vips(api: Api) -> None:
    sub = api.network("10.200.0.0/24")
    codes: list[int] = []
    addresses: list[str] = []
    lock = threading.Lock()

    def create(i: int) -> None:
        r = api.post("/v2/lbaas/loadbalancers",
                     {"loadbalancer": {"vip_subnet_id": sub["id"], "project_id": f"c{i % 4}"}})
        with lock:
            codes.append(r.status_code)
            if r.status_code == 201:
                addresses.append(r.json()["loadbalancer"]["vip_address"])

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes == [201] * 12
    assert len(set(addresses)) == 12


@pytest.mark.parametrize("threads", [1, 3])
def test_threads_size_the_handlers_thread_pool(tmp_path: Path, threads: int) -> None:
    """`[api_settings] threads`: the app's lifespan gives its event loop's thread pool (where
    FastAPI runs the plain-function handlers, first come first served) that many threads."""
    from anyio import to_thread
    from fastapi.testclient import TestClient

    from bigip_lbaas.api.app import create_app

    db = Database(f"sqlite:///{tmp_path / 't.sqlite'}")
    with TestClient(create_app(make_conf(str(db.engine.url), threads=threads), db)) as client:
        assert client.portal is not None
        pool = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
        assert pool == threads
        assert client.get("/").status_code == 200
    db.dispose()


def test_threads_unset_follow_the_database(db: Database) -> None:
    """`[api_settings] threads` unset: 2 on PostgreSQL, 4 on SQLite and MariaDB (the figures
    docs/benchmarks.md measured for each)."""
    from anyio import to_thread
    from fastapi.testclient import TestClient

    from bigip_lbaas.api.app import create_app

    expected = {"postgresql": 2, "sqlite": 4, "mysql": 4}[db.dialect]
    url = db.engine.url.render_as_string(hide_password=False)
    with TestClient(create_app(make_conf(url), db)) as client:
        assert client.portal is not None
        pool = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
        assert pool == expected
