"""Session-scoped fixtures for the real OpenStack services, registered for every test directory
by tests/conftest.py (`pytest_plugins`). Each starts its service on first use, once per test
session (per xdist worker), and stops it when the session ends.

- `keystone`: a real Keystone (tests/openstack/keystone.py has the how-to).
- `barbican`: a real Barbican behind that Keystone, in its catalog as `key-manager`
  (tests/openstack/barbican.py).
- `neutron`: a real Neutron behind that Keystone, in its catalog as `network`, parametrized over
  its database (`neutron-postgresql`, `neutron-mariadb`; tests/openstack/neutron.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.openstack.barbican import Barbican, running_barbican
from tests.openstack.keystone import Keystone, running_keystone
from tests.openstack.neutron import Neutron, running_neutron


@pytest.fixture(scope="session")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystone]:
    with running_keystone(tmp_path_factory.mktemp("keystone")) as service:
        yield service


@pytest.fixture(scope="session")
def barbican(keystone: Keystone, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Barbican]:
    with running_barbican(tmp_path_factory.mktemp("barbican"), keystone) as service:
        yield service


@pytest.fixture(scope="session", params=["postgresql", "mariadb"],
                ids=["neutron-postgresql", "neutron-mariadb"])
def neutron(keystone: Keystone, request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neutron]:
    kind = str(request.param)
    with running_neutron(tmp_path_factory.mktemp(f"neutron-{kind}"), keystone, kind) as service:
        yield service
