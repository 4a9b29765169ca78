"""certstore.certificate_source picks the store `[certificates] cert_manager` names; for_request
is the store itself for the built-in store and acts with the caller's token for Barbican."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigip_lbaas.certstore import (
    CertificateStoreUnavailable,
    NoStorageKey,
    certificate_source,
    for_request,
)
from bigip_lbaas.certstore.barbican import BarbicanSecrets, UserBarbicanSecrets
from bigip_lbaas.config.load import load
from bigip_lbaas.core.certs import generate_storage_key, parse_storage_key
from bigip_lbaas.db.secrets import DatabaseSecrets
from bigip_lbaas.db.session import Database


def conf_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bigip-lbaas.conf"
    path.write_text(text)
    return str(path)


def test_the_built_in_store_with_its_key(tmp_path: Path) -> None:
    key = generate_storage_key()
    (tmp_path / "storage.key").write_text(key + "\n")
    conf = load([conf_file(tmp_path, f"[certificates]\nstorage_key_file = "
                                     f"{tmp_path / 'storage.key'}\n")])
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        source = certificate_source(conf, db)
        assert source == DatabaseSecrets(db, parse_storage_key(key))
        assert for_request(source, "any-token") is source
        assert for_request(source, None) is source
    finally:
        db.dispose()


def test_the_built_in_store_without_a_key_refuses_every_read(tmp_path: Path) -> None:
    conf = load([conf_file(tmp_path, "[DEFAULT]\n")])
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        source = certificate_source(conf, db)
        assert isinstance(source, NoStorageKey)
        with pytest.raises(CertificateStoreUnavailable, match=r"storage_key_file"):
            source.get_secret("0b7e6a2c-5d14-4f1b-9c55-5a7f3e2d1c00", "p")
    finally:
        db.dispose()


def test_barbican_from_octavias_options(tmp_path: Path) -> None:
    conf = load([conf_file(tmp_path, (
        "[api_settings]\nauth_strategy = keystone\n"
        "[certificates]\ncert_manager = barbican_cert_manager\nregion_name = RegionTwo\n"
        "endpoint_type = internalURL\n"
        "[service_auth]\nauth_url = http://127.0.0.1:1/v3\nusername = octavia\n"
        "password = PW-NEVER-SHOWN\n"))])
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        source = certificate_source(conf, db)
    finally:
        db.dispose()
    assert isinstance(source, BarbicanSecrets)
    assert (source.region_name, source.interface) == ("RegionTwo", "internal")
    assert "PW-NEVER-SHOWN" not in repr(source)
    user = for_request(source, "tok-abc")
    assert isinstance(user, UserBarbicanSecrets) and "tok-abc" not in repr(user)
    # Nothing listens there: a temporary failure, naming no credential.
    with pytest.raises(CertificateStoreUnavailable) as err:
        source.get_secret("0b7e6a2c-5d14-4f1b-9c55-5a7f3e2d1c00", "p")
    assert "PW-NEVER-SHOWN" not in str(err.value)
