"""TLS objects against the simulator: a TERMINATED_HTTPS listener with a default and two SNI
certificates, client authentication with a CA and a CRL, a pool re-encrypting with CA validation;
fingerprints on the device equal the stored certificates'; nothing written when nothing changed;
a rotation; a delete that leaves no TLS object and no uploaded file; a key that does not match its
certificate fails its listener with the device's reason, and the rest is applied."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from bigip_lbaas.core.model import (
    Listener,
    ListenerTls,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
    PoolTls,
)
from bigip_lbaas.device.apply import upload_name
from bigip_lbaas.device.converge import converge
from bigip_lbaas.device.observe import observe
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import OPTIONAL_KINDS, PARTITION_KINDS, Kind
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.plan import Action, Op
from bigip_lbaas.engine.render import render
from bigip_lbaas.engine.tls import KeyPair, Secrets
from bigip_lbaas.sim.testing import SimHandle
from tests.integration.device.conftest import make_client
from tests.integration.device.states import PREFIX
from tests.pki import Pki, fingerprint

TLS_KINDS = (Kind.SSL_CERT, Kind.SSL_KEY, Kind.SSL_CRL, Kind.PROFILE_CLIENT_SSL,
             Kind.PROFILE_SERVER_SSL)
REF = "https://127.0.0.1/key-manager/v1/secrets/"


def ref(n: int) -> str:
    return f"{REF}00000000-0000-4000-8000-{n:012d}"


def secrets_for(pki: Pki, hosts: dict[str, str]) -> tuple[Secrets, dict[str, bytes]]:
    """Secrets for refs → hosts, plus the CA (ref 90) and CRL (ref 91); and each ref's PEM."""
    pairs: dict[str, KeyPair] = {}
    pems: dict[str, bytes] = {}
    for r, host in hosts.items():
        cert, key = pki.key_pair(host)
        pairs[r] = KeyPair(cert, key, (pki.ca_pem,))
        pems[r] = cert
    return Secrets(pairs, {ref(90): pki.ca_pem}, {ref(91): pki.crl_pem()}), pems


def state(project: str, default: str, sni: tuple[str, ...], *, gen: int = 1) -> PartitionState:
    pool = Pool("pool-tls", "HTTP", "ROUND_ROBIN",
                members=(Member("m1", "10.9.0.10", 443),),
                tls=PoolTls(ca_ref=ref(90), versions=("TLSv1.2", "TLSv1.3")))
    lst = Listener("lst-tls", "TERMINATED_HTTPS", 443, default_pool_id=pool.id,
                   tls=ListenerTls(default_ref=default, sni_refs=sni,
                                   client_authentication="MANDATORY", client_ca_ref=ref(90),
                                   client_crl_ref=ref(91), versions=("TLSv1.2", "TLSv1.3"),
                                   ciphers="TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256",
                                   hsts_max_age=31536000, hsts_include_subdomains=True))
    lb = LoadBalancer("lb-tls", "10.9.0.5", listeners=(lst,), pools=(pool,))
    return PartitionState(PartitionKey("env", project), gen, (lb,))


def part(project: str) -> str:
    return names.partition(PREFIX, project)


async def uploads(sim: SimHandle) -> list[str]:
    return sorted(sim.call(lambda: [o.name for o in sim.sim.devices[0].store.all(
        "shared/file-transfer/uploads")]))


def tls_objects(observed: Any) -> dict[Any, Any]:
    return {k: o.body for k, o in observed.objects.items() if k[0] in TLS_KINDS}


def test_terminated_https_listener_end_to_end(sim: SimHandle) -> None:
    pki = Pki()
    hosts = {ref(1): "www.example.com", ref(2): "a.example.com", ref(3): "b.example.com",
             ref(4): "www.example.com"}
    secrets, pems = secrets_for(pki, hosts)
    first = state("tls1", ref(1), (ref(2), ref(3)))

    async def go() -> None:
        async with make_client(sim) as c:
            rendered = render(first, PREFIX, secrets=secrets)
            assert rendered.failures == ()
            before = c.counter.total
            result = await converge(c, rendered, PREFIX)
            assert result.ok, result
            create_requests = c.counter.total - before
            observed = await observe(c, part("tls1"))
            assert diff(rendered, observed, PREFIX).empty
            # certificates on the device are the stored ones, by fingerprint
            for r in (ref(1), ref(2), ref(3)):
                token = r.rsplit("/", 1)[1]
                cert = observed.get(Kind.SSL_CERT, names.ssl_pair(PREFIX, token))
                assert cert is not None and cert.body["fingerprint"] == fingerprint(pems[r])
            virtual = observed.get(Kind.VIRTUAL, names.virtual(PREFIX, "lst-tls"))
            assert virtual is not None
            contexts = sorted((p["context"], p["name"]) for p in virtual.body["profiles"]
                              if isinstance(p, dict))
            assert [c for c, _ in contexts] == ["clientside"] * 3 + ["serverside"]
            profiles = [observed.get(Kind.PROFILE_CLIENT_SSL, n.rsplit("/", 1)[1])
                        for _, n in contexts[:3]]
            assert sorted(str(p.body["sniDefault"]) for p in profiles if p) == [
                "false", "false", "true"]
            assert {p.body["peerCertMode"] for p in profiles if p} == {"require"}
            assert await uploads(sim) == []  # removed once installed
            # each new pair went up as one PKCS12 bundle and was installed by one command
            audit = sim.control("GET", "audit")["items"]
            installs = [e for e in audit if e["path"].endswith("/sys/crypto/pkcs12")
                        and part("tls1") in json.dumps(e)]
            assert len(installs) == 3, installs
            assert not [e for e in audit if e["path"].endswith("/sys/file/ssl-key")
                        and part("tls1") in json.dumps(e)]
            # nothing changed: no write at all
            again = await converge(c, render(first, PREFIX, secrets=secrets), PREFIX)
            assert again.writes == 0 and again.ok

            # rotation: a new default certificate (new ref), same SNI certificates
            rotated = state("tls1", ref(4), (ref(2), ref(3)), gen=2)
            rr = render(rotated, PREFIX, secrets=secrets)
            result = await converge(c, rr, PREFIX)
            assert result.ok, result
            observed = await observe(c, part("tls1"))
            assert diff(rr, observed, PREFIX).empty
            old = ref(1).rsplit("/", 1)[1]
            assert observed.get(Kind.SSL_CERT, names.ssl_pair(PREFIX, old)) is None
            assert observed.get(Kind.SSL_KEY, names.ssl_pair(PREFIX, old)) is None
            assert await uploads(sim) == []

            # an upload left behind (an apply cut off before its clean-up) goes with its object
            new = ref(4).rsplit("/", 1)[1]
            key_op = Op(Action.DELETE, Kind.SSL_KEY, names.ssl_pair(PREFIX, new), {})
            await c.upload(upload_name(part("tls1"), key_op), b"left behind")
            assert await uploads(sim) == [upload_name(part("tls1"), key_op)]

            # delete: no TLS object, no uploaded file, no partition
            empty = PartitionState(first.key, 3, ())
            result = await converge(c, render(empty, PREFIX), PREFIX)
            assert result.ok, result
            gone = await observe(c, part("tls1"))
            assert tls_objects(gone) == {} and not gone.objects
            assert await uploads(sim) == []
            print(f"create requests: {create_requests}")

    asyncio.run(go())


def test_key_that_does_not_match_its_certificate_fails_the_listener(sim: SimHandle) -> None:
    pki = Pki()
    secrets, _ = secrets_for(pki, {ref(1): "www.example.com"})
    cert, _key = pki.key_pair("www.example.com")
    _other_cert, other_key = pki.key_pair("other.example.com")
    bad = replace(secrets, pairs={ref(1): KeyPair(cert, other_key)})
    st = state("tls2", ref(1), ())
    lb = st.load_balancers[0]
    plain = Listener("lst-plain", "HTTP", 80)
    st = replace(st, load_balancers=(replace(lb, listeners=(*lb.listeners, plain)),))

    async def go() -> None:
        async with make_client(sim) as c:
            result = await converge(c, render(st, PREFIX, secrets=bad), PREFIX)
            failed = {f.object_id: f.reason for f in result.failures}
            assert set(failed) == {"lst-tls"}, failed
            assert "key and certificate do not match" in failed["lst-tls"]
            observed = await observe(c, part("tls2"))
            assert observed.get(Kind.VIRTUAL, names.virtual(PREFIX, "lst-plain")) is not None
            assert observed.get(Kind.VIRTUAL, names.virtual(PREFIX, "lst-tls")) is None
            assert await uploads(sim) == []
            await converge(c, render(PartitionState(st.key, 2, ()), PREFIX), PREFIX)

    asyncio.run(go())




def test_a_refused_transaction_takes_back_the_pairs_installed_before_it(sim: SimHandle) -> None:
    # A good pair (installed from its PKCS12 bundle before the transaction) and a listener whose
    # key is not its certificate's (two files in the transaction, refused at commit): the pair
    # installed for the refused transaction is deleted again, the retry without the failed
    # listener installs it anew, and nothing is left over.
    pki = Pki()
    secrets, pems = secrets_for(pki, {ref(1): "www.example.com"})
    cert, _key = pki.key_pair("bad.example.com")
    _other, other_key = pki.key_pair("other.example.com")
    secrets = replace(secrets, pairs={**secrets.pairs, ref(2): KeyPair(cert, other_key)})
    st = state("tls5", ref(1), ())
    lb = st.load_balancers[0]
    bad = Listener("lst-bad", "TERMINATED_HTTPS", 8443, tls=ListenerTls(default_ref=ref(2)))
    st = replace(st, load_balancers=(replace(lb, listeners=(*lb.listeners, bad)),))

    async def go() -> None:
        async with make_client(sim) as c:
            result = await converge(c, render(st, PREFIX, secrets=secrets), PREFIX)
            assert {f.object_id for f in result.failures} == {"lst-bad"}, result.failures
            observed = await observe(c, part("tls5"))
            good = ref(1).rsplit("/", 1)[1]
            got = observed.get(Kind.SSL_CERT, names.ssl_pair(PREFIX, good))
            assert got is not None and got.body["fingerprint"] == fingerprint(pems[ref(1)])
            assert observed.get(Kind.SSL_KEY, names.ssl_pair(PREFIX, good)) is not None
            bad_name = names.ssl_pair(PREFIX, ref(2).rsplit("/", 1)[1])
            assert observed.get(Kind.SSL_CERT, bad_name) is None
            assert observed.get(Kind.SSL_KEY, bad_name) is None
            audit = [e for e in sim.control("GET", "audit")["items"]
                     if part("tls5") in json.dumps(e)]
            installs = [e for e in audit if e["path"].endswith("/sys/crypto/pkcs12")]
            removed = [e for e in audit if e["method"] == "DELETE"
                       and e["path"].endswith(names.ssl_pair(PREFIX, good))]
            assert len(installs) == 2 and len(removed) == 2, (installs, removed)
            assert await uploads(sim) == []
            await converge(c, render(PartitionState(st.key, 2, ()), PREFIX), PREFIX)

    asyncio.run(go())


def test_observe_reads_tls_collections_only_when_used(sim: SimHandle) -> None:
    pki = Pki()
    secrets, _ = secrets_for(pki, {ref(1): "www.example.com"})
    with_tls = state("tls3", ref(1), ())
    plain = replace(with_tls, key=PartitionKey("env", "tls4"), load_balancers=(LoadBalancer(
        "lb-plain", "10.9.4.5", listeners=(Listener("lst-plain4", "HTTP", 80),)),))

    async def gets(c: Any, project: str) -> tuple[int, Any]:
        before = c.counter.by_method["GET"]
        observed = await observe(c, part(project), wanted=())  # as for a state without TLS
        return c.counter.by_method["GET"] - before, observed

    async def go() -> None:
        async with make_client(sim) as c:
            for st in (with_tls, plain):
                assert (await converge(c, render(st, PREFIX, secrets=secrets), PREFIX)).ok
            n, _ = await gets(c, "tls4")
            assert n == 1 + len(PARTITION_KINDS) - len(OPTIONAL_KINDS)  # folder, the usual kinds
            n, observed = await gets(c, "tls3")
            # a virtual uses a client-ssl profile: a second round lists the optional kinds
            assert n == 1 + len(PARTITION_KINDS)
            assert observed.of_kind(Kind.PROFILE_CLIENT_SSL)
            for st in (with_tls, plain):
                await converge(c, render(PartitionState(st.key, 9, ()), PREFIX), PREFIX)

    asyncio.run(go())
