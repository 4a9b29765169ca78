"""The built-in certificate store on each database: Barbican's v1 secrets API under /key-manager,
driven by python-barbicanclient unchanged and by plain HTTP; payloads sealed at rest, scoped to
their project, and absent from every log line, error and /metrics."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bigip_lbaas.core.certs import SecretNotFound, generate_storage_key
from bigip_lbaas.db import models as m
from bigip_lbaas.db import schema
from bigip_lbaas.db.secrets import DatabaseSecrets, read_storage_key
from bigip_lbaas.db.session import Database
from tests.databases import KINDS, fresh_database
from tests.integration.api.server import make_conf, serve

SECRETS = "/key-manager/v1/secrets"


@dataclass
class Store:
    url: str
    db: Database
    key_file: Path

    def http(self, project: str = "p-alice", **headers: str) -> httpx.Client:
        """A client of `project` holding Keystone's `member` role (as the proxy in front of a
        `header` deployment would say), unless `headers` say otherwise."""
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"X-Project-Id": project, "X-Roles": "member", **headers})

    def barbican(self, project: str = "p-alice") -> object:
        from barbicanclient import client
        from keystoneauth1 import session

        return client.Client(session=session.Session(additional_headers={"X-Roles": "member"}),
                             endpoint=f"{self.url}/key-manager", project_id=project)


@pytest.fixture(scope="module", params=KINDS)
def store(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    work = tmp_path_factory.mktemp("certstore")
    key_file = work / "storage.key"
    key_file.write_text(generate_storage_key() + "\n")
    with fresh_database(str(request.param), work) as url:
        db = Database(url)
        schema.upgrade(db)
        conf = make_conf(url, auth_strategy="header")
        conf.set_override("storage_key_file", str(key_file), group="certificates")
        try:
            with serve(conf, db) as base:
                yield Store(base, db, key_file)
        finally:
            db.dispose()


def test_version_discovery_is_barbicans(store: Store) -> None:
    with store.http() as http:
        for path in ("/key-manager", "/key-manager/"):
            r = http.get(path)
            assert r.status_code == 300
            (v1,) = r.json()["versions"]["values"]
            assert v1["id"] == "v1" and v1["status"] == "CURRENT"
            assert (v1["min_version"], v1["max_version"]) == ("1.0", "1.1")
            assert v1["links"][0] == {"rel": "self", "href": f"{store.url}/key-manager/v1/"}
        r = http.get("/key-manager/v1")
        assert r.status_code == 200 and r.json()["version"]["id"] == "v1"


def test_barbicanclient_store_get_list_delete(store: Store) -> None:
    pytest.importorskip("barbicanclient")
    bc = store.barbican()
    text = "s3cret-text-" + os.urandom(6).hex()
    ref = bc.secrets.create(name="text", payload=text).store()  # type: ignore[attr-defined]
    assert ref.startswith(f"{store.url}{SECRETS}/")
    got = bc.secrets.get(ref)  # type: ignore[attr-defined]
    assert got.payload == text
    assert got.name == "text" and got.status == "ACTIVE" and got.secret_type == "opaque"
    assert got.content_types == {"default": "text/plain"}

    blob = os.urandom(300)
    bref = bc.secrets.create(name="blob", payload=blob,  # type: ignore[attr-defined]
                             secret_type="certificate").store()
    assert bc.secrets.get(bref).payload == blob  # type: ignore[attr-defined]

    # POST metadata, then PUT the payload (Barbican's two-step store)
    later = bc.secrets.create(name="two-step")  # type: ignore[attr-defined]
    lref = later.store()
    later_got = bc.secrets.get(lref)  # type: ignore[attr-defined]
    later_got.payload = b"\x00\x01two-step"
    later_got.update()
    assert bc.secrets.get(lref).payload == b"\x00\x01two-step"  # type: ignore[attr-defined]

    listed = bc.secrets.list(limit=100)  # type: ignore[attr-defined]
    assert {s.secret_ref for s in listed} >= {ref, bref, lref}
    named = bc.secrets.list(name="blob")  # type: ignore[attr-defined]
    assert [s.secret_ref for s in named] == [bref]
    for r in (ref, bref, lref):
        bc.secrets.get(r).delete()  # type: ignore[attr-defined]
    assert all(s.secret_ref not in (ref, bref, lref)
               for s in bc.secrets.list(limit=100))  # type: ignore[attr-defined]


def test_metadata_shape_and_payload_by_accept(store: Store) -> None:
    with store.http(**{"X-User-Id": "u-1"}) as http:
        r = http.post(SECRETS, json={
            "name": "cert", "payload": base64.b64encode(b"binary\xff").decode(),
            "payload_content_type": "application/octet-stream",
            "payload_content_encoding": "base64", "algorithm": "aes", "bit_length": 256,
            "mode": "cbc", "expiration": "2999-01-01T00:00:00Z"})
        assert r.status_code == 201, r.text
        ref = r.json()["secret_ref"]
        assert r.headers["location"] == ref
        meta = http.get(ref.removeprefix(store.url)).json()
        assert meta == {
            "secret_ref": ref, "name": "cert", "status": "ACTIVE", "secret_type": "opaque",
            "content_types": {"default": "application/octet-stream"},
            "created": meta["created"], "updated": meta["updated"],
            "expiration": "2999-01-01T00:00:00", "algorithm": "aes", "bit_length": 256,
            "mode": "cbc", "creator_id": "u-1", "consumers": []}
        path = ref.removeprefix(store.url) + "/payload"
        got = http.get(path, headers={"Accept": "application/octet-stream"})
        assert got.status_code == 200 and got.content == b"binary\xff"
        wrong = http.get(path, headers={"Accept": "text/plain"})
        assert wrong.status_code == 406 and wrong.json()["title"] == "Not Acceptable"
        again = http.put(ref.removeprefix(store.url), content=b"x",
                         headers={"Content-Type": "application/octet-stream"})
        assert again.status_code == 409
        assert again.json() == {"code": 409, "title": "Conflict",
                                "description": "Secret already has data, cannot modify it."}
        assert http.delete(ref.removeprefix(store.url)).status_code == 204
        gone = http.get(ref.removeprefix(store.url))
        assert gone.status_code == 404
        assert gone.json() == {"code": 404, "title": "Not Found",
                               "description": "Secret not found."}


def test_invalid_requests_answer_in_barbicans_shape(store: Store) -> None:
    with store.http() as http:
        bad = [
            {"payload": "x"},  # no content type
            {"payload": "x", "payload_content_type": "application/octet-stream"},  # no encoding
            {"payload": "%%%", "payload_content_type": "application/octet-stream",
             "payload_content_encoding": "base64"},
            {"payload": "x", "payload_content_type": "text/html"},
            {"payload": "", "payload_content_type": "text/plain"},
            {"secret_type": "bogus"},
            {"expiration": "2001-01-01T00:00:00"},
        ]
        for body in bad:
            r = http.post(SECRETS, json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["title"] == "Bad Request"
            assert "Provided object does not match schema 'Secret'" in r.json()["description"]
        big = http.post(SECRETS, json={"payload": "a" * 20001,
                                       "payload_content_type": "text/plain"})
        assert big.status_code == 413
        huge = http.post(SECRETS, content=b"{" + b" " * 30000 + b"}",
                         headers={"Content-Type": "application/json"})
        assert huge.status_code == 413 and huge.json()["title"] == "Request Entity Too Large"
        assert http.get(f"{SECRETS}/not-a-uuid").status_code == 404


def test_paging_total_next_previous(store: Store) -> None:
    project = "p-paging"
    with store.http(project) as http:
        refs = [http.post(SECRETS, json={"name": f"s{i}", "payload": f"v{i}",
                                         "payload_content_type": "text/plain"}
                          ).json()["secret_ref"] for i in range(5)]
        first = http.get(SECRETS, params={"limit": 2}).json()
        assert first["total"] == 5 and len(first["secrets"]) == 2
        assert first["next"] == f"{store.url}{SECRETS}?limit=2&offset=2"
        assert "previous" not in first
        middle = http.get(SECRETS, params={"limit": 2, "offset": 2}).json()
        assert middle["previous"] == f"{store.url}{SECRETS}?limit=2&offset=0"
        assert middle["next"] == f"{store.url}{SECRETS}?limit=2&offset=4"
        last = http.get(SECRETS, params={"limit": 2, "offset": 4}).json()
        assert "next" not in last and len(last["secrets"]) == 1
        seen = [s["secret_ref"] for page in (first, middle, last) for s in page["secrets"]]
        assert sorted(seen) == sorted(refs)
        for ref in refs:
            http.delete(ref.removeprefix(store.url))


def test_a_project_sees_only_its_own_secrets_admin_sees_all(store: Store) -> None:
    with store.http("p-owner", **{"X-Roles": "member"}) as owner, \
            store.http("p-other", **{"X-Roles": "member"}) as other, \
            store.http("p-ops", **{"X-Roles": "admin"}) as admin:
        ref = owner.post(SECRETS, json={"payload": "mine", "payload_content_type": "text/plain"}
                         ).json()["secret_ref"]
        path = ref.removeprefix(store.url)
        for call in (lambda: other.get(path), lambda: other.get(path + "/payload"),
                     lambda: other.delete(path),
                     lambda: other.put(path, content=b"x",
                                       headers={"Content-Type": "text/plain"})):
            r = call()
            assert r.status_code == 404 and r.json()["description"] == "Secret not found."
        assert ref not in [s["secret_ref"] for s in other.get(SECRETS).json()["secrets"]]
        assert admin.get(path + "/payload", headers={"Accept": "text/plain"}).text == "mine"
        assert owner.delete(path).status_code == 204


def test_agents_read_through_the_certificate_source(store: Store) -> None:
    with store.http("p-agent") as http:
        ref = http.post(SECRETS, json={"payload": base64.b64encode(b"\x30\x82bundle").decode(),
                                       "payload_content_type": "application/octet-stream",
                                       "payload_content_encoding": "base64"}
                        ).json()["secret_ref"]
    source = DatabaseSecrets(store.db, read_storage_key(str(store.key_file)))
    assert source.get_secret(ref, "p-agent") == b"\x30\x82bundle"
    with pytest.raises(SecretNotFound):
        source.get_secret(ref, "p-someone-else")
    with pytest.raises(SecretNotFound):
        source.get_secret("http://x/key-manager/v1/secrets/nope", "p-agent")


def test_payload_is_sealed_at_rest_and_never_logged_or_measured(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    marker = "PAYLOAD-" + os.urandom(8).hex()
    binary = b"BIN-" + os.urandom(8).hex().encode()
    caplog.set_level(logging.DEBUG)
    with store.http("p-quiet") as http:
        ref = http.post(SECRETS, json={"name": "quiet", "payload": marker,
                                       "payload_content_type": "text/plain"}
                        ).json()["secret_ref"]
        bref = http.post(SECRETS, json={"payload": base64.b64encode(binary).decode(),
                                        "payload_content_type": "application/octet-stream",
                                        "payload_content_encoding": "base64"}
                         ).json()["secret_ref"]
        assert http.get(ref.removeprefix(store.url) + "/payload").text == marker
        assert http.get(bref.removeprefix(store.url) + "/payload").content == binary
        bad = http.post(SECRETS, json={"payload": marker,
                                       "payload_content_type": "application/octet-stream"})
        assert bad.status_code == 400 and marker not in bad.text
        bad = http.post(SECRETS, json={"payload": marker + "%",
                                       "payload_content_type": "application/octet-stream",
                                       "payload_content_encoding": "base64"})
        assert bad.status_code == 400 and marker not in bad.text
        metrics = http.get("/metrics")
    assert metrics.status_code == 200
    assert marker not in metrics.text and binary.decode() not in metrics.text
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert marker not in logged and binary.decode() not in logged
    with store.db.engine.connect() as conn:
        stored = conn.execute(sa.select(m.Secret.payload)).scalars().all()
    assert stored and all(marker.encode() not in p and binary not in p for p in stored if p)
