"""`bigip-lbaas agent`: start-up checks, registration, signal handling, and the loop's lifetime."""

from __future__ import annotations

import asyncio
import logging
import signal

from oslo_config import cfg
from prometheus_client import start_http_server

from bigip_lbaas import certstore, network
from bigip_lbaas.agent import settings as agent_settings
from bigip_lbaas.agent.devices import BigipDevice
from bigip_lbaas.agent.loop import Agent
from bigip_lbaas.config.load import warn_unsupported
from bigip_lbaas.core.certs import CertificateSource
from bigip_lbaas.core.errors import DeviceError
from bigip_lbaas.db import agents, schema
from bigip_lbaas.db.agents import DuplicateAgent
from bigip_lbaas.db.session import Database
from bigip_lbaas.device.cluster import autosync_warnings
from bigip_lbaas.network.source import NetworkSource

LOG = logging.getLogger(__name__)


def run(conf: cfg.ConfigOpts) -> int:
    settings = agent_settings.from_conf(conf)
    warn_unsupported(conf)
    db = Database(settings.database_url)
    # The agent's one certificate source (TLS secrets), the store `[certificates] cert_manager`
    # names; a storage key file that cannot be read stops the start here (ConfigError).
    try:
        certs = certstore.certificate_source(conf, db)
        # A real Neutron when `[networking] source = neutron` (the agent books self-IP and SNAT
        # ports there in L2/L3 mode and deletes the VIP ports the API made); None: the
        # registry in `db`, which the agent opens itself when L2/L3 mode needs it.
        source = network.neutron_source(conf) if network.is_neutron(conf) else None
    except BaseException:
        db.dispose()
        raise
    try:
        schema.require_current(db)
        agents.register(
            db,
            environment=settings.environment,
            identity=settings.identity,
            host=settings.host,
            instance_id=settings.instance_id,
            lease_seconds=settings.lease_seconds,
            ha_type=settings.ha_type,
            devices=[{"device": str(d), "reachable": None} for d in settings.devices],
            configurations={
                "environment_prefix": settings.environment,
                "ha_type": settings.ha_type,
                "icontrol_endpoints": [str(d) for d in settings.devices],
            },
        )
    except DuplicateAgent:
        db.dispose()
        raise
    LOG.info(
        "agent registered",
        extra={
            "action": "start",
            "agent": settings.host,
            "environment": settings.environment,
            "ha_type": settings.ha_type,
            "devices": ",".join(map(str, settings.devices)),
        },
    )
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    try:
        gave_up = asyncio.run(_serve(settings, db, certs, source))
    finally:
        db.dispose()
    # A loop that kept crashing stopped the agent (its leases released): a process manager
    # restarting it on a non-zero exit gets a fresh one.
    return 1 if gave_up else 0


async def _serve(settings: agent_settings.AgentSettings, db: Database,
                 certs: CertificateSource | None = None,
                 source: NetworkSource | None = None) -> list[str]:
    devices = BigipDevice.connect_all(settings)
    agent = Agent(settings, db, devices, certs, source)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.stopping.set)
    await warn_autosync(devices)
    try:
        await agent.run()
    finally:
        for d in devices:
            await d.close()
    return agent.gave_up


async def warn_autosync(devices: list[BigipDevice]) -> None:
    """Every device is written directly; a device group that auto-syncs fights that. Logs one
    warning per such group (``device.cluster.autosync_warnings``); a device that cannot be read
    now is skipped (the probe loop reports it)."""
    for d in devices:
        try:
            warnings = await autosync_warnings(d.client)
        except DeviceError:
            continue
        for text in warnings:
            LOG.warning(text, extra={"action": "ha_check", "device": d.name})
