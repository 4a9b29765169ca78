"""Everything an agent needs to know, taken once from the operator's configuration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from oslo_config import cfg

from bigip_lbaas.config.devices import DeviceAddress, parse_devices
from bigip_lbaas.config.l2l3 import network_settings
from bigip_lbaas.core.errors import ConfigError
from bigip_lbaas.core.network import NetworkSettings
from bigip_lbaas.device.cluster import validate_ha


@dataclass(frozen=True)
class AgentSettings:
    database_url: str
    host: str
    identity: str
    environment: str
    ha_type: str
    devices: tuple[DeviceAddress, ...]
    username: str
    password: str = field(repr=False)
    verify: bool | str = True
    request_timeout: float = 30.0
    heartbeat_interval: float = 2.0
    lease_seconds: float = 10.0
    renew_deadline: float = 7.0
    poll_interval: float = 0.1
    max_concurrent_reconciles: int = 8
    device_concurrency: int = 8
    max_retries: int = 5
    pending_timeout: float = 60.0
    resync_interval: float = 300.0
    status_interval: float = 10.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    network: NetworkSettings = field(default_factory=NetworkSettings)  # F5's L2/L3 options

    @property
    def l2l3(self) -> bool:
        """F5's L2/L3 mode (``f5_global_routed_mode = False``)."""
        return not self.network.global_routed_mode


def from_conf(conf: cfg.ConfigOpts) -> AgentSettings:
    devices = parse_devices(conf.icontrol_hostname or "")
    validate_ha(conf.f5_ha_type, [str(d) for d in devices])
    ours = conf.bigip_lbaas
    verify: bool | str = conf.icontrol_verify
    if verify and conf.icontrol_ca_bundle:
        verify = conf.icontrol_ca_bundle
    if ours.renew_deadline >= ours.lease_seconds:
        raise ConfigError("[bigip_lbaas] renew_deadline must be shorter than lease_seconds")
    return AgentSettings(
        database_url=conf.database.connection,
        host=conf.host,
        identity=conf.agent_id or conf.host,
        environment=conf.environment_prefix,
        ha_type=conf.f5_ha_type,
        devices=devices,
        username=conf.icontrol_username,
        password=conf.icontrol_password,
        verify=verify,
        request_timeout=conf.icontrol_connection_timeout,
        heartbeat_interval=ours.heartbeat_interval,
        lease_seconds=ours.lease_seconds,
        renew_deadline=ours.renew_deadline,
        poll_interval=ours.poll_interval,
        max_concurrent_reconciles=ours.max_concurrent_reconciles,
        device_concurrency=ours.device_concurrency,
        max_retries=ours.max_retries,
        pending_timeout=conf.f5_pending_services_timeout,
        resync_interval=conf.service_resync_interval,
        status_interval=ours.status_interval,
        metrics_port=ours.metrics_port,
        metrics_host=ours.metrics_host,
        network=network_settings(conf),
    )
