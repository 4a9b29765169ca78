"""barbican_cert_manager at process start: the real `bigip-lbaas api` starts with it against the
real Keystone; without Keystone (noauth, or no [service_auth] credentials) `api` and `agent` stop
with exit code 2 and one line naming the option, never the password."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cluster import PY, Proc, free_ports, port_open, wait_for
from tests.openstack.keystone import Keystone

BARBICAN = "[certificates]\ncert_manager = barbican_cert_manager\n"


def test_the_api_starts_with_barbican(keystone: Keystone, tmp_path: Path) -> None:
    octavia = keystone.service_user("octavia")
    port = free_ports(1)
    conf = tmp_path / "api.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{tmp_path / 'db.sqlite'}\n"
                    f"[api_settings]\nbind_host = 127.0.0.1\nbind_port = {port}\n"
                    "auth_strategy = keystone\n" + BARBICAN
                    + keystone.authtoken_conf(octavia) + keystone.service_auth_conf(octavia))
    subprocess.run([PY, "-m", "bigip_lbaas.cli", "db", "upgrade", "--config-file", str(conf)],
                   check=True, capture_output=True, timeout=120)
    api = Proc("api", [PY, "-m", "bigip_lbaas.cli", "api", "--config-file", str(conf)],
               tmp_path / "api.log").start()
    try:
        wait_for(lambda: port_open(port) or not api.alive, 60, "the API port")
        assert api.alive, api.output()
    finally:
        api.terminate()
    assert octavia.password not in api.output()


@pytest.mark.parametrize("command", ["api", "agent"])
@pytest.mark.parametrize("case", ["noauth", "no service password"])
def test_keystone_less_barbican_is_a_start_up_error(tmp_path: Path, command: str,
                                                    case: str) -> None:
    auth = ("[service_auth]\nauth_url = http://127.0.0.1:1/v3\nusername = octavia\n"
            "password = PW-NEVER-SHOWN\n")
    strategy = "[api_settings]\nauth_strategy = keystone\n"
    if case == "noauth":
        strategy = "[api_settings]\nauth_strategy = noauth\n"
    else:
        auth = auth.replace("password = PW-NEVER-SHOWN\n", "")
    conf = tmp_path / "bigip-lbaas.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{tmp_path / 'db.sqlite'}\n"
                    + strategy + BARBICAN + auth)
    done = subprocess.run([PY, "-m", "bigip_lbaas.cli", command, "--config-file", str(conf)],
                          capture_output=True, text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 2, (done.stdout, done.stderr)
    [line] = [x for x in done.stderr.splitlines() if "error" in x]
    assert f"{conf}: [certificates] cert_manager = barbican_cert_manager needs Keystone" in line
    assert ("auth_strategy = noauth" if case == "noauth" else "[service_auth] password") in line
    assert "PW-NEVER-SHOWN" not in done.stderr + done.stdout
