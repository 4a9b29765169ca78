"""`bigip-lbaas import neutron-lbaas`: read a neutron-lbaas v2 database, write the shared one.

The I/O around `migrate/mapping.py`: `read_source` reads every table the mapping needs in one
read-only transaction (tables reflected, so a database whose columns are still called
`tenant_id` reads the same); `compare` sorts each load balancer into new, unchanged or differing
from what the shared database already holds under its id; `write` puts new load balancers in,
whole, one transaction per load balancer (or per batch of whole ones, `--batch-size`), with
their networks and subnets registered with the built-in network registry, their partition
created and its desired generation bumped so that the owner adopts them. What cannot be carried
over is listed with the reason and left out whole.

Source credentials never reach the output: the source is named by `describe_url` only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import sqlalchemy as sa
from oslo_config import cfg
from rich.progress import Progress
from sqlalchemy.orm import Session

from bigip_lbaas.api.providers import Providers, load_providers
from bigip_lbaas.core.errors import BigipLbaasError, DatabaseError, DuplicateRow
from bigip_lbaas.db import desired, schema
from bigip_lbaas.db import models as m
from bigip_lbaas.db.partitions import ensure_partition, mark_changed
from bigip_lbaas.db.session import (
    Database,
    chunks,
    create_engine,
    describe_url,
    insert_if_missing,
    normalise_url,
    translated_errors,
)
from bigip_lbaas.engine import names
from bigip_lbaas.engine.render import render
from bigip_lbaas.migrate import mapping
from bigip_lbaas.migrate.mapping import KINDS, LABELS, LoadBalancerPlan, Row, Source

MODELS: dict[str, type[Any]] = {
    "load_balancer": m.LoadBalancer, "listener": m.Listener, "pool": m.Pool,
    "member": m.Member, "health_monitor": m.HealthMonitor, "l7policy": m.L7Policy,
    "l7rule": m.L7Rule,
}
# Without a terminal, one progress line per this many load balancers.
PROGRESS_EVERY = 100
# At most this many differences are named for a load balancer that differs.
SHOWN_DIFFERENCES = 3

NEW, UNCHANGED, DIFFERS = "new", "unchanged", "differs"
SHOWN_ORDER = ("listener", "pool", "member", "health_monitor", "l7policy", "l7rule")


class SourceError(BigipLbaasError):
    """The source cannot be read as a neutron-lbaas v2 database."""


# --- reading the source ---------------------------------------------------------------------

LBAAS_TABLES = {
    "loadbalancers": "lbaas_loadbalancers", "listeners": "lbaas_listeners",
    "pools": "lbaas_pools", "members": "lbaas_members", "healthmonitors": "lbaas_healthmonitors",
    "sessionpersistences": "lbaas_sessionpersistences", "l7policies": "lbaas_l7policies",
    "l7rules": "lbaas_l7rules", "sni": "lbaas_sni",
}
NEUTRON_TABLES = ("lbaas_loadbalanceragentbindings", "agents", "providerresourceassociations",
                  "ipallocations", "subnets", "networks", "ipallocationpools", "dnsnameservers",
                  "subnetroutes", "externalnetworks", "networkrbacs", "standardattributes")


def _rows(session: Session, table: sa.Table, *where: Any) -> list[Row]:
    out = []
    for row in session.execute(sa.select(table).where(*where)).mappings():
        values = dict(row)
        if "tenant_id" in values and "project_id" not in values:
            values["project_id"] = values.pop("tenant_id")
        out.append(values)
    return out


def read_source(url: str) -> Source:
    """Every row the mapping needs, in one transaction that only reads: on PostgreSQL and
    MariaDB a REPEATABLE READ snapshot, so a Neutron server still running cannot show a load
    balancer without the listener it committed a moment later. (SQLite, which Neutron never
    ran on in production, is opened read-only, without the shared database's connection
    settings, so that nothing, not even the journal mode, is written to the file.)"""
    parsed = normalise_url(url)
    if parsed.drivername == "sqlite":
        # Read-only, and a missing file is an error instead of a new empty database.
        engine = sa.create_engine(f"sqlite:///file:{parsed.database}?mode=ro&uri=true")
    else:
        engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with translated_errors(), Session(engine) as session, session.begin():
            return _read(session, url)
    finally:
        engine.dispose()


def _read(session: Session, url: str) -> Source:
    bind = session.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    missing = sorted(set(LBAAS_TABLES.values()) - present)
    if missing:
        raise SourceError(f"{describe_url(url)} is not a neutron-lbaas v2 database: table "
                           f"{missing[0]} is missing"
                           + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    meta = sa.MetaData()
    tables = {name: sa.Table(name, meta, autoload_with=bind)
              for name in (*LBAAS_TABLES.values(), *NEUTRON_TABLES) if name in present}
    got = {key: _rows(session, tables[name]) for key, name in LBAAS_TABLES.items()}
    bindings: list[Row] = []
    if "lbaas_loadbalanceragentbindings" in tables and "agents" in tables:
        b, a = tables["lbaas_loadbalanceragentbindings"], tables["agents"]
        bindings = [dict(r) for r in session.execute(
            sa.select(b.c.loadbalancer_id, a.c.host, a.c.configurations)
            .join(a, a.c.id == b.c.agent_id)).mappings()]
    providers = (_rows(session, tables["providerresourceassociations"])
                 if "providerresourceassociations" in tables else [])
    vip_ports = [lb["vip_port_id"] for lb in got["loadbalancers"] if lb.get("vip_port_id")]
    allocations: list[Row] = []
    if "ipallocations" in tables:
        ip = tables["ipallocations"]
        for chunk in chunks(vip_ports):
            allocations += _rows(session, ip, ip.c.port_id.in_(chunk))
    subnets, networks = _networks(session, tables)
    return Source(**got, bindings=bindings, providers=providers,
                  vip_allocations=allocations, subnets=subnets, networks=networks)


def _by(rows: Iterable[Row], key: str) -> dict[Any, list[Row]]:
    out: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        out[row[key]].append(row)
    return out


def _networks(session: Session, tables: dict[str, sa.Table]) -> tuple[list[Row], list[Row]]:
    """Neutron's subnets and networks, with what their side tables hold about them."""
    if "subnets" not in tables or "networks" not in tables:
        return [], []

    def side(name: str) -> dict[Any, list[Row]]:
        key = {"externalnetworks": "network_id", "networkrbacs": "object_id",
               "standardattributes": "id"}.get(name, "subnet_id")
        return _by(_rows(session, tables[name]), key) if name in tables else {}

    pools, dns, routes = side("ipallocationpools"), side("dnsnameservers"), side("subnetroutes")
    external, rbacs, attrs = side("externalnetworks"), side("networkrbacs"), \
        side("standardattributes")

    def description(row: Row) -> str | None:
        found = attrs.get(row.get("standard_attr_id"), [])
        return found[0].get("description") if found else row.get("description")

    subnets = []
    for row in _rows(session, tables["subnets"]):
        sid = row["id"]
        subnets.append({
            **row, "description": description(row),
            "allocation_pools": [{"start": p["first_ip"], "end": p["last_ip"]}
                                 for p in sorted(pools.get(sid, []),
                                                 key=lambda p: str(p["first_ip"]))],
            "dns_nameservers": [d["address"] for d in sorted(
                dns.get(sid, []), key=lambda d: (d.get("order") or 0, str(d["address"])))],
            "host_routes": [{"destination": r["destination"], "nexthop": r["nexthop"]}
                            for r in routes.get(sid, [])],
        })
    networks = []
    for row in _rows(session, tables["networks"]):
        shared = any(r.get("action") == "access_as_shared" and r.get("target_project") == "*"
                     for r in rbacs.get(row["id"], []))
        networks.append({**row, "description": description(row), "shared": shared,
                         "external": bool(external.get(row["id"]))})
    return subnets, networks


# --- comparing with what the shared database holds -------------------------------------------


@dataclass
class Comparison:
    """Which load balancers are new, unchanged or differ; which networks and subnets exist."""

    state: dict[str, str] = field(default_factory=dict)
    differences: dict[str, list[str]] = field(default_factory=dict)
    networks: set[str] = field(default_factory=set)
    subnets: set[str] = field(default_factory=set)
    # (VIP subnet, VIP address) -> the load balancer here that holds it
    vips: dict[tuple[str, str], str] = field(default_factory=dict)


def compare(db: Database, plans: Sequence[LoadBalancerPlan]) -> Comparison:
    ids = [p.id for p in plans if p.importable]
    net_ids = sorted({n["id"] for p in plans for n in p.networks})
    sub_ids = sorted({s["id"] for p in plans for s in p.subnets})

    def fn(session: Session) -> Comparison:
        found: dict[str, dict[str, dict[str, Row]]] = defaultdict(lambda: defaultdict(dict))
        for kind in KINDS:
            model = MODELS[kind]
            column = model.id if kind == "load_balancer" else model.load_balancer_id
            for chunk in chunks(ids):
                for row in session.execute(sa.select(model.__table__)
                                           .where(column.in_(chunk))).mappings():
                    lb_id = row["id"] if kind == "load_balancer" else row["load_balancer_id"]
                    found[lb_id][kind][row["id"]] = dict(row)
        out = Comparison()
        for chunk in chunks(net_ids):
            out.networks |= set(session.scalars(sa.select(m.Network.id)
                                                .where(m.Network.id.in_(chunk))))
        for chunk in chunks(sub_ids):
            out.subnets |= set(session.scalars(sa.select(m.Subnet.id)
                                               .where(m.Subnet.id.in_(chunk))))
        vip_subnets = sorted({p.rows["load_balancer"][0]["vip_subnet_id"] for p in plans
                              if p.importable})
        for chunk in chunks(vip_subnets):
            for lb_id, subnet, address in session.execute(
                    sa.select(m.LoadBalancer.id, m.LoadBalancer.vip_subnet_id,
                              m.LoadBalancer.vip_address)
                    .where(m.LoadBalancer.vip_subnet_id.in_(chunk))):
                if subnet is not None and address is not None:
                    out.vips[(subnet, address)] = lb_id
        for plan in plans:
            if not plan.importable:
                continue
            if plan.id not in found or not found[plan.id]["load_balancer"]:
                out.state[plan.id] = NEW
                continue
            diffs = _differences(plan, found[plan.id])
            out.state[plan.id] = DIFFERS if diffs else UNCHANGED
            if diffs:
                out.differences[plan.id] = diffs
        return out

    return db.query(fn)


def _differences(plan: LoadBalancerPlan, held: dict[str, dict[str, Row]]) -> list[str]:
    """What differs between the plan's rows and the rows held under the same ids."""
    out: list[str] = []
    for kind in KINDS:
        wanted = {r["id"]: r for r in plan.rows.get(kind, [])}
        have = held.get(kind, {})
        for obj_id in sorted(set(wanted) | set(have)):
            label = f"{LABELS[kind]} {obj_id}"
            if obj_id not in have:
                out.append(f"{label} is not in the shared database")
            elif obj_id not in wanted:
                out.append(f"{label} is in the shared database, not in neutron-lbaas")
            else:
                out += [f"{label} {col}: {have[obj_id].get(col)!r} here, {value!r} in "
                        f"neutron-lbaas" for col, value in wanted[obj_id].items()
                        if have[obj_id].get(col) != value]
    return out


# --- writing --------------------------------------------------------------------------------


def write(db: Database, plans: Sequence[LoadBalancerPlan], *, networks: Sequence[Row] = (),
          subnets: Sequence[Row] = (),
          partitions: dict[tuple[str, str], int] | None = None) -> dict[tuple[str, str], int]:
    """Whole load balancers in one transaction, with the `networks` and `subnets` not yet
    registered; each one's partition created unless `partitions` (ids known from transactions
    already committed) has it, and its desired generation bumped. Returns the partition ids.

    Everything or nothing: a batch that fails leaves no row of any of its load balancers."""
    known = dict(partitions or {})

    def fn(session: Session) -> dict[tuple[str, str], int]:
        for net in networks:
            insert_if_missing(session, m.Network, net)
        for sub in subnets:
            insert_if_missing(session, m.Subnet, sub)
        ids = {}
        for plan in plans:
            key = (plan.environment, plan.project_id)
            if key not in ids:
                ids[key] = known[key] if key in known else \
                    ensure_partition(session, plan.environment, plan.project_id)
        for kind in KINDS:
            rows = [row if kind != "load_balancer" else
                    {**row, "partition_id": ids[(plan.environment, plan.project_id)]}
                    for plan in plans for row in plan.rows.get(kind, [])]
            if rows:
                session.execute(sa.insert(MODELS[kind]), rows)
        for partition in sorted(set(ids.values())):
            mark_changed(session, partition)
        return ids

    return db.run(fn, attempts=4)


# --- the command ----------------------------------------------------------------------------


@dataclass
class Report:
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    networks: int = 0
    subnets: int = 0
    orphans: int = 0  # objects under no load balancer, left out


def _describe(plan: LoadBalancerPlan) -> str:
    name = f" ({plan.name})" if plan.name else ""
    return f"load balancer {plan.id}{name}, project {plan.project_id}"


def _plural(label: str) -> str:
    return label[:-1] + "ies" if label.endswith("y") else label + "s"


def _contents(plan: LoadBalancerPlan) -> str:
    counts = plan.counts()
    parts = [f"{n} {_plural(LABELS[k]) if n != 1 else LABELS[k]}" for k in SHOWN_ORDER
             if (n := counts[k])]
    return ", ".join(parts) or "no children"


def run_import(db: Database, source_url: str, providers: Providers, *, dry_run: bool,
               out: TextIO, batch: int = 1,
               progress: Callable[[int, int], None] | None = None) -> Report:
    """Read, plan, compare and (unless `dry_run`) write; print one line per load balancer that
    is imported, refused or pending, and one per object left out; return what happened.

    `batch`: whole load balancers per transaction (1: one transaction each). A batch that
    fails is written again one load balancer per transaction, so one bad load balancer is
    named and left out alone."""
    try:
        source = read_source(source_url)
    except DatabaseError as err:
        raise SourceError(f"cannot read the neutron-lbaas database "
                          f"{describe_url(source_url)}: {err}") from err
    planned = mapping.plan(source, providers)
    comparison = compare(db, planned.load_balancers)
    report = Report()
    total = len(planned.load_balancers)
    todo: list[LoadBalancerPlan] = []
    for plan in planned.load_balancers:
        verdict = _verdict(plan, comparison)
        if verdict is None:
            lb = plan.rows["load_balancer"][0]
            comparison.vips[(lb["vip_subnet_id"], lb["vip_address"])] = plan.id
            todo.append(plan)
            continue
        if plan.pending:
            report.pending.append(plan.id)
        elif comparison.state.get(plan.id) == UNCHANGED:
            report.unchanged.append(plan.id)
            continue
        else:
            report.refused.append(plan.id)
        print(f"{_describe(plan)}: {verdict}", file=out)
    writer = _Writer(db, comparison, report, out, dry_run=dry_run)
    done = total - len(todo)
    for start in range(0, len(todo), max(1, batch)):
        chunk = todo[start:start + max(1, batch)]
        writer.write(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    if progress is not None and not todo:
        progress(total, total)
    for orphan in planned.orphans:
        print(f"{LABELS[orphan.kind]} {orphan.id}: left out: {orphan.reason}", file=out)
    report.orphans = len(planned.orphans)
    if not dry_run and writer.partitions:
        for line in engine_notes(db, todo, sorted(set(writer.partitions.values()))):
            print(line, file=out)
    return report


def engine_notes(db: Database, plans: Sequence[LoadBalancerPlan],
                 partition_ids: Sequence[int]) -> list[str]:
    """What the agents will not manage of what was just imported: the engine renders the
    partitions as an agent would (desired state read back through db/desired.py) and names
    each imported object it cannot express. Such an object is left on the devices exactly as
    it is (F5's agent's copy), never deleted; it keeps its imported status."""
    kinds = {row["id"]: kind for plan in plans if plan.importable
             for kind, rows in plan.rows.items() for row in rows}
    out = []
    for snap in desired.load_many(db, partition_ids).values():
        for failure in render(snap.state, snap.state.key.environment).failures:
            kind = kinds.get(failure.object_id)
            if kind is not None:
                out.append(f"note: {LABELS[kind]} {failure.object_id}: the agents will leave it "
                           f"on the devices as it is and not manage it: {failure.reason}")
    return sorted(out)


def _verdict(plan: LoadBalancerPlan, comparison: Comparison) -> str | None:
    """Why the load balancer is not written ("unchanged" included); None: write it."""
    if plan.refused is not None:
        itself = plan.refused.kind == "load_balancer" and plan.refused.id == plan.id
        return f"{'pending' if plan.pending else 'left out'}: " \
               f"{plan.refused.reason if itself else plan.refused}"
    state = comparison.state[plan.id]
    if state == UNCHANGED:
        return "unchanged"
    if state == DIFFERS:
        diffs = comparison.differences[plan.id]
        more = len(diffs) - SHOWN_DIFFERENCES
        shown = "; ".join(diffs[:SHOWN_DIFFERENCES]) + (f"; and {more} more" if more > 0 else "")
        return f"left out: already in the shared database and differs ({shown})"
    lb = plan.rows["load_balancer"][0]
    holder = comparison.vips.get((lb["vip_subnet_id"], lb["vip_address"]))
    if holder is not None and holder != plan.id:
        return (f"left out: its VIP address {lb['vip_address']} on subnet "
                f"{lb['vip_subnet_id']} is taken by load balancer {holder}")
    return None


class _Writer:
    """Writes batches of load balancers, remembering what is registered and which partitions
    exist, and reports each load balancer once its transaction has committed."""

    def __init__(self, db: Database, comparison: Comparison, report: Report, out: TextIO, *,
                 dry_run: bool) -> None:
        self.db, self.report, self.out, self.dry_run = db, report, out, dry_run
        self.networks, self.subnets = set(comparison.networks), set(comparison.subnets)
        self.partitions: dict[tuple[str, str], int] = {}

    def write(self, plans: list[LoadBalancerPlan]) -> None:
        networks = list({n["id"]: n for p in plans for n in p.networks
                         if n["id"] not in self.networks}.values())
        subnets = list({s["id"]: s for p in plans for s in p.subnets
                        if s["id"] not in self.subnets}.values())
        if not self.dry_run:
            try:
                self.partitions.update(write(self.db, plans, networks=networks,
                                             subnets=subnets, partitions=self.partitions))
            except DuplicateRow as err:
                if len(plans) > 1:
                    for plan in plans:
                        self.write([plan])
                    return
                self.report.refused.append(plans[0].id)
                print(f"{_describe(plans[0])}: left out: it conflicts with a row already in "
                      f"the shared database ({err})", file=self.out)
                return
        self.report.networks += len(networks)
        self.report.subnets += len(subnets)
        self.networks |= {n["id"] for n in networks}
        self.subnets |= {s["id"] for s in subnets}
        verb = "would import" if self.dry_run else "imported"
        for plan in plans:
            self.report.imported.append(plan.id)
            print(f"{_describe(plan)}: {verb} into partition "
                  f"{names.partition(plan.environment, plan.project_id)} ({_contents(plan)})",
                  file=self.out)
            for note in plan.notes:
                print(f"note: {note}", file=self.out)


def summary(report: Report, *, dry_run: bool) -> str:
    orphans = report.orphans
    if not report.imported and not report.refused and not report.pending and not orphans:
        if not report.unchanged:
            return "nothing to do: the neutron-lbaas database holds no load balancers"
        return (f"nothing to do: all {len(report.unchanged)} load balancers are already "
                "imported and unchanged")
    verb = "would be imported" if dry_run else "imported"
    reg = "would be registered" if dry_run else "registered"
    return (f"load balancers: {len(report.imported)} {verb}, {len(report.unchanged)} already "
            f"imported and unchanged, {len(report.refused)} left out, {len(report.pending)} "
            f"pending (retry once they settle); networks {reg}: {report.networks}, subnets "
            f"{reg}: {report.subnets}" + (f"; objects under no load balancer left out: {orphans}"
                                          if orphans else "")
            + ("; dry run: nothing was written" if dry_run else ""))


def run(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    """The command: exit 0 when everything was carried over (or already was), 1 when a load
    balancer or object was left out or is pending, 2 (raised) when nothing could be done."""
    if not args.connection:
        raise SourceError("--connection URL of the neutron-lbaas database is required")
    # No pre-ping: a one-shot command on a fresh pool; a lost connection fails the load
    # balancer's transaction, which db.run retries on a new one.
    db = Database(conf.database.connection, pool_pre_ping=False)
    started = time.monotonic()
    try:
        schema.require_current(db)
        providers = load_providers(conf)
        with _Progress() as progress:
            report = run_import(db, args.connection, providers, dry_run=args.dry_run,
                                out=sys.stdout, batch=args.batch_size, progress=progress)
    finally:
        db.dispose()
    print(summary(report, dry_run=args.dry_run) + f" ({time.monotonic() - started:.1f} s)")
    return 1 if report.refused or report.pending or report.orphans else 0


class _Progress:
    """A rich progress bar on a terminal; elsewhere a line on stderr every PROGRESS_EVERY."""

    def __enter__(self) -> Callable[[int, int], None]:
        self._bar: Progress | None = None
        if sys.stderr.isatty():
            self._bar = Progress(transient=True)
            self._bar.start()
            self._task = self._bar.add_task("importing load balancers", total=None)

        def step(done: int, total: int) -> None:
            if self._bar is not None:
                self._bar.update(self._task, completed=done, total=total)
            elif total and (done % PROGRESS_EVERY == 0 or done == total):
                print(f"progress: {done}/{total} load balancers", file=sys.stderr)

        return step

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
