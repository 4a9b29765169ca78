"""The agent's start-up checks, through the paths the agent runs: the f5_ha_type device count
(``settings.from_conf``) and the auto-sync warning (``service.warn_autosync``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from bigip_lbaas.agent import service
from bigip_lbaas.agent.settings import from_conf
from bigip_lbaas.config.load import load
from bigip_lbaas.core.errors import ConfigError, DeviceUnreachable


def conf(tmp_path: Path, ha_type: str, hosts: str) -> Any:
    ini = tmp_path / "agent.ini"
    ini.write_text(f"[DEFAULT]\nf5_ha_type = {ha_type}\nicontrol_hostname = {hosts}\n")
    return load([str(ini)])


@pytest.mark.parametrize(
    ("ha_type", "hosts"),
    [("standalone", "a"), ("pair", "a,b"), ("scalen", "a,b"), ("scalen", "a,b,c,d,e")],
)
def test_a_fitting_device_count_is_accepted(tmp_path: Path, ha_type: str, hosts: str) -> None:
    settings = from_conf(conf(tmp_path, ha_type, hosts))
    assert len(settings.devices) == len(hosts.split(","))


@pytest.mark.parametrize(
    ("ha_type", "hosts"), [("standalone", "a,b"), ("pair", "a"), ("pair", "a,b,c"), ("scalen", "a")]
)
def test_a_wrong_device_count_names_the_options(tmp_path: Path, ha_type: str, hosts: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_conf(conf(tmp_path, ha_type, hosts))
    assert "f5_ha_type" in str(info.value) and "icontrol_hostname" in str(info.value)


class Client:
    def __init__(self, name: str, groups: list[dict[str, Any]] | None) -> None:
        self.name = name
        self.groups = groups
        self.paths: list[str] = []

    async def items(self, path: str, params: Any = None) -> list[dict[str, Any]]:
        self.paths.append(path)
        if self.groups is None:
            raise DeviceUnreachable(self.name, "refused")
        return self.groups


class Device:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.name = client.name


def test_auto_sync_on_a_sync_failover_group_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    groups = [
        {"name": "failover", "fullPath": "/Common/failover", "type": "sync-failover",
         "autoSync": "enabled"},
        {"name": "quiet", "type": "sync-failover", "autoSync": "disabled"},
        {"name": "trust", "type": "sync-only", "autoSync": "enabled"},
    ]
    devices = [Device(Client("down", None)), Device(Client("dev1", groups))]
    with caplog.at_level(logging.WARNING, logger=service.LOG.name):
        asyncio.run(service.warn_autosync(devices))  # type: ignore[arg-type]
    assert devices[1].client.paths == ["/mgmt/tm/cm/device-group"]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 1  # the unreachable device is skipped, not an error
    assert "dev1" in warned[0] and "/Common/failover" in warned[0] and "autoSync" in warned[0]
