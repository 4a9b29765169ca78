"""The `bigip-lbaas` command itself: its help, the `host` every log line carries, and the order in
which `--config-file` and `--config-dir` are read. Each run stops on its own (an empty database
refuses every agent after start-up logging), so no process outlives a test."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

BIGIP_LBAAS = Path(sys.executable).parent / "bigip-lbaas"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIGIP_LBAAS), *args], capture_output=True, text=True, timeout=60,
                          check=False)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_help_lists_every_command() -> None:
    done = run("--help")
    assert done.returncode == 0, done.stderr
    for command in ("api", "agent", "sim", "up", "db", "status"):
        assert f"    {command} " in done.stdout, (command, done.stdout)
    db = run("db", "--help")
    assert db.returncode == 0 and "upgrade" in db.stdout
    up = run("up", "--help")
    assert up.returncode == 0 and "--metrics-port" in up.stdout


def agent_conf(tmp_path: Path, host: str) -> Path:
    """A standalone agent on an empty SQLite file; `l2_population` makes it log a warning."""
    conf = tmp_path / "agent.conf"
    conf.write_text(
        f"[DEFAULT]\nhost = {host}\nf5_ha_type = standalone\nicontrol_hostname = 127.0.0.1\n"
        "l2_population = True\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'empty.sqlite'}\n")
    return conf


def test_json_log_lines_carry_the_configured_host(tmp_path: Path) -> None:
    assert socket.gethostname() != "myhost-x"
    done = run("agent", "--log-format", "json", "--config-file",
               str(agent_conf(tmp_path, "myhost-x")))
    lines = json_lines(done.stderr)
    assert lines, done.stderr
    assert {line["host"] for line in lines} == {"myhost-x"}, lines
    warning = next(line for line in lines if line.get("action") == "config_unsupported")
    assert warning["level"] == "WARNING" and "l2_population" in warning["message"]


def test_text_log_lines_carry_the_configured_host(tmp_path: Path) -> None:
    done = run("agent", "--config-file", str(agent_conf(tmp_path, "myhost-y")))
    logged = [line for line in done.stderr.splitlines() if " WARNING " in line]
    assert logged, done.stderr
    assert all(" myhost-y " in line for line in logged), logged


def test_config_dir_is_read_after_config_files_later_wins(tmp_path: Path) -> None:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "10-first.conf").write_text("[DEFAULT]\nhost = from-dir-10\n")
    (conf_d / "20-second.conf").write_text("[DEFAULT]\nhost = from-dir-20\n")
    (conf_d / "30-not-read.ini").write_text("[DEFAULT]\nhost = from-ini\n")
    done = run("agent", "--log-format", "json", "--config-file",
               str(agent_conf(tmp_path, "from-file")), "--config-dir", str(conf_d))
    lines = json_lines(done.stderr)
    assert lines, done.stderr
    assert {line["host"] for line in lines} == {"from-dir-20"}, lines


def test_log_format_from_the_file_and_the_flag_wins(tmp_path: Path) -> None:
    conf = agent_conf(tmp_path, "myhost-z")
    conf.write_text(conf.read_text() + "[bigip_lbaas]\nlog_format = json\n")
    from_file = run("agent", "--config-file", str(conf))
    assert json_lines(from_file.stderr), from_file.stderr
    flag = run("agent", "--log-format", "text", "--config-file", str(conf))
    assert not json_lines(flag.stderr) and " myhost-z " in flag.stderr, flag.stderr
