"""Work that cannot finish: environments no live agent serves (M11).

An environment is served while one of its agents is alive (a heartbeat within one lease period,
not stopped) and admin up (a drained agent hands its partitions away). The API refuses new work
for an environment that is not (`is_served`); work accepted while agents were alive, whose
environment has then had none for longer than `[bigip_lbaas] unserved_timeout`, ends in ERROR
with that reason (`sweep`), instead of staying PENDING forever. Nothing here needs an agent of
that environment: the API process runs the sweep, since no agent of another environment may
touch this one's partitions, and none of this one's is alive.

Every judgement uses the database clock, as liveness does everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.db import models as m
from bigip_lbaas.db.desired import load_many_in
from bigip_lbaas.db.outcomes import _advance, _finish, _terminal_groups
from bigip_lbaas.db.session import Database, session_now


@dataclass(frozen=True)
class Environment:
    """How one environment stands: its serving agents, and the work waiting in it."""

    name: str
    live_agents: int
    # Seconds since an agent last served it (None: served now, or never had an agent).
    unserved_for: float | None
    pending_partitions: int

    @property
    def served(self) -> bool:
        return self.live_agents > 0


def _serving(now: sa.ColumnElement[float] | float, lease_seconds: float) -> sa.ColumnElement[bool]:
    return sa.and_(m.Agent.alive_where(now, lease_seconds), m.Agent.admin_state_up.is_(True))


def is_served(session: Session, environment: str, lease_seconds: float) -> bool:
    """Whether a live, admin-up agent of `environment` exists now."""
    return bool(session.scalar(sa.select(sa.exists().where(
        m.Agent.environment == environment, _serving(session_now(session), lease_seconds)))))


def is_partition_served(session: Session, partition_id: int, lease_seconds: float) -> str | None:
    """None when the partition's environment is served, else the environment's name."""
    environment = session.scalar(sa.select(m.Partition.environment)
                                 .where(m.Partition.id == partition_id))
    if environment is None or is_served(session, environment, lease_seconds):
        return None
    return str(environment)


def environments(session: Session, lease_seconds: float) -> list[Environment]:
    """Every environment that has agents or partitions, with how it stands."""
    now = float(session.scalar(sa.select(session_now(session))) or 0.0)
    live = dict(session.execute(
        sa.select(m.Agent.environment, sa.func.count())
        .where(_serving(now, lease_seconds)).group_by(m.Agent.environment)).tuples().all())
    # The last heartbeat of an admin-up agent: it served until one lease period after it.
    last = dict(session.execute(
        sa.select(m.Agent.environment, sa.func.max(m.Agent.heartbeat_at))
        .where(m.Agent.admin_state_up.is_(True)).group_by(m.Agent.environment)).tuples().all())
    pending = dict(session.execute(
        sa.select(m.Partition.environment, sa.func.count())
        .where(m.Partition.desired_generation > m.Partition.applied_generation)
        .group_by(m.Partition.environment)).tuples().all())
    known = dict.fromkeys(session.scalars(sa.select(m.Agent.environment).distinct()))
    known.update(dict.fromkeys(session.scalars(sa.select(m.Partition.environment).distinct())))
    out = []
    for name in sorted(known):
        count = int(live.get(name, 0))
        seen = last.get(name)
        unserved_for = None if count or seen is None else max(0.0, now - (seen + lease_seconds))
        out.append(Environment(str(name), count, unserved_for, int(pending.get(name, 0))))
    return out


@dataclass(frozen=True)
class Ended:
    """A partition whose waiting work the sweep ended in ERROR."""

    environment: str
    project_id: str
    objects: int
    reason: str


def reason_for(environment: str, timeout: float) -> str:
    return (f"No live agent of environment {environment} for more than {timeout:g} s "
            "([bigip_lbaas] unserved_timeout): the change was not applied to any device.")


def sweep(db: Database, lease_seconds: float, timeout: float) -> list[Ended]:
    """End in ERROR the pending work of every partition whose environment has had no serving
    agent, and whose oldest change has waited, for longer than `timeout`; the partition records
    the reason as its last error and counts the work as given up, as an agent does when its
    retries run out. A partition under a valid lease is left to its owner. Idempotent: several
    API processes may sweep at once."""

    def work(session: Session) -> list[Ended]:
        now = float(session.scalar(sa.select(session_now(session))) or 0.0)
        waiting = session.execute(
            sa.select(m.Partition.id, m.Partition.environment, m.Partition.project_id,
                      m.Partition.pending_since)
            .join(m.PartitionLease, m.PartitionLease.partition_id == m.Partition.id)
            .where(m.Partition.desired_generation > m.Partition.applied_generation,
                   m.PartitionLease.free_where(now))).all()
        if not waiting:
            return []
        envs = {e.name: e for e in environments(session, lease_seconds)}
        due: dict[int, tuple[str, str]] = {}
        for pid, env, project, since in waiting:
            state = envs.get(env)
            if state is None or state.served:
                continue
            # Unserved since the later of the last serving heartbeat and the change itself.
            waited = now - since if since is not None else 0.0
            if state.unserved_for is not None:
                waited = min(waited, state.unserved_for)
            if waited > timeout:
                due[pid] = (env, project)
        if not due:
            return []
        snaps = load_many_in(session, list(due))
        ended: list[Ended] = []
        groups: dict[tuple[str, str, str | None], list[str]] = {}
        advancing: dict[tuple[int, str], list[int]] = {}
        for pid, snap in snaps.items():
            env, project = due[pid]
            reason = reason_for(env, timeout)
            failed = {p.id: reason for p in snap.pending}
            for group, ids in _terminal_groups(snap.pending, failed).items():
                groups.setdefault(group, []).extend(ids)
            advancing.setdefault((snap.generation, reason), []).append(pid)
            ended.append(Ended(env, project, len(snap.pending), reason))
        _finish(session, groups)
        for (generation, reason), pids in advancing.items():
            _advance(session, pids, generation, reason)
        return ended

    return list(db.run(work))
