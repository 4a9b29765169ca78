"""config.l2l3: F5's L2/L3 options from the operator's ini as it is, into NetworkSettings;
bad values refused at start-up with one line naming the file, option and value."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bigip_lbaas.config.l2l3 import network_settings
from bigip_lbaas.config.load import load, warn_unsupported
from bigip_lbaas.core.errors import ConfigError
from bigip_lbaas.core.network import NetworkSettings, PhysicalMapping

REFERENCE = Path("/work/shared/reference/f5-config-examples")
ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_defaults_are_f5s() -> None:
    conf = load([])
    assert network_settings(conf) == NetworkSettings(advertised_tunnel_types=("vxlan",))


@pytest.mark.parametrize("ini", ["stock", "grm", "etc"])
def test_shipped_f5_ini_taken_as_is(ini: str, tmp_path: Path) -> None:
    source = {"stock": REFERENCE / "f5-openstack-agent.ini",
              "grm": REFERENCE / "f5-openstack-agent.grm.ini",
              "etc": ROOT / "etc" / "f5-openstack-agent.ini"}[ini]
    if not source.exists():
        pytest.skip(f"{source} not present")
    copy = tmp_path / "f5-openstack-agent.ini"
    shutil.copyfile(source, copy)
    settings = network_settings(load([str(copy)]))
    assert settings.physical_mappings == (PhysicalMapping("default", "1.1", True),)
    assert settings.vtep_folder == "Common"
    if ini == "stock":
        assert settings.vtep_selfip_name == "vtep"  # quoted 'vtep' in F5's file
        assert settings.global_routed_mode and settings.use_namespaces
    if ini == "grm":
        assert settings.use_namespaces is False


def test_an_operators_l2l3_ini(tmp_path: Path) -> None:
    ini = write(tmp_path / "f5-openstack-agent.ini", (
        "[DEFAULT]\nf5_global_routed_mode = False\nuse_namespaces = True\n"
        "max_namespaces_per_tenant = 3\nf5_route_domain_strictness = True\n"
        "f5_snat_mode = True\nf5_snat_addresses_per_subnet = 2\nf5_common_networks = False\n"
        "f5_common_external_networks = False\n"
        "common_network_ids = 71718972-78e2-449e-bb56-ce47cc9d2680:external,"
        "396e06a0-05c7-4a49-8e86-04bb83d14438:vlan1222\n"
        "host = agent-a\n"
        "f5_external_physical_mappings = default:1.1:True, physnet2:1.3:False:agent-a,"
        " physnet2:2.1:True:agent-b\n"
        "f5_vtep_folder = 'Common'\nf5_vtep_selfip_name = 'vtep'\n"
        "advertised_tunnel_types = vxlan,gre\n"))
    conf = load([ini])
    s = network_settings(conf)
    assert not s.global_routed_mode and s.route_domain_strictness
    assert s.max_namespaces_per_tenant == 3 and s.snat_addresses_per_subnet == 2
    assert not s.common_external_networks
    assert s.common_network_ids == {"71718972-78e2-449e-bb56-ce47cc9d2680": "external",
                                    "396e06a0-05c7-4a49-8e86-04bb83d14438": "vlan1222"}
    # F5 #1066: "False" is false here, so that VLAN is untagged.
    assert s.mapping_for("physnet2") == PhysicalMapping("physnet2", "1.3", False)
    assert s.mapping_for("physnet9") == PhysicalMapping("default", "1.1", True)
    assert s.vtep_selfip_name == "vtep" and s.advertised_tunnel_types == ("vxlan", "gre")
    assert warn_unsupported(conf) == []  # none of these is warned about any more


@pytest.mark.parametrize(("line", "option", "shown", "why"), [
    ("f5_external_physical_mappings = physnet1:1.1:True", "f5_external_physical_mappings",
     "physnet1:1.1:True", "no `default` entry (mapped: physnet1)"),
    ("f5_external_physical_mappings = default:1.1:maybe", "f5_external_physical_mappings",
     "default:1.1:maybe", "tagged 'maybe'"),
    ("f5_external_physical_mappings = default:1.1", "f5_external_physical_mappings",
     "default:1.1", "cannot parse"),
    ("advertised_tunnel_types = vxlan,geneve", "advertised_tunnel_types", "vxlan,geneve",
     "unknown tunnel type 'geneve'"),
    ("max_namespaces_per_tenant = 0", "max_namespaces_per_tenant", "0", "invalid value"),
    ("f5_snat_addresses_per_subnet = -1", "f5_snat_addresses_per_subnet", "-1",
     "invalid value"),
    ("use_namespaces = sometimes", "use_namespaces", "sometimes", "invalid value"),
    ("common_network_ids = abc", "common_network_ids", "abc", "invalid value"),
], ids=["no-default", "tagged", "short", "tunnel", "max-ns", "snat", "bool", "dict"])
def test_bad_values_refused_in_one_line(tmp_path: Path, line: str, option: str, shown: str,
                                        why: str) -> None:
    ini = write(tmp_path / "f5.ini", f"[DEFAULT]\nf5_global_routed_mode = False\n{line}\n")
    with pytest.raises(ConfigError) as err:
        load([ini])
    message = str(err.value)
    assert "\n" not in message
    for part in (ini, "[DEFAULT]", option, shown, why):
        assert part in message, (part, message)
