"""Chaos soak (issue 6, scenarios 1 + 5): random API changes, kill -9 agents, device faults.

Real processes on loopback (tests/cluster.py): the simulator (a pair), the API and `--agents`
agents on SQLite (default, a fresh file) or `--db URL`. For `--minutes N`:

- a stream of random API changes over `--projects` projects: create/update/delete load
  balancers, listeners, pools, members and health monitors. A 409 while something is pending is
  not an error: the change is put back and retried later (bounded attempts);
- every few seconds a random agent is killed with SIGKILL and a replacement starts under a new
  host name, so the cluster always keeps `--agents` agents (at least 2);
- the devices answer a share of requests with 503 (`--error-rate`) and stall a few without
  answering: `--hang-rate` of them for `--hang-seconds`, and `--timeout-rate` of them for
  `--timeout-hang-seconds`, longer than the agents' request timeout (`--request-timeout`), so
  the agents' requests really time out. The simulator has one hang length per device at a
  time, so the two kinds take turns: every 5 s the devices of the pair swap kinds, each at twice
  its rate (on average every device stalls each kind at its rate). With `--timeout-rate 0` the
  faults are the same on both devices throughout.

Then quiesce (faults and kills stop; wait, bounded, until nothing is pending) and check:

1. no_pending: no object is PENDING_* and no partition is behind;
2. devices_match_desired: on every device, per partition `Project_<project>`, the virtual
   addresses, virtuals, pools, pool members, nodes and monitors are exactly what the API lists,
   with their attributes (`tests/invariants.py` says which: e.g. member ratio and admin state,
   virtual destination and pool, pool mode and monitor); nothing missing, no orphans, no drift,
   no empty partition folder left. Objects in ERROR are held as they were, so they may be
   present or absent;
3. single_writer: no partition written by two clients (`X-Client-Id`) at overlapping times,
   a transaction counting from its creation to its commit (the simulator's audit log,
   `tests/cluster.py::overlapping_writers`), and the audit log is complete (its first entry is
   write 1: nothing was dropped);
4. acknowledged_writes: every write the API acknowledged (2xx) is reflected by the API and is on
   the devices (2.), or the object is ERROR with a reason.

Prints JSON (invariants, counts, durations, load average). `random.Random(seed)` drives every
choice, so a seed replays the same sequence of intended changes and kills (timing still differs).

    python bench/chaos.py --minutes 1 --seed 1 [--db URL] [--agents 4] [--projects 20]

`pass` is true when all four invariants pass and the `--self-test`, if asked for, detected
everything.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database
from tests.cluster import Cluster, overlapping_writers, two_writers, wait_for
from tests.databases import KINDS, fresh_database
from tests.invariants import (
    PREFIX,
    Expected,
    MayHold,
    api_state,
    compare_device,
    device_state,
    expected_device,
)

TABLES = {"loadbalancer": m.LoadBalancer, "listener": m.Listener, "pool": m.Pool,
          "member": m.Member, "healthmonitor": m.HealthMonitor}
MAX_ATTEMPTS = 40          # a change that keeps meeting 409 is given up after this many tries
MAX_LBS, MAX_LISTENERS, MAX_POOLS, MAX_MEMBERS = 3, 3, 3, 4


# --- the acknowledged model ------------------------------------------------------------------


@dataclass
class Obj:
    kind: str
    id: str
    project: str
    lb: str
    parent: str | None = None           # pool of a member / health monitor
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Model:
    """What the API acknowledged: live objects with their last acknowledged attributes."""

    objs: dict[str, Obj] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)     # id -> kind

    def of(self, kind: str, **where: str) -> list[Obj]:
        return [o for o in self.objs.values() if o.kind == kind
                and all(getattr(o, k) == v for k, v in where.items())]

    def remove(self, oid: str) -> None:
        gone = [oid]
        while gone:
            cur = gone.pop()
            obj = self.objs.pop(cur, None)
            if obj is None:
                continue
            self.deleted[cur] = obj.kind
            gone += [o.id for o in self.objs.values() if o.lb == cur or o.parent == cur]
            if obj.kind == "pool":  # the listener's default_pool_id is cleared
                for lst in self.of("listener", lb=obj.lb):
                    if lst.attrs.get("default_pool_id") == cur:
                        lst.attrs["default_pool_id"] = None


@dataclass
class Change:
    """One intended API change; rebuilt from the model each time it is tried."""

    op: str
    project: str
    target: str | None        # the object it acts on or under
    seq: int
    attempts: int = 0
    due: float = 0.0
    value: Any = None


class Driver:
    def __init__(self, c: Cluster, rng: random.Random, projects: list[str], subnet: str) -> None:
        self.c, self.rng, self.projects, self.subnet = c, rng, projects, subnet
        self.model = Model()
        self.http = httpx.Client(base_url=c.api_url, timeout=30)
        self.counts: Counter[str] = Counter()
        self.rejected: list[dict[str, Any]] = []
        self.retry: list[Change] = []
        self.seq = 0
        self.port = 8000
        self.addr = 0
        self.acked_at: dict[str, float] = {}

    def close(self) -> None:
        self.http.close()

    # choose ---------------------------------------------------------------------------------

    WEIGHTS = {"create_lb": 6, "update_lb": 3, "delete_lb": 2, "create_listener": 8,
               "update_listener": 5, "delete_listener": 2, "create_pool": 8, "update_pool": 5,
               "delete_pool": 2, "create_member": 12, "update_member": 7, "delete_member": 4,
               "create_hm": 6, "update_hm": 4, "delete_hm": 2}

    def candidates(self, op: str, project: str) -> list[str | None]:
        """What `op` could act on in `project` now (empty: not applicable)."""
        kind = op.split("_", 1)[1]
        kind = {"lb": "loadbalancer", "hm": "healthmonitor"}.get(kind, kind)
        if op == "create_lb":
            return [None] if len(self.model.of("loadbalancer", project=project)) < MAX_LBS else []
        if op.startswith("create_"):
            parent_kind = {"listener": "loadbalancer", "pool": "loadbalancer",
                           "member": "pool", "healthmonitor": "pool"}[kind]
            limit = {"listener": MAX_LISTENERS, "pool": MAX_POOLS, "member": MAX_MEMBERS,
                     "healthmonitor": 1}[kind]
            key = "lb" if parent_kind == "loadbalancer" else "parent"
            return sorted((o.id for o in self.model.of(parent_kind, project=project)
                           if len(self.model.of(kind, **{key: o.id})) < limit), key=str)
        return sorted((o.id for o in self.model.of(kind, project=project)), key=str)

    def choose(self) -> Change:
        """A random applicable change (up to 50 draws; else a new or updated LB)."""
        self.seq += 1
        ops = sorted(self.WEIGHTS)
        for _ in range(50):
            op = self.rng.choices(ops, weights=[self.WEIGHTS[o] for o in ops])[0]
            project = self.rng.choice(self.projects)
            cands = self.candidates(op, project)
            if cands:
                return Change(op, project, self.rng.choice(cands), self.seq)
        project = self.rng.choice(self.projects)
        for op in ("create_lb", "update_lb"):
            cands = self.candidates(op, project)
            if cands:
                return Change(op, project, self.rng.choice(cands), self.seq)
        raise AssertionError("no applicable change")

    # perform --------------------------------------------------------------------------------

    def request(self, ch: Change) -> tuple[str, str, dict[str, Any] | None] | None:
        """(method, path, body) for a change, or None when its target is gone."""
        md = self.model
        r = random.Random(ch.seq)  # per-change values: the same on every retry
        if ch.op == "create_lb":
            return "POST", "/v2/lbaas/loadbalancers", {"loadbalancer": {
                "name": f"lb{ch.seq}", "vip_subnet_id": self.subnet, "project_id": ch.project}}
        if ch.target not in md.objs:
            return None
        t = md.objs[ch.target]
        if ch.op == "update_lb":
            return "PUT", f"/v2/lbaas/loadbalancers/{t.id}", {"loadbalancer": {
                "description": f"c{ch.seq}", "admin_state_up": r.random() < 0.85}}
        if ch.op == "delete_lb":
            return "DELETE", f"/v2/lbaas/loadbalancers/{t.id}?cascade=true", None
        if ch.op == "create_listener":
            if ch.value is None:
                self.port += 1
                ch.value = self.port
            return "POST", "/v2/lbaas/listeners", {"listener": {
                "loadbalancer_id": t.id, "protocol": "HTTP", "protocol_port": ch.value,
                "connection_limit": r.choice([-1, 100, 1000])}}
        if ch.op == "update_listener":
            return "PUT", f"/v2/lbaas/listeners/{t.id}", {"listener": {
                "connection_limit": r.choice([-1, 50, 500, 5000])}}
        if ch.op == "create_pool":
            body: dict[str, Any] = {"protocol": "HTTP",
                                    "lb_algorithm": r.choice(["ROUND_ROBIN", "LEAST_CONNECTIONS"])}
            free = sorted(o.id for o in md.of("listener", lb=t.id)
                          if not o.attrs.get("default_pool_id"))
            if free and r.random() < 0.6:
                body["listener_id"] = free[0]
            else:
                body["loadbalancer_id"] = t.id
            return "POST", "/v2/lbaas/pools", {"pool": body}
        if ch.op == "update_pool":
            return "PUT", f"/v2/lbaas/pools/{t.id}", {"pool": {
                "lb_algorithm": r.choice(["ROUND_ROBIN", "LEAST_CONNECTIONS"])}}
        if ch.op == "create_member":
            if ch.value is None:
                self.addr += 1
                pidx = self.projects.index(ch.project)
                ch.value = f"10.{pidx + 1}.{self.addr // 250 % 250}.{self.addr % 250 + 1}"
            return "POST", f"/v2/lbaas/pools/{t.id}/members", {"member": {
                "address": ch.value, "protocol_port": r.choice([80, 8080]),
                "weight": r.choice([1, 1, 2, 5])}}
        if ch.op == "update_member":
            return "PUT", f"/v2/lbaas/pools/{t.parent}/members/{t.id}", {"member": {
                "weight": r.choice([1, 3, 10])}}
        if ch.op == "create_hm":
            return "POST", "/v2/lbaas/healthmonitors", {"healthmonitor": {
                "pool_id": t.id, "type": r.choice(["HTTP", "TCP", "PING", "HTTPS"]),
                "delay": r.choice([5, 10]), "timeout": 3, "max_retries": 3}}
        if ch.op == "update_hm":
            return "PUT", f"/v2/lbaas/healthmonitors/{t.id}", {"healthmonitor": {
                "delay": r.choice([6, 15, 30])}}
        if ch.op in ("delete_listener", "delete_pool", "delete_hm"):
            coll = {"delete_listener": "listeners", "delete_pool": "pools",
                    "delete_hm": "healthmonitors"}[ch.op]
            return "DELETE", f"/v2/lbaas/{coll}/{t.id}", None
        if ch.op == "delete_member":
            return "DELETE", f"/v2/lbaas/pools/{t.parent}/members/{t.id}", None
        raise AssertionError(ch.op)

    def acknowledge(self, ch: Change, body: dict[str, Any] | None) -> None:
        md, now = self.model, time.monotonic()
        self.counts["changes_acknowledged"] += 1
        self.counts[f"ack_{ch.op}"] += 1
        if ch.op.startswith("delete_"):
            assert ch.target is not None
            self.acked_at[ch.target] = now
            md.remove(ch.target)
            return
        assert body is not None
        obj = next(iter(body.values()))
        if ch.op == "create_lb":
            md.objs[obj["id"]] = Obj("loadbalancer", obj["id"], ch.project, obj["id"],
                                     attrs={"admin_state_up": obj["admin_state_up"]})
        elif ch.op == "create_listener":
            md.objs[obj["id"]] = Obj("listener", obj["id"], ch.project, str(ch.target), attrs={
                "connection_limit": obj["connection_limit"], "default_pool_id": None})
        elif ch.op == "create_pool":
            t = md.objs[str(ch.target)]
            md.objs[obj["id"]] = Obj("pool", obj["id"], ch.project, t.id,
                                     attrs={"lb_algorithm": obj["lb_algorithm"]})
            for lst in obj.get("listeners") or []:
                if lst["id"] in md.objs:
                    md.objs[lst["id"]].attrs["default_pool_id"] = obj["id"]
        elif ch.op == "create_member":
            t = md.objs[str(ch.target)]
            md.objs[obj["id"]] = Obj("member", obj["id"], ch.project, t.lb, t.id, attrs={
                "weight": obj["weight"], "address": obj["address"],
                "protocol_port": obj["protocol_port"]})
        elif ch.op == "create_hm":
            t = md.objs[str(ch.target)]
            md.objs[obj["id"]] = Obj("healthmonitor", obj["id"], ch.project, t.lb, t.id,
                                     attrs={"delay": obj["delay"], "type": obj["type"]})
        else:  # update
            t = md.objs[str(ch.target)]
            for k in list(t.attrs):
                if k in obj and k != "default_pool_id":
                    t.attrs[k] = obj[k]
        self.acked_at[obj["id"]] = now

    def attempt(self, ch: Change) -> None:
        req = self.request(ch)
        if req is None:
            self.counts["changes_dropped_target_gone"] += 1
            return
        method, path, body = req
        ch.attempts += 1
        self.counts["api_requests"] += 1
        try:
            resp = self.http.request(method, path, json=body,
                                     headers={"X-Project-Id": ch.project})
        except httpx.HTTPError as e:
            self.counts["api_transport_errors"] += 1
            self.rejected.append({"op": ch.op, "error": repr(e)[:200]})
            return
        if resp.status_code in (200, 201, 202, 204):
            self.acknowledge(ch, resp.json() if resp.content else None)
        elif resp.status_code == 409:
            self.counts["http_409"] += 1
            if ch.attempts < MAX_ATTEMPTS:
                ch.due = time.monotonic() + 0.3 + random.Random(ch.seq + ch.attempts).random()
                self.retry.append(ch)
            else:
                self.counts["changes_given_up_after_409s"] += 1
        else:
            self.counts[f"http_{resp.status_code}"] += 1
            if len(self.rejected) < 50:
                self.rejected.append({"op": ch.op, "status": resp.status_code,
                                      "body": resp.text[:300]})

    def step(self) -> None:
        now = time.monotonic()
        due = [ch for ch in self.retry if ch.due <= now]
        if due:
            ch = min(due, key=lambda x: (x.due, x.seq))
            self.retry.remove(ch)
        else:
            ch = self.choose()
            self.counts["changes_intended"] += 1
        self.attempt(ch)


# --- background: kills and the DB sampler ---------------------------------------------------


class Killer(threading.Thread):
    def __init__(self, c: Cluster, rng: random.Random, every: tuple[float, float],
                 stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.c, self.rng, self.every, self.stop = c, rng, every, stop
        self.kills: list[dict[str, Any]] = []
        self.killed_hosts: set[str] = set()
        self.n = 0
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self.stop.wait(self.rng.uniform(*self.every)):
            alive = sorted(n for n, p in self.c.agents.items() if p.alive)
            if len(alive) < 2:
                continue
            victim = self.rng.choice(alive)
            with self.lock:
                self.killed_hosts.add(victim)
            self.c.agents[victim].kill9()
            self.n += 1
            new = f"r{self.n}"
            self.c.start_agent(new)
            self.kills.append({"t": round(time.monotonic() - self.t0, 1), "killed": victim,
                               "replacement": new})


class Sampler(threading.Thread):
    """Every `every` s: which objects are pending (episodes) and lease epochs/owners."""

    def __init__(self, db: Database, killer: Killer, stop: threading.Event,
                 every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.db, self.killer, self.stop, self.every = db, killer, stop, every
        self.open: dict[str, float] = {}
        self.durations: dict[str, float] = {}        # id -> longest pending episode
        self.epochs: dict[int, tuple[int, str | None]] = {}
        self.instances: dict[str, str] = {}          # instance id -> host
        self.what: dict[str, tuple[str, str]] = {}   # object id -> (kind, project)
        self.failovers = 0                           # lease moved away from a killed agent
        self.other_moves = 0                         # placement, rebalancing handovers
        self.errors = 0

    def sample(self) -> None:
        with self.db.transaction() as s:
            pending = {i: (kind, proj) for kind, t in TABLES.items()
                       for i, proj in s.execute(sa.select(t.id, t.project_id)
                                                .where(t.provisioning_status.like("PENDING_%")))}
            self.what.update(pending)
            leases = s.execute(sa.select(m.PartitionLease.partition_id, m.PartitionLease.epoch,
                                         m.PartitionLease.owner)).all()
            for inst, host in s.execute(sa.select(m.Agent.instance_id, m.Agent.host)):
                self.instances[inst] = host
        now = time.monotonic()
        for oid in pending:
            self.open.setdefault(oid, now)
        for oid in [o for o in self.open if o not in pending]:
            d = now - self.open.pop(oid)
            self.durations[oid] = max(self.durations.get(oid, 0.0), d)
        with self.killer.lock:
            killed = set(self.killer.killed_hosts)
        for pid, epoch, owner in leases:
            prev = self.epochs.get(pid)
            if prev is not None and epoch > prev[0]:
                if prev[1] is not None and self.instances.get(prev[1]) in killed:
                    self.failovers += 1
                else:
                    self.other_moves += 1
            self.epochs[pid] = (epoch, owner)

    def run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                self.sample()
            except Exception:  # a busy DB must not end the soak
                self.errors += 1

    def longest(self) -> dict[str, Any]:
        now = time.monotonic()
        all_d = dict(self.durations)
        for oid, t0 in self.open.items():
            all_d[oid] = max(all_d.get(oid, 0.0), now - t0)
        if not all_d:
            return {"objects": 0}
        worst = max(all_d, key=lambda k: all_d[k])
        vals = sorted(all_d.values())
        kind, project = self.what.get(worst, ("?", "?"))
        return {"objects": len(vals), "max_seconds": round(vals[-1], 2),
                "max_object": f"{kind} {worst} (project {project})",
                "median_seconds": round(statistics.median(vals), 2),
                "p99_seconds": round(vals[min(len(vals) - 1, int(len(vals) * 0.99))], 2),
                "resolution_seconds": self.every}


# --- checks --------------------------------------------------------------------------------


def db_rows(db: Database) -> dict[str, dict[str, Any]]:
    """id -> {kind, status, reason} for every Octavia object in the database."""
    out: dict[str, dict[str, Any]] = {}
    with db.transaction() as s:
        for kind, t in TABLES.items():
            for i, st, reason, proj in s.execute(sa.select(t.id, t.provisioning_status,
                                                           t.status_reason, t.project_id)):
                out[i] = {"kind": kind, "status": st, "reason": reason, "project": proj}
    return out


def behind_partitions(db: Database) -> list[str]:
    with db.transaction() as s:
        return [p for p, in s.execute(sa.select(m.Partition.project_id).where(
            m.Partition.desired_generation > m.Partition.applied_generation))]


def check_acknowledged(model: Model, api: dict[str, dict[str, Any]],
                       rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    lost, wrong, error_without_reason, in_error, delete_not_done = [], [], [], [], []
    for oid, obj in model.objs.items():
        row = rows.get(oid)
        if oid not in api or row is None:
            lost.append(f"{obj.kind} {oid} (project {obj.project})")
            continue
        if row["status"] == "ERROR":
            in_error.append({"kind": obj.kind, "id": oid, "reason": row["reason"]})
            if not row["reason"]:
                error_without_reason.append(f"{obj.kind} {oid}")
            continue
        for a, v in obj.attrs.items():
            if a == "default_pool_id":
                continue
            if api[oid].get(a) != v:
                wrong.append(f"{obj.kind} {oid} {a}: api {api[oid].get(a)!r} != acked {v!r}")
    for oid, kind in model.deleted.items():
        row = rows.get(oid)
        if row is None and oid not in api:
            continue
        if row is not None and row["status"] == "ERROR":
            in_error.append({"kind": kind, "id": oid, "reason": row["reason"], "deleting": True})
            if not row["reason"]:
                error_without_reason.append(f"{kind} {oid}")
            continue
        delete_not_done.append(f"{kind} {oid} ({row['status'] if row else 'api only'})")
    ghosts = sorted(f"{o['kind']} {i}" for i, o in api.items()
                    if i not in model.objs and i not in model.deleted)
    return {"lost": lost, "api_differs_from_ack": wrong,
            "error_without_reason": error_without_reason, "delete_not_done": delete_not_done,
            "objects_in_error": in_error, "unknown_objects": ghosts}


# --- main ----------------------------------------------------------------------------------


@dataclass
class ChaosCluster(Cluster):
    """The harness's cluster; every agent also gets `agent_extra` in its own config file."""

    agent_extra: str = ""

    def start_agent(self, host: str, extra: str = "", name: str | None = None) -> Any:
        return super().start_agent(host, self.agent_extra + extra, name)


def self_test(c: Cluster, must: Expected, may: MayHold) -> dict[str, Any]:
    """Tamper with device 2 after the checks (delete a virtual, change a monitor's interval, add
    a stray pool) and confirm the device comparison reports all three; then let two clients
    write a scratch partition of device 2 in interleaved transactions (reported by
    `overlapping_writers`) and in sequential ones (not reported). Shows the checks can fail.
    Clears device 2's audit log: run it after the checks."""
    dev = device_state(c, 1)
    part = next((p for p in sorted(must) if any(k[0] == "virtual" for k in must[p])
                 and any(k[0] == "monitor" for k in must[p])), None)
    if part is None:
        return {"pass": None, "why": "no partition with a virtual and a monitor"}
    vs = next(k[1] for k in sorted(must[part]) if k[0] == "virtual")
    mon = next(k for k in sorted(must[part]) if k[0] == "monitor")
    kind = dev[part][mon]["kind"].split(":")[3]
    with c.device(1) as d:
        d.delete(f"/mgmt/tm/ltm/virtual/~{part}~{vs}").raise_for_status()
        d.patch(f"/mgmt/tm/ltm/monitor/{kind}/~{part}~{mon[1]}",
                json={"interval": 99}).raise_for_status()
        d.post("/mgmt/tm/ltm/pool", json={"name": f"{PREFIX}_stray", "partition": part}
               ).raise_for_status()
    res = compare_device(device_state(c, 1), must, may)
    seen = {"missing": any(vs in x for x in res["missing"]),
            "orphan": any(f"{PREFIX}_stray" in x for x in res["orphans"]),
            "drift": any(mon[1] in x and "interval" in x for x in res["drift"])}
    # two real writers on device 2, in a scratch partition: interleaved transactions must be
    # reported, sequential ones not (tests/integration/sim/test_control.py does the same)
    scratch = "ChaosSelfTest"
    with c.device(1) as d:
        d.post("/mgmt/tm/auth/partition", json={"name": scratch}).raise_for_status()
        for interleave in (False, True):
            d.delete("/sim/audit").raise_for_status()
            two_writers(d, scratch, interleave)
            r = d.get("/sim/audit", params={"partition": scratch})
            r.raise_for_status()
            found = overlapping_writers(r.json()["items"])
            seen["overlap" if interleave else "no_false_overlap"] = (
                found == [scratch] if interleave else found == [])
    return {"pass": all(seen.values()), "detected": seen, "partition": part}


def make_subnet(c: Cluster) -> str:
    with c.client("admin") as api:
        net = api.post("/v2.0/networks", json={"network": {"name": "public"}}).json()
        sub = api.post("/v2.0/subnets", json={"subnet": {
            "name": "public-subnet", "network_id": net["network"]["id"],
            "cidr": "10.250.0.0/16", "ip_version": 4}}).json()
        return str(sub["subnet"]["id"])


def set_faults(c: Cluster, faults: dict[str, Any] | list[dict[str, Any]] | None) -> None:
    """The same faults on every device, one per device (a list), or none."""
    with c.device(0) as dev:
        for n in range(1, c.devices + 1):
            f = faults[n - 1] if isinstance(faults, list) else faults
            if f:
                dev.put(f"/sim/devices/{n}/faults", json=f).raise_for_status()
            else:
                dev.delete(f"/sim/devices/{n}/faults").raise_for_status()


class FaultTurns(threading.Thread):
    """Short hangs and hangs beyond the agents' request timeout, taking turns on the devices:
    every `every` s the kinds move one device on, each at twice its rate."""

    def __init__(self, c: Cluster, short: dict[str, Any], long: dict[str, Any],
                 stop: threading.Event, every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.c, self.stop, self.every = c, stop, every
        self.kinds = [short, long]
        self.turns = 0
        self.errors = 0

    def apply(self) -> None:
        per_device = [self.kinds[(n + self.turns) % 2] for n in range(self.c.devices)]
        set_faults(self.c, per_device)

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.turns += 1
            try:
                self.apply()
            except httpx.HTTPError:  # the next turn tries again
                self.errors += 1


def unanswered(c: Cluster) -> dict[str, int]:
    """Per device: requests the simulator counted but never answered (stalled by a hang, then
    the connection closed), from its counters."""
    out = {}
    with c.device(0) as dev:
        for n in range(1, c.devices + 1):
            r = dev.get(f"/sim/devices/{n}/counters")
            r.raise_for_status()
            counts = r.json()
            out[f"device{n}"] = counts["methods"].get("total", 0) - sum(
                counts["statuses"].values())
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    kill_rng = random.Random(args.seed * 7919 + 1)
    report: dict[str, Any] = {"benchmark": "chaos", "seed": args.seed, "minutes": args.minutes,
                              "database": (args.db or "sqlite").split(":")[0].split("+")[0],
                              "agents": args.agents, "projects": args.projects,
                              "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                              "nproc": os.cpu_count()}
    faults = {"errorRate": args.error_rate, "errorStatus": 503, "hangRate": args.hang_rate,
              "hangSeconds": args.hang_seconds}
    long_hangs = {**faults, "hangRate": 2 * args.timeout_rate,
                  "hangSeconds": args.timeout_hang_seconds}
    short_hangs = {**faults, "hangRate": 2 * args.hang_rate}
    report["faults"] = {**faults, "timeoutRate": args.timeout_rate,
                        "timeoutHangSeconds": args.timeout_hang_seconds,
                        "agentRequestTimeoutSeconds": args.request_timeout,
                        "scheme": "short and long hangs take turns on the devices every 5 s, "
                                  "each at twice its rate" if args.timeout_rate else
                                  "the same faults on every device throughout"}
    report["settings"] = {"kill_every_seconds": [args.kill_min, args.kill_max],
                          "lease_seconds": args.lease_seconds,
                          "agent_request_timeout_seconds": args.request_timeout,
                          "pause_between_changes_seconds": args.pause,
                          "command": " ".join(["bench/chaos.py", *sys.argv[1:]])}
    stop = threading.Event()
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaos-") as d, contextlib.ExitStack() as stack:
        tmp = Path(d)
        if args.db in KINDS:  # a fresh, throw-away database on that server (tests/databases.py)
            url = stack.enter_context(fresh_database(args.db, tmp))
        else:
            url = args.db or f"sqlite:///{tmp / f'chaos-{uuid.uuid4().hex[:6]}.sqlite'}"
        c = ChaosCluster(tmp, url, devices=2, lease_seconds=args.lease_seconds,
                         heartbeat=args.lease_seconds / 6,
                         extra_conf="max_concurrent_reconciles = 4\nstatus_interval = 5\n")
        c.agent_extra = f"icontrol_connection_timeout = {args.request_timeout}\n"
        db = Database(url)
        killer = Killer(c, kill_rng, (args.kill_min, args.kill_max), stop)
        sampler = Sampler(db, killer, stop)
        turns = FaultTurns(c, short_hangs, long_hangs, stop) if args.timeout_rate else None
        driver: Driver | None = None
        try:
            c.start(agents=[f"a{i}" for i in range(1, args.agents + 1)])
            wait_for(lambda: sum(p.alive for p in c.agents.values()) == args.agents, 30,
                     "agents alive")
            projects = [f"chaos{args.seed}-{i:03d}" for i in range(args.projects)]
            driver = Driver(c, rng, projects, make_subnet(c))
            if turns is not None:
                turns.apply()
                turns.start()
            else:
                set_faults(c, faults)
            sampler.start()
            killer.t0 = time.monotonic()
            killer.start()
            t0 = time.monotonic()
            deadline = t0 + args.minutes * 60
            while time.monotonic() < deadline and driver.counts["api_requests"] < 1_000_000:
                driver.step()
                time.sleep(args.pause)
            storm = time.monotonic() - t0
            stop.set()
            killer.join(60)
            if turns is not None:
                turns.join(30)
            report["requests_unanswered_by_device"] = unanswered(c)
            set_faults(c, None)
            # quiesce: retry the remaining 409'd changes (they belong to the stream), then wait
            q0 = time.monotonic()
            qdeadline = q0 + args.quiesce_timeout
            while driver.retry and time.monotonic() < qdeadline:
                now = time.monotonic()
                due = [ch for ch in driver.retry if ch.due <= now]
                if not due:
                    time.sleep(0.2)
                    continue
                ch = min(due, key=lambda x: (x.due, x.seq))
                driver.retry.remove(ch)
                driver.attempt(ch)
            quiet = False
            last: Any = None
            while time.monotonic() < qdeadline:
                rows = db_rows(db)
                pend = {i: r for i, r in rows.items() if r["status"].startswith("PENDING_")}
                behind = behind_partitions(db)
                last = {"pending": len(pend), "partitions_behind": behind}
                if not pend and not behind:
                    quiet = True
                    break
                time.sleep(0.5)
            quiesce = time.monotonic() - q0
            sampler.sample()
            # --- invariants -------------------------------------------------------------------
            rows = db_rows(db)
            pend = sorted(f"{r['kind']} {i} {r['status']} (project {r['project']})"
                          for i, r in rows.items() if r["status"].startswith("PENDING_"))
            behind = behind_partitions(db)
            inv: dict[str, Any] = {}
            inv["no_pending"] = {"pass": quiet and not pend and not behind,
                                 "pending_objects": pend[:50], "partitions_behind": behind,
                                 "quiesce_seconds": round(quiesce, 1), "last_seen": last}
            with c.client("admin") as http:
                api = api_state(http)
            must, may = expected_device(api)
            devices = {}
            ok = True
            for i in range(c.devices):
                res = compare_device(device_state(c, i), must, may)
                ok = ok and not any(res.values())  # missing, orphans, drift, empty folders
                devices[f"device{i + 1}"] = {k: v[:50] for k, v in res.items()} | {
                    k + "_count": len(v) for k, v in res.items()}
            inv["devices_match_desired"] = {
                "pass": ok, "partitions_checked": len(must), "objects_checked": sum(
                    len(v) for v in must.values()), "objects_in_error_skipped": sum(
                    len(v) for v in may.values()), "devices": devices}
            overlaps, audit_sizes = {}, {}
            writers: set[str] = set()
            complete = True
            for i in range(c.devices):
                audit = c.audit(i)
                audit_sizes[f"device{i + 1}"] = len(audit)
                writers.update(e.get("clientId") or "(none)" for e in audit)
                overlaps[f"device{i + 1}"] = overlapping_writers(audit)
                complete = complete and (not audit or audit[0]["seq"] == 1)  # none dropped
            inv["single_writer"] = {"pass": not any(overlaps.values()) and complete,
                                    "overlapping_partitions": overlaps,
                                    "audit_entries": audit_sizes,
                                    "distinct_writers": len(writers),
                                    "audit_complete": complete}
            ack = check_acknowledged(driver.model, api, rows)
            inv["acknowledged_writes"] = {
                "pass": not (ack["lost"] or ack["api_differs_from_ack"]
                             or ack["error_without_reason"] or ack["delete_not_done"])
                and ok, **{k: v[:50] for k, v in ack.items()},
                "objects_in_error_count": len(ack["objects_in_error"])}
            report["invariants"] = inv
            report["pass"] = all(v["pass"] for v in inv.values())
            if args.self_test:
                report["checker_self_test"] = st = self_test(c, must, may)
                report["pass"] = report["pass"] and st["pass"] is not False
            leases = sampler.epochs
            report["counts"] = {
                **dict(sorted(driver.counts.items())),
                "kills": len(killer.kills),
                "failovers": sampler.failovers,
                "lease_moves_other": sampler.other_moves,
                "lease_epoch_bumps_total": sum(e for e, _ in leases.values()),
                "partitions": len(leases),
                "live_objects_at_end": len(driver.model.objs),
                "sampler_errors": sampler.errors,
            }
            report["pending_time"] = sampler.longest()
            report["kills"] = killer.kills
            report["rejected_sample"] = driver.rejected[:20]
            report["durations"] = {"storm_seconds": round(storm, 1),
                                   "quiesce_seconds": round(quiesce, 1)}
        finally:
            stop.set()
            # No background thread may outlive the cluster (the killer would start a
            # replacement agent after close): join them first, bounded.
            for thread in (killer, sampler, turns):
                if thread is not None and thread.ident is not None:
                    thread.join(60)
            if driver is not None:
                driver.close()
            c.close()
            db.dispose()
            if args.keep_logs:
                keep = Path(args.keep_logs)
                keep.mkdir(parents=True, exist_ok=True)
                for log in tmp.glob("*.log"):
                    (keep / log.name).write_bytes(log.read_bytes())
    report["durations"] = {**report.get("durations", {}),
                           "total_seconds": round(time.monotonic() - t_start, 1)}
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", default=None, help="database URL of an empty database, or sqlite / "
                    "postgresql / mariadb for a fresh one (default: a fresh SQLite file)")
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--projects", type=int, default=20)
    ap.add_argument("--kill-min", type=float, default=3.0, help="seconds between kills, low")
    ap.add_argument("--kill-max", type=float, default=6.0, help="seconds between kills, high")
    ap.add_argument("--error-rate", type=float, default=0.05)
    ap.add_argument("--hang-rate", type=float, default=0.005)
    ap.add_argument("--hang-seconds", type=float, default=2.0)
    ap.add_argument("--timeout-rate", type=float, default=0.002,
                    help="share of device requests that hang longer than the agents' request "
                    "timeout (0: none), at most 0.5")
    ap.add_argument("--timeout-hang-seconds", type=float, default=None,
                    help="how long those hang (default: --request-timeout + 5; must exceed it)")
    ap.add_argument("--request-timeout", type=float, default=10.0,
                    help="agents' icontrol_connection_timeout")
    ap.add_argument("--lease-seconds", type=float, default=3.0)
    ap.add_argument("--pause", type=float, default=0.02, help="sleep between API changes")
    ap.add_argument("--quiesce-timeout", type=float, default=180.0)
    ap.add_argument("--self-test", action="store_true",
                    help="after the checks, tamper with device 2 and confirm they catch it")
    ap.add_argument("--keep-logs", default=None, help="copy process logs to this directory")
    ap.add_argument("--output", default=None, help="also write the JSON to this file")
    args = ap.parse_args()
    if args.agents < 2:
        ap.error("--agents must be at least 2")
    if args.timeout_hang_seconds is None:
        args.timeout_hang_seconds = args.request_timeout + 5
    if args.timeout_hang_seconds <= args.request_timeout:
        ap.error("--timeout-hang-seconds must exceed --request-timeout")
    for name in ("hang_rate", "timeout_rate"):
        if not 0 <= getattr(args, name) <= 0.5:  # taking turns doubles the rate on a device
            ap.error(f"--{name.replace('_', '-')} must be between 0 and 0.5")
    report = run(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0 if report.get("pass") else 1


if __name__ == "__main__":
    sys.exit(main())
