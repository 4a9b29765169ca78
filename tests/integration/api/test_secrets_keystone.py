"""The built-in certificate store in keystone mode: the real `bigip-lbaas api` process (auth_token
against a real Keystone), python-barbicanclient with a token. The token's project owns what it
stores; another project's token gets 404; an admin token reads any secret; no token is 401; the
payload never reaches the API's log."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bigip_lbaas.core.certs import generate_storage_key
from tests.databases import KINDS, fresh_database
from tests.integration.api.keystone_api import KeystoneApi, keystone_api
from tests.openstack.keystone import Keystone, User

SECRETS = "/key-manager/v1/secrets"


@dataclass
class Keystoned(KeystoneApi):
    alice: User
    bob: User
    admin: User

    def barbican(self, user: User) -> object:
        from barbicanclient import client
        from keystoneauth1 import session, token_endpoint

        auth = token_endpoint.Token(f"{self.url}/key-manager", self.keystone.token(user))
        return client.Client(session=session.Session(auth=auth),
                             endpoint=f"{self.url}/key-manager")


@pytest.fixture(scope="module", params=KINDS)
def keystoned(request: pytest.FixtureRequest, keystone: Keystone,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystoned]:
    work: Path = tmp_path_factory.mktemp("keystone-secrets")
    key = work / "storage.key"
    key.write_text(generate_storage_key() + "\n")
    people = {"alice": keystone.user("kssec-alice", keystone.project("kssec-alice"), "member"),
              "bob": keystone.user("kssec-bob", keystone.project("kssec-bob"), "member"),
              "admin": keystone.user("kssec-ops", keystone.project("kssec-ops"),
                                     "admin", "member")}
    extra = f"[certificates]\nstorage_key_file = {key}\n"
    with fresh_database(str(request.param), work) as url, \
            keystone_api(keystone, url, work, extra, "--debug") as api:
        yield Keystoned(api.url, api.keystone, api.service_user, api.proc, **people)


def test_token_project_owns_its_secrets(keystoned: Keystoned) -> None:
    from barbicanclient import exceptions

    marker = "KS-PAYLOAD-" + os.urandom(8).hex()
    alice, bob, admin = (keystoned.barbican(u)
                         for u in (keystoned.alice, keystoned.bob, keystoned.admin))
    ref = alice.secrets.create(name="alice-cert", payload=marker).store()  # type: ignore[attr-defined]
    assert alice.secrets.get(ref).payload == marker  # type: ignore[attr-defined]
    assert ref in [s.secret_ref for s in alice.secrets.list()]  # type: ignore[attr-defined]
    assert ref not in [s.secret_ref for s in bob.secrets.list()]  # type: ignore[attr-defined]
    with pytest.raises(exceptions.HTTPClientError) as err:
        bob.secrets.get(ref).payload  # type: ignore[attr-defined]  # noqa: B018
    assert err.value.status_code == 404
    assert admin.secrets.get(ref).payload == marker  # type: ignore[attr-defined]
    with httpx.Client(base_url=keystoned.url, timeout=30) as anonymous:
        assert anonymous.get(SECRETS).status_code == 401
        # a client's own headers prove nothing
        spoof = anonymous.get(ref.removeprefix(keystoned.url) + "/payload",
                              headers={"X-Project-Id": "alice", "X-Roles": "admin",
                                       "X-Identity-Status": "Confirmed"})
        assert spoof.status_code == 401 and marker not in spoof.text
    alice.secrets.get(ref).delete()  # type: ignore[attr-defined]
    assert marker not in keystoned.proc.output()
