"""config/load.py and config/options.py on files in a temp directory: which file wins, where an
invalid value is reported, and which F5 options are named as not implemented."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bigip_lbaas.config import options
from bigip_lbaas.config.load import load, warn_unsupported
from bigip_lbaas.core.errors import ConfigError

# The steering material sits beside the checkout (`../shared`), in development and in CI.
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "f5-agent-and-driver.md"


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def section_3_4_options() -> set[str]:
    """Option names in the first column of section 3.4's tables (F5's agent options)."""
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} is not available")
    text = REFERENCE.read_text()
    section = text[text.index("### 3.4"):text.index("\n## 4.")]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = re.sub(r"\([^)]*\)", "", line.split("|")[1])  # drop "(`service`)" defaults
            names.update(re.findall(r"`([a-z0-9_*]+)`", first))
    assert len(names) > 50, names
    return names


def test_every_f5_agent_option_is_implemented_or_named_as_not() -> None:
    registered = {opt.dest for _, opts in options.list_opts() for opt in opts}
    missing = []
    for name in sorted(section_3_4_options()):
        if name.endswith("*"):
            if not any(u.startswith(name[:-1]) for u in options.UNSUPPORTED):
                missing.append(name)
        elif name not in registered and name not in options.UNSUPPORTED:
            missing.append(name)
    assert missing == [], f"F5 options neither implemented nor in UNSUPPORTED: {missing}"
    # UNSUPPORTED names [DEFAULT] options; another section may reuse a name ([certificates]
    # cert_manager is Octavia's, F5's [DEFAULT] cert_manager stays unsupported).
    in_default = {opt.dest for group, opts in options.list_opts() if group == "DEFAULT"
                  for opt in opts}
    assert not in_default & set(options.UNSUPPORTED)
    assert len(set(options.UNSUPPORTED)) == len(options.UNSUPPORTED)


def test_config_dir_is_read_after_config_files_and_later_wins(tmp_path: Path) -> None:
    first = write(tmp_path / "neutron.conf", "[DEFAULT]\nhost = from-file\n"
                  "environment_prefix = FromFile\n[bigip_lbaas]\nlease_seconds = 20\n")
    conf_d = tmp_path / "conf.d"
    write(conf_d / "20-later.conf", "[DEFAULT]\nhost = from-dir-20\n")
    write(conf_d / "10-earlier.conf", "[DEFAULT]\nhost = from-dir-10\n"
          "environment_prefix = FromDir\n")
    write(conf_d / "ignored.ini", "[DEFAULT]\nhost = not-a-conf-file\n")
    conf = load([first], str(conf_d))
    assert conf.host == "from-dir-20"  # the directory's files in name order, after the file
    assert conf.environment_prefix == "FromDir"
    assert conf.bigip_lbaas.lease_seconds == 20.0  # set only in the file


def test_invalid_value_in_lowercase_agent_section_names_the_file(tmp_path: Path) -> None:
    good = write(tmp_path / "a.conf", "[DEFAULT]\nhost = h\n")
    bad = write(tmp_path / "neutron.conf", "[agent]\nroot_helper = sudo\nreport_interval = fast\n")
    with pytest.raises(ConfigError) as err:
        load([bad, good])
    message = str(err.value)
    assert message.startswith(f"{bad}: [agent] report_interval = 'fast': invalid value"), message
    assert "accepted: a number" in message


def test_later_file_in_other_case_is_the_one_named(tmp_path: Path) -> None:
    first = write(tmp_path / "first.conf", "[AGENT]\nreport_interval = slow\n")
    second = write(tmp_path / "second.conf", "[agent]\nreport_interval = fast\n")
    with pytest.raises(ConfigError) as err:
        load([first, second])
    assert str(err.value).startswith(f"{second}: [agent] report_interval = 'fast'"), err.value


@pytest.mark.parametrize("value", ["10.0.0.1:99999", "10.0.0.1:443,10.0.0.2:http",
                                   "[2001:db8::1]:0"])
def test_bad_icontrol_hostname_port_names_file_section_and_option(
        tmp_path: Path, value: str) -> None:
    bad = write(tmp_path / "site.ini", f"[DEFAULT]\nicontrol_hostname = {value}\n")
    with pytest.raises(ConfigError) as err:
        load([bad])
    message = str(err.value)
    assert message.startswith(f"{bad}: [DEFAULT] icontrol_hostname = {value!r}: invalid value")
    assert "invalid port" in message and "1-65535" in message


def test_good_icontrol_hostnames_load(tmp_path: Path) -> None:
    ok = write(tmp_path / "site.ini",
               "[DEFAULT]\nicontrol_hostname = 'a.example, 10.0.0.2:8443,[2001:db8::1]:443,"
               "2001:db8::2'\n")
    assert load([ok]).icontrol_hostname


def test_unsupported_database_scheme_names_file_section_and_option(tmp_path: Path) -> None:
    bad = write(tmp_path / "neutron.conf",
                "[database]\nconnection = oracle://scott:T1ger@PW@dbhost/orcl\n")
    with pytest.raises(ConfigError) as err:
        load([bad])
    message = str(err.value)
    assert message.startswith(f"{bad}: [database] connection: unsupported database URL scheme")
    assert "oracle://dbhost" in message
    assert "T1ger" not in message and "PW" not in message


def test_warnings_name_unimplemented_options_once_and_unhonoured_values(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ini = write(tmp_path / "f5-openstack-agent.ini",
                "[DEFAULT]\nl2_population = True\nbigiq_hostname = bigiq.example\n"
                "bigiq_admin_password = hunter2\nopenstack_keystone_uri = http://k:5000/\n"
                "bigip_management_username = admin\nf5_global_routed_mode = False\n"
                "environment_group_number = 2\nperiodic_interval = 5\n")
    again = write(tmp_path / "site.ini", "[DEFAULT]\nl2_population = False\n")
    conf = load([ini, again])
    with caplog.at_level(logging.WARNING):
        reported = warn_unsupported(conf)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    names, values = lines
    assert names.startswith("options set but not implemented (ignored): ")
    for name in ("l2_population", "bigiq_hostname", "bigiq_admin_password",
                 "openstack_keystone_uri", "bigip_management_username"):
        assert names.count(name) == 1, (name, names)
    assert "hunter2" not in names + values
    # L2/L3 mode is implemented (config/l2l3.py): no longer warned about.
    assert "f5_global_routed_mode" not in names + values
    assert "environment_group_number = 2: groups are not implemented" in values
    assert "periodic_interval = 5.0: not used" in values
    assert len(reported) == 5 + 2


def test_f5_defaults_are_not_warned_about(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    ini = write(tmp_path / "f5.ini", "[DEFAULT]\nf5_global_routed_mode = True \n"
                "environment_group_number = 1\nperiodic_interval = 10\n")
    with caplog.at_level(logging.WARNING):
        assert warn_unsupported(load([ini])) == []
    assert caplog.records == []
