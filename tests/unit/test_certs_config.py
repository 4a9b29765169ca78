"""[certificates] at start-up: the built-in store is the default; barbican_cert_manager loads with
Keystone (auth_strategy = keystone and the [service_auth] credentials) and without it fails
naming the option; a key file that is missing, unreadable or not a key fails naming the option
(never showing a key); neither error shows a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigip_lbaas.config.load import load
from bigip_lbaas.core.certs import generate_storage_key
from bigip_lbaas.core.errors import ConfigError


def conf_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bigip-lbaas.conf"
    path.write_text(text)
    return str(path)


def test_default_is_the_built_in_store_without_a_key(tmp_path: Path) -> None:
    conf = load([conf_file(tmp_path, "[DEFAULT]\n")])
    assert conf.certificates.cert_manager == "database_cert_manager"
    assert conf.certificates.storage_key_file is None


def test_a_readable_key_file_loads(tmp_path: Path) -> None:
    key = tmp_path / "storage.key"
    key.write_text(generate_storage_key() + "\n")
    conf = load([conf_file(tmp_path, f"[certificates]\nstorage_key_file = {key}\n")])
    assert conf.certificates.storage_key_file == str(key)


SERVICE_AUTH = ("[service_auth]\nauth_url = http://127.0.0.1:5000/v3\nusername = octavia\n"
                "password = PW-NEVER-SHOWN\nproject_name = service\n")
KEYSTONE = "[api_settings]\nauth_strategy = keystone\n"
BARBICAN = "[certificates]\ncert_manager = barbican_cert_manager\n"


def test_barbican_cert_manager_loads_with_keystone(tmp_path: Path) -> None:
    conf = load([conf_file(tmp_path, BARBICAN + KEYSTONE + SERVICE_AUTH)])
    assert conf.certificates.cert_manager == "barbican_cert_manager"
    assert conf.service_auth.username == "octavia"
    assert conf.service_auth.user_domain_name == "Default"  # Octavia's defaults
    assert conf.certificates.endpoint_type == "publicURL"


@pytest.mark.parametrize("strategy", ["", "[api_settings]\nauth_strategy = noauth\n",
                                      "[api_settings]\nauth_strategy = header\n"])
def test_barbican_cert_manager_without_keystone_auth_is_refused(tmp_path: Path,
                                                                strategy: str) -> None:
    path = conf_file(tmp_path, BARBICAN + strategy + SERVICE_AUTH)
    with pytest.raises(ConfigError) as err:
        load([path])
    text = str(err.value)
    assert text.startswith(f"{path}: [certificates] cert_manager = barbican_cert_manager "
                           "needs Keystone: [api_settings] auth_strategy"), text
    assert "PW-NEVER-SHOWN" not in text


@pytest.mark.parametrize("drop", ["auth_url", "username", "password"])
def test_barbican_cert_manager_without_service_credentials_is_refused(tmp_path: Path,
                                                                      drop: str) -> None:
    auth = "".join(line + "\n" for line in SERVICE_AUTH.splitlines()
                   if not line.startswith(f"{drop} ="))
    path = conf_file(tmp_path, BARBICAN + KEYSTONE + auth)
    with pytest.raises(ConfigError, match=rf"\[certificates\] cert_manager = "
                                          rf"barbican_cert_manager needs Keystone: "
                                          rf"\[service_auth\] {drop} not set") as err:
        load([path])
    assert path in str(err.value) and "PW-NEVER-SHOWN" not in str(err.value)


def test_an_unknown_cert_manager_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[certificates\] cert_manager"):
        load([conf_file(tmp_path, "[certificates]\ncert_manager = local_cert_manager\n")])


@pytest.mark.parametrize("case", ["missing", "not a key", "unreadable"])
def test_a_bad_key_file_fails_naming_the_option(tmp_path: Path, case: str) -> None:
    key = tmp_path / "storage.key"
    if case == "not a key":
        key.write_text("SECRETLOOKINGTEXT\n")
    elif case == "unreadable":
        key.mkdir()  # unreadable as a file even for root (a mode-0 file is not, for root)
    path = conf_file(tmp_path, f"[certificates]\nstorage_key_file = {key}\n")
    with pytest.raises(ConfigError, match=r"\[certificates\] storage_key_file") as err:
        load([path])
    assert path in str(err.value) and "SECRETLOOKINGTEXT" not in str(err.value)


def test_up_writes_a_private_key_file_once_and_names_it(tmp_path: Path) -> None:
    import argparse

    from bigip_lbaas.up import _write_configs

    args = argparse.Namespace(sim_port=18443, devices=2, port=19876, agents=1, metrics_port=None)
    ca = tmp_path / "ca.pem"
    ca.write_text("")
    files = _write_configs(tmp_path, args, f"sqlite:///{tmp_path / 'db.sqlite'}", ca)
    conf = load([str(f) for f in files])
    key = Path(conf.certificates.storage_key_file)
    assert key.parent == tmp_path and key.stat().st_mode & 0o777 == 0o600
    first = key.read_text()
    _write_configs(tmp_path, args, f"sqlite:///{tmp_path / 'db.sqlite'}", ca)
    assert key.read_text() == first  # a second `up` keeps the key (stored secrets stay readable)
