"""`bigip-lbaas diff`: what differs between the desired state and each device, read-only.

For every partition of the environment (or one project, load balancer or device) it renders
the desired state as an agent does (``engine.render``), reads each device as an agent does
(``device.observe``: a folder GET and one collection GET per kind), and asks ``engine.diff``
for the plan an agent's next full reconcile would apply; ``engine.explain`` describes it field
by field and ``engine.diff.foreign`` lists what is in the partition but not ours. Nothing is
written to a device or the database: only GETs are sent, and the database is read in read-only
transactions. It works while agents run (it reads what they read; the answer may be a moment
old). Device credentials are never printed.

``--adopt`` is the same comparison, read as a take-over plan for devices F5's agent configured,
before any agent of ours starts: it also judges each change (``Change.disruptive``), lists
partitions with our prefix on the devices that the database does not have (no agent will touch
them) and warns when agents are already running.

In F5's L2/L3 mode (``f5_global_routed_mode = False``) the partition's networking is gathered
read-only (``network.prepare.prepare(..., book=False)``): route domains and port names as the
agents recorded them in the database, addresses from the ports booked in the configured network
source (``[networking] source``), so the desired self IPs, VLANs, route domains, SNAT
translations and ``%rd`` addresses are compared too. Nothing is bound or booked: a subnet no
agent has prepared yet is listed as a failure ("not prepared yet"), its objects held.

Exit status: 0 every device in step, 1 something differs, 2 an error (a device unreachable, bad
arguments).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bigip_lbaas.agent.devices import device_client
from bigip_lbaas.agent.settings import AgentSettings, from_conf
from bigip_lbaas.config.devices import DeviceAddress
from bigip_lbaas.core import model
from bigip_lbaas.core.errors import ConfigError, DeviceError
from bigip_lbaas.core.network import TUNNEL_TYPES, PartitionNetwork
from bigip_lbaas.db import agents, desired, schema
from bigip_lbaas.db.desired import Snapshot
from bigip_lbaas.db.models import LoadBalancer, Partition
from bigip_lbaas.db.session import Database
from bigip_lbaas.device.client import BigipClient, collection_path
from bigip_lbaas.device.observe import observe
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceConfig
from bigip_lbaas.engine.diff import diff, foreign
from bigip_lbaas.engine.explain import Change, explain
from bigip_lbaas.engine.render import render
from bigip_lbaas.network import prepare, source_for
from bigip_lbaas.network.source import NetworkSourceError

CLIENT_ID = "bigip-lbaas-diff"
# Partitions read at once per device (each is 14 GETs, themselves bounded by the client).
CONCURRENT_PARTITIONS = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="ID", help="only this project's partition")
    parser.add_argument(
        "--loadbalancer",
        metavar="ID",
        help="only this load balancer's objects (deletes and foreign objects of its partition "
        "are not attributed to one load balancer and are left out)",
    )
    parser.add_argument(
        "--device", metavar="HOST[:PORT]", help="only this device of icontrol_hostname"
    )
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="output (default: table)"
    )
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="the take-over plan for devices configured by F5's agent: what the first "
        "reconcile would change, and whether any change would interrupt traffic",
    )


@dataclass
class Target:
    """One partition to compare, with what restricts the report to one load balancer."""

    partition_id: int
    project_id: str
    snapshot: Snapshot
    owners: frozenset[str] | None = None  # Octavia ids of the one load balancer, if given
    network: PartitionNetwork | None = None  # L2/L3 mode: its networking as recorded
    error: str | None = None  # L2/L3 mode: the network source could not answer


@dataclass
class DeviceReport:
    device: str
    partition: str
    project_id: str
    changes: list[Change] = field(default_factory=list)
    foreign: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (object id, reason)
    error: str | None = None

    @property
    def in_step(self) -> bool:
        return self.error is None and not self.changes and not self.foreign


def _lb_ids(lb: model.LoadBalancer) -> frozenset[str]:
    ids = {lb.id}
    for lst in lb.listeners:
        ids.add(lst.id)
        for pol in lst.l7policies:
            ids.add(pol.id)
            ids.update(r.id for r in pol.rules)
    for pool in lb.pools:
        ids.add(pool.id)
        ids.update(m.id for m in pool.members)
        if pool.health_monitor is not None:
            ids.add(pool.health_monitor.id)
    return frozenset(ids)


def targets(
    db: Database, environment: str, project: str | None, loadbalancer: str | None
) -> list[Target]:
    """The partitions to compare, with their desired state (read-only transactions)."""
    with db.read() as s:
        lb_partition: int | None = None
        if loadbalancer is not None:
            row = s.execute(
                sa.select(LoadBalancer.partition_id, Partition.environment)
                .join(Partition, Partition.id == LoadBalancer.partition_id)
                .where(LoadBalancer.id == loadbalancer)
            ).first()
            if row is None or row[1] != environment:
                raise ConfigError(
                    f"load balancer {loadbalancer} not found in environment {environment}"
                )
            lb_partition = int(row[0])
        q = sa.select(Partition.id, Partition.project_id).where(
            Partition.environment == environment
        )
        if project is not None:
            q = q.where(Partition.project_id == project)
        if lb_partition is not None:
            q = q.where(Partition.id == lb_partition)
        rows = s.execute(q.order_by(Partition.project_id)).all()
    snaps = desired.load_many(db, [pid for pid, _ in rows])
    out = []
    for pid, project_id in rows:
        snap = snaps.get(pid)
        if snap is None:
            continue
        owners = None
        if loadbalancer is not None:
            lbs = [lb for lb in snap.state.load_balancers if lb.id == loadbalancer]
            # a load balancer being deleted: nothing of it is desired any more
            owners = _lb_ids(lbs[0]) if lbs else frozenset({loadbalancer})
        out.append(Target(pid, project_id, snap, owners))
    return out


def _client(settings: AgentSettings, address: DeviceAddress) -> BigipClient:
    # basic auth on each GET: not even a login token is created on the device
    return device_client(settings, address, client_id=CLIENT_ID, token_auth=False)


def compare(
    target: Target, observed: DeviceConfig, prefix: str, device: str,
    settings: AgentSettings | None = None, devices: tuple[str, ...] = (),
) -> DeviceReport:
    """The report of one partition on one device: pure (render, diff, explain). In L2/L3 mode
    (``target.network``) with the operator's ``settings`` and every device's name."""
    if target.network is not None and settings is not None:
        rendered = render(target.snapshot.state, prefix, network=target.network,
                          settings=settings.network, devices=devices).for_device(device)
    else:
        rendered = render(target.snapshot.state, prefix)
    plan = diff(rendered, observed, prefix)
    part = rendered.config.partition
    report = DeviceReport(device, part, target.project_id)
    changes = list(explain(plan, observed))
    stray = [(str(o.kind), o.name) for o in foreign(rendered, observed, prefix)]
    failures = [(f.object_id, f.reason) for f in rendered.failures]
    if target.owners is not None:
        keep = target.owners
        changes = [c for c in changes if c.owner is not None and c.owner in keep]
        stray = []
        failures = [f for f in failures if f[0] in keep]
    report.changes, report.foreign, report.failures = changes, stray, failures
    return report


def device_name(address: DeviceAddress) -> str:
    """The name an agent's fleet gives the device (``BigipClient.name``)."""
    return f"{address.host}:{address.port}" if address.port != 443 else address.host


def networks(conf: cfg.ConfigOpts, db: Database, settings: AgentSettings,
             todo: list[Target]) -> None:
    """L2/L3 mode: each target's networking as the agents recorded it (read only)."""
    source = source_for(conf, db)
    ctx = prepare.Context(db, source, settings.network,
                          tuple(device_name(d) for d in settings.devices),
                          source_name=str(getattr(source, "name", "the network source")))
    for t in todo:
        part = names.partition(settings.environment, t.project_id)
        try:
            t.network = prepare.prepare(ctx, t.partition_id, part, t.project_id,
                                        t.snapshot.state, book=False)
        except NetworkSourceError as err:
            t.error = f"network source: {err}"


async def vteps(settings: AgentSettings, todo: list[Target]) -> None:
    """L2/L3 mode with tunnels: every device's VTEP address (its ``/<f5_vtep_folder>/
    <f5_vtep_selfip_name>`` self IP, read as the agent reads it), laid into each target's
    networking. A device without it (or unreachable) is left out: render says so."""
    net = settings.network
    if not net.vtep_selfip_name or not any(
            s.network_type in TUNNEL_TYPES for t in todo if t.network is not None
            for s in t.network.segments):
        return

    async def one(address: DeviceAddress) -> tuple[str, str | None]:
        client = _client(settings, address)
        try:
            found = await client.get_optional(
                f"/mgmt/tm/net/self/~{net.vtep_folder}~{net.vtep_selfip_name}")
        except DeviceError:
            return client.name, None
        finally:
            await client.aclose()
        if not found:
            return client.name, None
        return client.name, str(found.get("address", "")).split("/")[0].split("%")[0] or None

    found = {n: a for n, a in await asyncio.gather(*(one(d) for d in settings.devices)) if a}
    for t in todo:
        if t.network is not None:
            t.network = dataclasses.replace(t.network, vteps=found)


async def _device_reports(
    settings: AgentSettings, address: DeviceAddress, todo: list[Target]
) -> tuple[list[DeviceReport], int, list[str]]:
    """(reports, GET requests sent, folders with our prefix the database does not have)."""
    client = _client(settings, address)
    sem = asyncio.Semaphore(CONCURRENT_PARTITIONS)
    prefix = settings.environment

    l2l3 = settings.l2l3
    every = tuple(device_name(d) for d in settings.devices)

    async def one(t: Target) -> DeviceReport:
        part = names.partition(prefix, t.project_id)
        if t.error is not None:
            return DeviceReport(client.name, part, t.project_id, error=t.error)
        async with sem:
            try:
                observed = await observe(client, part, network=l2l3)
            except DeviceError as err:
                return DeviceReport(client.name, part, t.project_id, error=str(err))
        return compare(t, observed, prefix, client.name, settings, every)

    try:
        reports = list(await asyncio.gather(*(one(t) for t in todo)))
        unknown: list[str] = []
        try:
            folders = await client.items(collection_path("sys/folder"), {"$select": "name"})
            known = {names.partition(prefix, t.project_id) for t in todo}
            unknown = sorted(
                str(f["name"])
                for f in folders
                if names.owned(prefix, str(f.get("name", ""))) and f["name"] not in known
            )
        except DeviceError:
            pass  # already reported per partition
        return reports, client.counter.total, unknown
    finally:
        await client.aclose()


def _pick_devices(settings: AgentSettings, wanted: str | None) -> list[DeviceAddress]:
    if wanted is None:
        return list(settings.devices)
    found = [d for d in settings.devices if wanted in (str(d), d.host)]
    if not found:
        raise ConfigError(
            f"--device {wanted} is not one of icontrol_hostname "
            f"({', '.join(str(d) for d in settings.devices)})"
        )
    return found


def _value(v: Any) -> Any:
    return v if isinstance(v, str | int | float | bool) or v is None else json.loads(
        json.dumps(v, default=str)
    )


def to_json(reports: list[DeviceReport]) -> list[dict[str, Any]]:
    out = []
    for r in reports:
        out.append(
            {
                "device": r.device,
                "partition": r.partition,
                "project_id": r.project_id,
                "in_step": r.in_step,
                "error": r.error,
                "changes": [
                    {
                        "action": str(c.action),
                        "kind": str(c.kind),
                        "name": c.name,
                        "owner": c.owner,
                        "fields": [
                            {"field": f.field, "device": _value(f.device),
                             "desired": _value(f.desired)}
                            for f in c.fields
                        ],
                        "disruptive": c.disruptive,
                    }
                    for c in r.changes
                ],
                "foreign": [{"kind": k, "name": n} for k, n in r.foreign],
                "failures": [{"object_id": o, "reason": why} for o, why in r.failures],
            }
        )
    return out


def gather(conf: cfg.ConfigOpts, args: argparse.Namespace) -> dict[str, Any]:
    settings = from_conf(conf)
    devices = _pick_devices(settings, args.device)
    db = Database(conf.database.connection)
    try:
        schema.require_current(db)
        todo = targets(db, settings.environment, args.project, args.loadbalancer)
        if settings.l2l3:
            networks(conf, db, settings, todo)
        alive = [
            a.host
            for a in agents.list_agents(db, conf.bigip_lbaas.lease_seconds, settings.environment)
            if a.alive
        ]
    finally:
        db.dispose()

    async def all_devices() -> list[tuple[list[DeviceReport], int, list[str]]]:
        if settings.l2l3:
            await vteps(settings, todo)
        return list(
            await asyncio.gather(*(_device_reports(settings, d, todo) for d in devices))
        )

    results = asyncio.run(all_devices())
    reports = [r for rs, _, _ in results for r in rs]
    unmanaged = {
        str(d): unknown for d, (_, _, unknown) in zip(devices, results, strict=True) if unknown
    }
    whole = args.project is None and args.loadbalancer is None
    return {
        "mode": "adopt" if args.adopt else "diff",
        "environment": settings.environment,
        "in_step": all(r.in_step for r in reports),
        "errors": sum(1 for r in reports if r.error is not None),
        "requests": {str(d): n for d, (_, n, _) in zip(devices, results, strict=True)},
        "agents_alive": alive,
        # partitions with our prefix on a device that the database does not have: no agent of
        # ours will touch them (only listed when every partition was compared)
        "unmanaged_partitions": unmanaged if whole else {},
        "partitions": to_json(reports),
    }


def run(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    report = gather(conf, args)
    if args.format == "json":
        print(json.dumps(report, indent=2, default=str))
    else:
        console = Console() if sys.stdout.isatty() else Console(width=200)
        print_report(report, console)
    if report["errors"]:
        return 2
    return 0 if report["in_step"] else 1


def _cell(value: object, style: str = "") -> Text:
    """Plain text: names and values from devices are never read as markup."""
    if value is None:
        return Text("-", style=style)
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True, default=str)
    return Text(value, style=style)


def print_report(report: dict[str, Any], console: Console) -> None:
    adopt = report["mode"] == "adopt"
    title = "Take-over plan (diff --adopt)" if adopt else "Differences (desired → device)"
    t = Table(title=title)
    for col in ("device", "partition", "change", "kind", "name", "field", "device value",
                "desired value"):
        t.add_column(col, overflow="fold")
    disruptive: list[str] = []
    for p in report["partitions"]:
        dev, part = p["device"], p["partition"]
        if p["error"]:
            t.add_row(_cell(dev), _cell(part), _cell("ERROR", "red"), _cell(""), _cell(""),
                      _cell(""), _cell(p["error"], "red"), _cell(""))
        for c in p["changes"]:
            style = {"create": "green", "update": "yellow", "delete": "red"}[c["action"]]
            if c["disruptive"]:
                disruptive.append(f"{dev} {part}: {c['disruptive']}")
            rows = c["fields"] or [{"field": None, "device": None, "desired": None}]
            for i, f in enumerate(rows):
                t.add_row(
                    _cell(dev if i == 0 else ""), _cell(part if i == 0 else ""),
                    _cell(c["action"] if i == 0 else "", style), _cell(c["kind"] if i == 0 else ""),
                    _cell(c["name"] if i == 0 else ""), _cell(f["field"]), _cell(f["device"]),
                    _cell(f["desired"]),
                )
        for o in p["foreign"]:
            t.add_row(_cell(dev), _cell(part), _cell("not ours", "magenta"), _cell(o["kind"]),
                      _cell(o["name"]), _cell(""), _cell("present"), _cell("left as is"))
        for fail in p["failures"]:
            t.add_row(_cell(dev), _cell(part), _cell("held", "red"), _cell(""),
                      _cell(fail["object_id"]), _cell(""), _cell(""), _cell(fail["reason"]))
    console.print(t)
    n = len(report["partitions"])
    changes = sum(len(p["changes"]) for p in report["partitions"])
    stray = sum(len(p["foreign"]) for p in report["partitions"])
    state = "in step" if report["in_step"] else "NOT in step"
    console.print(
        f"{n} partition(s) x device compared: {changes} change(s), {stray} object(s) not ours, "
        f"{report['errors']} error(s): {state}"
    )
    for dev, parts in report["unmanaged_partitions"].items():
        console.print(
            Text(f"{dev}: {len(parts)} partition(s) with our prefix that the database does not "
                 f"have (no agent touches them): {', '.join(parts)}", style="yellow")
        )
    if adopt:
        if report["agents_alive"]:
            console.print(Text(
                "agents are already running (" + ", ".join(report["agents_alive"]) + "): they "
                "may be applying this plan now", style="yellow"))
        if disruptive:
            console.print(Text("changes that would interrupt traffic:", style="red"))
            for line in disruptive:
                console.print(Text("  " + line, style="red"))
        else:
            console.print("no change would delete, re-create or disable a serving object")
