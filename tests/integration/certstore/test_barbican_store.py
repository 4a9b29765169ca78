"""barbican_cert_manager against a real Barbican behind a real Keystone (tests/openstack).

A user stores a PKCS12 bundle and a PEM CA and CRL with python-barbicanclient (Barbican found in
the catalog); our source, built by `certificate_source` from a configuration file with Octavia's
`[service_auth]` options, resolves them for that user's project as the API does (the caller's
token adds the service user to the read ACL) and as an agent does (service credentials only).
Another project's secret, an unknown or malformed reference are SecretNotFound; nothing secret
reaches a log or an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bigip_lbaas.certstore import (
    CertificateStoreUnavailable,
    certificate_source,
    for_request,
)
from bigip_lbaas.certstore.barbican import BarbicanSecrets
from bigip_lbaas.config.load import load
from bigip_lbaas.core.certs import (
    SecretNotFound,
    parse_pem_certificates,
    parse_pem_crl,
    parse_pkcs12,
)
from bigip_lbaas.db.session import Database
from tests.integration.certstore.material import Material, make_material
from tests.openstack.barbican import Barbican
from tests.openstack.keystone import Keystone, User


@dataclass
class World:
    keystone: Keystone
    barbican: Barbican
    alice: User  # member of project cs-alice
    carol: User  # reader of project cs-alice
    bob: User  # member of project cs-bob
    octavia: User  # our service user
    source: BarbicanSecrets
    conf_text: str

    def client(self, user: User) -> Any:
        return self.barbican.client(self.keystone, user)

    def read_acl_users(self, ref: str) -> list[str]:
        return list(self.client(self.alice).acls.get(ref).get("read").users)


def write_conf(work: Path, keystone: Keystone, user: User, password: str | None = None) -> Path:
    auth = keystone.service_auth_conf(user)
    if password is not None:
        auth = auth.replace(f"password = {user.password}", f"password = {password}")
    path = work / "bigip-lbaas.conf"
    path.write_text("[api_settings]\nauth_strategy = keystone\n"
                    "[certificates]\ncert_manager = barbican_cert_manager\n"
                    f"region_name = {keystone.region}\n" + auth)
    return path


@pytest.fixture(scope="module")
def world(keystone: Keystone, barbican: Barbican,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("barbican-store")
    alice_project = keystone.project("cs-alice")
    alice = keystone.user("cs-alice", alice_project, "member")
    carol = keystone.user("cs-carol", alice_project, "reader")
    bob = keystone.user("cs-bob", keystone.project("cs-bob"), "member")
    octavia = keystone.service_user("octavia")
    conf_path = write_conf(work, keystone, octavia)
    db = Database(f"sqlite:///{work / 'unused.sqlite'}")  # the Barbican store never uses it
    try:
        source = certificate_source(load([str(conf_path)]), db)
        assert isinstance(source, BarbicanSecrets)
        yield World(keystone, barbican, alice, carol, bob, octavia, source,
                    conf_path.read_text())
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def material() -> Material:
    return make_material()


def store(world: World, user: User, name: str, payload: bytes | str) -> str:
    return str(world.client(user).secrets.create(name=name, payload=payload).store())


def test_a_users_secrets_resolve_for_the_api_and_then_for_the_agents(
        world: World, material: Material) -> None:
    p12 = store(world, world.alice, "cert", material.pkcs12)
    ca = store(world, world.alice, "ca", material.ca_pem.decode())
    crl = store(world, world.alice, "crl", material.crl_pem.decode())
    project = world.alice.project.id
    for ref in (p12, ca, crl):
        # Not shared yet: the service alone cannot read it.
        with pytest.raises(SecretNotFound):
            world.source.get_secret(ref, project)
        assert world.read_acl_users(ref) == []

    api = for_request(world.source, world.keystone.token(world.alice))
    bundle = parse_pkcs12(api.get_secret(p12, project))
    assert bundle.certificate == material.certificate_pem
    assert bundle.private_key == material.key_pem
    assert bundle.intermediates == (material.ca_pem,)
    assert parse_pem_certificates(api.get_secret(ca, project)) == (material.ca_pem,)
    assert parse_pem_crl(api.get_secret(crl, project)) == material.crl_pem

    for ref in (p12, ca, crl):
        # Octavia's ACL: the service user, and only it, was added to the read ACL...
        assert world.read_acl_users(ref) == [world.octavia.id]
    # ...once, however often the API checks; and the agents now read with the service's
    # credentials alone, by URL or by bare UUID.
    assert api.get_secret(p12, project) == material.pkcs12
    assert world.read_acl_users(p12) == [world.octavia.id]
    assert world.source.get_secret(p12, project) == material.pkcs12
    assert world.source.get_secret(p12.rsplit("/", 1)[1], project) == material.pkcs12
    # Barbican keeps a text/plain payload without its trailing newline.
    assert world.source.get_secret(ca, project) == material.ca_pem.rstrip()


def test_another_projects_secret_is_not_found(world: World, material: Material) -> None:
    ref = store(world, world.alice, "alice-only", material.pkcs12)
    bob = for_request(world.source, world.keystone.token(world.bob))
    with pytest.raises(SecretNotFound) as err:
        bob.get_secret(ref, world.bob.project.id)
    assert err.value.ref == ref
    # Bob shared nothing: the ACL is untouched and the service still cannot read it.
    assert world.read_acl_users(ref) == []
    with pytest.raises(SecretNotFound):
        world.source.get_secret(ref, world.bob.project.id)


def test_a_reader_who_may_not_share_is_refused(world: World, material: Material) -> None:
    ref = store(world, world.alice, "reader-case", material.ca_pem.decode())
    carol = for_request(world.source, world.keystone.token(world.carol))
    with pytest.raises(SecretNotFound):
        carol.get_secret(ref, world.carol.project.id)
    assert world.read_acl_users(ref) == []


# Fixed ids: pytest-xdist's workers must collect the same parameters.
@pytest.mark.parametrize("ref", [
    "http://127.0.0.1:9311/v1/secrets/0c6b3c1e-5d2a-4f0e-9a51-2f3b7d4e8a10",  # unknown (host is not what counts)
    "7e1f0a52-93c4-4b8d-a6e2-5d0c1b9f3a47",
    "not-a-reference",
    "http://127.0.0.1:9311/v1/containers/b4d9e2f6-1a3c-4e5b-8f70-6c2d9a1e0b53",  # legacy containers are not read
])
def test_unknown_and_malformed_references_are_not_found(world: World, ref: str) -> None:
    alice = for_request(world.source, world.keystone.token(world.alice))
    for source in (alice, world.source):
        with pytest.raises(SecretNotFound):
            source.get_secret(ref, world.alice.project.id)


def test_nothing_secret_in_logs_or_errors(world: World, caplog: pytest.LogCaptureFixture,
                                          tmp_path: Path) -> None:
    marker = make_material("marker.example.test")
    token = world.keystone.token(world.alice)
    with caplog.at_level(logging.DEBUG):
        ref = store(world, world.alice, "quiet", marker.key_pem.decode())
        caplog.clear()  # what barbicanclient logged while storing is the test's, not ours
        api = for_request(world.source, token)
        assert api.get_secret(ref, world.alice.project.id) == marker.key_pem.rstrip()
        assert world.source.get_secret(ref, world.alice.project.id) == marker.key_pem.rstrip()
        with pytest.raises(SecretNotFound) as missing:
            for_request(world.source, world.keystone.token(world.bob)).get_secret(
                ref, world.bob.project.id)
    logged = caplog.text
    assert caplog.records  # the debug logging was on
    body = marker.key_pem.decode().splitlines()[1]
    for secret in (body, token, world.octavia.password):
        assert secret not in logged
        assert secret not in str(missing.value)

    # Wrong service credentials: a temporary failure that names the option, not the password.
    bad = write_conf(tmp_path, world.keystone, world.octavia, password="WRONG-PW-1f3c")
    db = Database(f"sqlite:///{tmp_path / 'unused.sqlite'}")
    try:
        wrong = certificate_source(load([str(bad)]), db)
    finally:
        db.dispose()
    with pytest.raises(CertificateStoreUnavailable, match=r"\[service_auth\]") as refused:
        wrong.get_secret(ref, world.alice.project.id)
    assert "WRONG-PW-1f3c" not in str(refused.value)
    assert world.octavia.password not in str(refused.value)
