"""Octavia operating status and listener stats from what a device reports. Pure.

Input: member monitor states (from the pool collection, ``state`` = up | down | unchecked | …) and
virtual counters (from the virtual stats collection). Output: an operating status per Octavia object
id and stats per listener id.

Rules (Octavia's meaning):
- member: admin down (or its pool admin down) → OFFLINE; pool unmonitored → NO_MONITOR; monitor up →
  ONLINE (DRAINING with weight 0); down → ERROR; never probed yet → NO_MONITOR; absent on the device
  → ERROR.
- pool: admin down → OFFLINE; all monitored members ERROR → ERROR; some → DEGRADED; else ONLINE.
- health monitor: enabled → ONLINE, disabled → OFFLINE.
- listener: admin down → OFFLINE; a virtual missing on the device → ERROR; at its connection
  limit → DEGRADED; else ONLINE. A listener has one virtual per VIP address of its load balancer
  (``render.listener_virtuals``); its counters and stats are the sums over them.
- load balancer: admin down → OFFLINE; any pool ERROR → ERROR (Octavia: a pool DOWN makes its load
  balancer ERROR); else any listener ERROR/DEGRADED or pool DEGRADED → DEGRADED (a member DOWN makes
  its pool and load balancer DEGRADED); else ONLINE.

A load balancer with work pending (any of its objects PENDING_*) is left out of a status pass
(``settled``): the device may not hold its new objects yet, and a pass that read the device
before the change was applied must not write ERROR over the statuses the change sets when it
turns ACTIVE; the next pass reads it.

Must not: do I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from bigip_lbaas.core.model import Listener, LoadBalancer, PartitionState, Pool
from bigip_lbaas.core.status import Oper
from bigip_lbaas.engine import names
from bigip_lbaas.engine.render import listener_virtuals

# The virtual server counters the statuses and stats are made of (all a collector need keep).
BITS_IN, BITS_OUT = "clientside.bitsIn", "clientside.bitsOut"
CUR_CONNS, TOT_CONNS = "clientside.curConns", "clientside.totConns"
COUNTERS = frozenset({BITS_IN, BITS_OUT, CUR_CONNS, TOT_CONNS})


@dataclass(frozen=True)
class ListenerStats:
    bytes_in: int = 0
    bytes_out: int = 0
    active_connections: int = 0
    total_connections: int = 0
    request_errors: int = 0


@dataclass(frozen=True)
class PartitionStatus:
    """Operating statuses and listener stats of one partition (kinds as in ``db.desired.MODELS``)."""

    # (kind, Octavia id) → status; kind is load_balancer | listener | pool | member | health_monitor
    operating: Mapping[tuple[str, str], Oper] = field(default_factory=dict)
    # listener id → (load balancer id, stats)
    listeners: Mapping[str, tuple[str, ListenerStats]] = field(default_factory=dict)

    def of(self, object_id: str) -> Oper | None:
        return next((s for (_, i), s in self.operating.items() if i == object_id), None)


@dataclass(frozen=True)
class DeviceHealth:
    """What the device said, keyed by device names."""

    member_states: Mapping[str, Mapping[str, str]]  # pool name → member name → state
    virtual_counters: Mapping[str, Mapping[str, int]]  # virtual name → counter → value


def _member_status(
    pool: Pool, monitored: bool, states: Mapping[str, str] | None
) -> dict[str, Oper]:
    out: dict[str, Oper] = {}
    for m in pool.members:
        name = names.member(m.address, m.protocol_port)
        state = None if states is None else states.get(name)
        if not (m.enabled and pool.enabled):
            out[m.id] = Oper.OFFLINE
        elif state is None:
            out[m.id] = Oper.ERROR
        elif not monitored:
            out[m.id] = Oper.NO_MONITOR
        elif state == "up":
            out[m.id] = Oper.DRAINING if m.weight == 0 else Oper.ONLINE
        elif state in ("down", "offline"):
            out[m.id] = Oper.ERROR
        else:
            out[m.id] = Oper.NO_MONITOR
    return out


def _pool_status(pool: Pool, members: Mapping[str, Oper], in_use: bool) -> Oper:
    if not (pool.enabled and in_use):
        return Oper.OFFLINE
    live = [members[m.id] for m in pool.members if m.enabled]
    errors = sum(1 for s in live if s is Oper.ERROR)
    if live and errors == len(live):
        return Oper.ERROR
    if errors:
        return Oper.DEGRADED
    return Oper.ONLINE


def _lb_status(
    lb: LoadBalancer,
    health: DeviceHealth,
    prefix: str,
    out: dict[str, Oper],
    stats: dict[str, tuple[str, ListenerStats]],
) -> None:
    # Octavia shows a pool no listener sends traffic to as OFFLINE (core/status.py).
    used = {lst.default_pool_id for lst in lb.listeners} | {
        pol.redirect_pool_id for lst in lb.listeners for pol in lst.l7policies
    }
    for pool in lb.pools:
        hm = pool.health_monitor
        monitored = hm is not None and hm.enabled
        if hm is not None:
            out[hm.id] = Oper.ONLINE if hm.enabled else Oper.OFFLINE
        states = health.member_states.get(names.pool(prefix, pool.id))
        members = _member_status(pool, monitored, states)
        out.update(members)
        out[pool.id] = _pool_status(pool, members, pool.id in used)
    for lst in lb.listeners:
        counters, complete = _listener_counters(lb, lst, prefix, health)
        stats[lst.id] = (lb.id, listener_stats(counters))
        if not (lst.enabled and lb.enabled):
            out[lst.id] = Oper.OFFLINE
        elif not complete:
            out[lst.id] = Oper.ERROR
        elif (
            lst.connection_limit > 0
            and counters.get(CUR_CONNS, 0) >= lst.connection_limit
        ):
            out[lst.id] = Oper.DEGRADED
        else:
            out[lst.id] = Oper.ONLINE
    children = [out[x.id] for x in lb.listeners] + [out[p.id] for p in lb.pools]
    if not lb.enabled:
        out[lb.id] = Oper.OFFLINE
    elif any(out[p.id] is Oper.ERROR for p in lb.pools):
        out[lb.id] = Oper.ERROR
    elif any(s in (Oper.ERROR, Oper.DEGRADED) for s in children):
        out[lb.id] = Oper.DEGRADED
    else:
        out[lb.id] = Oper.ONLINE


def _listener_counters(
    lb: LoadBalancer, lst: Listener, prefix: str, health: DeviceHealth
) -> tuple[dict[str, int], bool]:
    """The counters of the listener's virtual servers (one per VIP address) summed, and whether
    all of them (at least one) are on the device."""
    virtuals = listener_virtuals(prefix, lb, lst)
    total: dict[str, int] = {}
    complete = bool(virtuals)
    for name, _, _ in virtuals:
        counters = health.virtual_counters.get(name)
        if counters is None:
            complete = False
            continue
        for key, value in counters.items():
            total[key] = total.get(key, 0) + value
    return total, complete


def listener_stats(counters: Mapping[str, int]) -> ListenerStats:
    return ListenerStats(
        bytes_in=counters.get(BITS_IN, 0) // 8,
        bytes_out=counters.get(BITS_OUT, 0) // 8,
        active_connections=counters.get(CUR_CONNS, 0),
        total_connections=counters.get(TOT_CONNS, 0),
        # BIG-IP keeps no per-virtual HTTP error counter without an extra profile; always 0.
        request_errors=0,
    )


def _kinds(lb: LoadBalancer) -> dict[str, str]:
    kinds = {lb.id: "load_balancer"}
    kinds.update({x.id: "listener" for x in lb.listeners})
    for p in lb.pools:
        kinds[p.id] = "pool"
        kinds.update({m.id: "member" for m in p.members})
        if p.health_monitor is not None:
            kinds[p.health_monitor.id] = "health_monitor"
    return kinds


def settled(state: PartitionState, busy: Collection[str]) -> PartitionState:
    """The partition's desired state without the load balancers in ``busy`` (those with work
    pending): what a status pass may judge from the device."""
    if not busy:
        return state
    return replace(state, load_balancers=tuple(
        lb for lb in state.load_balancers if lb.id not in busy))


def partition_status(state: PartitionState, prefix: str, health: DeviceHealth) -> PartitionStatus:
    operating: dict[tuple[str, str], Oper] = {}
    stats: dict[str, tuple[str, ListenerStats]] = {}
    for lb in state.load_balancers:
        by_id: dict[str, Oper] = {}
        _lb_status(lb, health, prefix, by_id, stats)
        kinds = _kinds(lb)
        operating.update({(kinds[i], i): s for i, s in by_id.items()})
    return PartitionStatus(operating, stats)
