"""The agent's single entry to make one device hold one partition's desired state.

observe → diff → apply, with zero writes when nothing differs. If the device rejects the
transaction, nothing of it was applied; the offending Octavia object is reported and held as it is,
and the rest is retried without it (bounded), so one bad object does not block its neighbours.

With ``cache_token`` (the agent passes its lease epoch) the observed state is remembered per device
and partition after every successful converge and reused on the next converge under the same
token, which skips the observe reads. The memo is dropped on any failure, whenever the device is
unreachable, and whenever the token changes (another owner may have written meanwhile). Pass
``fresh=True`` (take-over, device return, anti-entropy) to read the device whatever is remembered;
what it read is remembered under the token all the same. Only the CACHE_PARTITIONS partitions
converged most recently are remembered per device (a partition's state is ~50 KB at 10 load
balancers; 1,000 of them would be 50 MB); an older one is read afresh.

Must not: decide retries across devices or write status to the database (the agent does that).
"""

from __future__ import annotations

from dataclasses import dataclass

from bigip_lbaas.core.model import PartitionState
from bigip_lbaas.device.apply import ApplyFailed, Guard, apply
from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.observe import observe
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import (
    DeviceConfig,
    DeviceObject,
    Kind,
    ObjectFailure,
    ObjKey,
    Rendered,
)
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.plan import Action, Plan
from bigip_lbaas.engine.render import DEFAULT_TRAFFIC_GROUP, render

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class ConvergeResult:
    device: str
    partition: str
    writes: int  # write requests sent (0 when the device already matched)
    ops: int  # object operations applied
    failures: tuple[ObjectFailure, ...] = ()
    from_cache: bool = False  # the observe reads were skipped

    @property
    def ok(self) -> bool:
        return not self.failures


CACHE_PARTITIONS = 256
"""Partitions whose observed state one device client remembers (the most recently converged)."""


def _remember(client: BigipClient, key: str, entry: tuple[object, DeviceConfig]) -> None:
    """Remember ``entry`` as the newest; forget the oldest beyond CACHE_PARTITIONS (a dict keeps
    insertion order, and a converge pops its key before it puts it back)."""
    client.cache[key] = entry
    while len(client.cache) > CACHE_PARTITIONS:
        del client.cache[next(iter(client.cache))]


def _cache_key(partition: str) -> str:
    return f"converge:{partition}"


def _owned_keys(rendered: Rendered, owner: str) -> set[ObjKey]:
    return {k for k, o in rendered.config.objects.items() if o.owner == owner}


def _after(observed: DeviceConfig, plan: Plan) -> DeviceConfig:
    """What the device holds once ``plan`` succeeded, including the nodes it creates for members."""
    objs: dict[ObjKey, DeviceObject] = dict(observed.objects)
    for op in plan.ops:
        if op.action is Action.DELETE:
            objs.pop((op.kind, op.name), None)
        else:
            objs[(op.kind, op.name)] = DeviceObject(op.kind, op.name, op.body, op.owner)
    for obj in list(objs.values()):
        if obj.kind is Kind.POOL:
            for m in obj.body.get("members", []):
                addr = str(m.get("address", ""))
                objs.setdefault((Kind.NODE, addr), DeviceObject(Kind.NODE, addr, {"address": addr}))
    return DeviceConfig(observed.partition, objs)


def _dependents(
    rendered: Rendered, observed: DeviceConfig, hold: set[ObjKey], part: str
) -> list[ObjectFailure]:
    """Hold (in place) every desired object that references a held object the device lacks."""
    added: list[ObjectFailure] = []
    changed = True
    while changed:
        changed = False
        missing = {
            names.full_path(part, n): (k, n)
            for (k, n) in hold
            if (k, n) in rendered.config.objects and (k, n) not in observed.objects
        }
        for key, obj in rendered.config.objects.items():
            if key in hold:
                continue
            refs = [p for p in missing if _references(obj.body, p)]
            if refs:
                hold |= {k for k, o in rendered.config.objects.items() if o.owner == obj.owner}
                hold.add(key)
                if obj.owner:
                    added.append(ObjectFailure(obj.owner, f"depends on {refs[0]}, which failed"))
                changed = True
    return added


def _references(body: object, path: str) -> bool:
    if isinstance(body, str):
        return path in body.split()
    if isinstance(body, dict):
        return any(_references(v, path) for v in body.values())
    if isinstance(body, list | tuple):
        return any(_references(v, path) for v in body)
    return False


async def converge(
    client: BigipClient,
    state: PartitionState,
    prefix: str,
    guard: Guard | None = None,
    *,
    traffic_group: str = DEFAULT_TRAFFIC_GROUP,
    cache_token: object | None = None,
    fresh: bool = False,
) -> ConvergeResult:
    """Make ``client``'s device hold ``state``. Raises DeviceUnreachable (fast; try later) and
    LeaseLost (from ``guard``); every other outcome is in the result."""
    rendered = render(state, prefix, traffic_group=traffic_group)
    part = names.partition(prefix, state.key.project_id)
    key = _cache_key(part)
    cached = client.cache.pop(key, None)
    from_cache = False
    if not fresh and cache_token is not None and cached is not None and cached[0] == cache_token:
        observed: DeviceConfig = cached[1]
        from_cache = True
    else:
        observed = await observe(client, part)
    failures = list(rendered.failures)
    hold = set(rendered.hold)
    writes = 0
    ops = 0
    for _ in range(MAX_ATTEMPTS):
        current = Rendered(rendered.config, rendered.failures, frozenset(hold))
        plan = diff(current, observed, prefix)
        if plan.empty:
            break
        try:
            writes += await apply(client, plan, guard)
        except ApplyFailed as exc:
            writes += exc.writes
            culprit = exc.culprit
            owner = culprit.owner if culprit is not None else None
            failures.append(ObjectFailure(owner or part, exc.reason))
            if owner is None or not _owned_keys(rendered, owner):
                break
            hold |= _owned_keys(rendered, owner)
            failures += _dependents(rendered, observed, hold, part)
            observed = await observe(client, part)  # a folder apply created is gone again
            from_cache = False
            continue
        ops += len(plan.ops)
        observed = _after(observed, plan)
        break
    if cache_token is not None and not failures:
        _remember(client, key, (cache_token, observed))
    return ConvergeResult(client.name, part, writes, ops, tuple(failures), from_cache)
