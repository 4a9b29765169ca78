"""Flavor and flavor profile lists honour Octavia's `sort` (and `sort_key`/`sort_dir`), as
octavia-tempest-plugin's list tests ask (by name, descending and ascending); by id otherwise.
SQLite only: the ordering is the query's, the same on every database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.api.server import Api, api_server

V2 = "/v2/lbaas"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_server("sqlite", tmp_path_factory.mktemp("db")) as api:
        yield api


def test_flavor_profiles_and_flavors_sort_by_name(api: Api) -> None:
    names = ["sort-b", "sort-c", "sort-a"]
    ids = []
    for name in names:
        r = api.post(f"{V2}/flavorprofiles", {"flavorprofile": {
            "name": name, "provider_name": "f5", "flavor_data": "{}"}})
        assert r.status_code == 201, r.text
        ids.append(r.json()["flavorprofile"]["id"])
        r = api.post(f"{V2}/flavors", {"flavor": {"name": name, "flavor_profile_id": ids[-1]}})
        assert r.status_code == 201, r.text
    for plural in ("flavorprofiles", "flavors"):
        def listed(query: str, plural: str = plural) -> list[str]:
            r = api.get(f"{V2}/{plural}?{query}")
            assert r.status_code == 200, r.text
            return [x["name"] for x in r.json()[plural]]

        assert listed("sort=name:desc") == ["sort-c", "sort-b", "sort-a"]
        assert listed("sort=name:asc") == ["sort-a", "sort-b", "sort-c"]
        assert listed("sort_key=name&sort_dir=desc") == ["sort-c", "sort-b", "sort-a"]
        by_id = [x["id"] for x in api.get(f"{V2}/{plural}").json()[plural]]
        assert by_id == sorted(by_id)
        assert api.get(f"{V2}/{plural}?sort=nope:asc").status_code == 400
        assert api.get(f"{V2}/{plural}?sort=name:sideways").status_code == 400
