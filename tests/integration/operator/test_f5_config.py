"""An operator's files, as they are: F5's published `f5-openstack-agent.ini` byte for byte (quoted
values, trailing spaces, options we do not implement), a stock-looking `neutron.conf` for host and
database, and one later `--config-file` that points the agent at the simulator. The agent must
register, warn once naming what it ignores, and serve; a bad value must fail in one line.

Both shipped files say `f5_ha_type = standalone`, so the simulator runs one device and the override
sets only what differs from any real site: the device's address, its credentials and the CA that
signed its certificate (we verify TLS; F5's agent did not, see docs/deployment.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bigip_lbaas.db.models import Agent
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Cluster, Proc, wait_for
from tests.integration.agents.test_redundancy import ensure_subnet, wait_active

# The steering material sits beside the checkout (`../shared`), in development and in CI.
REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "f5-config-examples"
SHIPPED = {"stock": "f5-openstack-agent.ini", "grm": "f5-openstack-agent.grm.ini"}
ENVIRONMENT = {"stock": "Project", "grm": "Test"}  # the grm file sets environment_prefix = 'Test'

NEUTRON_CONF = """\
[DEFAULT]
host = {host}
core_plugin = ml2
service_plugins = router,neutron_lbaas.services.loadbalancer.plugin.LoadBalancerPluginv2
auth_strategy = keystone
transport_url = rabbit://openstack:secret@controller
debug = False

[agent]
root_helper = sudo /usr/bin/neutron-rootwrap /etc/neutron/rootwrap.conf

[AGENT]
report_interval = 30

[database]
connection = {db_url}

[keystone_authtoken]
www_authenticate_uri = http://controller:5000
auth_url = http://controller:5000
auth_type = password
username = neutron
password = secret

[oslo_concurrency]
lock_path = /var/lib/neutron/tmp
"""


def reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture
def cluster(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    flavour = getattr(request, "param", "stock")
    c = Cluster(tmp_path, db_url, devices=1,
                extra_conf=f"[DEFAULT]\nenvironment_prefix = {ENVIRONMENT[flavour]}\n")
    try:
        c.upgrade_db()
        c.start_sim()
        c.start_api()
        yield c
    finally:
        c.close()


def operator_files(c: Cluster, flavour: str, host: str) -> list[Path]:
    """neutron.conf, F5's ini copied unchanged, and the simulator override, in that order."""
    etc = c.workdir / "etc"
    etc.mkdir(exist_ok=True)
    shipped = reference(SHIPPED[flavour])
    ini = etc / "f5-openstack-agent.ini"
    shutil.copyfile(shipped, ini)
    assert ini.read_bytes() == shipped.read_bytes()
    neutron = etc / "neutron.conf"
    neutron.write_text(NEUTRON_CONF.format(host=host, db_url=c.db_url))
    assert c.ca_file is not None
    override = etc / "simulator.ini"
    devices = ",".join(f"127.0.0.1:{c.sim_port + i}" for i in range(c.devices))
    override.write_text(
        "[DEFAULT]\n"
        f"icontrol_hostname = {devices}\n"
        "icontrol_username = admin\n"
        "icontrol_password = admin\n"
        f"icontrol_ca_bundle = {c.ca_file}\n"
    )
    return [neutron, ini, override]


def start_agent(c: Cluster, files: list[Path], host: str) -> Proc:
    argv = [PY, "-m", "bigip_lbaas.cli", "agent"]
    for f in files:
        argv += ["--config-file", str(f)]
    proc = Proc(host, argv, c.workdir / f"agent-{host}.log").start()
    c.agents[host] = proc
    return proc


def status_json(neutron_conf: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-m", "bigip_lbaas.cli", "status", "--json", "--config-file",
         str(neutron_conf)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("cluster", ["stock", "grm"], indirect=True)
def test_shipped_ini_registers_warns_once_and_serves(cluster: Cluster,
                                                     request: pytest.FixtureRequest) -> None:
    flavour = request.node.callspec.params["cluster"]
    host = f"f5-{flavour}-host"
    files = operator_files(cluster, flavour, host)
    agent = start_agent(cluster, files, host)

    def alive() -> bool:
        assert agent.alive, agent.output()
        report = status_json(files[0])
        return any(a["host"] == host and a["alive"] for a in report["agents"])

    wait_for(alive, 45, f"{host} alive in `status --json`", every=0.5)
    db = Database(cluster.db_url)
    try:
        with db.read() as s:
            rows = s.execute(sa.select(Agent.host, Agent.environment)).all()
        assert [(r.host, r.environment) for r in rows] == [(host, ENVIRONMENT[flavour])]
    finally:
        db.dispose()

    # Serves: an LB created through the API becomes ACTIVE and lands on the device.
    subnet = ensure_subnet(cluster)
    with cluster.client("ops") as api:
        r = api.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
            "name": "lb-ops", "vip_subnet_id": subnet, "project_id": "ops"}})
        assert r.status_code == 201, r.text
        lb_id = r.json()["loadbalancer"]["id"]
    wait_active(cluster, "ops", lb_id, timeout=60)
    partition = f"{ENVIRONMENT[flavour]}_ops"
    assert cluster.devices == 1
    virtuals = cluster.device_objects(0, "ltm/virtual-address", partition)
    assert virtuals, f"nothing in {partition} on the device"

    log = agent.output()
    warnings = [line for line in log.splitlines() if "not implemented" in line]
    assert len(warnings) == 1, warnings
    for name in ("l2_population", "os_auth_url", "f5_bigip_lbaas_device_driver"):
        assert name in warnings[0], name
    # The one line names options, never their values (os_password = changeme / PASSWORD).
    assert "changeme" not in log and "PASSWORD" not in log
    # Options we implement are not reported as ignored; F5's defaults are not warned about.
    # F5's L2/L3 options are implemented (config/l2l3.py), so neither are they.
    for implemented in ("icontrol_hostname", "f5_ha_type", "periodic_interval", "f5_snat_mode",
                        "f5_snat_addresses_per_subnet", "use_namespaces",
                        "f5_external_physical_mappings"):
        assert implemented not in warnings[0]
    assert "does not honour" not in log
    assert agent.terminate() == 0


def test_invalid_value_is_one_line_naming_file_section_option_and_choices(
        tmp_path: Path) -> None:
    ini = tmp_path / "f5-openstack-agent.ini"
    shutil.copyfile(reference(SHIPPED["stock"]), ini)
    bad = tmp_path / "site.ini"
    bad.write_text("[DEFAULT]\nf5_ha_type = triple\n")
    done = subprocess.run(
        [PY, "-m", "bigip_lbaas.cli", "agent", "--config-file", str(ini), "--config-file",
         str(bad)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    for part in (str(bad), "[DEFAULT]", "f5_ha_type", "triple", "standalone, pair, scalen"):
        assert part in line, (part, line)
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("section", "option", "value", "accepted"), [
    ("bigip_lbaas", "lease_seconds", "0.5", ">= 1"),
    ("api_settings", "auth_strategy", "basic", "noauth, keystone, header"),
    ("DEFAULT", "icontrol_verify", "sometimes", "true or false"),
    # neutron.conf's modern lowercase spelling of [AGENT]: still named as the file's section.
    ("agent", "report_interval", "fast", "a number"),
    ("DEFAULT", "icontrol_hostname", "10.0.0.1:99999", "port 1-65535"),
])
def test_other_invalid_values_are_one_line(tmp_path: Path, section: str, option: str,
                                           value: str, accepted: str) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text(f"[{section}]\n{option} = {value}\n")
    done = subprocess.run([PY, "-m", "bigip_lbaas.cli", "status", "--config-file", str(bad)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for part in (str(bad), f"[{section}]", option, value, accepted):
        assert part in lines[0], (part, lines[0])


def test_unimplemented_f5_options_and_values_are_warned_once_at_start_up(tmp_path: Path) -> None:
    """F5's ini plus BIG-IQ options and values we cannot honour: one line naming the options
    (never their values), one naming the values; the agent goes on (here to an empty database,
    which stops it after the warnings)."""
    ini = tmp_path / "f5-openstack-agent.ini"
    shutil.copyfile(reference(SHIPPED["stock"]), ini)
    site = tmp_path / "site.ini"
    site.write_text(
        "[DEFAULT]\nbigiq_hostname = bigiq.example\nbigiq_admin_password = hunter2\n"
        "openstack_keystone_uri = http://keystone:5000/\nbigip_management_username = admin\n"
        "f5_global_routed_mode = False\nenvironment_group_number = 2\nperiodic_interval = 5\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'empty.sqlite'}\n")
    done = subprocess.run(
        [PY, "-m", "bigip_lbaas.cli", "agent", "--config-file", str(ini), "--config-file",
         str(site)], capture_output=True, text=True, timeout=60, check=False)
    lines = done.stderr.splitlines()
    ignored = [line for line in lines if "options set but not implemented (ignored)" in line]
    values = [line for line in lines if "does not honour" in line]
    assert len(ignored) == 1 and len(values) == 1, done.stderr
    for name in ("bigiq_hostname", "bigiq_admin_password", "openstack_keystone_uri",
                 "bigip_management_username", "l2_population", "os_password"):
        assert ignored[0].count(name) == 1, (name, ignored[0])
    for text in ("environment_group_number = 2", "periodic_interval = 5.0"):
        assert text in values[0], (text, values[0])
    assert "f5_global_routed_mode" not in ignored[0] + values[0]  # L2/L3 mode is implemented
    assert "hunter2" not in done.stderr and "changeme" not in done.stderr
    # Never fatal: what stops this agent is the empty database, reported after the warnings.
    assert done.returncode != 0
    assert "schema" in lines[-1], done.stderr
