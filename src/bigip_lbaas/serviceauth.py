"""The service's own Keystone session, from `[service_auth]` (Octavia's option names).

One place builds it for every client that acts as the service: the Barbican certificate store
(certstore/barbican.py) and the Neutron network source (network/neutron.py). keystoneauth1 logs
request and response bodies at DEBUG (a secret's payload, a token in an auth response): the
session logs through split loggers and the body logger is held at INFO, so neither reaches a log.
"""

from __future__ import annotations

import logging
from typing import Any

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic

# keystoneauth1 names these loggers (split_loggers=True); the body one would show payloads.
BODY_LOGGER = "keystoneauth.session.body"
# Octavia's endpoint_type values are the catalog's old names.
INTERFACES = {"publicurl": "public", "internalurl": "internal", "adminurl": "admin"}


def quiet_bodies() -> None:
    """Hold keystoneauth1's body logger at INFO (unless the operator set it higher)."""
    body = logging.getLogger(BODY_LOGGER)
    if body.level == logging.NOTSET or body.level < logging.INFO:
        body.setLevel(logging.INFO)


def interface(endpoint_type: str) -> str:
    """A catalog interface from an Octavia-style `endpoint_type` (publicURL -> public)."""
    return INTERFACES.get(endpoint_type.lower(), endpoint_type)


def service_session(auth_conf: Any, timeout: float | None = None) -> ks_session.Session:
    """A keystoneauth1 password session as the service user of `auth_conf` (the
    `[service_auth]` group of a ConfigOpts); `timeout` overrides the group's per-request one."""
    quiet_bodies()
    auth = generic.Password(
        auth_url=auth_conf.auth_url, username=auth_conf.username,
        password=auth_conf.password, user_domain_name=auth_conf.user_domain_name,
        project_name=auth_conf.project_name,
        project_domain_name=auth_conf.project_domain_name)
    verify: bool | str = auth_conf.cafile or not auth_conf.insecure
    return ks_session.Session(auth=auth, verify=verify,
                              timeout=timeout if timeout is not None else auth_conf.timeout,
                              split_loggers=True)
