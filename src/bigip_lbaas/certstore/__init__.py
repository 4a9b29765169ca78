"""Where TLS secrets come from, chosen by `[certificates] cert_manager` (Octavia's option).

Two calls, for whoever wires the API and the agents:

- `certificate_source(conf, database) -> CertificateSource`: the one factory. Call it once per
  process after the configuration is loaded; `get_secret(ref, project_id) -> bytes` on what it
  returns is what agents use at reconcile time.
  - `database_cert_manager` (default): `db.secrets.DatabaseSecrets` on `database` with the key
    from `[certificates] storage_key_file` (unset: every read raises CertificateStoreUnavailable,
    as the API's store answers 503).
  - `barbican_cert_manager`: `certstore.barbican.BarbicanSecrets`, a real Barbican found in the
    Keystone catalog, read with the service's own `[service_auth]` credentials.
- `for_request(source, token) -> CertificateSource`: what the API validates a listener's or
  pool's `*_container_ref`s with on create and update, `token` being the caller's Keystone token
  (the request's `X-Auth-Token`; None outside keystone mode). For the database store it is the
  store itself (the project check is `project_id`); for Barbican it acts as Octavia does: with the
  user's token it checks the user can read the secret and adds the service user to the secret's
  read ACL, then reads it with the service's credentials, proving the agents will be able to.

Both raise `core.certs.SecretNotFound` for a reference the project may not use (unknown,
another project's, unreadable) and `CertificateStoreUnavailable` when the store cannot be asked
now (Keystone or Barbican down, credentials refused): a temporary failure, worth a retry.
Neither error ever carries a payload, a token or a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bigip_lbaas.core.certs import CertificateSource
from bigip_lbaas.core.errors import BigipLbaasError, ConfigError
from bigip_lbaas.db.secrets import DatabaseSecrets, read_storage_key

if TYPE_CHECKING:
    from oslo_config import cfg

    from bigip_lbaas.db.session import Database

DATABASE_CERT_MANAGER = "database_cert_manager"
BARBICAN_CERT_MANAGER = "barbican_cert_manager"


class CertificateStoreUnavailable(BigipLbaasError):
    """Temporary: the certificate store cannot be asked now. The message names what failed,
    never a secret, token or password."""


@runtime_checkable
class UserScoped(Protocol):
    """A source whose API-side checks act with the caller's own token (Barbican)."""

    def as_user(self, token: str | None) -> CertificateSource: ...


@dataclass(frozen=True)
class NoStorageKey:
    """The built-in store without `[certificates] storage_key_file`: nothing can be read."""

    def get_secret(self, ref: str, project_id: str) -> bytes:
        raise CertificateStoreUnavailable(
            "the certificate store has no storage key: set [certificates] storage_key_file")


def certificate_source(conf: cfg.ConfigOpts, database: Database) -> CertificateSource:
    """The certificate store `conf` names (see the module's docstring)."""
    manager = str(conf.certificates.cert_manager)
    if manager == BARBICAN_CERT_MANAGER:
        from bigip_lbaas.certstore.barbican import BarbicanSecrets

        return BarbicanSecrets.from_conf(conf)
    if manager != DATABASE_CERT_MANAGER:
        raise ConfigError(f"[certificates] cert_manager = {manager}: not a store we have")
    path = conf.certificates.storage_key_file
    if not path:
        return NoStorageKey()
    try:
        key = read_storage_key(str(path))
    except (OSError, UnicodeDecodeError, BigipLbaasError):
        raise ConfigError(f"[certificates] storage_key_file = {path!r}: cannot read a key "
                          "from it") from None
    return DatabaseSecrets(database, key)


def for_request(source: CertificateSource, token: str | None) -> CertificateSource:
    """The source the API checks a caller's references with (see the module's docstring)."""
    return source.as_user(token) if isinstance(source, UserScoped) else source
