"""TLS objects of a partition, rendered from listeners' and pools' TLS settings and the secrets
the agent fetched for this reconcile. Pure.

Per certificate reference (``token``: the secret's id): ``<prefix>_<token>.crt`` (leaf),
``.key`` and, when the bundle has intermediates, ``<prefix>_<digest>_inter.crt`` (named by
content, so the certificates of one CA share it) as ``sys/file/ssl-cert`` /
``ssl-key`` objects; a CA file is an ``ssl-cert`` too, a CRL an ``ssl-crl`` (``.crl``). Their
bodies hold what identifies the content on a device (a certificate's SHA-256 ``fingerprint``; a
key's, bundle's or CRL's ``checksum``, ``SHA1:<size>:<sha1>`` of the uploaded file), so an
unchanged certificate is never uploaded again, and the content to upload travels beside them in
``Rendered.files``. A TERMINATED_HTTPS listener gets one client-ssl profile per certificate
(``<virtual>_<token>``, exactly one ``sniDefault``, ``serverName`` on the SNI ones), a
re-encrypting pool one server-ssl profile (``<pool>_server_ssl``).

A rotation (a new reference) therefore makes new files and a new profile, re-points the virtual
and deletes the old ones, all in the partition's one transaction: there is no moment without a
valid certificate, and key and certificate of a pair always change together.

Must not: do I/O, log, or put key material anywhere but ``files``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from bigip_lbaas.core.certs import secret_id_from_ref
from bigip_lbaas.core.model import Listener, ListenerTls, PartitionState, Pool, PoolTls
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceObject, Kind, ObjKey

CLIENT_SSL_PARENT = "/Common/clientssl"
SERVER_SSL_PARENT = "/Common/serverssl"
DEFAULT_VERSIONS = ("TLSv1.2", "TLSv1.3")  # Octavia's default, for rows stored without any
_NO_VERSION = {
    "SSLv3": "no-sslv3",
    "TLSv1": "no-tlsv1",
    "TLSv1.1": "no-tlsv1.1",
    "TLSv1.2": "no-tlsv1.2",
    "TLSv1.3": "no-tlsv1.3",
}
# OpenSSL's TLS 1.3 suite names → BIG-IP's cipher names.
_TLS13_CIPHERS = {
    "TLS_AES_128_GCM_SHA256": "TLS13-AES128-GCM-SHA256",
    "TLS_AES_256_GCM_SHA384": "TLS13-AES256-GCM-SHA384",
    "TLS_CHACHA20_POLY1305_SHA256": "TLS13-CHACHA20-POLY1305-SHA256",
}
_PEER_CERT_MODE = {"NONE": "ignore", "OPTIONAL": "request", "MANDATORY": "require"}
_TOKEN = re.compile(r"[^A-Za-z0-9-]")


class TlsUnsupported(Exception):
    """A TLS setting that cannot be deployed; ``engine.render`` turns it into an ObjectFailure."""

    def __init__(self, object_id: str, reason: str) -> None:
        self.object_id = object_id
        self.reason = reason
        super().__init__(f"{object_id}: {reason}")


@dataclass(frozen=True)
class KeyPair:
    """A certificate with its private key and intermediates (PEM), from a PKCS12 bundle."""

    certificate: bytes
    private_key: bytes = field(repr=False)
    intermediates: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Secrets:
    """What the agent fetched for one reconcile, by reference. ``problems`` says why a
    reference could not be used (unknown, another project's, not a PKCS12 bundle …)."""

    pairs: Mapping[str, KeyPair] = field(default_factory=dict, repr=False)
    cas: Mapping[str, bytes] = field(default_factory=dict)
    crls: Mapping[str, bytes] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)


NO_SECRETS = Secrets()


@dataclass(frozen=True)
class Wanted:
    """The references a partition's desired state uses, by what they must hold."""

    certificates: frozenset[str] = frozenset()
    cas: frozenset[str] = frozenset()
    crls: frozenset[str] = frozenset()


def wanted(state: PartitionState) -> Wanted:
    """Every secret reference render will need for ``state`` (what the agent fetches)."""
    certs: set[str] = set()
    cas: set[str] = set()
    crls: set[str] = set()
    for lb in state.load_balancers:
        for lst in lb.listeners:
            t = lst.tls
            if t is None:
                continue
            certs.update(r for r in (t.default_ref, *t.sni_refs) if r)
            if t.client_authentication != "NONE":
                cas.update(r for r in (t.client_ca_ref,) if r)
                crls.update(r for r in (t.client_crl_ref,) if r)
        for pool in lb.pools:
            p = pool.tls
            if p is None:
                continue
            certs.update(r for r in (p.certificate_ref,) if r)
            cas.update(r for r in (p.ca_ref,) if r)
            if p.ca_ref:
                crls.update(r for r in (p.crl_ref,) if r)
    return Wanted(frozenset(certs), frozenset(cas), frozenset(crls))


def token(ref: str) -> str:
    """A reference as a name part: the secret's id, else the last segment of the URL (as F5's
    agent names objects after the container), else a digest."""
    found = secret_id_from_ref(ref)
    if found:
        return found
    last = _TOKEN.sub("-", ref.rstrip("/").rsplit("/", 1)[-1])[:64].strip("-")
    return last or hashlib.sha256(ref.encode()).hexdigest()[:32]


def checksum(data: bytes) -> str:
    """A file's checksum as a device shows it: ``SHA1:<size>:<sha1 hex>``."""
    return f"SHA1:{len(data)}:{hashlib.sha1(data, usedforsecurity=False).hexdigest()}"


def fingerprint(pem: bytes) -> str:
    """The SHA-256 fingerprint of the first certificate of a PEM file, as a device shows it."""
    cert = x509.load_pem_x509_certificates(pem)[0]
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return "SHA256/" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def server_name(pem: bytes) -> str | None:
    """The name an SNI profile answers for: the certificate's first DNS name, else its CN."""
    cert = x509.load_pem_x509_certificates(pem)[0]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = san.get_values_for_type(x509.DNSName)
        if dns:
            return str(dns[0])
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


def tm_options(versions: Sequence[str]) -> list[str]:
    """Octavia's TLS versions as BIG-IP's ``tmOptions``: every other version switched off."""
    allowed = set(versions or DEFAULT_VERSIONS)
    return sorted(["dont-insert-empty-fragments",
                   *(no for v, no in _NO_VERSION.items() if v not in allowed)])


def ciphers(cipher_string: str | None) -> str:
    """An OpenSSL cipher string in BIG-IP's spelling (TLS 1.3 suites renamed)."""
    if not cipher_string:
        return "DEFAULT"
    return ":".join(_TLS13_CIPHERS.get(c, c) for c in cipher_string.split(":"))


@dataclass
class Staged:
    """Objects and file contents of one Octavia object, emitted only if it renders whole."""

    objects: list[DeviceObject] = field(default_factory=list)
    files: dict[ObjKey, bytes] = field(default_factory=dict, repr=False)

    def add(self, kind: Kind, name: str, body: dict[str, Any], owner: str,
            content: bytes | None = None) -> None:
        self.objects.append(DeviceObject(kind, name, body, owner))
        if content is not None:
            self.files[(kind, name)] = content


def _alpn(object_id: str, protocols: Sequence[str]) -> None:
    if "h2" in protocols:
        raise TlsUnsupported(object_id, "alpn_protocols h2 needs an HTTP/2 profile, which this "
                             "provider does not deploy")


def _problem(secrets: Secrets, ref: str, what: str) -> str:
    return f"{what} {ref}: {secrets.problems.get(ref, 'was not fetched')}"


def _pair_files(st: Staged, part: str, prefix: str, owner: str, ref: str,
                secrets: Secrets) -> tuple[dict[str, str], str]:
    """The certificate, key and chain files of ``ref``: (a certKeyChain entry, the leaf PEM's
    path)."""
    pair = secrets.pairs.get(ref)
    if pair is None:
        raise TlsUnsupported(owner, _problem(secrets, ref, "certificate"))
    tok = token(ref)
    cert, key = names.ssl_cert(prefix, tok), names.ssl_key(prefix, tok)
    st.add(Kind.SSL_CERT, cert, {"fingerprint": fingerprint(pair.certificate)}, owner,
           pair.certificate)
    st.add(Kind.SSL_KEY, key, {"checksum": checksum(pair.private_key)}, owner, pair.private_key)
    chain = "none"
    if pair.intermediates:
        inter = b"".join(pair.intermediates)
        # Named by content: the certificates of one CA share one chain file (one upload).
        chain_name = names.ssl_chain(prefix, hashlib.sha256(inter).hexdigest()[:16])
        st.add(Kind.SSL_CERT, chain_name,
               {"fingerprint": fingerprint(inter), "checksum": checksum(inter)}, owner, inter)
        chain = names.full_path(part, chain_name)
    entry = {"name": "default", "cert": names.full_path(part, cert),
             "key": names.full_path(part, key), "chain": chain}
    return entry, names.full_path(part, cert)


def _ca_file(st: Staged, part: str, prefix: str, owner: str, ref: str | None,
             secrets: Secrets) -> str:
    if not ref:
        return "none"
    pem = secrets.cas.get(ref)
    if pem is None:
        raise TlsUnsupported(owner, _problem(secrets, ref, "CA certificate"))
    name = names.ssl_cert(prefix, token(ref))
    st.add(Kind.SSL_CERT, name, {"fingerprint": fingerprint(pem), "checksum": checksum(pem)},
           owner, pem)
    return names.full_path(part, name)


def _crl_file(st: Staged, part: str, prefix: str, owner: str, ref: str | None,
              secrets: Secrets) -> str:
    if not ref:
        return "none"
    pem = secrets.crls.get(ref)
    if pem is None:
        raise TlsUnsupported(owner, _problem(secrets, ref, "revocation list"))
    name = names.ssl_crl(prefix, token(ref))
    st.add(Kind.SSL_CRL, name, {"checksum": checksum(pem)}, owner, pem)
    return names.full_path(part, name)


def client_side(part: str, prefix: str, lst: Listener, secrets: Secrets) -> tuple[Staged,
                                                                                   list[str]]:
    """A TERMINATED_HTTPS listener's files and client-ssl profiles, and the profiles' paths
    (the first is the SNI default). Raises TlsUnsupported."""
    t = lst.tls or ListenerTls()
    refs = list(dict.fromkeys(r for r in (t.default_ref, *t.sni_refs) if r))
    if not refs:
        raise TlsUnsupported(lst.id, "a TERMINATED_HTTPS listener needs a certificate")
    _alpn(lst.id, t.alpn_protocols)
    st = Staged()
    auth = t.client_authentication if t.client_authentication in _PEER_CERT_MODE else "NONE"
    ca = crl = "none"
    if auth != "NONE":
        if not t.client_ca_ref:
            raise TlsUnsupported(lst.id, f"client_authentication {auth} needs a client CA")
        ca = _ca_file(st, part, prefix, lst.id, t.client_ca_ref, secrets)
        crl = _crl_file(st, part, prefix, lst.id, t.client_crl_ref, secrets)
    common = {
        "defaultsFrom": CLIENT_SSL_PARENT,
        "peerCertMode": _PEER_CERT_MODE[auth],
        "caFile": ca,
        "crlFile": crl,
        "tmOptions": tm_options(t.versions),
        "ciphers": ciphers(t.ciphers),
    }
    paths: list[str] = []
    served: dict[str, str] = {}
    for i, ref in enumerate(refs):
        entry, _ = _pair_files(st, part, prefix, lst.id, ref, secrets)
        default = i == 0
        host = "none"
        if not default or not t.default_ref:
            host = server_name(secrets.pairs[ref].certificate) or "none"
            if host in served:
                raise TlsUnsupported(lst.id, f"SNI certificates {served[host]} and {ref} both "
                                     f"answer for {host}; a BIG-IP selects by one server name")
            served[host] = ref
        name = names.client_ssl_profile(prefix, lst.id, token(ref))
        st.add(Kind.PROFILE_CLIENT_SSL, name, {
            **common, "certKeyChain": [entry], "sniDefault": default, "serverName": host,
        }, lst.id)
        paths.append(names.full_path(part, name))
    return st, paths


def hsts(t: ListenerTls) -> dict[str, Any] | None:
    """HSTS on the listener's HTTP profile (None when ``hsts_max_age`` is unset)."""
    if t.hsts_max_age is None:
        return None
    return {
        "mode": "enabled",
        "maximumAge": t.hsts_max_age,
        "includeSubdomains": "enabled" if t.hsts_include_subdomains else "disabled",
        "preload": "enabled" if t.hsts_preload else "disabled",
    }


def server_side(part: str, prefix: str, pool: Pool, secrets: Secrets) -> Staged:
    """A re-encrypting pool's files and server-ssl profile. Raises TlsUnsupported."""
    p = pool.tls or PoolTls()
    _alpn(pool.id, p.alpn_protocols)
    st = Staged()
    cert = key = chain = "none"
    if p.certificate_ref:
        entry, _ = _pair_files(st, part, prefix, pool.id, p.certificate_ref, secrets)
        cert, key, chain = entry["cert"], entry["key"], entry["chain"]
    ca = _ca_file(st, part, prefix, pool.id, p.ca_ref, secrets)
    crl = _crl_file(st, part, prefix, pool.id, p.crl_ref if p.ca_ref else None, secrets)
    st.add(Kind.PROFILE_SERVER_SSL, names.server_ssl_profile(prefix, pool.id), {
        "defaultsFrom": SERVER_SSL_PARENT,
        "cert": cert,
        "key": key,
        "chain": chain,
        "caFile": ca,
        "crlFile": crl,
        "peerCertMode": "require" if p.ca_ref else "ignore",
        "tmOptions": tm_options(p.versions),
        "ciphers": ciphers(p.ciphers),
    }, pool.id)
    return st


def server_profile(part: str, prefix: str, lst: Listener, pools: Mapping[str, Pool]) -> str | None:
    """The server-ssl profile of a listener's virtual: its pools' (the default pool and those its
    L7 policies redirect to) when they re-encrypt. Raises TlsUnsupported when they disagree (a
    virtual has one server-ssl profile for all its pools)."""
    used = [lst.default_pool_id] if lst.default_pool_id else []
    used += [p.redirect_pool_id for p in lst.l7policies if p.redirect_pool_id]
    reached = [pools[i] for i in dict.fromkeys(used) if i in pools]
    tls_pools = [p for p in reached if p.tls is not None]
    if not tls_pools:
        return None
    if len(tls_pools) != len(reached) or len(tls_pools) > 1:
        raise TlsUnsupported(lst.id, "the pools this listener forwards to do not share one "
                             "re-encryption setting (a virtual server has one server-ssl "
                             "profile): " + ", ".join(sorted(p.id for p in reached)))
    return names.full_path(part, names.server_ssl_profile(prefix, tls_pools[0].id))
