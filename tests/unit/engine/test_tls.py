"""engine/tls.py and its place in render: names, bodies, the refusals, and where key material
may be (Rendered.files only)."""

from __future__ import annotations

from bigip_lbaas.core.model import (
    L7Policy,
    Listener,
    ListenerTls,
    LoadBalancer,
    PartitionKey,
    PartitionState,
    Pool,
    PoolTls,
)
from bigip_lbaas.engine import names, tls
from bigip_lbaas.engine.config import FILE_KINDS, Kind
from bigip_lbaas.engine.render import render
from tests.pki import Pki

P = "Project"
R1 = "http://x/key-manager/v1/secrets/00000000-0000-4000-8000-000000000001"
R2 = "http://x/key-manager/v1/secrets/00000000-0000-4000-8000-000000000002"
CA = "http://x/key-manager/v1/secrets/00000000-0000-4000-8000-000000000090"


def secrets(pki: Pki, hosts: dict[str, str]) -> tls.Secrets:
    pairs = {}
    for ref, host in hosts.items():
        cert, key = pki.key_pair(host)
        pairs[ref] = tls.KeyPair(cert, key)
    return tls.Secrets(pairs, {CA: pki.ca_pem})


def one(listener: Listener, *pools: Pool) -> PartitionState:
    lb = LoadBalancer("lb", "10.0.0.1", listeners=(listener,), pools=pools)
    return PartitionState(PartitionKey("e", "proj"), 1, (lb,))


def test_options_and_names() -> None:
    assert tls.tm_options(["TLSv1.2", "TLSv1.3"]) == [
        "dont-insert-empty-fragments", "no-sslv3", "no-tlsv1", "no-tlsv1.1"]
    assert tls.tm_options([]) == tls.tm_options(["TLSv1.2", "TLSv1.3"])
    assert tls.ciphers("TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256") == (
        "TLS13-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    assert tls.ciphers(None) == "DEFAULT"
    assert tls.token(R1) == "00000000-0000-4000-8000-000000000001"
    assert tls.token("https://b/v1/containers/abc_def") == "abc-def"
    assert names.ssl_cert(P, "t") == "Project_t.crt"
    assert names.client_ssl_profile(P, "lst", "t") == "Project_lst_t"


def test_wanted_lists_only_what_is_used() -> None:
    lst = Listener("l", "TERMINATED_HTTPS", 443, tls=ListenerTls(
        default_ref=R1, sni_refs=(R2,), client_ca_ref=CA))  # NONE: the CA is not used
    pool = Pool("p", "HTTP", "ROUND_ROBIN", tls=PoolTls(ca_ref=CA))
    w = tls.wanted(one(lst, pool))
    assert w.certificates == {R1, R2} and w.cas == {CA} and w.crls == frozenset()


def test_listener_profiles_and_key_material_only_in_files() -> None:
    pki = Pki()
    s = secrets(pki, {R1: "www.example.com", R2: "a.example.com"})
    lst = Listener("l", "TERMINATED_HTTPS", 443, tls=ListenerTls(
        default_ref=R1, sni_refs=(R2, R1), client_authentication="OPTIONAL", client_ca_ref=CA,
        hsts_max_age=60))
    out = render(one(lst), P, secrets=s)
    assert out.failures == ()
    profiles = {o.name: o.body for o in out.config.of_kind(Kind.PROFILE_CLIENT_SSL)}
    assert len(profiles) == 2  # R1 twice is one profile
    default = profiles[names.client_ssl_profile(P, "l", tls.token(R1))]
    sni = profiles[names.client_ssl_profile(P, "l", tls.token(R2))]
    assert (default["sniDefault"], default["serverName"]) == (True, "none")
    assert (sni["sniDefault"], sni["serverName"]) == (False, "a.example.com")
    assert default["peerCertMode"] == "request" and default["caFile"].endswith(".crt")
    http = out.config.get(Kind.PROFILE_HTTP, names.listener_http_profile(P, "l"))
    assert http is not None and http.body["hsts"]["maximumAge"] == 60
    # key material: in files, nowhere else
    key = s.pairs[R1].private_key
    assert out.files[(Kind.SSL_KEY, names.ssl_key(P, tls.token(R1)))] == key
    assert key.decode() not in repr(out) and key.decode() not in str(out.config)
    assert {k[0] for k in out.files} <= FILE_KINDS
    assert "PRIVATE KEY" not in repr(s)


def test_refusals_name_the_object_and_why() -> None:
    pki = Pki()
    s = secrets(pki, {R1: "same.example.com", R2: "same.example.com"})
    missing = render(one(Listener("l", "TERMINATED_HTTPS", 443, tls=ListenerTls(
        default_ref=R1))), P, secrets=tls.Secrets(problems={R1: "secret not found"}))
    assert missing.failures[0].object_id == "l"
    assert "secret not found" in missing.failures[0].reason
    assert "TERMINATED_HTTPS" in missing.failures[0].reason
    clash = render(one(Listener("l", "TERMINATED_HTTPS", 443, tls=ListenerTls(
        default_ref=None, sni_refs=(R1, R2)))), P, secrets=s)
    assert "both answer for same.example.com" in clash.failures[0].reason
    h2 = render(one(Listener("l", "TERMINATED_HTTPS", 443, tls=ListenerTls(
        default_ref=R1, alpn_protocols=("h2",)))), P, secrets=s)
    assert "h2" in h2.failures[0].reason
    # a virtual has one server-ssl profile: a TLS and a plaintext pool on one listener
    plain = Pool("plain", "HTTP", "ROUND_ROBIN")
    enc = Pool("enc", "HTTP", "ROUND_ROBIN", tls=PoolTls())
    lst = Listener("l", "HTTP", 80, default_pool_id="enc", l7policies=(
        L7Policy("pol", "REDIRECT_TO_POOL", 1, redirect_pool_id="plain"),))
    mixed = render(one(lst, plain, enc), P, secrets=s)
    assert [f.object_id for f in mixed.failures] == ["l"]
    assert "one server-ssl profile" in mixed.failures[0].reason
    assert mixed.config.get(Kind.PROFILE_SERVER_SSL, names.server_ssl_profile(P, "enc"))
