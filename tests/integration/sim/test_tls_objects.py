"""TLS objects on the simulator: uploads, certificate/key/CRL files, SSL profiles, refusals.

Every certificate and key is generated here with `cryptography`; no key material is stored in
the repository.
"""

from __future__ import annotations

import datetime
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bigrest.bigip import BIGIP
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from f5.bigip import ManagementRoot

from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread

DOWNLOADS = "/var/config/rest/downloads"
P = "Project_tls"


# -- test PKI ---------------------------------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACME"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Pki:
    ca: x509.Certificate
    ca_pem: bytes
    cert: x509.Certificate
    cert_pem: bytes
    key_pem: bytes
    other_key_pem: bytes
    other_cert_pem: bytes  # a second server certificate, for the other key
    crl_pem: bytes


@pytest.fixture(scope="module")
def pki() -> Pki:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Test CA"))
        .issuer_name(_name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(cn: str, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(datetime.datetime(2031, 7, 4, 5, 46, 24, tzinfo=datetime.UTC))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_key = ec.generate_private_key(ec.SECP256R1())
    cert = leaf("www.example.com", key)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now)
        .next_update(now + datetime.timedelta(days=7))
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return Pki(
        ca=ca,
        ca_pem=ca.public_bytes(pem),
        cert=cert,
        cert_pem=cert.public_bytes(pem),
        key_pem=_key_pem(key),
        other_key_pem=_key_pem(other_key),
        other_cert_pem=leaf("other.example.com", other_key).public_bytes(pem),
        crl_pem=crl.public_bytes(pem),
    )


# -- helpers ------------------------------------------------------------------------------------
def upload(c: httpx.Client, name: str, data: bytes, chunk: int = 512 * 1024) -> httpx.Response:
    r = None
    for start in range(0, len(data), chunk):
        part = data[start : start + chunk]
        r = c.post(
            f"/mgmt/shared/file-transfer/uploads/{name}",
            content=part,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{start}-{start + len(part) - 1}/{len(data)}",
            },
        )
        assert r.status_code == 200, r.text
    assert r is not None
    return r


def install(c: httpx.Client, kind: str, name: str, data: bytes, partition: str = P) -> dict:
    """Upload `data` and create `sys/file/<kind>` /partition/name from it."""
    upload(c, name, data)
    r = c.post(
        f"/mgmt/tm/sys/file/{kind}",
        json={"name": name, "partition": partition, "sourcePath": f"file://{DOWNLOADS}/{name}"},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def setup_pair(c: httpx.Client, pki: Pki) -> None:
    assert c.post("/mgmt/tm/auth/partition", json={"name": P}).status_code == 200
    install(c, "ssl-cert", "www.crt", pki.cert_pem)
    install(c, "ssl-key", "www.key", pki.key_pem)


def commit(c: httpx.Client, writes: list[tuple[str, str, dict]], **extra: object) -> httpx.Response:
    tid = c.post("/mgmt/tm/transaction", json={}).json()["transId"]
    for method, path, body in writes:
        r = c.request(method, path, json=body, headers={"X-F5-REST-Coordination-Id": str(tid)})
        assert r.status_code == 200, r.text
    return c.patch(f"/mgmt/tm/transaction/{tid}", json={"state": "VALIDATING", **extra})


def fingerprint(cert: x509.Certificate) -> str:
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return "SHA256/" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


# -- uploads ------------------------------------------------------------------------------------
def test_chunked_upload_then_certificate_fields_parsed_from_the_pem(
    http: httpx.Client, pki: Pki
) -> None:
    assert http.post("/mgmt/tm/auth/partition", json={"name": P}).status_code == 200
    data = pki.cert_pem
    first = http.post(
        "/mgmt/shared/file-transfer/uploads/www.crt",
        content=data[:500],
        headers={"Content-Range": f"0-499/{len(data)}", "Content-Type": "application/octet-stream"},
    ).json()
    assert first["remainingByteCount"] == len(data) - 500
    assert first["localFilePath"] == f"{DOWNLOADS}/www.crt"
    source = {"name": "www.crt", "partition": P, "sourcePath": f"file://{DOWNLOADS}/www.crt"}
    # an incomplete upload is not a file yet
    assert http.post("/mgmt/tm/sys/file/ssl-cert", json=source).status_code == 400
    last = upload(http, "www.crt", data, chunk=500).json()  # restarts at 0, three chunks
    assert (last["remainingByteCount"], last["totalByteCount"]) == (0, len(data))

    doc = http.post("/mgmt/tm/sys/file/ssl-cert", json=source).json()
    assert doc["kind"] == "tm:sys:file:ssl-cert:ssl-certstate"
    assert (doc["name"], doc["partition"], doc["fullPath"]) == ("www.crt", P, f"/{P}/www.crt")
    assert doc["fingerprint"] == fingerprint(pki.cert)
    assert doc["subject"] == "CN=www.example.com,O=ACME,C=US"
    assert doc["issuer"] == "CN=Test CA,O=ACME,C=US"
    assert doc["expirationString"] == "Jul  4 05:46:24 2031 GMT"
    assert doc["expirationDate"] == 1940910384
    assert (doc["keyType"], doc["certificateKeySize"]) == ("rsa-public", 2048)
    assert doc["subjectAlternativeName"] == "DNS:www.example.com"
    assert doc["sourcePath"] == source["sourcePath"]
    assert doc["checksum"].startswith(f"SHA1:{len(data)}:")
    assert doc["serialNumber"] == str(pki.cert.serial_number)

    # a collection filtered by partition, like any other
    install(http, "ssl-cert", "ca.crt", pki.ca_pem)
    coll = http.get("/mgmt/tm/sys/file/ssl-cert", params={"$filter": f"partition eq {P}"}).json()
    assert coll["kind"] == "tm:sys:file:ssl-cert:ssl-certcollectionstate"
    assert sorted(i["name"] for i in coll["items"]) == ["ca.crt", "www.crt"]
    everything = http.get("/mgmt/tm/sys/file/ssl-cert").json()["items"]
    assert "/Common/default.crt" in {i["fullPath"] for i in everything}


def test_upload_refusals(http: httpx.Client, pki: Pki) -> None:
    base = "/mgmt/shared/file-transfer/uploads"
    octet = {"Content-Type": "application/octet-stream"}
    assert http.post(f"{base}/x.crt", content=b"abc", headers=octet).status_code == 400
    r = http.post(f"{base}/x.crt", content=b"abc", headers={**octet, "Content-Range": "0-9/10"})
    assert r.status_code == 400
    r = http.post(f"{base}/x.crt", content=b"abc", headers={**octet, "Content-Range": "5-7/10"})
    assert r.status_code == 400  # a gap: bytes 0-4 never came
    assert http.get(f"{base}/x.crt").status_code == 405
    r = http.post(
        f"{base}/r.bin", content=b"abc", headers={**octet, "Content-Range": "bytes 0-2/3"}
    )
    assert r.json()["remainingByteCount"] == 0
    # the body is bytes, not JSON: a body that is invalid JSON is fine
    r = http.post(
        f"{base}/x.bin", content=b"{not json", headers={**octet, "Content-Range": "0-8/9"}
    )
    assert r.status_code == 200


def test_unix_rm_removes_an_uploaded_file(http: httpx.Client, pki: Pki) -> None:
    assert http.post("/mgmt/tm/auth/partition", json={"name": P}).status_code == 200
    upload(http, "gone.crt", pki.cert_pem)
    rm = {"command": "run", "utilCmdArgs": f"{DOWNLOADS}/gone.crt"}
    done = http.post("/mgmt/tm/util/unix-rm", json=rm).json()
    assert done["kind"] == "tm:util:unix-rm:runstate"
    assert "commandResult" not in done
    again = http.post("/mgmt/tm/util/unix-rm", json=rm).json()
    assert "No such file or directory" in again["commandResult"]
    forced = {"command": "run", "utilCmdArgs": f"-f {DOWNLOADS}/gone.crt"}
    assert "commandResult" not in http.post("/mgmt/tm/util/unix-rm", json=forced).json()
    source = {"name": "gone.crt", "partition": P, "sourcePath": f"file://{DOWNLOADS}/gone.crt"}
    assert http.post("/mgmt/tm/sys/file/ssl-cert", json=source).status_code == 400


def test_crypto_install_and_crl(http: httpx.Client, pki: Pki) -> None:
    assert http.post("/mgmt/tm/auth/partition", json={"name": P}).status_code == 200
    upload(http, "i.crt", pki.cert_pem)
    upload(http, "i.key", pki.key_pem)
    for what, name in (("cert", "i.crt"), ("key", "i.key")):
        r = http.post(
            f"/mgmt/tm/sys/crypto/{what}",
            json={
                "command": "install",
                "name": f"/{P}/{name}",
                "from-local-file": f"{DOWNLOADS}/{name}",
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["command"] == "install"
    key = http.get(f"/mgmt/tm/sys/file/ssl-key/~{P}~i.key").json()
    assert key["kind"] == "tm:sys:file:ssl-key:ssl-keystate"
    assert (key["keyType"], key["keySize"], key["securityType"]) == ("rsa-private", 2048, "normal")
    # inside a transaction too (an upload is never queued, even with the header)
    tid = http.post("/mgmt/tm/transaction", json={}).json()["transId"]
    coordinated = {"X-F5-REST-Coordination-Id": str(tid)}
    http.headers.update(coordinated)
    try:
        upload(http, "t.crt", pki.ca_pem)
        tx_install = {
            "command": "install",
            "name": f"/{P}/t.crt",
            "from-local-file": f"{DOWNLOADS}/t.crt",
        }
        queued = http.post("/mgmt/tm/sys/crypto/cert", json=tx_install).json()
        assert queued["kind"] == "tm:transaction:commandsstate"
    finally:
        del http.headers["X-F5-REST-Coordination-Id"]
    assert http.get(f"/mgmt/tm/sys/file/ssl-cert/~{P}~t.crt").status_code == 404
    done = http.patch(f"/mgmt/tm/transaction/{tid}", json={"state": "VALIDATING"})
    assert done.json()["state"] == "COMPLETED", done.text
    assert http.get(f"/mgmt/tm/sys/file/ssl-cert/~{P}~t.crt").json()["isBundle"] == "false"
    # installing again replaces the content (a new revision)
    upload(http, "i.crt", pki.cert_pem)
    again = {"command": "install", "name": f"/{P}/i.crt", "from-local-file": f"{DOWNLOADS}/i.crt"}
    assert http.post("/mgmt/tm/sys/crypto/cert", json=again).status_code == 200
    assert http.get(f"/mgmt/tm/sys/file/ssl-cert/~{P}~i.crt").json()["revision"] == 2
    crl = install(http, "ssl-crl", "ca.crl", pki.crl_pem)
    assert crl["kind"] == "tm:sys:file:ssl-crl:ssl-crlstate"
    assert crl["issuer"] == "CN=Test CA,O=ACME,C=US"
    # a file of the wrong kind is refused, and so is a missing file
    upload(http, "notakey.key", pki.cert_pem)
    bad = {"name": "k", "partition": P, "sourcePath": f"file://{DOWNLOADS}/notakey.key"}
    assert http.post("/mgmt/tm/sys/file/ssl-key", json=bad).status_code == 400
    missing = {"name": "k", "partition": P, "sourcePath": f"file://{DOWNLOADS}/nope"}
    assert http.post("/mgmt/tm/sys/file/ssl-key", json=missing).status_code == 400


def _p12(key_pem: bytes, cert_pem: bytes, passphrase: bytes | None = None) -> bytes:
    key = serialization.load_pem_private_key(key_pem, None)
    assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey))
    enc: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if passphrase:
        enc = serialization.BestAvailableEncryption(passphrase)
    return pkcs12.serialize_key_and_certificates(
        None, key, x509.load_pem_x509_certificate(cert_pem), None, enc)


def test_pkcs12_install_makes_the_key_and_certificate_together(
    sim: SimHandle, http: httpx.Client, pki: Pki
) -> None:
    assert http.post("/mgmt/tm/auth/partition", json={"name": P}).status_code == 200
    upload(http, "pair.p12", _p12(pki.key_pem, pki.cert_pem))
    r = http.post("/mgmt/tm/sys/crypto/pkcs12", json={
        "command": "install", "name": f"/{P}/pair", "from-local-file": f"{DOWNLOADS}/pair.p12"})
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "tm:sys:crypto:pkcs12:installstate"
    # both objects, one name, in the partition the name gives, parsed from the bundle
    cert = http.get(f"/mgmt/tm/sys/file/ssl-cert/~{P}~pair").json()
    key = http.get(f"/mgmt/tm/sys/file/ssl-key/~{P}~pair").json()
    assert cert["fingerprint"] == fingerprint(pki.cert)
    assert cert["subject"] == "CN=www.example.com,O=ACME,C=US"
    assert (key["keyType"], key["keySize"]) == ("rsa-private", 2048)
    assert key["checksum"].startswith(f"SHA1:{len(pki.key_pem)}:")  # the key as PKCS8 PEM
    # usable as a pair by a profile
    ok = http.post("/mgmt/tm/ltm/profile/client-ssl", json={
        "name": "p12-prof", "partition": P, "defaultsFrom": "/Common/clientssl",
        "certKeyChain": [{"name": "default", "cert": f"/{P}/pair", "key": f"/{P}/pair"}]})
    assert ok.status_code == 200, ok.text
    # a passphrase-protected bundle with its passphrase; without it, refused
    upload(http, "locked.p12", _p12(pki.key_pem, pki.cert_pem, b"s3cret"))
    locked = {"command": "install", "name": f"/{P}/locked",
              "from-local-file": f"{DOWNLOADS}/locked.p12"}
    assert http.post("/mgmt/tm/sys/crypto/pkcs12", json=locked).status_code == 400
    assert http.post("/mgmt/tm/sys/crypto/pkcs12",
                     json={**locked, "passphrase": "s3cret"}).status_code == 200
    # refusals create nothing: not a bundle, a key that is not the certificate's
    upload(http, "junk.p12", pki.cert_pem)
    junk = http.post("/mgmt/tm/sys/crypto/pkcs12", json={
        "command": "install", "name": f"/{P}/junk", "from-local-file": f"{DOWNLOADS}/junk.p12"})
    assert junk.status_code == 400 and "PKCS12" in junk.json()["message"]
    # a key whose certificate is not in the bundle (only as an extra certificate); a bundle whose
    # key is another certificate's cannot be written by cryptography or openssl at all (both
    # refuse), so the device's "do not match" stays a defence the agent never meets
    mixed = pkcs12.serialize_key_and_certificates(
        None, serialization.load_pem_private_key(pki.other_key_pem, None),  # type: ignore[arg-type]
        None, [pki.cert], serialization.NoEncryption())
    upload(http, "mixed.p12", mixed)
    r = http.post("/mgmt/tm/sys/crypto/pkcs12", json={
        "command": "install", "name": f"/{P}/mixed", "from-local-file": f"{DOWNLOADS}/mixed.p12"})
    assert r.status_code == 400 and "certificate with its private key" in r.json()["message"]
    for name in ("junk", "mixed"):
        assert http.get(f"/mgmt/tm/sys/file/ssl-cert/~{P}~{name}").status_code == 404
        assert http.get(f"/mgmt/tm/sys/file/ssl-key/~{P}~{name}").status_code == 404
    # no key material in what the device answers or audits
    body_line = pki.key_pem.decode().splitlines()[1]
    audit = json.dumps(sim.control("GET", "audit"))
    for text in (json.dumps(key), r.text, audit):
        assert "PRIVATE KEY" not in text and body_line not in text


# -- private keys never leak ------------------------------------------------------------------------
def test_private_keys_never_shown_audited_or_echoed(
    sim: SimHandle, http: httpx.Client, pki: Pki
) -> None:
    setup_pair(http, pki)
    secret = pki.key_pem.decode()
    body_line = secret.splitlines()[1]
    key_doc = http.get(f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key").text
    coll = http.get("/mgmt/tm/sys/file/ssl-key?expandSubcollections=true").text
    # a client that puts a key where it does not belong gets an error without it
    r = http.post(
        "/mgmt/tm/sys/file/ssl-key",
        json={"name": "inline.key", "partition": P, "keyText": secret},
    )
    assert r.status_code == 400
    assert "redacted" in r.json()["message"]
    r2 = http.patch(f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key", content=secret[:-40].encode())
    assert r2.status_code == 400
    # hidden state is no filter oracle (the query itself is echoed in the selfLink, so it is
    # checked for items only)
    hidden = http.get("/mgmt/tm/sys/file/ssl-key", params={"$filter": "_pem eq None"}).json()
    assert "items" not in hidden
    audit = json.dumps(sim.control("GET", "audit"))
    uploads = [e for e in sim.control("GET", "audit")["items"] if "file-transfer" in e["path"]]
    assert uploads and all(e["method"] == "POST" for e in uploads)
    for text in (key_doc, coll, r.text, r2.text, audit):
        assert "PRIVATE KEY" not in text
        assert body_line not in text


# -- profiles -------------------------------------------------------------------------------------
def test_ssl_profiles_reference_existing_files_and_block_deletes(
    http: httpx.Client, pki: Pki
) -> None:
    setup_pair(http, pki)
    install(http, "ssl-cert", "ca.crt", pki.ca_pem)
    install(http, "ssl-crl", "ca.crl", pki.crl_pem)
    profile = {
        "name": "cs_www",
        "partition": P,
        "defaultsFrom": "/Common/clientssl",
        "certKeyChain": [{"name": "www", "cert": "www.crt", "key": f"/{P}/www.key"}],
        "sniDefault": True,
        "peerCertMode": "require",
        "caFile": "ca.crt",
        "crlFile": "ca.crl",
        "tmOptions": ["no-tlsv1", "no-tlsv1.1"],
        "ciphers": "ECDHE+AESGCM",
        "serverName": "www.example.com",
        "sniRequire": "false",
    }
    missing = dict(profile, certKeyChain=[{"name": "x", "cert": "www.crt", "key": "nope.key"}])
    r = http.post("/mgmt/tm/ltm/profile/client-ssl", json=missing)
    assert r.status_code == 400
    assert r.json()["message"] == f"01070277:3: The requested key (/{P}/nope.key) was not found."
    doc = http.post("/mgmt/tm/ltm/profile/client-ssl", json=profile).json()
    (entry,) = doc["certKeyChain"]
    assert {k: entry[k] for k in ("name", "cert", "key", "chain")} == {
        "name": "www",
        "cert": f"/{P}/www.crt",
        "key": f"/{P}/www.key",
        "chain": "none",
    }
    assert entry["keyReference"]["link"].startswith(
        f"https://localhost/mgmt/tm/sys/file/ssl-key/~{P}~www.key?ver="
    )
    assert doc["certReference"] == entry["certReference"]
    assert doc["inheritCertkeychain"] == "false"
    assert (doc["cert"], doc["key"]) == (f"/{P}/www.crt", f"/{P}/www.key")
    assert (doc["caFile"], doc["crlFile"]) == (f"/{P}/ca.crt", f"/{P}/ca.crl")
    assert (doc["sniDefault"], doc["peerCertMode"]) == ("true", "require")
    assert doc["tmOptions"] == ["no-tlsv1", "no-tlsv1.1"]

    server = {
        "name": "ss_pool",
        "partition": P,
        "defaultsFrom": "/Common/serverssl",
        "cert": "www.crt",
        "key": "www.key",
        "caFile": "ca.crt",
        "crlFile": "ca.crl",
        "peerCertMode": "require",
        "authenticate": "always",
    }
    sdoc = http.post("/mgmt/tm/ltm/profile/server-ssl", json=server).json()
    assert sdoc["kind"] == "tm:ltm:profile:server-ssl:server-sslstate"
    assert (sdoc["cert"], sdoc["authenticate"]) == (f"/{P}/www.crt", "always")

    vs = {
        "name": "vs",
        "partition": P,
        "destination": "10.9.9.9:443",
        "profiles": [
            "/Common/http",
            "/Common/tcp",
            {"name": "cs_www", "context": "clientside"},
            {"name": "ss_pool", "context": "serverside"},
        ],
    }
    assert http.post("/mgmt/tm/ltm/virtual", json=vs).status_code == 200
    for path in (
        f"/mgmt/tm/ltm/profile/client-ssl/~{P}~cs_www",
        f"/mgmt/tm/ltm/profile/server-ssl/~{P}~ss_pool",
    ):
        r = http.delete(path)
        assert r.status_code == 400
        assert "in use by a Virtual Server" in r.json()["message"]
    for kind, name in (("ssl-cert", "www.crt"), ("ssl-key", "www.key"), ("ssl-crl", "ca.crl")):
        r = http.delete(f"/mgmt/tm/sys/file/{kind}/~{P}~{name}")
        assert r.status_code == 400
        assert "cannot be deleted because it is in use by a Profile" in r.json()["message"]
    assert http.delete(f"/mgmt/tm/ltm/virtual/~{P}~vs").status_code == 200
    assert http.delete(f"/mgmt/tm/ltm/profile/client-ssl/~{P}~cs_www").status_code == 200
    assert http.delete(f"/mgmt/tm/ltm/profile/server-ssl/~{P}~ss_pool").status_code == 200
    for kind, name in (("ssl-cert", "www.crt"), ("ssl-key", "www.key"), ("ssl-crl", "ca.crl")):
        assert http.delete(f"/mgmt/tm/sys/file/{kind}/~{P}~{name}").status_code == 200
    assert http.delete("/mgmt/tm/sys/file/ssl-cert/~Common~default.crt").status_code == 400


def test_key_and_certificate_must_match(http: httpx.Client, pki: Pki) -> None:
    setup_pair(http, pki)
    install(http, "ssl-key", "other.key", pki.other_key_pem)
    mismatched = {
        "name": "cs_bad",
        "partition": P,
        "certKeyChain": [{"name": "x", "cert": "www.crt", "key": "other.key"}],
    }
    r = http.post("/mgmt/tm/ltm/profile/client-ssl", json=mismatched)
    assert r.status_code == 400
    assert (
        r.json()["message"] == f"01070317:3: profile /{P}/cs_bad's key and certificate do not match"
    )
    assert http.get(f"/mgmt/tm/ltm/profile/client-ssl/~{P}~cs_bad").status_code == 404
    server = {"name": "ss_bad", "partition": P, "cert": "www.crt", "key": "other.key"}
    assert http.post("/mgmt/tm/ltm/profile/server-ssl", json=server).status_code == 400
    good = dict(mismatched, name="cs", certKeyChain=[{"cert": "www.crt", "key": "www.key"}])
    assert http.post("/mgmt/tm/ltm/profile/client-ssl", json=good).status_code == 200

    # rotation, one half at a time, while the pair is in use: refused, nothing changes
    before = http.get(f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key").json()
    upload(http, "new.key", pki.other_key_pem)
    upload(http, "new.crt", pki.other_cert_pem)
    key_patch = {"sourcePath": f"file://{DOWNLOADS}/new.key"}
    cert_patch = {"sourcePath": f"file://{DOWNLOADS}/new.crt"}
    r = http.patch(f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key", json=key_patch)
    assert r.status_code == 400
    assert "key and certificate do not match" in r.json()["message"]
    assert http.get(f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key").json() == before
    r = commit(http, [("PATCH", f"/mgmt/tm/sys/file/ssl-cert/~{P}~www.crt", cert_patch)])
    assert r.status_code == 400
    assert r.json()["message"].startswith("transaction failed:01070317:3:")

    # validateOnly sees the mismatch too, and leaves nothing behind
    key_url = f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key"
    r = commit(http, [("PATCH", key_url, key_patch)], validateOnly=True)
    assert r.status_code == 400

    # both halves in one transaction: the pair is checked at commit, and it matches
    r = commit(
        http,
        [
            ("PATCH", key_url, key_patch),
            ("PATCH", f"/mgmt/tm/sys/file/ssl-cert/~{P}~www.crt", cert_patch),
        ],
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "COMPLETED"
    cert = http.get(f"/mgmt/tm/sys/file/ssl-cert/~{P}~www.crt").json()
    assert cert["subject"] == "CN=other.example.com,O=ACME,C=US"
    assert cert["revision"] == 2
    key = http.get(key_url).json()
    assert (key["keyType"], key["revision"]) == ("ec-private", 2)


def test_sni_default_rules_on_a_virtual(http: httpx.Client, pki: Pki) -> None:
    setup_pair(http, pki)
    chain = [{"name": "c", "cert": "www.crt", "key": "www.key"}]
    for name, default, server_name in (
        ("cs_a", False, "a.example.com"),
        ("cs_b", False, "b.example.com"),
        ("cs_c", True, "c.example.com"),
        ("cs_d", True, "a.example.com"),
    ):
        body = {"name": name, "partition": P, "certKeyChain": chain}
        body.update(sniDefault=default, serverName=server_name)
        assert http.post("/mgmt/tm/ltm/profile/client-ssl", json=body).status_code == 200

    def virtual(name: str, profiles: list[str]) -> httpx.Response:
        return http.post(
            "/mgmt/tm/ltm/virtual",
            json={
                "name": name,
                "partition": P,
                "destination": "10.9.9.10:443",
                "profiles": ["/Common/tcp", *profiles],
            },
        )

    r = virtual("vs1", ["cs_a", "cs_b"])
    assert r.status_code == 400
    assert "none of them is the default for SNI" in r.json()["message"]
    r = virtual("vs1", ["cs_a", "cs_c", "cs_d"])
    assert r.status_code == 400
    assert "sni-default enabled" in r.json()["message"]
    r = virtual("vs1", ["cs_a", "cs_b", "cs_d"])
    assert r.status_code == 400
    assert "same server name (a.example.com)" in r.json()["message"]
    assert virtual("vs1", ["cs_a", "cs_b", "cs_c"]).status_code == 200
    assert virtual("vs2", ["cs_a"]).status_code == 200  # one client-ssl profile: no rule
    # the default profile cannot stop being the default while the virtual uses it
    r = http.patch(f"/mgmt/tm/ltm/profile/client-ssl/~{P}~cs_c", json={"sniDefault": False})
    assert r.status_code == 400
    r = http.post(f"/mgmt/tm/ltm/virtual/~{P}~vs1/profiles", json={"name": f"/{P}/cs_d"})
    assert r.status_code == 400
    # the tmsh form of tmOptions is accepted and read back as a list
    r = http.patch(
        f"/mgmt/tm/ltm/profile/client-ssl/~{P}~cs_a", json={"tmOptions": "{ no-tlsv1 no-sslv3 }"}
    )
    assert r.json()["tmOptions"] == ["no-tlsv1", "no-sslv3"]
    # moving the default from one profile to another in one transaction is fine
    r = commit(
        http,
        [
            ("PATCH", f"/mgmt/tm/ltm/profile/client-ssl/~{P}~cs_c", {"sniDefault": False}),
            ("PATCH", f"/mgmt/tm/ltm/profile/client-ssl/~{P}~cs_b", {"sniDefault": True}),
        ],
    )
    assert r.status_code == 200, r.text


# -- persistence and config-sync ------------------------------------------------------------------
def test_uploads_keys_and_profiles_survive_a_restart(tmp_path: Path, pki: Pki) -> None:
    state = tmp_path / "tls-state.json"
    with run_sim_in_thread(devices=2, state_file=state) as h:
        with h.client(1) as c:
            setup_pair(c, pki)
            upload(c, "later.crt", pki.ca_pem)
            upload(c, "other.key", pki.other_key_pem)
            profile = {
                "name": "cs",
                "partition": P,
                "certKeyChain": [{"cert": "www.crt", "key": "www.key"}],
            }
            assert c.post("/mgmt/tm/ltm/profile/client-ssl", json=profile).status_code == 200
            fp = c.get(f"/mgmt/tm/sys/file/ssl-cert/~{P}~www.crt").json()["fingerprint"]
            assert (
                c.post(
                    "/mgmt/tm/cm",
                    json={
                        "command": "run",
                        "utilCmdArgs": "config-sync to-group sync-failover-group",
                    },
                ).status_code
                == 200
            )
        with h.client(2) as c:
            # config-sync copies certificates and keys, not the upload directory
            assert c.get(f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key").status_code == 200
            source = {
                "name": "later.crt",
                "partition": P,
                "sourcePath": f"file://{DOWNLOADS}/later.crt",
            }
            assert c.post("/mgmt/tm/sys/file/ssl-cert", json=source).status_code == 400
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    with run_sim_in_thread(devices=2, state_file=state) as h, h.client(1) as c:
        assert c.get(f"/mgmt/tm/sys/file/ssl-cert/~{P}~www.crt").json()["fingerprint"] == fp
        source = {
            "name": "later.crt",
            "partition": P,
            "sourcePath": f"file://{DOWNLOADS}/later.crt",
        }
        assert c.post("/mgmt/tm/sys/file/ssl-cert", json=source).status_code == 200
        # the key survived with what pairs it: a mismatching key is still refused
        assert c.delete(f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key").status_code == 400
        patch = {"sourcePath": f"file://{DOWNLOADS}/other.key"}
        r = c.patch(f"/mgmt/tm/sys/file/ssl-key/~{P}~www.key", json=patch)
        assert r.status_code == 400
        assert "do not match" in r.json()["message"]


# -- an independent client ------------------------------------------------------------------------
def test_f5_sdk_uploads_installs_and_builds_profiles(
    sim: SimHandle, pki: Pki, tmp_path: Path
) -> None:
    mgmt = ManagementRoot("127.0.0.1", "admin", "admin", port=sim.ports[0], verify=str(sim.ca_file))
    tm = mgmt.tm
    tm.auth.partitions.partition.create(name=P)
    for name, data in (("sdk.crt", pki.cert_pem), ("sdk.key", pki.key_pem), ("ca.crt", pki.ca_pem)):
        path = tmp_path / name
        path.write_bytes(data)
        mgmt.shared.file_transfer.uploads.upload_file(str(path), chunk_size=700)
    cert = tm.sys.file.ssl_certs.ssl_cert.create(
        name="sdk.crt", partition=P, sourcePath=f"file://{DOWNLOADS}/sdk.crt"
    )
    assert cert.fingerprint == fingerprint(pki.cert)
    key = tm.sys.file.ssl_keys.ssl_key.create(
        name="sdk.key", partition=P, sourcePath=f"file://{DOWNLOADS}/sdk.key"
    )
    assert key.keyType == "rsa-private"
    tm.sys.crypto.certs.exec_cmd(
        "install", name=f"/{P}/ca.crt", **{"from-local-file": f"{DOWNLOADS}/ca.crt"}
    )
    loaded = tm.sys.file.ssl_certs.ssl_cert.load(name="ca.crt", partition=P)
    assert loaded.subject == "CN=Test CA,O=ACME,C=US"
    profile = tm.ltm.profile.client_ssls.client_ssl.create(
        name="cs_sdk",
        partition=P,
        defaultsFrom="/Common/clientssl",
        certKeyChain=[{"name": "sdk", "cert": f"/{P}/sdk.crt", "key": f"/{P}/sdk.key"}],
        caFile=f"/{P}/ca.crt",
        peerCertMode="require",
        sniDefault="true",
    )
    assert profile.certKeyChain[0]["key"] == f"/{P}/sdk.key"
    certs = tm.sys.file.ssl_certs.get_collection(
        requests_params={"params": {"$filter": f"partition eq {P}"}}
    )
    assert sorted(c.name for c in certs) == ["ca.crt", "sdk.crt"]
    for name in ("sdk.crt", "sdk.key", "ca.crt"):
        tm.util.unix_rm.exec_cmd("run", utilCmdArgs=f"{DOWNLOADS}/{name}")
    profile.delete()
    tm.sys.file.ssl_keys.ssl_key.load(name="sdk.key", partition=P).delete()
    assert not tm.sys.file.ssl_keys.ssl_key.exists(name="sdk.key", partition=P)


def test_bigrest_uploads_and_installs_a_pair_in_one_transaction(
    sim: SimHandle, pki: Pki, tmp_path: Path
) -> None:
    big = BIGIP(f"127.0.0.1:{sim.ports[0]}", "admin", "admin")
    big.create("/mgmt/tm/auth/partition", {"name": P})
    for name, data in (("br.crt", pki.cert_pem), ("br.key", pki.key_pem)):
        (tmp_path / name).write_bytes(data)
        big.upload("/mgmt/shared/file-transfer/uploads", str(tmp_path / name))
    with big:  # one transaction: key, certificate and the profile that pairs them
        for kind, name in (("ssl-key", "br.key"), ("ssl-cert", "br.crt")):
            big.create(
                f"/mgmt/tm/sys/file/{kind}",
                {"name": f"/{P}/{name}", "sourcePath": f"file://{DOWNLOADS}/{name}"},
            )
        big.create(
            "/mgmt/tm/ltm/profile/client-ssl",
            {"name": f"/{P}/cs_br", "cert": f"/{P}/br.crt", "key": f"/{P}/br.key"},
        )
    cert = big.load(f"/mgmt/tm/sys/file/ssl-cert/~{P}~br.crt")
    assert cert.properties["fingerprint"] == fingerprint(pki.cert)
    saved = big.save(cert)  # a PUT of the read-back document
    assert saved.properties["fingerprint"] == fingerprint(pki.cert)
    profile = big.load(f"/mgmt/tm/ltm/profile/client-ssl/~{P}~cs_br")
    assert profile.properties["certKeyChain"][0]["key"] == f"/{P}/br.key"
