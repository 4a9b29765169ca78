"""A neutron-lbaas v2 database with neutron-lbaas's own schema, for the import tests and bench.

How the schema is built, and why this way: the tables come from neutron-lbaas 14.0.1 (its last
release, from PyPI) and Neutron's own models, created with `metadata.create_all` in a virtualenv
of their own (`tests/openstack/venvs.py`: `neutron==26.0.6`, `neutron-lbaas==14.0.1`). That is
exactly the metadata `neutron_lbaas/db/models/head.py` hands to Neutron's migration tests, which
check that the migrations and these models agree, so the tables, column types, enums, unique
constraints and foreign keys are neutron-lbaas's and Neutron's, not a copy typed here. Replaying
the migrations themselves would need the whole Neutron migration chain (hundreds of revisions,
MySQL/PostgreSQL only), for the same tables. neutron-lbaas 14 predates SQLAlchemy 2 and today's
Neutron in two places unrelated to the schema, which two one-line shims supply before import:
`sqlalchemy.orm.relation` (an alias of `relationship` that SQLAlchemy 2 removed; used by the
agent-binding model) and `neutron.wsgi.Controller` (the base of an API controller defined next to
that model). Nothing else is patched.

The rows are written from the test process through the reflected tables, with every NOT NULL
value given, so the source database holds what neutron-lbaas itself would have written.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tests.openstack.venvs import bin_path, service_venv

REQUIREMENTS = ("neutron==26.0.6", "neutron-lbaas==14.0.1", "psycopg[binary]>=3.1.18")

SCHEMA_SCRIPT = """
import sys
import sqlalchemy as sa
import sqlalchemy.orm
sqlalchemy.orm.relation = getattr(sqlalchemy.orm, "relation", sqlalchemy.orm.relationship)
import neutron.wsgi
neutron.wsgi.Controller = getattr(neutron.wsgi, "Controller", object)
from neutron_lbaas.db.models import head
engine = sa.create_engine(sys.argv[1])
head.get_metadata().create_all(engine)
engine.dispose()
"""


def create_schema(url: str) -> None:
    """Create Neutron's and neutron-lbaas's tables in the empty database at `url`."""
    venv = service_venv("neutron-lbaas", list(REQUIREMENTS))
    done = subprocess.run([bin_path(venv, "python"), "-c", SCHEMA_SCRIPT, url],
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the neutron-lbaas schema failed:\n{done.stderr[-3000:]}")


def new_id() -> str:
    return str(uuid.uuid4())


class NeutronDb:
    """Writes Neutron and neutron-lbaas rows (plain values, column names as the tables have)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.meta = sa.MetaData()
        self.meta.reflect(self.engine)
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self._attr = 0
        self._macs = 0

    def dispose(self) -> None:
        self.engine.dispose()

    def add(self, table: str, **values: Any) -> dict[str, Any]:
        self.rows.setdefault(table, []).append(values)
        return values

    def flush(self) -> None:
        """Insert everything added so far, parents first (the metadata's dependency order)."""
        with self.engine.begin() as conn:
            for table in self.meta.sorted_tables:
                rows = self.rows.pop(table.name, [])
                if rows:
                    conn.execute(table.insert(), rows)
        assert not self.rows, f"unknown tables: {sorted(self.rows)}"

    def update(self, table: str, row_id: str, **values: Any) -> None:
        t = self.meta.tables[table]
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == row_id).values(**values))

    # --- Neutron ----------------------------------------------------------------------------

    def _standard_attr(self, resource_type: str, description: str = "") -> int:
        self._attr += 1
        self.add("standardattributes", id=self._attr, resource_type=resource_type,
                 description=description, revision_number=1, created_at=datetime(2019, 4, 1),
                 updated_at=None)
        return self._attr

    def network(self, project: str, name: str, *, shared: bool = False, external: bool = False,
                mtu: int = 1450, description: str = "") -> dict[str, Any]:
        net = self.add("networks", id=new_id(), project_id=project, name=name, status="ACTIVE",
                       admin_state_up=True, mtu=mtu,
                       standard_attr_id=self._standard_attr("networks", description))
        if shared:
            self.add("networkrbacs", id=new_id(), object_id=net["id"], project_id=project,
                     target_project="*", action="access_as_shared")
        if external:
            self.add("externalnetworks", network_id=net["id"], is_default=False)
        return net

    def subnet(self, net: dict[str, Any], cidr: str, *, name: str, gateway: str,
               pools: list[tuple[str, str]], dns: list[str] = (),  # type: ignore[assignment]
               routes: list[tuple[str, str]] = (),  # type: ignore[assignment]
               description: str = "") -> dict[str, Any]:
        sub = self.add("subnets", id=new_id(), project_id=net["project_id"], name=name,
                       network_id=net["id"], ip_version=4, cidr=cidr, gateway_ip=gateway,
                       enable_dhcp=True,
                       standard_attr_id=self._standard_attr("subnets", description))
        for first, last in pools:
            self.add("ipallocationpools", id=new_id(), subnet_id=sub["id"], first_ip=first,
                     last_ip=last)
        for order, address in enumerate(dns):
            self.add("dnsnameservers", address=address, subnet_id=sub["id"], order=order)
        for destination, nexthop in routes:
            self.add("subnetroutes", subnet_id=sub["id"], destination=destination,
                     nexthop=nexthop)
        return sub

    def _mac(self) -> str:
        self._macs += 1
        n = self._macs
        return f"fa:16:3e:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}"

    def port(self, sub: dict[str, Any], address: str, *, device_id: str) -> dict[str, Any]:
        port = self.add("ports", id=new_id(), project_id=sub["project_id"], name=f"vip-{device_id}",
                        network_id=sub["network_id"], mac_address=self._mac(),
                        admin_state_up=True, status="ACTIVE", device_id=device_id,
                        device_owner="neutron:LOADBALANCERV2",
                        standard_attr_id=self._standard_attr("ports"))
        self.add("ipallocations", port_id=port["id"], ip_address=address, subnet_id=sub["id"],
                 network_id=sub["network_id"])
        return port

    def agent(self, host: str, environment_prefix: str) -> dict[str, Any]:
        now = datetime(2019, 4, 1, 12, 0, 0)
        conf = {"environment_prefix": environment_prefix, "icontrol_endpoints": {
            "10.0.0.1": {"device_name": "bigip1", "password": "never-printed"}}}
        return self.add("agents", id=new_id(), agent_type="Loadbalancerv2 agent",
                        binary="f5-oslbaasv2-agent", topic="f5-lbaasv2-process-on-agent",
                        host=host, admin_state_up=True, created_at=now, started_at=now,
                        heartbeat_timestamp=now, configurations=json.dumps(conf), load=0,
                        resources_synced=None)

    # --- neutron-lbaas ----------------------------------------------------------------------

    def loadbalancer(self, project: str, sub: dict[str, Any], address: str | None, *,
                     provider: str | None, agent: dict[str, Any] | None, name: str = "",
                     port_address: str | None = None, status: str = "ACTIVE",
                     oper: str = "ONLINE", up: bool = True,
                     description: str = "") -> dict[str, Any]:
        lb_id = new_id()
        port = self.port(sub, port_address or address or "", device_id=lb_id)
        lb = self.add("lbaas_loadbalancers", id=lb_id, project_id=project, name=name,
                      description=description, vip_subnet_id=sub["id"], vip_port_id=port["id"],
                      vip_address=address, provisioning_status=status, operating_status=oper,
                      admin_state_up=up, flavor_id=None)
        if provider:
            self.add("providerresourceassociations", provider_name=provider, resource_id=lb_id)
        if agent:
            self.add("lbaas_loadbalanceragentbindings", loadbalancer_id=lb_id,
                     agent_id=agent["id"])
        return lb

    def pool(self, lb: dict[str, Any] | None, protocol: str, algorithm: str, *, name: str = "",
             persistence: tuple[str, str | None] | None = None, monitor: dict[str, Any] | None
             = None, status: str = "ACTIVE", up: bool = True,
             project: str | None = None) -> dict[str, Any]:
        pool = self.add("lbaas_pools", id=new_id(),
                        project_id=project or (lb["project_id"] if lb else ""), name=name,
                        description=f"{name} pool", loadbalancer_id=lb["id"] if lb else None,
                        healthmonitor_id=monitor["id"] if monitor else None, protocol=protocol,
                        lb_algorithm=algorithm, admin_state_up=up, provisioning_status=status,
                        operating_status="ONLINE" if up else "OFFLINE")
        if persistence:
            self.add("lbaas_sessionpersistences", pool_id=pool["id"], type=persistence[0],
                     cookie_name=persistence[1])
        return pool

    def monitor(self, project: str, kind: str, *, delay: int = 5, timeout: int = 3,
                retries: int = 3, retries_down: int | None = 3, method: str | None = "GET",
                path: str | None = "/", codes: str | None = "200", up: bool = True,
                status: str = "ACTIVE", name: str = "") -> dict[str, Any]:
        return self.add("lbaas_healthmonitors", id=new_id(), project_id=project, type=kind,
                        delay=delay, timeout=timeout, max_retries=retries,
                        http_method=method, url_path=path, expected_codes=codes,
                        provisioning_status=status, admin_state_up=up, name=name,
                        max_retries_down=retries_down)

    def member(self, pool: dict[str, Any], address: str, port: int, *, weight: int | None = 1,
               subnet: dict[str, Any] | None = None, up: bool = True, name: str = "",
               status: str = "ACTIVE", oper: str = "ONLINE") -> dict[str, Any]:
        return self.add("lbaas_members", id=new_id(), project_id=pool["project_id"],
                        pool_id=pool["id"], address=address, protocol_port=port, weight=weight,
                        admin_state_up=up, subnet_id=subnet["id"] if subnet else None,
                        provisioning_status=status, operating_status=oper, name=name)

    def listener(self, lb: dict[str, Any], protocol: str, port: int, *,
                 pool: dict[str, Any] | None = None, name: str = "", limit: int | None = None,
                 tls: str | None = None, sni: list[str] = (),  # type: ignore[assignment]
                 up: bool = True, status: str = "ACTIVE") -> dict[str, Any]:
        li = self.add("lbaas_listeners", id=new_id(), project_id=lb["project_id"], name=name,
                      description=f"{name} listener", default_pool_id=pool["id"] if pool else None,
                      loadbalancer_id=lb["id"], protocol=protocol, default_tls_container_id=tls,
                      protocol_port=port, connection_limit=limit, admin_state_up=up,
                      provisioning_status=status, operating_status="ONLINE" if up else "OFFLINE")
        for position, ref in enumerate(sni):
            self.add("lbaas_sni", listener_id=li["id"], tls_container_id=ref, position=position)
        return li

    def policy(self, listener: dict[str, Any], action: str, position: int, *,
               pool: dict[str, Any] | None = None, url: str | None = None, name: str = "",
               up: bool = True) -> dict[str, Any]:
        return self.add("lbaas_l7policies", id=new_id(), project_id=listener["project_id"],
                        name=name, description=f"{name} policy", listener_id=listener["id"],
                        action=action, redirect_pool_id=pool["id"] if pool else None,
                        redirect_url=url, position=position, provisioning_status="ACTIVE",
                        admin_state_up=up)

    def rule(self, policy: dict[str, Any], kind: str, compare: str, value: str, *,
             key: str | None = None, invert: bool = False, up: bool = True) -> dict[str, Any]:
        return self.add("lbaas_l7rules", id=new_id(), project_id=policy["project_id"],
                        l7policy_id=policy["id"], type=kind, compare_type=compare, invert=invert,
                        key=key, value=value, provisioning_status="ACTIVE", admin_state_up=up)
