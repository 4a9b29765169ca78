"""`barbican_cert_manager`: secrets in a real Barbican, found through the Keystone catalog.

As Octavia's Barbican certificate manager with its ACL auth (`barbican_acl`):

- Agents read with the service's own credentials (`[service_auth]`, a keystoneauth1 password
  session): the service user can read a secret because the secret's read ACL names it.
- The API, on listener/pool create and update, acts with the caller's token: it reads the
  secret's ACL (a caller who may not is told the secret is not found), adds the service user to
  the read ACL if it is not there, then reads the secret with the service's credentials (as
  Octavia's `get_cert` does after `set_acls`), so a reference the agents cannot read is refused
  up front.

References are Barbican secret URLs (`.../v1/secrets/<uuid>`) or bare UUIDs; the secret is asked
for by UUID at the catalog's key-manager endpoint, whatever host the reference names. Legacy
certificate containers are not read.

Secrets never reach a log: keystoneauth1 logs response bodies at DEBUG (a PEM payload is
text/plain), so the sessions here log through split loggers and the body logger is held at INFO;
barbicanclient's own ERROR line for every refused request (the 403 of another project's secret)
is silenced: the exception made of it says the same.
Errors carry status codes and names, never payloads, tokens or passwords.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from barbicanclient import client as barbican_client
from barbicanclient import exceptions as barbican_exceptions
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from oslo_config import cfg

from bigip_lbaas.certstore import CertificateStoreUnavailable
from bigip_lbaas.core.certs import SecretNotFound, secret_id_from_ref
from bigip_lbaas.serviceauth import interface, quiet_bodies, service_session

SERVICE_TYPE = "key-manager"
# barbicanclient logs every refused request at ERROR before raising; ours is the exception we
# make of it (a refused lookup is an answer here, not an error), so its own line is noise.
CLIENT_LOGGER = "barbicanclient.client"


def _quiet_bodies() -> None:
    quiet_bodies()
    client = logging.getLogger(CLIENT_LOGGER)
    if client.level < logging.CRITICAL:
        client.setLevel(logging.CRITICAL)


@contextmanager
def _errors(ref: str, *, as_user: bool) -> Iterator[None]:
    """Barbican's and Keystone's exceptions as ours, naming status codes only."""
    try:
        yield
    except SecretNotFound:
        raise
    except barbican_exceptions.HTTPAuthError as err:
        if as_user:  # the caller's token: whatever it cannot do, it may not use
            raise SecretNotFound(ref) from None
        raise CertificateStoreUnavailable(
            f"Barbican refused the service's token ({err.status_code})") from None
    except barbican_exceptions.HTTPClientError as err:
        if err.status_code in (403, 404) or as_user:
            raise SecretNotFound(ref) from None
        raise CertificateStoreUnavailable(f"Barbican answered {err.status_code}") from None
    except barbican_exceptions.HTTPServerError as err:
        raise CertificateStoreUnavailable(f"Barbican answered {err.status_code}") from None
    except ks_exceptions.EndpointNotFound:
        raise CertificateStoreUnavailable(
            f"no {SERVICE_TYPE} endpoint in the Keystone catalog") from None
    except ks_exceptions.Unauthorized:
        if as_user:
            raise SecretNotFound(ref) from None
        raise CertificateStoreUnavailable(
            "Keystone refused the [service_auth] credentials") from None
    except ks_exceptions.ConnectionError as err:
        raise CertificateStoreUnavailable(
            f"cannot reach Keystone or Barbican ({type(err).__name__})") from None
    except ks_exceptions.ClientException as err:
        raise CertificateStoreUnavailable(
            f"Keystone or Barbican failed ({type(err).__name__})") from None


def _secret_id(ref: str) -> str:
    found = secret_id_from_ref(ref)
    if found is None:
        raise SecretNotFound(ref)
    return found


def _payload(client: Any, ref: str, secret_id: str) -> bytes:
    payload = client.secrets.get(secret_ref=secret_id).payload
    if payload is None:
        raise SecretNotFound(ref)
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


@dataclass
class BarbicanSecrets:
    """`CertificateSource` of a real Barbican, read with the service's `session`."""

    session: ks_session.Session
    region_name: str | None = None
    interface: str = "public"
    _user_id: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _quiet_bodies()

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> BarbicanSecrets:
        """From `[service_auth]` (Octavia's names) and `[certificates] region_name`,
        `endpoint_type`."""
        return cls(service_session(conf.service_auth), conf.certificates.region_name,
                   interface(str(conf.certificates.endpoint_type)))

    def _client(self) -> Any:
        return barbican_client.Client(session=self.session, region_name=self.region_name,
                                      interface=self.interface)

    def endpoint(self) -> str:
        """The key-manager endpoint of the catalog (as the service sees it)."""
        with _errors("", as_user=False):
            url = self.session.get_endpoint(service_type=SERVICE_TYPE,
                                            interface=self.interface,
                                            region_name=self.region_name)
        if not url:
            raise CertificateStoreUnavailable(
                f"no {SERVICE_TYPE} endpoint in the Keystone catalog")
        return str(url)

    def service_user_id(self) -> str:
        """The id of the service's own user (what the secrets' read ACLs name)."""
        if self._user_id is None:
            with _errors("", as_user=False):
                self._user_id = str(self.session.get_user_id())
        return self._user_id

    def get_secret(self, ref: str, project_id: str) -> bytes:
        """The payload of `ref`, read with the service's credentials. `project_id` is not
        checked here: Barbican lets the service read only what a project's user shared with it
        (the API's `as_user` check added it to the read ACL)."""
        secret_id = _secret_id(ref)
        with _errors(ref, as_user=False):
            return _payload(self._client(), ref, secret_id)

    def as_user(self, token: str | None) -> UserBarbicanSecrets:
        """The API's view for a caller with Keystone `token`."""
        return UserBarbicanSecrets(self, token)


@dataclass(frozen=True)
class UserBarbicanSecrets:
    """`CertificateSource` for the API: checks and shares with the caller's token, then reads
    as the service (Octavia's `set_acls` followed by `get_cert`)."""

    service: BarbicanSecrets
    token: str | None = field(repr=False)

    def _client(self) -> Any:
        if not self.token:
            raise CertificateStoreUnavailable(
                "barbican_cert_manager needs the caller's Keystone token "
                "([api_settings] auth_strategy = keystone)")
        endpoint = self.service.endpoint()
        auth = token_endpoint.Token(endpoint, self.token)
        session = ks_session.Session(auth=auth, verify=self.service.session.verify,
                                     timeout=self.service.session.timeout, split_loggers=True)
        return barbican_client.Client(session=session, endpoint=endpoint)

    def grant(self, ref: str) -> None:
        """Add the service user to the read ACL of `ref`, acting as the caller (nothing is
        written when it is there already); SecretNotFound if the caller may not."""
        secret_id = _secret_id(ref)
        user_id = self.service.service_user_id()
        client = self._client()
        with _errors(ref, as_user=True):
            acl = client.acls.get(secret_id, ref_type="secret")
            read = acl.get("read")
            if user_id not in read.users:
                read.users.append(user_id)
                acl.submit()

    def get_secret(self, ref: str, project_id: str) -> bytes:
        """Share `ref` with the service (the caller's token) and read it as the service. The
        caller's token is scoped to its project, which is what Barbican checks."""
        self.grant(ref)
        return self.service.get_secret(ref, project_id)
