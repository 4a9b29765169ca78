"""database_cert_manager through the factory, in both auth modes, on each database: a secret a
user stores through the API's /key-manager (python-barbicanclient) resolves through
`certificate_source(conf, database)` for the user's project (and through `for_request` as the API
checks it), and is SecretNotFound for another project."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigip_lbaas.certstore import certificate_source, for_request
from bigip_lbaas.config.load import load
from bigip_lbaas.core.certs import SecretNotFound, generate_storage_key, parse_pkcs12
from bigip_lbaas.db import schema
from bigip_lbaas.db.secrets import DatabaseSecrets
from bigip_lbaas.db.session import Database
from tests.databases import fresh_database
from tests.integration.api.keystone_api import keystone_api
from tests.integration.api.server import make_conf, serve
from tests.integration.certstore.material import make_material
from tests.openstack.keystone import Keystone


def key_file(work: Path) -> Path:
    path = work / "storage.key"
    path.write_text(generate_storage_key() + "\n")
    return path


def check(source: object, ref: str, project: str, other: str, payload: bytes) -> None:
    assert isinstance(source, DatabaseSecrets)
    assert source.get_secret(ref, project) == payload
    assert source.get_secret(ref.rsplit("/", 1)[1], project) == payload
    assert parse_pkcs12(source.get_secret(ref, project)).certificate.startswith(b"-----BEGIN")
    with pytest.raises(SecretNotFound):
        source.get_secret(ref, other)


def test_header_mode(db_kind: str, tmp_path: Path) -> None:
    from barbicanclient import client

    material = make_material()
    key = key_file(tmp_path)
    with fresh_database(db_kind, tmp_path) as url:
        db = Database(url)
        try:
            schema.upgrade(db)
            conf = make_conf(url, auth_strategy="header")
            conf.set_override("storage_key_file", str(key), group="certificates")
            with serve(conf, db) as base:
                alice = client.Client(endpoint=f"{base}/key-manager", project_id="p-alice")
                ref = alice.secrets.create(name="cert", payload=material.pkcs12).store()
            source = certificate_source(conf, db)
            check(source, ref, "p-alice", "p-bob", material.pkcs12)
            check(for_request(source, None), ref, "p-alice", "p-bob", material.pkcs12)
        finally:
            db.dispose()


def test_keystone_mode(db_kind: str, keystone: Keystone, tmp_path: Path) -> None:
    from barbicanclient import client
    from keystoneauth1 import session, token_endpoint

    material = make_material()
    alice = keystone.user("dbs-alice", keystone.project("dbs-alice"), "member")
    bob = keystone.user("dbs-bob", keystone.project("dbs-bob"), "member")
    extra = f"[certificates]\nstorage_key_file = {key_file(tmp_path)}\n"
    with fresh_database(db_kind, tmp_path) as url, keystone_api(keystone, url, tmp_path,
                                                             extra) as api:
        token = keystone.token(alice)
        auth = token_endpoint.Token(f"{api.url}/key-manager", token)
        barbican = client.Client(session=session.Session(auth=auth),
                                 endpoint=f"{api.url}/key-manager")
        ref = barbican.secrets.create(name="cert", payload=material.pkcs12).store()
        # The API's own configuration file, as an agent on another host would have it.
        conf = load([str(tmp_path / "api.conf")])
        db = Database(url)
        try:
            source = certificate_source(conf, db)
            check(source, ref, alice.project.id, bob.project.id, material.pkcs12)
            check(for_request(source, token), ref, alice.project.id, bob.project.id,
                  material.pkcs12)
        finally:
            db.dispose()
