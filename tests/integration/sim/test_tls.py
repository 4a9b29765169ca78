"""`--cert/--key`: the simulator serves the operator's own certificate, and clients verify it."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bigip_lbaas.sim.testing import run_sim_in_thread


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_own_self_signed_pair_is_served_and_verified(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "mine")
    other, _ = _self_signed(tmp_path, "other")
    with run_sim_in_thread(devices=2, cert=cert, key=key) as sim:
        assert sim.ca_file == cert
        for url, port in zip(sim.urls, sim.ports, strict=True):
            served = ssl.get_server_certificate(("127.0.0.1", port))
            assert x509.load_pem_x509_certificate(served.encode()) == (
                x509.load_pem_x509_certificate(cert.read_bytes())
            )
            with httpx.Client(base_url=url, verify=str(cert), auth=("admin", "admin")) as c:
                assert c.get("/mgmt/tm/sys/version").status_code == 200
            with (
                httpx.Client(base_url=url, verify=str(other), auth=("admin", "admin")) as c,
                pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
            ):
                c.get("/mgmt/tm/sys/version")


def test_cert_without_key_is_refused(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path, "lonely")
    with pytest.raises(ValueError, match="--cert needs --key"), run_sim_in_thread(cert=cert):
        pass
