"""`bigip-lbaas status`: agents, devices and partitions as the shared database sees them now."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bigip_lbaas.db import agents, schema, unserved
from bigip_lbaas.db.models import DeviceState, Partition, PartitionLease
from bigip_lbaas.db.session import Database
from bigip_lbaas.engine import names

# Text mode lists at most this many partitions pending or in error; --json lists them all.
TABLE_ROWS = 50


def gather(db: Database, lease_seconds: float, unserved_timeout: float = 0.0) -> dict[str, Any]:
    views = agents.list_agents(db, lease_seconds)
    envs = db.query(lambda s: unserved.environments(s, lease_seconds))
    by_instance = {v.instance_id: v for v in views}
    with db.read() as s:
        now = s.scalar(sa.select(db.now()))
        # Plain columns, not ORM instances: the read transaction ends in a rollback, which
        # would expire instances and make them unreadable after the session closes.
        rows = s.execute(
            sa.select(
                Partition.environment,
                Partition.project_id,
                Partition.desired_generation,
                Partition.applied_generation,
                Partition.last_error,
                Partition.pending_since,
                PartitionLease.owner,
                PartitionLease.epoch,
                PartitionLease.expires_at,
            ).outerjoin(PartitionLease, PartitionLease.partition_id == Partition.id)
        ).all()
        devices = s.execute(sa.select(DeviceState.device, DeviceState.in_step)).all()
    held: dict[str, int] = defaultdict(int)
    parts = []
    for env, project, desired, applied, error, since, owner, epoch, expires in rows:
        valid = PartitionLease.is_valid(owner, expires, now)
        if valid and owner is not None:
            held[owner] += 1
        parts.append(
            {
                "partition": names.partition(env, project),
                "environment": env,
                "project_id": project,
                "owner": by_instance[owner].host if valid and owner in by_instance else None,
                "epoch": epoch,
                "desired_generation": desired,
                "applied_generation": applied,
                "pending": desired > applied,
                "pending_seconds": (
                    round(now - since, 1)
                    if desired > applied and since is not None and now is not None
                    else None
                ),
                "error": error,
            }
        )
    dev: dict[str, dict[str, int]] = defaultdict(lambda: {"in_step": 0, "behind": 0})
    for device, in_step in devices:
        dev[device]["in_step" if in_step else "behind"] += 1
    reach: dict[str, bool] = {}
    for v in views:
        if v.alive:
            for rep in v.devices:
                name = rep["device"]
                reach[name] = reach.get(name, False) or bool(rep.get("reachable"))
    return {
        "environments": [
            {
                "environment": e.name,
                "serving_agents": e.live_agents,
                "served": e.served,
                "unserved_seconds": None if e.unserved_for is None else round(e.unserved_for, 1),
                "partitions_behind": e.pending_partitions,
                # When waiting work ends in ERROR (unserved_timeout; None: never, or served).
                "error_in_seconds": (
                    max(0.0, round(unserved_timeout - (e.unserved_for or 0.0), 1))
                    if not e.served and unserved_timeout > 0 and e.pending_partitions
                    else None
                ),
            }
            for e in envs
        ],
        "agents": [
            {
                "host": v.host,
                "identity": v.identity,
                "environment": v.environment,
                "alive": v.alive,
                "admin_state_up": v.admin_state_up,
                "operational": v.operational,
                "heartbeat_age": round(v.heartbeat_age, 1),
                "uptime": round(v.uptime, 1),
                "partitions": held.get(v.instance_id, 0),
                # What the agent last reported; a dead agent's report is stale, so the count
                # of reachable devices is unknown (None) unless the agent is alive.
                "devices": v.devices,
                "devices_reachable": (
                    sum(1 for d in v.devices if d.get("reachable")) if v.alive else None
                ),
                "status_reason": v.status_reason,
            }
            for v in views
        ],
        "devices": [
            {
                "device": name,
                "reachable": reach.get(name),
                "partitions_in_step": dev[name]["in_step"],
                "partitions_behind": dev[name]["behind"],
            }
            for name in sorted(set(dev) | set(reach))
        ],
        "partitions": {
            "total": len(parts),
            "pending": [p for p in parts if p["pending"]],
            "in_error": [p for p in parts if p["error"]],
            "unowned": sum(1 for p in parts if p["owner"] is None),
        },
    }


def run(conf: cfg.ConfigOpts, args: argparse.Namespace) -> int:
    db = Database(conf.database.connection)
    try:
        schema.require_current(db)
        report = gather(db, conf.bigip_lbaas.lease_seconds, conf.bigip_lbaas.unserved_timeout)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    # Piped or redirected output gets room for whole host names instead of rich's 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    print_report(report, console)
    return 0


def _cell(value: object, style: str = "") -> Text:
    """A table cell as plain text: host names, errors and reasons are never read as markup."""
    return Text("" if value is None else str(value), style=style)


def print_report(report: dict[str, Any], console: Console) -> None:
    """The tables `status` prints without --json."""
    for e in report.get("environments", []):
        if e["served"]:
            continue
        since = e["unserved_seconds"]
        line = (f"Environment {e['environment']}: NO live agent"
                + ("" if since is None else f" for {since}s")
                + f"; changes are refused (503); {e['partitions_behind']} partition(s) waiting")
        if e["error_in_seconds"] is not None:
            line += f", ERROR in {e['error_in_seconds']}s (unserved_timeout)"
        console.print(Text(line, style="red"))
    t = Table(title="Agents")
    for col in (
        "host",
        "environment",
        "alive",
        "admin",
        "heartbeat age",
        "partitions",
        "devices reachable",
        "reason",
    ):
        t.add_column(col)
    for a in report["agents"]:
        reachable = a["devices_reachable"]  # None: not alive, its last report is stale
        t.add_row(
            _cell(a["host"]),
            _cell(a["environment"]),
            _cell("yes") if a["alive"] else _cell("NO", "red"),
            _cell("up" if a["admin_state_up"] else "down"),
            _cell(f"{a['heartbeat_age']}s"),
            _cell(a["partitions"]),
            _cell("-" if reachable is None else f"{reachable}/{len(a['devices'])}"),
            _cell(a["status_reason"]),
        )
    console.print(t)
    d = Table(title="Devices")
    for col in ("device", "reachable", "partitions in step", "behind"):
        d.add_column(col)
    for dv in report["devices"]:
        d.add_row(
            _cell(dv["device"]),
            _cell({True: "yes", False: "NO", None: "?"}[dv["reachable"]]),
            _cell(dv["partitions_in_step"]),
            _cell(dv["partitions_behind"]),
        )
    console.print(d)
    p = report["partitions"]
    console.print(
        f"Partitions: {p['total']} total, {len(p['pending'])} pending, "
        f"{len(p['in_error'])} in error, {p['unowned']} without a live owner"
    )
    troubled = [r for r in p["pending"] if not r["error"]] + p["in_error"]
    if troubled:
        console.print(_partition_table(troubled))


def _partition_table(rows: list[dict[str, Any]]) -> Table:
    """Partitions pending or in error: who owns each, how far behind, and why."""
    title = "Partitions pending or in error"
    if len(rows) > TABLE_ROWS:
        title += f" (first {TABLE_ROWS} of {len(rows)}; --json lists all)"
    t = Table(title=title)
    for col in ("partition", "owner", "desired", "applied", "pending for", "error"):
        t.add_column(col, overflow="fold")
    for row in rows[:TABLE_ROWS]:
        since = row["pending_seconds"]
        t.add_row(
            _cell(row["partition"]),
            _cell(row["owner"]) if row["owner"] else _cell("none alive", "red"),
            _cell(row["desired_generation"]),
            _cell(row["applied_generation"]),
            _cell("-" if since is None else f"{since}s"),
            _cell(row["error"], "red"),
        )
    return t
