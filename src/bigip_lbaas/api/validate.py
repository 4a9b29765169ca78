"""What a request may ask for beyond its schema: Octavia's cross-field rules and this provider's
refusals.

Anything a request asks for that the devices will not be made to do is refused here, before
anything is written, or fails its object with ERROR and a reason later; it is never dropped.
Where Octavia has an answer, it is Octavia's (400 "Validation failure: <Octavia's text>"; when that
text does not name the field, " Field: <name>." follows it). Where Octavia would accept the value
and pass it to its provider driver, the answer is Octavia's for a driver's UnsupportedOptionError
(501 ProviderUnsupportedOption), after every 400 check.

Defaults that clients send (null, false, [], "NONE") ask for nothing and always pass.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bigip_lbaas.api.errors import InvalidOption, ProviderUnsupportedOption, ValidationFailure
from bigip_lbaas.core import capabilities

TERMINATED_HTTPS = "TERMINATED_HTTPS"
CERT_REFS = ("default_tls_container_ref", "sni_container_refs", "client_ca_tls_container_ref")
LISTENER_TLS_OPTIONS = ("tls_ciphers", "tls_versions", "alpn_protocols")
# octavia-lib's SUPPORTED_HTTP_HEADERS and SUPPORTED_SSL_HEADERS, and the listener protocols
# Octavia inserts headers on.
HTTP_HEADERS = ("X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto")
SSL_HEADERS = ("X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-DN",
               "X-SSL-Client-CN", "X-SSL-Issuer", "X-SSL-Client-SHA1",
               "X-SSL-Client-Not-Before", "X-SSL-Client-Not-After")
HEADER_INSERTION_PROTOCOLS = ("HTTP", TERMINATED_HTTPS)
UDP_SCTP = ("UDP", "SCTP")
UDP_SOURCE_IP_ATTRS = ("type", "persistence_timeout", "persistence_granularity")
# Octavia's validate.check_session_persistence: characters a cookie name may not hold.
BAD_COOKIE_NAME = re.compile(r"[\x00-\x20\x22\x28-\x29\x2c\x2f\x3a-\x40\x5b-\x5d\x7b\x7d\x7f]+")


def capability(provider: str, what: str, value: str | None) -> None:
    """Octavia's 501 for a value this provider does not render (core/capabilities.py, the
    table the engine renders from)."""
    reason = capabilities.refusal(what, value)
    if reason is not None:
        raise ProviderUnsupportedOption(prov=provider, detail=reason)


def _named(sentence: str, field: str) -> str:
    return f"{sentence} Field: {field}."


def _merged(changes: Mapping[str, Any], stored: Any, key: str) -> Any:
    """The value `key` will have: the request's when it names it, else the stored one."""
    if key in changes:
        return changes[key]
    return getattr(stored, key, None) if stored is not None else None


def insert_headers(protocol: str, headers: Sequence[str], shown: str) -> None:
    """Octavia's ListenersController._validate_insert_headers; `shown` is how Octavia prints
    the header list in its message (a dict_keys view on create, a list on update)."""
    if protocol not in HEADER_INSERTION_PROTOCOLS:
        raise InvalidOption(value="insert-headers", option=f"a {protocol} protocol listener.")
    if set(headers) - set(HTTP_HEADERS + SSL_HEADERS):
        raise InvalidOption(value=shown, option="insert_headers")
    ssl = [h for h in headers if h in SSL_HEADERS]
    if protocol != TERMINATED_HTTPS and ssl:
        raise InvalidOption(value=repr(ssl), option=f"{protocol} protocol listener.")


def allowed_cidrs(cidrs: Sequence[str] | None, vips: Sequence[str | None]) -> None:
    """Octavia's _validate_cidr_compatible_with_vip: each CIDR must have the IP version of at
    least one of the load balancer's VIP addresses."""
    addresses = [v for v in vips if v]
    if not addresses:
        return
    versions = {ipaddress.ip_address(v).version for v in addresses}
    for cidr in cidrs or []:
        if ipaddress.ip_network(cidr, strict=False).version not in versions:
            raise ValidationFailure(detail=(
                f"CIDR {cidr} IP version incompatible with all VIPs {addresses!r} IP version."))


def listener(provider: str, protocol: str, values: Mapping[str, Any], *,
             stored: Any = None, vips: Sequence[str | None] = ()) -> None:
    """A listener create (`values` = the whole body) or update (`values` = the attributes the PUT
    names, `stored` = the listener row), in Octavia's order of checks. `vips`: the load
    balancer's VIP addresses, for `allowed_cidrs`."""
    updating = stored is not None
    certs = [k for k in CERT_REFS if values.get(k)]
    offload = protocol == TERMINATED_HTTPS or (protocol == "PROMETHEUS" and bool(certs))
    headers = list(values.get("insert_headers") or {})
    if headers and not updating:
        insert_headers(protocol, headers, f"dict_keys({headers!r})")
    if protocol in ("UDP", "SCTP") and (certs or values.get("insert_headers")):
        what = "TLS or header insertion" if updating else "TLS"
        raise ValidationFailure(detail=_named(
            f"{protocol} protocol listener does not support {what}.",
            (certs or ["insert_headers"])[0]))
    if certs and not offload:
        raise ValidationFailure(detail=_named(
            f"Certificate container references are not allowed on {protocol} protocol "
            "listeners.", certs[0]))
    has_ca = bool(_merged(values, stored, "client_ca_tls_container_ref"))
    if not updating:
        has_cert = values.get("default_tls_container_ref") or values.get("sni_container_refs")
        if values.get("client_ca_tls_container_ref") and not has_cert:
            raise ValidationFailure(detail=(
                "An SNI or default certificate container reference must be provided with a "
                "client CA container reference."))
        if offload and not has_cert:
            raise ValidationFailure(detail=(
                "An SNI or default certificate container reference must be provided for "
                f"{protocol if protocol == TERMINATED_HTTPS else protocol + ' with TLS'} "
                "protocol listeners."))
    auth = values.get("client_authentication")
    if auth not in (None, "NONE") and not has_ca:
        raise ValidationFailure(detail=_named(
            f"Client authentication setting {auth} requires a client CA container reference.",
            "client_authentication"))
    if headers and updating:
        insert_headers(protocol, headers, repr(headers))
    if values.get("client_crl_container_ref") and not has_ca:
        raise ValidationFailure(detail=_named(
            "A client authentication CA reference is required to specify a client "
            "authentication revocation list.", "client_crl_container_ref"))
    allowed_cidrs(values.get("allowed_cidrs"), vips)
    _hsts(protocol, values, stored)
    if not offload:
        for key in LISTENER_TLS_OPTIONS:
            if values.get(key):
                raise ProviderUnsupportedOption(
                    prov=provider,
                    detail=f"{key} is a TLS setting, and a {protocol} listener terminates no "
                           "TLS for it to apply to (only TERMINATED_HTTPS listeners do).")
    if not updating:
        capability(provider, "listener protocol", protocol)


def _hsts(protocol: str, values: Mapping[str, Any], stored: Any) -> None:
    """Octavia's validate.check_hsts_options (create) and check_hsts_options_put (update)."""
    flags = values.get("hsts_include_subdomains") or values.get("hsts_preload")
    if stored is None:
        if flags and values.get("hsts_max_age") is None:
            raise ValidationFailure(detail=(
                "HSTS configuration options hsts_include_subdomains and hsts_preload only make "
                "sense if hsts_max_age is set as well."))
    elif flags and values.get("hsts_max_age") is None and stored.hsts_max_age is None:
        raise ValidationFailure(detail=(
            "Cannot enable hsts_include_subdomains or hsts_preload if hsts_max_age was not set "
            "as well."))
    if values.get("hsts_max_age") is not None and protocol != TERMINATED_HTTPS:
        raise ValidationFailure(detail=(
            "The HSTS feature can only be used for listeners using the TERMINATED_HTTPS "
            "protocol. Field: hsts_max_age."))


def session_persistence(protocol: str, sp: Mapping[str, Any], *, updating: bool = False) -> None:
    """Octavia's pool checks on session_persistence (controllers/pool.py: the UDP/SCTP rules,
    or the persistence_* rule for other pools; then validate.check_session_persistence)."""
    if protocol in UDP_SCTP:
        kind = sp.get("type")
        if kind == "SOURCE_IP" and any(sp.get(k) is not None for k in sp
                                       if k not in UDP_SOURCE_IP_ATTRS):
            raise ValidationFailure(detail=(
                "session_persistence SOURCE_IP type for UDP and SCTP protocols only accepts: "
                "type, persistence_timeout, persistence_granularity."))
        if sp.get("cookie_name"):
            raise ValidationFailure(detail="Cookie names are not supported for UDP/SCTP pools.")
        if kind in ("HTTP_COOKIE", "APP_COOKIE"):
            raise ValidationFailure(detail=(
                f"Session persistence of type {kind} is not supported for UDP/SCTP protocol "
                "pools."))
    elif sp.get("persistence_timeout") or sp.get("persistence_granularity"):
        raise ValidationFailure(detail=(
            "persistence_timeout and persistence_granularity is only for "
            + ("UDP protocol pools." if updating else "UDP and SCTP protocol pools.")))
    name = sp.get("cookie_name")
    if name:
        if sp.get("type") != "APP_COOKIE":
            raise ValidationFailure(detail=(
                'Field "cookie_name" can only be specified with session persistence of type '
                '"APP_COOKIE".'))
        if BAD_COOKIE_NAME.search(name):
            raise ValidationFailure(detail='Supplied "cookie_name" is invalid.')
    elif sp.get("type") == "APP_COOKIE":
        raise ValidationFailure(detail=(
            'Field "cookie_name" must be specified when using the "APP_COOKIE" session '
            "persistence type."))


def pool(provider: str, protocol: str, values: Mapping[str, Any], *, stored: Any = None) -> None:
    """A pool create (`values` = the whole body) or update (`values` = what the PUT names,
    `stored` = the pool row)."""
    sp = values.get("session_persistence")
    if sp:
        session_persistence(protocol, sp, updating=stored is not None)
    if values.get("crl_container_ref") and not _merged(values, stored, "ca_tls_container_ref"):
        raise ValidationFailure(detail=_named(
            "A CA reference is required to specify a certificate revocation list."
            if stored is not None else
            "A CA certificate reference is required to specify a revocation list.",
            "crl_container_ref"))
    # The pool TLS fields (re-encryption) are checked by api/tls.py.
    if stored is None:
        capability(provider, "pool protocol", protocol)
    capability(provider, "lb_algorithm", values.get("lb_algorithm"))


def member(provider: str, values: Mapping[str, Any]) -> None:
    if values.get("request_sriov"):
        raise ProviderUnsupportedOption(
            prov=provider,
            detail="request_sriov: this provider plugs no ports for members (the BIG-IP devices "
                   "reach them through their own interfaces), so it cannot request SR-IOV.")


def availability_zone(zone: str | None) -> None:
    """Octavia looks the zone up by name; this API has no availability zones (the catalog lists
    none), so any zone is unknown."""
    if zone is not None:
        raise ValidationFailure(detail=_named("Invalid availability zone.", "availability_zone"))


def vip_qos_policy(provider: str, policy_id: str | None) -> None:
    if policy_id:
        raise ProviderUnsupportedOption(
            prov=provider,
            detail="VIP QoS policies (vip_qos_policy_id) cannot be applied: nothing on the "
                   "BIG-IP devices this provider configures applies a Neutron QoS policy.")
