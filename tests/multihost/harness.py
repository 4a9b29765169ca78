"""Agents on separate network hosts: namespaces, links, forwarders, a change stream, invariants.

`MultiHost` wraps `tests.cluster.Cluster`: the simulator, the API and the database stay in the root
namespace; each agent runs in its own network namespace and UTS namespace (hostname = its host
name; `host` is *not* set in its configuration, so it defaults to that hostname), and reaches the
simulated devices and the database only over its veth link (see `net.py`). The simulator listens
on the service address with a certificate made here for it; PostgreSQL and MariaDB (which listen
on 127.0.0.1 only) are reached through `forward.py` on the service address. SQLite is a file on
the shared filesystem, so cutting a link cuts only device access there.

`check_invariants` is the one ending every scenario runs.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import random
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bigip_lbaas.db import agents
from bigip_lbaas.db.models import Partition, PartitionLease
from bigip_lbaas.db.session import Database
from tests.cluster import PY, Cluster, Proc, overlapping_writers, wait_for
from tests.invariants import (
    api_state,
    compare_device,
    device_state,
    expected_device,
    member_key,
    partition,
    view,
)
from tests.multihost.net import Network

OBJECT_TABLES = ("load_balancer", "listener", "pool", "member", "health_monitor", "l7policy",
                 "l7rule")
FORWARD = Path(__file__).with_name("forward.py")
DB_PORTS = {"postgresql": 5432, "mysql": 3306}


# --- TLS for the simulator on the service address ---------------------------------------------

def make_cert(directory: Path, addresses: Iterable[str]) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for `addresses`: (ca, cert, key) PEM paths."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "multihost test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bigip.sim")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "mh-ca.pem", directory / "mh-cert.pem", directory / "mh-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


# --- the multi-host cluster --------------------------------------------------------------------

@dataclass
class MultiHost:
    workdir: Path
    db_url: str
    hosts: tuple[str, ...] = ("h1", "h2", "h3")
    devices: int = 2
    extra_conf: str = ""
    net: Network = field(default_factory=Network)
    cluster: Cluster | None = None
    forwarder: Proc | None = None
    agent_db_url: str = ""
    _in_ns: str | None = None

    @property
    def c(self) -> Cluster:
        assert self.cluster is not None
        return self.cluster

    def start(self, agents: Iterable[str] | None = None) -> MultiHost:
        self.net.add("svc")
        for host in self.hosts:
            self.net.add(host)
        ca, cert, key = make_cert(self.workdir, ["127.0.0.1", self.net.service_ip])
        self.cluster = Cluster(
            self.workdir, self.db_url, devices=self.devices, extra_conf=self.extra_conf,
            sim_bind=self.net.service_ip, sim_argv=["--cert", str(cert), "--key", str(key)],
            ca_file=ca, agent_wrap=self._wrap)
        self.agent_db_url = self._forward_db()
        self.c.upgrade_db()
        self.c.start_sim()
        self.c.start_api()
        started = list(self.hosts if agents is None else agents)
        for host in started:
            self.start_agent(host)
        if started:  # the API refuses work for an environment no live agent serves
            wait_for(lambda: set(started) <= set(self.agents_alive()), 60, "agents alive")
        return self

    def _forward_db(self) -> str:
        url = sa.engine.make_url(self.db_url)
        if url.get_backend_name() == "sqlite":
            return self.db_url  # a file on the shared filesystem
        port = url.port or DB_PORTS[url.get_backend_name()]
        spec = f"{self.net.service_ip}:0={url.host or '127.0.0.1'}:{port}"
        fwd = self.forwarder = Proc("forward", [PY, str(FORWARD), spec],
                                    self.workdir / "forward.log").start()
        line = wait_for(lambda: "ready" in fwd.output()
                        and re.search(r"listening \S+:(\d+) ->", fwd.output()),
                        20, "database forwarder")
        return url.set(host=self.net.service_ip, port=int(line.group(1))).render_as_string(
            hide_password=False)

    def _wrap(self, host: str, argv: list[str]) -> list[str]:
        return self.net.wrap(self._in_ns or host, argv, hostname=host)

    def start_agent(self, host: str, in_namespace: str | None = None,
                    name: str | None = None) -> Proc:
        """An agent whose hostname is `host`, in `host`'s namespace (or `in_namespace`'s),
        with no `host` in its configuration."""
        self._in_ns = in_namespace
        try:
            return self.c.start_agent(host, extra=f"[database]\nconnection = {self.agent_db_url}\n",
                                      name=name, set_host=False)
        finally:
            self._in_ns = None

    def close(self) -> None:
        for host in list(self.net.links):  # links back up: agents stop quickly and cleanly
            with contextlib.suppress(Exception):
                self.net.restore(host)
        try:
            if self.cluster is not None:
                self.cluster.close()
        finally:
            try:
                if self.forwarder is not None:
                    self.forwarder.terminate()
            finally:
                self.net.close()

    # --- views ---------------------------------------------------------------------------

    def agents_alive(self) -> list[str]:
        with self.c.client("admin") as api:
            r = api.get("/v2/lbaas/agents")
            if r.status_code != 200:
                return []
            return sorted(a["host"] for a in r.json()["agents"] if a["alive"])

    def epochs(self) -> int:
        """Sum of all lease epochs: each new owner of a partition bumps it once."""
        db = Database(self.db_url)
        try:
            with db.transaction() as s:
                return int(s.scalar(sa.select(sa.func.coalesce(
                    sa.func.sum(PartitionLease.epoch), 0))) or 0)
        finally:
            db.dispose()

    def audit_all(self) -> list[list[dict[str, Any]]]:
        return [self.c.audit(i) for i in range(self.devices)]

    def diagnosis(self, log_lines: int = 25) -> str:
        """What a timed-out wait needs explained: every lease and agent row as the database
        sees them now, the database sessions that are not idle (PostgreSQL), and the tail of
        each agent's log."""
        out: list[str] = []
        db = Database(self.db_url)
        try:
            with db.transaction() as s:
                now = db.now()
                out.append("leases (partition, project, owner, epoch, seconds left):")
                out += [f"  {row}" for row in s.execute(
                    sa.select(PartitionLease.partition_id, Partition.project_id,
                              PartitionLease.owner, PartitionLease.epoch,
                              PartitionLease.expires_at - now)
                    .join(Partition, Partition.id == PartitionLease.partition_id)
                    .order_by(PartitionLease.partition_id))]
                if db.dialect == "postgresql":
                    out.append("server connections: {} of {}".format(
                        s.scalar(sa.text("SELECT count(*) FROM pg_stat_activity"
                                         " WHERE backend_type = 'client backend'")),
                        s.scalar(sa.text("SHOW max_connections"))))
                    out.append("sessions not idle (pid, state, wait, seconds in xact, query):")
                    out += [f"  {row}" for row in s.execute(sa.text(
                        "SELECT pid, state, wait_event_type || ':' || wait_event,"
                        " round(extract(epoch FROM now() - xact_start)::numeric, 1),"
                        " left(query, 120) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND state <> 'idle'"
                        " AND pid <> pg_backend_pid()"))]
            out.append("agents (host, instance, alive, heartbeat age, operational, up):")
            out += [f"  {a.host} {a.instance_id} {a.alive} {a.heartbeat_age:.1f}s "
                    f"{a.operational} {a.admin_state_up}"
                    for a in agents.list_agents(db, self.c.lease_seconds)]
        except Exception as err:  # the database itself may be what is wrong
            out.append(f"database unreadable: {err!r}")
        finally:
            db.dispose()
        for host, proc in self.c.agents.items():
            tail = proc.output().splitlines()[-log_lines:]
            out.append(f"agent {host} ({'running' if proc.alive else 'exited'}), last lines:")
            out += [f"  {line[:240]}" for line in tail]
        return "\n".join(out)


# --- a stream of API changes, remembering what was acknowledged ---------------------------------

@dataclass
class Ack:
    kind: str  # "member"
    op: str  # "create" | "delete" | "update"
    id: str
    project: str
    pool_id: str
    value: Any = None  # an update's new weight


@dataclass
class Workload:
    """Load balancer graphs over several projects, then a stream of member changes."""

    clients: list[httpx.Client]  # per request the first that answers; more = API replicas
    projects: list[str]
    seed: int = 1
    acks: list[Ack] = field(default_factory=list)
    pools: dict[str, str] = field(default_factory=dict)  # project → pool id
    lbs: dict[str, str] = field(default_factory=dict)  # project → load balancer id
    members: dict[str, list[str]] = field(default_factory=dict)  # project → member ids
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status → count
    retried: int = 0
    counter: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def request(self, method: str, project: str, path: str, **kw: Any) -> httpx.Response:
        """Send to the first client; on a connection failure, the same request to the next."""
        last: Exception | None = None
        for client in self.clients:
            try:
                r = client.request(method, path, headers={"X-Project-Id": project}, **kw)
            except httpx.TransportError as err:
                last = err
                self.retried += 1  # sent on to the next replica, if any
                continue
            self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
            return r
        raise AssertionError(f"no API replica answered {method} {path}: {last}")

    def setup(self, subnet: str, timeout: float = 90) -> None:
        for p in self.projects:
            r = self.request("POST", p, "/v2/lbaas/loadbalancers", json={"loadbalancer": {
                "name": f"lb-{p}", "vip_subnet_id": subnet, "project_id": p}})
            assert r.status_code == 201, r.text
            self.lbs[p] = r.json()["loadbalancer"]["id"]
        for p in self.projects:
            self.wait_lb(p, timeout)
            r = self.request("POST", p, "/v2/lbaas/listeners", json={"listener": {
                "loadbalancer_id": self.lbs[p], "protocol": "HTTP", "protocol_port": 80}})
            assert r.status_code == 201, r.text
            listener = r.json()["listener"]["id"]
            self.wait_lb(p, timeout)
            r = self.request("POST", p, "/v2/lbaas/pools", json={"pool": {
                "listener_id": listener, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})
            assert r.status_code == 201, r.text
            self.pools[p] = r.json()["pool"]["id"]
            self.members[p] = []
        for p in self.projects:
            self.wait_lb(p, timeout)

    def lb_status(self, p: str) -> str:
        r = self.request("GET", p, f"/v2/lbaas/loadbalancers/{self.lbs[p]}")
        return str(r.json()["loadbalancer"]["provisioning_status"]) if r.status_code == 200 \
            else f"HTTP {r.status_code}"

    def wait_lb(self, p: str, timeout: float = 90) -> str:
        return str(wait_for(lambda: (s := self.lb_status(p)) in ("ACTIVE", "ERROR") and s,
                            timeout, f"load balancer of {p} to leave PENDING", every=0.2))

    def address(self, p: str) -> str:
        """Unique over projects: a node address is unique across partitions on a BIG-IP."""
        self.counter += 1
        k = self.counter
        return f"10.{100 + self.projects.index(p)}.{k // 250}.{k % 250 + 1}"

    def step(self, p: str | None = None) -> int:
        """One change in a random (or the given) project; returns the HTTP status."""
        p = p or self.rng.choice(self.projects)
        pool = self.pools[p]
        mine = self.members[p]
        roll = self.rng.random()
        if mine and roll < 0.25:
            mid = self.rng.choice(mine)
            r = self.request("DELETE", p, f"/v2/lbaas/pools/{pool}/members/{mid}")
            if r.status_code == 204:
                mine.remove(mid)
                self.acks.append(Ack("member", "delete", mid, p, pool))
        elif mine and roll < 0.4:
            mid = self.rng.choice(mine)
            weight = self.rng.randint(1, 9)
            r = self.request("PUT", p, f"/v2/lbaas/pools/{pool}/members/{mid}",
                             json={"member": {"weight": weight}})
            if r.status_code == 200:
                self.acks.append(Ack("member", "update", mid, p, pool, weight))
        else:
            r = self.request("POST", p, f"/v2/lbaas/pools/{pool}/members", json={"member": {
                "address": self.address(p), "protocol_port": 8080}})
            if r.status_code == 201:
                mid = r.json()["member"]["id"]
                mine.append(mid)
                self.acks.append(Ack("member", "create", mid, p, pool))
        return r.status_code


def ensure_subnet(api: httpx.Client) -> str:
    net = api.post("/v2.0/networks", json={"network": {"name": "public", "shared": True}},
                   headers={"X-Project-Id": "admin"})
    assert net.status_code == 201, net.text
    sub = api.post("/v2.0/subnets", headers={"X-Project-Id": "admin"}, json={"subnet": {
        "name": "public-subnet", "network_id": net.json()["network"]["id"],
        "cidr": "203.0.113.0/24", "ip_version": 4}})
    assert sub.status_code == 201, sub.text
    return str(sub.json()["subnet"]["id"])


# --- the invariants every scenario ends with ---------------------------------------------------

def pending_objects(db_url: str) -> list[tuple[str, str, str]]:
    db = Database(db_url)
    try:
        with db.transaction() as s:
            found = []
            for table in OBJECT_TABLES:
                rows = s.execute(sa.text(
                    f"SELECT id, provisioning_status FROM {table} "
                    "WHERE provisioning_status LIKE 'PENDING%'")).all()
                found += [(table, str(i), str(st)) for i, st in rows]
            return found
    finally:
        db.dispose()


def error_reasons(db_url: str) -> dict[str, str | None]:
    """id → status_reason of every object in ERROR."""
    db = Database(db_url)
    try:
        with db.transaction() as s:
            out: dict[str, str | None] = {}
            for table in OBJECT_TABLES:
                rows = s.execute(sa.text(
                    f"SELECT id, status_reason FROM {table} "
                    "WHERE provisioning_status = 'ERROR'")).all()
                out.update((str(i), r) for i, r in rows)
            return out
    finally:
        db.dispose()


def drift(c: Cluster, api: httpx.Client, projects: Iterable[str],
          devices: Iterable[int] | None = None) -> list[str]:
    """Differences between each device (or those given) and what the API lists, attributes
    included (`tests/invariants.py`), over all partitions; [] when converged. A project of
    `projects` that the API has nothing for (in any state) is a difference too."""
    want = api_state(api)
    must, may = expected_device(want)
    problems = [f"{p}: the API lists nothing" for p in projects
                if partition(p) not in must and partition(p) not in may]
    for dev in range(c.devices) if devices is None else devices:
        found = compare_device(device_state(c, dev), must, may)
        problems += [f"device {dev} {what}: {x}" for what, xs in found.items() for x in xs]
    return problems


def acked_updates_on_devices(c: Cluster, api: httpx.Client, acks: list[Ack]) -> list[str]:
    """The last acknowledged weight of each member still ACTIVE, as every device holds it."""
    last = {a.id: a for a in acks if a.op == "update"}
    gone = {a.id for a in acks if a.op == "delete"}
    members = {i: o for i, o in api_state(api).items() if o["kind"] == "member"}
    states = [device_state(c, dev) for dev in range(c.devices)]
    problems = []
    for mid, ack in sorted(last.items()):
        m = members.get(mid)
        if mid in gone or m is None or m["provisioning_status"] != "ACTIVE":
            continue  # deleted, or ERROR (checked with its reason by the caller)
        if m["weight"] != ack.value:
            problems.append(f"member {mid}: API weight {m['weight']} != acknowledged {ack.value}")
        key = member_key(ack.pool_id, m["address"], m["protocol_port"])
        for dev, st in enumerate(states):
            body = st.get(partition(ack.project), {}).get(key)
            ratio = None if body is None else view("member", body)["ratio"]
            if ratio != max(int(ack.value), 1):
                problems.append(f"device {dev} member {mid} ratio {ratio} != acknowledged "
                                f"weight {ack.value}")
    return problems


def check_invariants(mh: MultiHost, work: Workload | None, projects: Iterable[str],
                     timeout: float = 120) -> None:
    """1. No object pending. 2. Every device equals what the API lists, attributes included
    (`drift`, `tests/invariants.py`). 3. No partition written by two agents at overlapping times
    (a transaction counts from its creation to its commit: `overlapping_writers`). 4. Every
    acknowledged write is reflected by the API and on every device (a create by 2., a delete by
    its absence, an update's weight read back from each device), or the object is ERROR with a
    reason."""
    c = mh.c
    projects = list(projects)
    wait_for(lambda: not pending_objects(c.db_url), timeout, "no object pending", every=0.5)
    with httpx.Client(base_url=c.api_url, timeout=30) as api:
        last: list[str] = []

        def converged() -> bool:
            nonlocal last
            last = drift(c, api, projects)
            return not last

        try:
            wait_for(converged, 60, "devices to equal the desired state", every=1.0)
        except TimeoutError:
            for dev, audit in enumerate(mh.audit_all()):  # for the post-mortem
                (mh.workdir / f"audit-{dev}.json").write_text(json.dumps(audit))
            raise AssertionError("drift: " + "; ".join(last)) from None
        for dev, audit in enumerate(mh.audit_all()):
            assert overlapping_writers(audit) == [], f"device {dev}: concurrent writers"
        if work is None:
            return
        stale = acked_updates_on_devices(c, api, work.acks)
        assert stale == [], "acknowledged updates not on the devices: " + "; ".join(stale)
        reasons = error_reasons(c.db_url)
        deleted = {a.id for a in work.acks if a.op == "delete"}
        for ack in work.acks:
            h = {"X-Project-Id": ack.project}
            r = api.get(f"/v2/lbaas/pools/{ack.pool_id}/members/{ack.id}", headers=h)
            if ack.id in deleted:
                assert r.status_code == 404 or (
                    r.json()["member"]["provisioning_status"] == "ERROR" and reasons.get(ack.id)
                ), f"acknowledged delete of {ack.id} not done: {r.status_code} {r.text}"
                continue
            assert r.status_code == 200, f"acknowledged {ack.op} of {ack.id} lost: {r.text}"
            status = r.json()["member"]["provisioning_status"]
            if status == "ERROR":
                assert reasons.get(ack.id), f"{ack.id} in ERROR without a reason"
            else:  # ACTIVE: on every device by `drift` (creates) and the check above (updates)
                assert status == "ACTIVE", f"{ack.id} ended {status}"


def sim_control(c: Cluster, method: str, path: str, body: dict[str, Any] | None = None,
                via: int = 0) -> Any:
    """A `/sim` control call through device `via` (a device that is down is steered via a peer)."""
    with c.device(via) as dev:
        r = dev.request(method, f"/sim/{path}", json=body)
        r.raise_for_status()
        return r.json() if r.content else None


def stream(work: Workload, count: int, pause: float = 0.05) -> None:
    """`count` changes over random projects (409s while a load balancer is pending are normal)."""
    for _ in range(count):
        status = work.step()
        assert status in (200, 201, 204, 409), f"unexpected HTTP {status}"
        time.sleep(pause)


def set_admin_state(c: Cluster, host: str, up: bool) -> None:
    """Drain (False) or undrain (True) the live agent of `host` through the admin API."""
    with c.client("admin") as api:
        agents = api.get("/v2/lbaas/agents").json()["agents"]
        mine = [a for a in agents if a["host"] == host]  # alive or not (e.g. cut off)
        me = max(mine, key=lambda a: a["alive"])
        r = api.put(f"/v2/lbaas/agents/{me['id']}", json={"agent": {"admin_state_up": up}})
        assert r.status_code == 200, r.text


def last_seq(c: Cluster) -> list[int]:
    return [max((e["seq"] for e in c.audit(d)), default=0) for d in range(c.devices)]


def stale_writes(audit: list[dict[str, Any]], host: str, partitions: Iterable[str],
                 after_seq: int, until_seq: int) -> list[dict[str, Any]]:
    """Writes by `host`'s agent to `partitions` made after another agent first wrote one of them
    (past `after_seq`) and up to `until_seq`: writes after losing the lease."""
    bad = []
    for part in partitions:
        on = [e for e in audit if part in (e.get("partitions") or [e.get("partition")])
              and after_seq < e["seq"] <= until_seq]
        others = [e["seq"] for e in on if not str(e["clientId"]).startswith(f"{host}/")]
        if not others:
            continue
        taken = min(others)
        bad += [e for e in on if str(e["clientId"]).startswith(f"{host}/") and e["seq"] > taken]
    return bad
