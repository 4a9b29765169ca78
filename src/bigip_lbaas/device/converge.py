"""Make one device hold one partition's rendered configuration: observe → diff → apply.

Zero writes when nothing differs. If the device rejects the transaction, nothing of it was
applied; the offending Octavia object is reported and held as it is, and the rest is retried
without it (bounded), so one bad object does not block its neighbours. A rejection the device
does not pin on any object of ours is reported as such (``refused``), never as an object's.

``known`` is what the caller remembers this device holding for the partition (the agent keeps
that per lease epoch, see ``agent.work``); when given, the observe reads are skipped. The result
says what the device holds afterwards (``observed``) whenever that is certain, for the caller to
remember.

Must not: render (the caller renders once for every device), remember anything between calls,
decide retries across devices or write status to the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from bigip_lbaas.core.model import PartitionState
from bigip_lbaas.device.apply import ApplyFailed, Guard, apply
from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.observe import observe
from bigip_lbaas.engine.config import DeviceConfig, ObjectFailure, ObjKey, Rendered
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.holds import after, hold_dependents, owned_keys
from bigip_lbaas.engine.render import DEFAULT_TRAFFIC_GROUP, render

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class ConvergeResult:
    device: str
    partition: str
    writes: int  # write requests sent (0 when the device already matched)
    ops: int  # object operations applied
    failures: tuple[ObjectFailure, ...] = ()
    from_cache: bool = False  # the observe reads were skipped (``known`` was used)
    # The device's own message when it rejected the change without naming an object of ours.
    refused: str | None = None
    # What the device holds now, when certain (no failure): for the caller to remember.
    observed: DeviceConfig | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.refused is None


async def converge(
    client: BigipClient,
    desired: PartitionState | Rendered,
    prefix: str,
    guard: Guard | None = None,
    *,
    known: DeviceConfig | None = None,
    traffic_group: str = DEFAULT_TRAFFIC_GROUP,
) -> ConvergeResult:
    """Make ``client``'s device hold ``desired`` (rendered here if given as a PartitionState).
    Raises DeviceUnreachable (fast; try later) and LeaseLost (from ``guard``); every other
    outcome is in the result."""
    rendered = (
        render(desired, prefix, traffic_group=traffic_group)
        if isinstance(desired, PartitionState)
        else desired
    )
    part = rendered.config.partition
    from_cache = known is not None
    wanted = {k[0] for k in rendered.config.objects}
    observed = known if known is not None else await observe(client, part, wanted=wanted, network=rendered.network)
    failures = list(rendered.failures)
    hold: set[ObjKey] = set(rendered.hold)
    writes = 0
    ops = 0
    refused: str | None = None
    for _ in range(MAX_ATTEMPTS):
        current = Rendered(rendered.config, rendered.failures, frozenset(hold),
                           network=rendered.network)
        plan = diff(current, observed, prefix)
        if plan.empty:
            break
        try:
            writes += await apply(client, plan, guard, rendered.files)
        except ApplyFailed as exc:
            writes += exc.writes
            owner = exc.culprit.owner if exc.culprit is not None else None
            if owner is None:
                refused = str(exc)
                break
            failures.append(ObjectFailure(owner, exc.reason))
            if not owned_keys(rendered, owner):
                break
            hold |= owned_keys(rendered, owner)
            failures += hold_dependents(rendered, observed, hold)
            observed = await observe(client, part, wanted=wanted, network=rendered.network)  # a created folder is gone again
            from_cache = False
            continue
        ops += len(plan.ops)
        observed = after(observed, plan)
        break
    certain = not failures and refused is None
    return ConvergeResult(
        client.name, part, writes, ops, tuple(failures), from_cache, refused,
        observed if certain else None,
    )
