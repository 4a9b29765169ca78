"""Where network facts come from and where service addresses are booked (`[networking] source`):
the built-in Neutron-shaped registry in the shared database, or a real Neutron."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bigip_lbaas.network.source import NetworkSource, NetworkSourceError

if TYPE_CHECKING:
    from oslo_config import cfg

    from bigip_lbaas.db.session import Database
    from bigip_lbaas.network.neutron import NeutronSource

BUILTIN = "builtin"
NEUTRON = "neutron"


def is_neutron(conf: cfg.ConfigOpts) -> bool:
    """`[networking] source = neutron`."""
    return str(conf.networking.source) == NEUTRON


def neutron_source(conf: cfg.ConfigOpts) -> NeutronSource:
    """The real-Neutron source of `conf` (`[networking]`, `[service_auth]`); needs the
    neutron extra (keystoneauth1)."""
    try:
        from bigip_lbaas.network.neutron import NeutronSource
    except ImportError as err:
        raise NetworkSourceError("[networking] source = neutron needs keystoneauth1 "
                                 "(pip install bigip-lbaas[neutron])") from err
    return NeutronSource.from_conf(conf)


def source_for(conf: cfg.ConfigOpts, db: Database) -> NetworkSource:
    """The network source `[networking] source` names: `neutron` (network/neutron.py) or
    `builtin` (network/builtin.py `BuiltinSource(db)`, the registry in `db`)."""
    if is_neutron(conf):
        return neutron_source(conf)
    from bigip_lbaas.network.builtin import BuiltinSource

    return BuiltinSource(db)
