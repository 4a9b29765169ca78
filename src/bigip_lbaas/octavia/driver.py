"""The `bigip` Octavia provider driver (octavia-lib's ProviderDriver).

Octavia loads it once at start-up from the entry point group `octavia.api.drivers`. It finds
this product's config file in Octavia's own config (`[bigip_lbaas] config_file`), reads
`[database] connection` and `environment_prefix` from it, and from then on each call writes
desired state and pending marks into the shared database in one short transaction
(`octavia/writes.py`) and returns: it never talks to a device. The agents converge the devices;
`bigip-lbaas octavia-bridge` reports the outcome back to Octavia.

What the devices cannot be made to do is refused at the call with octavia-lib's
UnsupportedOptionError, whose user fault string Octavia returns to its client (501).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from octavia_lib.api.drivers import exceptions as lib_exc
from octavia_lib.api.drivers import provider_base
from oslo_config import cfg
from sqlalchemy.orm import Session

from bigip_lbaas import certstore
from bigip_lbaas.api import errors as api_errors
from bigip_lbaas.api import tls
from bigip_lbaas.core.certs import CertificateSource
from bigip_lbaas.core.errors import ApiError, BigipLbaasError
from bigip_lbaas.db.session import Database
from bigip_lbaas.octavia import writes

LOG = logging.getLogger(__name__)
OPTS = [cfg.StrOpt("config_file", help="This product's config file (the one its agents use): "
                   "the driver reads [database] connection and environment_prefix from it.")]
FLAVOR_METADATA = {
    "environment": "The environment (the agents' environment_prefix) whose agents serve load "
                   "balancers of this flavor; default: the config file's environment_prefix.",
}


def octavia_conf() -> cfg.ConfigOpts:
    """Octavia's global config, with the `[bigip_lbaas]` section registered."""
    conf = cfg.CONF
    with contextlib.suppress(cfg.DuplicateOptError):
        conf.register_opts(OPTS, group="bigip_lbaas")
    return conf


_LOADED: dict[str, tuple[cfg.ConfigOpts, Database, CertificateSource]] = {}
_LOCK = threading.Lock()


def _loaded(path: str) -> tuple[cfg.ConfigOpts, Database, CertificateSource]:
    """The configuration, database and certificate store (the one the agents read,
    `[certificates] cert_manager`) of config file `path`, made once per
    process: Octavia makes a new driver object for every API call, and a new engine each time
    would cost a config parse and a database connection per call."""
    with _LOCK:
        if path not in _LOADED:
            from bigip_lbaas.config.load import load

            conf = load([path])
            db = Database(str(conf.database.connection))
            _LOADED[path] = (conf, db, certstore.certificate_source(conf, db))
        return _LOADED[path]


class BigipProviderDriver(provider_base.ProviderDriver):  # type: ignore[misc]
    """octavia-lib's ProviderDriver, writing into the shared database."""

    def __init__(self, config_file: str | None = None) -> None:
        super().__init__()
        self.name = writes.PROVIDER
        try:
            path = config_file or octavia_conf().bigip_lbaas.config_file
            if not path:
                raise BigipLbaasError("[bigip_lbaas] config_file is not set in Octavia's config")
            conf, self.db, source = _loaded(str(path))
            self.environment = str(conf.environment_prefix)
            # Octavia's API checked the caller's references already; this driver object serves
            # one API call, so what its checks read is dropped with it.
            self.tls = tls.checks_with(conf, source, None)
        except Exception as err:
            # Octavia drops a driver that fails to load, silently for its clients: say why.
            LOG.error("the bigip provider driver cannot start: %s", err)
            raise

    # --- plumbing ---------------------------------------------------------------------------

    def _write(self, fn: Callable[[Session], None]) -> None:
        try:
            tls.write(lambda: self.db.run(fn, attempts=4))
        except api_errors.ProviderUnsupportedOption as err:
            detail = str(err.fields.get("detail", err))
            raise lib_exc.UnsupportedOptionError(user_fault_string=detail,
                                                 operator_fault_string=detail) from err
        except ApiError as err:
            raise lib_exc.DriverError(user_fault_string=str(err),
                                      operator_fault_string=str(err)) from err
        except BigipLbaasError as err:
            LOG.error("bigip provider: %s", err)
            raise lib_exc.DriverError(
                user_fault_string="The bigip provider could not record the change; retry later.",
                operator_fault_string=str(err)) from err

    @staticmethod
    def _dict(obj: Any) -> dict[str, Any]:
        return dict(obj.to_dict(recurse=True, render_unsets=False))

    @staticmethod
    def _changes(new: Any, id_key: str) -> dict[str, Any]:
        out = writes.spec(dict(new.to_dict(render_unsets=False)), id_key)
        out.pop("id", None)
        return out

    def _environment(self, flavor: Any) -> str:
        if isinstance(flavor, dict) and flavor.get("environment"):
            return str(flavor["environment"])
        return self.environment

    # --- load balancer ------------------------------------------------------------------------

    def create_vip_port(self, loadbalancer_id: str, project_id: str, vip_dictionary: Any,
                        additional_vip_dicts: Any = None) -> Any:
        # Octavia allocates the VIP port itself (its network driver); the devices use the address.
        raise lib_exc.NotImplementedError(user_fault_string="VIP ports are Octavia's to create.",
                                          operator_fault_string="create_vip_port not used")

    def loadbalancer_create(self, loadbalancer: Any) -> None:
        lb = self._dict(loadbalancer)
        env = self._environment(lb.get("flavor"))
        self._write(lambda s: writes.create_loadbalancer(s, lb, env, self.tls))

    def loadbalancer_update(self, old_loadbalancer: Any, new_loadbalancer: Any) -> None:
        changes = self._changes(new_loadbalancer, "loadbalancer_id")
        lb_id = old_loadbalancer.loadbalancer_id
        self._write(lambda s: writes.update_loadbalancer(s, lb_id, changes))

    def loadbalancer_delete(self, loadbalancer: Any, cascade: bool = False) -> None:
        lb_id = loadbalancer.loadbalancer_id
        self._write(lambda s: writes.delete_loadbalancer(s, lb_id, cascade=bool(cascade)))

    def loadbalancer_failover(self, loadbalancer_id: str) -> None:
        self._write(lambda s: writes.failover_loadbalancer(s, loadbalancer_id))

    # --- children -------------------------------------------------------------------------------

    def listener_create(self, listener: Any) -> None:
        d = self._dict(listener)
        self._write(lambda s: writes.create_listener(s, d, self.tls))

    def listener_update(self, old_listener: Any, new_listener: Any) -> None:
        self._update("listener", old_listener.listener_id, new_listener, "listener_id")

    def listener_delete(self, listener: Any) -> None:
        self._delete("listener", listener.listener_id)

    def pool_create(self, pool: Any) -> None:
        d = self._dict(pool)
        self._write(lambda s: writes.create_pool(s, d, self.tls))

    def pool_update(self, old_pool: Any, new_pool: Any) -> None:
        self._update("pool", old_pool.pool_id, new_pool, "pool_id")

    def pool_delete(self, pool: Any) -> None:
        self._delete("pool", pool.pool_id)

    def member_create(self, member: Any) -> None:
        d = self._dict(member)
        self._write(lambda s: writes.create_member(s, d))

    def member_update(self, old_member: Any, new_member: Any) -> None:
        self._update("member", old_member.member_id, new_member, "member_id")

    def member_delete(self, member: Any) -> None:
        self._delete("member", member.member_id)

    def member_batch_update(self, pool_id: str, members: Any) -> None:
        ds = [self._dict(x) for x in members]
        self._write(lambda s: writes.batch_members(s, pool_id, ds))

    def health_monitor_create(self, healthmonitor: Any) -> None:
        d = self._dict(healthmonitor)
        self._write(lambda s: writes.create_health_monitor(s, d))

    def health_monitor_update(self, old_healthmonitor: Any, new_healthmonitor: Any) -> None:
        self._update("healthmonitor", old_healthmonitor.healthmonitor_id, new_healthmonitor,
                     "healthmonitor_id")

    def health_monitor_delete(self, healthmonitor: Any) -> None:
        self._delete("healthmonitor", healthmonitor.healthmonitor_id)

    def l7policy_create(self, l7policy: Any) -> None:
        d = self._dict(l7policy)
        self._write(lambda s: writes.create_l7policy(s, d))

    def l7policy_update(self, old_l7policy: Any, new_l7policy: Any) -> None:
        self._update("l7policy", old_l7policy.l7policy_id, new_l7policy, "l7policy_id")

    def l7policy_delete(self, l7policy: Any) -> None:
        self._delete("l7policy", l7policy.l7policy_id)

    def l7rule_create(self, l7rule: Any) -> None:
        d = self._dict(l7rule)
        self._write(lambda s: writes.create_l7rule(s, d))

    def l7rule_update(self, old_l7rule: Any, new_l7rule: Any) -> None:
        self._update("l7rule", old_l7rule.l7rule_id, new_l7rule, "l7rule_id")

    def l7rule_delete(self, l7rule: Any) -> None:
        self._delete("l7rule", l7rule.l7rule_id)

    def _update(self, what: str, obj_id: str, new: Any, id_key: str) -> None:
        changes = self._changes(new, id_key)
        self._write(lambda s: writes.update_child(s, what, obj_id, changes, self.tls))

    def _delete(self, what: str, obj_id: str) -> None:
        self._write(lambda s: writes.delete_child(s, what, obj_id))

    # --- flavors and availability zones ---------------------------------------------------------

    def get_supported_flavor_metadata(self) -> dict[str, str]:
        return dict(FLAVOR_METADATA)

    def validate_flavor(self, flavor_metadata: dict[str, Any]) -> None:
        for key, value in (flavor_metadata or {}).items():
            if key not in FLAVOR_METADATA:
                raise lib_exc.UnsupportedOptionError(
                    user_fault_string=f"Flavor metadata key {key!r} is not supported by the "
                                      f"bigip provider (supported: {', '.join(FLAVOR_METADATA)}).",
                    operator_fault_string=f"unsupported flavor metadata key {key!r}")
            if not isinstance(value, str) or not value.strip():
                raise lib_exc.UnsupportedOptionError(
                    user_fault_string=f"Flavor metadata {key!r} must be a non-empty string.",
                    operator_fault_string=f"bad flavor metadata value for {key!r}")

    def get_supported_availability_zone_metadata(self) -> dict[str, str]:
        return {}

    def validate_availability_zone(self, availability_zone_metadata: dict[str, Any]) -> None:
        if availability_zone_metadata:
            keys = ", ".join(sorted(availability_zone_metadata))
            raise lib_exc.UnsupportedOptionError(
                user_fault_string=f"The bigip provider places load balancers by environment "
                                  f"(flavors), not by availability zone; metadata {keys} "
                                  "cannot be honoured.",
                operator_fault_string=f"availability zone metadata {keys}")
