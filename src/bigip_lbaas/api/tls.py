"""TLS fields of listeners and pools: Octavia 19's defaults, its checks of certificate references
(`_validate_tls_refs`, `_validate_client_ca_and_crl_refs` in octavia/api/v2/controllers/base.py)
and of versions, ciphers and ALPN (octavia/common/validate.py), and what a BIG-IP cannot do.

A reference is read through the `CertificateSource` protocol only, as the load balancer's
project: `certificate_source` makes the app's one source with `certstore.certificate_source`
(the store `[certificates] cert_manager` names), and each request checks through
`certstore.for_request` with the caller's Keystone token (Barbican's ACL step, as Octavia's).
A secret of another project does not resolve, exactly like an unknown one; a store that cannot be
asked now is Octavia's 400 "Could not retrieve certificate" too (Octavia catches every error of
its certificate manager there). Payloads are parsed here and dropped; nothing is kept,
logged or put in a message (cryptography's error texts name no payload bytes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from oslo_config import cfg
from starlette.requests import Request

from bigip_lbaas import certstore
from bigip_lbaas.api.errors import (
    CertificateRetrieval,
    ProviderUnsupportedOption,
    UnreadablePKCS12,
    ValidationFailure,
)
from bigip_lbaas.api.keystone import caller_token
from bigip_lbaas.core.certs import CertificateSource
from bigip_lbaas.core.errors import BigipLbaasError, ConfigError
from bigip_lbaas.engine import tls as tls_engine

TERMINATED_HTTPS = "TERMINATED_HTTPS"
TLS_ALL_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
ALPN_PROTOCOLS = ("h2", "http/1.1", "http/1.0")
VALID_CIPHER_RE = re.compile(r"^[A-Za-z0-9\-+!:@=_.]+\Z")
H2_REASON = ("a BIG-IP negotiates h2 only through an HTTP/2 profile, which this provider does "
             "not deploy; it serves HTTP/1.x (ask for http/1.1, http/1.0).")


def certificate_source(request: Request) -> CertificateSource:
    """The app's certificate source (`certstore.certificate_source`), made on first use and kept
    for the app's life. A storage key file that cannot be read was refused at start-up
    (config/load.py); should it go bad later, no reference resolves (`NoStorageKey`)."""
    app_state = request.app.state
    cached: CertificateSource | None = getattr(app_state, "tls_certificate_source", None)
    if cached is None:
        st = app_state.api
        try:
            cached = certstore.certificate_source(st.conf, st.db)
        except ConfigError:
            cached = certstore.NoStorageKey()
        app_state.tls_certificate_source = cached
    return cached


# --------------------------------------------------------------------------- defaults


def _tls_defaults(conf: cfg.ConfigOpts, kind: str) -> dict[str, Any]:
    """The `[api_settings] default_<kind>_*` values (kind: listener | pool) under the field
    names they fill."""
    api = conf.api_settings
    return {"tls_ciphers": getattr(api, f"default_{kind}_ciphers"),
            "tls_versions": list(getattr(api, f"default_{kind}_tls_versions")),
            "alpn_protocols": list(getattr(api, f"default_{kind}_alpn_protocols"))}


def _fill(spec: dict[str, Any], defaults: dict[str, Any], *, on_create: bool) -> None:
    """On a create, a field left out or null takes its default; on a PUT only one sent as null
    does (a field left out keeps the stored value)."""
    for key, default in defaults.items():
        if (on_create or key in spec) and spec.get(key) is None:
            spec[key] = default


def listener_defaults(conf: cfg.ConfigOpts, protocol: str, spec: dict[str, Any]) -> None:
    """Octavia's db/prepare.create_listener: a TERMINATED_HTTPS listener that leaves out
    tls_ciphers, tls_versions or alpn_protocols gets the [api_settings] defaults."""
    if protocol == TERMINATED_HTTPS:
        _fill(spec, _tls_defaults(conf, "listener"), on_create=True)


def pool_defaults(conf: cfg.ConfigOpts, spec: dict[str, Any]) -> None:
    """Octavia's db/prepare.create_pool: the same for a pool created with tls_enabled."""
    if spec.get("tls_enabled"):
        _fill(spec, _tls_defaults(conf, "pool"), on_create=True)


def listener_put_defaults(conf: cfg.ConfigOpts, changes: dict[str, Any]) -> None:
    """Octavia's _set_default_on_none: null resets ciphers, versions and ALPN to the defaults."""
    _fill(changes, _tls_defaults(conf, "listener"), on_create=False)


def pool_put_defaults(conf: cfg.ConfigOpts, changes: dict[str, Any]) -> None:
    """Octavia's pool PUT: null versions or ciphers become the defaults (not ALPN: Octavia
    leaves a null alpn_protocols as it is)."""
    defaults = _tls_defaults(conf, "pool")
    del defaults["alpn_protocols"]
    _fill(changes, defaults, on_create=False)


# --------------------------------------------------------------------------- octavia's checks


def _ciphers(conf: cfg.ConfigOpts, ciphers: str | None) -> None:
    """validate.check_cipher_prohibit_list."""
    if not ciphers:
        return
    if not VALID_CIPHER_RE.match(ciphers):
        raise ValidationFailure(detail=(
            "Invalid characters in cipher string. Only alphanumeric, -, +, !, :, @, =, _, and . "
            "are allowed."))
    prohibited = conf.api_settings.tls_cipher_prohibit_list.split(":")
    rejected = [c for c in ciphers.split(":") if c in prohibited]
    if rejected:
        raise ValidationFailure(detail=(
            "The following ciphers have been prohibited by an administrator: "
            + ", ".join(rejected)))


def _versions(conf: cfg.ConfigOpts, versions: Sequence[str] | None) -> None:
    """validate.check_tls_version_list and check_tls_version_min."""
    if versions is not None and len(versions) == 0:
        raise ValidationFailure(detail=(
            "Empty TLS version list. Either specify at least one TLS version or remove this "
            "parameter to use the default."))
    if versions is None:
        return
    invalid = [v for v in versions if v not in TLS_ALL_VERSIONS]
    if invalid:
        raise ValidationFailure(detail="Invalid TLS versions: " + ", ".join(invalid))
    minimum = conf.api_settings.minimum_tls_version
    if minimum:
        low = [v for v in versions if TLS_ALL_VERSIONS.index(v) < TLS_ALL_VERSIONS.index(minimum)]
        if low:
            raise ValidationFailure(detail=(
                "Requested TLS versions are less than the minimum: " + ", ".join(low) + " < "
                + minimum))


def _alpn(protocols: Sequence[str] | None) -> None:
    """validate.check_alpn_protocols."""
    if protocols is not None and len(protocols) == 0:
        raise ValidationFailure(detail=(
            "Empty ALPN protocol list. Either specify at least one ALPN protocol or remove "
            "this parameter to use the default."))
    invalid = [p for p in protocols or () if p not in ALPN_PROTOCOLS]
    if invalid:
        raise ValidationFailure(detail="Invalid ALPN protocol: " + ", ".join(invalid))


def _read(source: CertificateSource | None, ref: str, project_id: str) -> bytes | None:
    if source is None:
        return None
    try:
        return source.get_secret(ref, project_id)
    except BigipLbaasError:
        return None


def check_certificates(source: CertificateSource | None, project_id: str,
                       refs: Sequence[str]) -> dict[str, x509.Certificate]:
    """_validate_tls_refs: every ref resolves (else one 400 listing them all) and holds a PKCS12
    bundle without a passphrase (else 400 at the first that does not). Returns each ref's
    certificate."""
    bad: list[str] = []
    found: dict[str, x509.Certificate] = {}
    for ref in refs:
        payload = _read(source, ref, project_id)
        if payload is None:
            bad.append(ref)
            continue
        try:
            bundle = pkcs12.load_pkcs12(payload, None)
        except (TypeError, ValueError) as err:
            raise UnreadablePKCS12(error=str(err)) from None
        if bundle.cert is None or bundle.key is None:
            raise UnreadablePKCS12(error="the bundle holds no certificate with its private key")
        found[ref] = bundle.cert.certificate
    if bad:
        raise CertificateRetrieval(ref=repr(bad))
    return found


def _sni_names(provider: str, default: str | None, sni: Sequence[str],
               certs: Mapping[str, x509.Certificate]) -> None:
    """A BIG-IP picks an SNI profile by one server name (the certificate's first DNS name, else
    its CN: engine/tls.server_name): two SNI certificates answering for the same name cannot
    both be served."""
    served: dict[str, str] = {}
    for ref in dict.fromkeys(r for r in ([default] if default else []) + list(sni)):
        if ref == default or ref not in certs:
            continue
        host = tls_engine.server_name(certs[ref].public_bytes(Encoding.PEM))
        if host in served:
            raise ProviderUnsupportedOption(prov=provider, detail=(
                f"sni_container_refs: {served[host]} and {ref} both answer for {host}; a "
                "BIG-IP selects an SNI certificate by one server name, so one of them would "
                "never be served."))
        if host:
            served[host] = ref


def check_ca_and_crl(source: CertificateSource | None, project_id: str, ca_ref: str,
                     crl_ref: str | None) -> None:
    """_validate_client_ca_and_crl_refs: both resolve, the CA is a PEM certificate, the CRL a PEM
    CRL signed by that CA."""
    bad: list[str] = []
    ca_pem = _read(source, ca_ref, project_id)
    if ca_pem is None:
        bad.append(ca_ref)
    crl_pem = None
    if crl_ref:
        crl_pem = _read(source, crl_ref, project_id)
        if crl_pem is None:
            bad.append(crl_ref)
    if bad:
        raise CertificateRetrieval(ref=repr(bad))
    assert ca_pem is not None
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as err:
        raise ValidationFailure(detail=(
            "The client authentication CA certificate is invalid. It must be a valid x509 PEM "
            f"format certificate. Error: {err}")) from None
    if crl_pem:
        try:
            crl = x509.load_pem_x509_crl(crl_pem)
        except ValueError as err:
            raise ValidationFailure(detail=(
                "The client authentication certificate revocation list is invalid. It must be "
                f"a valid x509 PEM format certificate revocation list. Error: {err}")) from None
        public_key: Any = ca.public_key()
        if not crl.is_signature_valid(public_key):
            raise ValidationFailure(detail=(
                "The CRL specified is not valid for client certificate authority reference "
                "supplied."))


def _merged(changes: Mapping[str, Any], stored: Any, key: str) -> Any:
    if key in changes:
        return changes[key]
    return getattr(stored, key, None) if stored is not None else None


def check_listener(conf: cfg.ConfigOpts, source: CertificateSource | None, project_id: str,
                   provider: str, protocol: str, values: Mapping[str, Any], *,
                   stored: Any = None) -> None:
    """A listener create (`values` = the whole body, defaults applied) or update (`values` = what
    the PUT names, `stored` = the row), after api/validate.listener, in Octavia's order:
    ciphers, certificate refs, CA and CRL refs, versions, ALPN; then this provider's refusals."""
    updating = stored is not None
    _ciphers(conf, values.get("tls_ciphers"))
    refs = list(values.get("sni_container_refs") or [])
    if values.get("default_tls_container_ref"):
        refs.append(values["default_tls_container_ref"])
    certs = check_certificates(source, project_id, refs)
    if updating:
        ca = _merged(values, stored, "client_ca_tls_container_ref")
        crl = _merged(values, stored, "client_crl_container_ref")
        if ca:
            check_ca_and_crl(source, project_id, ca, crl)
    elif values.get("client_ca_tls_container_ref"):
        check_ca_and_crl(source, project_id, values["client_ca_tls_container_ref"],
                         values.get("client_crl_container_ref"))
    offload = protocol == TERMINATED_HTTPS
    if updating:
        if "tls_versions" in values:
            _versions(conf, values["tls_versions"])
        if "alpn_protocols" in values:
            _alpn(values["alpn_protocols"])
    elif offload:
        _versions(conf, values.get("tls_versions"))
        _alpn(values.get("alpn_protocols"))
    if offload and "h2" in (values.get("alpn_protocols") or ()):
        raise ProviderUnsupportedOption(prov=provider, detail="alpn_protocols h2: " + H2_REASON)
    if offload and ("sni_container_refs" in values or "default_tls_container_ref" in values):
        default = _merged(values, stored, "default_tls_container_ref")
        sni = _merged(values, stored, "sni_container_refs") or []
        missing = [r for r in dict.fromkeys([*sni, default]) if r and r not in certs]
        if missing:  # stored refs the request kept: read them too (they were checked before)
            certs |= check_certificates(source, project_id, missing)
        _sni_names(provider, default, sni, certs)


def check_pool(conf: cfg.ConfigOpts, source: CertificateSource | None, project_id: str,
               provider: str, values: Mapping[str, Any], *, stored: Any = None) -> None:
    """A pool create or update, after api/validate.pool: Octavia's pool TLS checks
    (controllers/pool.py), then this provider's refusals."""
    updating = stored is not None
    if updating:
        crl = values.get("crl_container_ref") if values.get("crl_container_ref") else (
            stored.crl_container_ref if "crl_container_ref" not in values else None)
        ca: str | None = None
        if "ca_tls_container_ref" in values:
            if not values["ca_tls_container_ref"] and stored.ca_tls_container_ref and crl:
                raise ValidationFailure(detail=(
                    "A CA reference cannot be removed when a certificate revocation list is "
                    "present."))
            ca = values["ca_tls_container_ref"] or None
        else:
            ca = stored.ca_tls_container_ref
        if values.get("tls_container_ref"):
            check_certificates(source, project_id, [values["tls_container_ref"]])
        if ca:
            check_ca_and_crl(source, project_id, ca, crl)
    else:
        if values.get("tls_container_ref"):
            check_certificates(source, project_id, [values["tls_container_ref"]])
        if values.get("ca_tls_container_ref"):
            check_ca_and_crl(source, project_id, values["ca_tls_container_ref"],
                             values.get("crl_container_ref"))
    _ciphers(conf, values.get("tls_ciphers"))
    if updating:
        if "tls_versions" in values:
            _versions(conf, values["tls_versions"])
        if "alpn_protocols" in values:
            _alpn(values["alpn_protocols"])
    elif values.get("tls_enabled"):
        _versions(conf, values.get("tls_versions"))
        _alpn(values.get("alpn_protocols"))
    enabled = _merged(values, stored, "tls_enabled")
    if enabled and "h2" in (_merged(values, stored, "alpn_protocols") or ()):
        raise ProviderUnsupportedOption(prov=provider, detail="alpn_protocols h2: " + H2_REASON)


class Checks:
    """What a request's TLS checks need: the options and the certificate source. Made once per
    request (`checks`), handed to the inserts and the PUT handlers."""

    def __init__(self, conf: cfg.ConfigOpts, source: CertificateSource | None) -> None:
        self.conf = conf
        self.source = source

    def listener_create(self, provider: str, project_id: str, spec: dict[str, Any]) -> None:
        """Defaults applied to `spec` in place, then the checks."""
        listener_defaults(self.conf, spec["protocol"], spec)
        check_listener(self.conf, self.source, project_id, provider, spec["protocol"], spec)

    def listener_update(self, provider: str, row: Any, changes: dict[str, Any]) -> None:
        check_listener(self.conf, self.source, row.project_id, provider, row.protocol, changes,
                       stored=row)
        if row.protocol == TERMINATED_HTTPS:
            listener_put_defaults(self.conf, changes)

    def pool_create(self, provider: str, project_id: str, spec: dict[str, Any]) -> None:
        pool_defaults(self.conf, spec)
        check_pool(self.conf, self.source, project_id, provider, spec)

    def pool_update(self, provider: str, row: Any, changes: dict[str, Any]) -> None:
        check_pool(self.conf, self.source, row.project_id, provider, changes, stored=row)
        if _merged(changes, row, "tls_enabled"):
            pool_put_defaults(self.conf, changes)


def checks(request: Request) -> Checks:
    """The request's checks: references are read through the app's source as the caller
    (`certstore.for_request` with the caller's Keystone token, None outside keystone mode). A
    remote store (Barbican) is read outside the write transaction (`Prefetched`)."""
    return checks_with(request.app.state.api.conf, certificate_source(request),
                       caller_token(request.scope))


def checks_with(conf: cfg.ConfigOpts, base: CertificateSource, token: str | None) -> Checks:
    """Checks reading through `base` as the caller with Keystone `token` (None: as the service
    itself, as the Octavia driver does after Octavia's API checked the caller's references);
    made per request or driver call, so nothing read outlives it."""
    source = base if token is None else certstore.for_request(base, token)
    if isinstance(base, certstore.UserScoped):
        source = Prefetched(source)
    return Checks(conf, source)


# --------------------------------------------------------------------------- remote reads


class SecretsNeeded(Exception):
    """Raised inside a write transaction: a secret must be read first. The writer rolls back,
    calls `fetch()` outside any transaction, and runs the transaction again (`write`)."""

    def __init__(self, fetch: Callable[[], None]) -> None:
        super().__init__("a certificate reference must be read outside the transaction")
        self.fetch = fetch


class Prefetched:
    """A `CertificateSource` that answers inside a transaction only from what it read outside
    one. A Barbican read (Keystone, the ACL step, the payload) takes tens to hundreds of
    milliseconds; inside the transaction it would hold the load balancer's row lock, and on SQLite
    every writer's turn, for that long."""

    def __init__(self, source: CertificateSource) -> None:
        self.source = source
        self._read: dict[tuple[str, str], bytes | BigipLbaasError] = {}

    def get_secret(self, ref: str, project_id: str) -> bytes:
        key = (ref, project_id)
        if key not in self._read:
            raise SecretsNeeded(lambda: self._fetch(key))
        found = self._read[key]
        if isinstance(found, BigipLbaasError):
            raise found
        return found

    def _fetch(self, key: tuple[str, str]) -> None:
        try:
            self._read[key] = self.source.get_secret(*key)
        except BigipLbaasError as err:
            self._read[key] = err


T = TypeVar("T")
# Each round reads one more reference; a listener names a default, its SNI certificates, a CA
# and a CRL, so this bounds the SNI list far beyond any real one.
MAX_FETCH_ROUNDS = 64


def write(run: Callable[[], T]) -> T:
    """`run()` (one write transaction), again after each secret it asked for was read outside
    it (`SecretsNeeded`); bounded."""
    for _ in range(MAX_FETCH_ROUNDS):
        try:
            return run()
        except SecretsNeeded as need:
            need.fetch()
    return run()
