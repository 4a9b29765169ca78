"""`[networking]` at start-up: `builtin` is the default and needs nothing; `neutron` loads with
the `[service_auth]` credentials and its options, and without them fails naming the file, the
option and what is missing (never the password); `source_for` builds the Neutron source from it
without calling anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigip_lbaas import network
from bigip_lbaas.config.load import load
from bigip_lbaas.core.errors import ConfigError
from bigip_lbaas.network.neutron import NeutronSource

SERVICE_AUTH = ("[service_auth]\nauth_url = http://127.0.0.1:5000/v3\nusername = octavia\n"
                "password = PW-NEVER-SHOWN\nproject_name = service\n")


def conf_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bigip-lbaas.conf"
    path.write_text(text)
    return str(path)


def test_builtin_is_the_default(tmp_path: Path) -> None:
    conf = load([conf_file(tmp_path, "[DEFAULT]\n")])
    assert conf.networking.source == "builtin"
    assert not network.is_neutron(conf)


def test_neutron_with_credentials_loads(tmp_path: Path) -> None:
    conf = load([conf_file(tmp_path, "[networking]\nsource = neutron\nregion_name = R2\n"
                           "endpoint_type = internalURL\ntimeout = 7\nretries = 1\n"
                           + SERVICE_AUTH)])
    source = network.source_for(conf, db=None)  # type: ignore[arg-type]  # neutron: no db
    assert isinstance(source, NeutronSource)
    assert source.adapter.interface == "internal"
    assert source.adapter.region_name == "R2"
    assert source.adapter.session.timeout == 7.0
    assert source.retries == 1


@pytest.mark.parametrize("missing", ["auth_url", "username", "password"])
def test_neutron_without_credentials_fails_naming_them(tmp_path: Path, missing: str) -> None:
    auth = "\n".join(line for line in SERVICE_AUTH.splitlines()
                     if not line.startswith(missing)) + "\n"
    path = conf_file(tmp_path, "[networking]\nsource = neutron\n" + auth)
    with pytest.raises(ConfigError) as err:
        load([path])
    message = str(err.value)
    assert path in message
    assert "[networking] source = neutron needs Keystone" in message
    assert f"[service_auth] {missing} not set" in message
    assert "PW-NEVER-SHOWN" not in message


def test_unknown_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[networking\] source"):
        load([conf_file(tmp_path, "[networking]\nsource = nova\n")])
