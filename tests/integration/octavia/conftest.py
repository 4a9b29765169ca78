"""A real Octavia with the `bigip` provider, beside this product's cluster (simulated pair, own
API, two agents) and one `bigip-lbaas octavia-bridge`, for the whole session.

This product's database is PostgreSQL (a fresh one); Octavia's own is MariaDB. The own API runs
too: it is the network endpoint the `openstack` CLI resolves subnets with (its Neutron-shaped
registry), and the second front door of the side-by-side test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import PY, Cluster, Proc
from tests.databases import fresh_database
from tests.openstack.octavia import Octavia, octavia  # noqa: F401  (the session fixture)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("bigip-cluster")
    with fresh_database("postgresql", workdir) as url:
        c = Cluster(workdir, url)
        try:
            c.start()
            yield c
        finally:
            c.close()


@pytest.fixture(scope="session")
def bigip_lbaas_conf(cluster: Cluster) -> Path:
    """The file Octavia's `[bigip_lbaas] config_file` names: the agents' own."""
    return cluster.write_common_conf()


class Bridge:
    def __init__(self, cluster: Cluster, o: Octavia) -> None:
        conf = cluster.workdir / "bridge.conf"
        conf.write_text("[bigip_lbaas_octavia]\n"
                        f"status_socket = {o.status_socket}\n"
                        f"stats_socket = {o.stats_socket}\n"
                        f"get_socket = {o.get_socket}\n"
                        "poll_interval = 0.05\nsweep_interval = 1\nstats_interval = 1\n")
        self.proc = Proc("octavia-bridge", [PY, "-m", "bigip_lbaas.cli", "octavia-bridge",
                                            "--config-file", str(cluster.write_common_conf()),
                                            "--config-file", str(conf)],
                         cluster.workdir / "octavia-bridge.log")

    def start(self) -> None:
        self.proc.start()


@pytest.fixture(scope="session")
def bridge(cluster: Cluster, octavia: Octavia) -> Iterator[Bridge]:  # noqa: F811
    b = Bridge(cluster, octavia)
    b.start()
    yield b
    b.proc.terminate()
