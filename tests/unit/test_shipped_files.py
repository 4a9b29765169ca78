"""What ships beside the code agrees with it: the example files in etc/ load (and the providers in
neutron_lbaas.conf parse as documented), the sample config is what the option tables generate,
and each systemd unit passes every file docs/deployment.md says its command reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bigip_lbaas.api.providers import load_providers
from bigip_lbaas.config.load import load
from bigip_lbaas.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ETC = ROOT / "etc"
UNITS = ROOT / "deploy" / "systemd"


def test_example_files_load_together() -> None:
    conf = load([str(ETC / "neutron.conf"), str(ETC / "neutron_lbaas.conf"),
                 str(ETC / "f5-openstack-agent.ini"), str(ETC / "bigip-lbaas.conf")])
    assert conf.host == "lbaas-agent-1"
    assert conf.api_settings.auth_strategy == "keystone"


def test_service_provider_lines_from_neutron_lbaas_conf() -> None:
    conf = load([str(ETC / "neutron_lbaas.conf")])
    assert conf.service_providers.service_provider == [
        "LOADBALANCERV2:F5Networks:neutron_lbaas.drivers.f5.driver_v2.F5LBaaSV2Driver:default",
        "LOADBALANCERV2:dev:neutron_lbaas.drivers.f5.v2_dev.dev:F5LBaaSV2Driver",
    ]
    providers = load_providers(conf)
    assert providers.default == "F5Networks"
    assert providers.names() == ["F5Networks", "dev"]
    assert providers.by_name["F5Networks"].environment == "Project"  # environment_prefix
    assert providers.by_name["F5Networks"].description == (
        "neutron_lbaas.drivers.f5.driver_v2.F5LBaaSV2Driver")
    assert providers.by_name["dev"].environment == "dev"  # a provider's name is its prefix
    # The driver path may itself contain ':'.
    assert providers.by_name["dev"].description == (
        "neutron_lbaas.drivers.f5.v2_dev.dev:F5LBaaSV2Driver")


def test_service_provider_of_another_type_is_ignored_and_garbage_fails(tmp_path: Path) -> None:
    conf_file = tmp_path / "neutron_lbaas.conf"
    conf_file.write_text(
        "[DEFAULT]\nenvironment_prefix = Prod\n[service_providers]\n"
        "service_provider = VPN:openswan:neutron_vpnaas.services.vpn.ipsec:default\n"
        "service_provider = LOADBALANCERV2:F5:f5.driver:default\n")
    providers = load_providers(load([str(conf_file)]))
    assert providers.names() == ["F5"]
    assert providers.by_name["F5"].environment == "Prod"
    conf_file.write_text("[service_providers]\nservice_provider = F5Networks\n")
    with pytest.raises(ConfigError, match="service_provider: cannot parse 'F5Networks'"):
        load_providers(load([str(conf_file)]))


def test_sample_config_is_current(tmp_path: Path) -> None:
    if shutil.which("oslo-config-generator", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("oslo-config-generator is not installed in this environment")
    out = tmp_path / "bigip-lbaas.conf.sample"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-sample-config"), str(out)],
                          capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == (ETC / "bigip-lbaas.conf.sample").read_text(), (
        "etc/bigip-lbaas.conf.sample is stale: run scripts/gen-sample-config")


def documented_files() -> dict[str, set[str]]:
    """docs/deployment.md's Files table: path -> the commands said to read it."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    table = text[text.index("| file | read by |"):]
    found: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        path = cells[0].strip("`")
        found[path] = set(re.findall(r"\b(api|agent)\b", cells[1]))
    assert len(found) >= 4, found
    return found


def exec_start(unit: Path) -> tuple[str, list[str]]:
    text = unit.read_text().replace("\\\n", " ")
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    argv = line.split("=", 1)[1].split()
    files = [argv[i + 1] for i, a in enumerate(argv) if a == "--config-file"]
    return argv[1], files


@pytest.mark.parametrize("command", ["api", "agent"])
def test_systemd_unit_passes_every_file_the_docs_say_it_reads(command: str) -> None:
    unit = UNITS / f"bigip-lbaas-{command}.service"
    sub, files = exec_start(unit)
    assert sub == command
    wanted = sorted(path for path, readers in documented_files().items() if command in readers)
    assert sorted(files) == wanted, (unit.name, files, wanted)
    # Ours comes last: it may override what the shared F5/neutron files set.
    assert files[-1] == "/etc/bigip-lbaas/bigip-lbaas.conf"
