"""What to do with the results of one reconcile attempt: pure, so every outcome rule is testable.

Mirrors controller-runtime's single switch: applied (with per-object failures), retry after a
delay, or give up and report ERROR. A device that is down never blocks the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bigip_lbaas.db.outcomes import DeviceProgress
from bigip_lbaas.engine.config import ObjectFailure


@dataclass(frozen=True)
class DeviceResult:
    device: str
    ok: bool
    unreachable: bool = False
    error: str | None = None
    failures: tuple[ObjectFailure, ...] = ()
    writes: int = 0


@dataclass(frozen=True)
class Decision:
    """applied: record success; otherwise retry after `delay`, or give up with `reason`."""

    applied: bool
    give_up: bool = False
    delay: float | None = None
    reason: str | None = None
    failures: tuple[ObjectFailure, ...] = ()
    devices: tuple[DeviceProgress, ...] = field(default=())


def backoff(attempts: int, base: float = 0.5, cap: float = 30.0) -> float:
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


def decide(
    results: Sequence[DeviceResult],
    *,
    attempts: int,
    failing_for: float,
    max_retries: int,
    pending_timeout: float,
) -> Decision:
    """`attempts` counts this one; `failing_for` is how long this partition has been failing."""
    progress = tuple(DeviceProgress(r.device, r.ok, r.error) for r in results)
    rejected = [r for r in results if not r.ok and not r.unreachable]
    succeeded = [r for r in results if r.ok]
    if succeeded and not rejected:
        failures: dict[str, ObjectFailure] = {}
        for r in succeeded:
            for f in r.failures:
                failures.setdefault(f.object_id, f)
        return Decision(applied=True, failures=tuple(failures.values()), devices=progress)
    if rejected:
        reason = "; ".join(f"{r.error}" for r in rejected)
        out_of_tries = attempts >= max_retries
    else:
        reason = (
            "no device reachable: " + "; ".join(f"{r.error}" for r in results)
            if results
            else "no devices configured"
        )
        out_of_tries = failing_for >= pending_timeout
    if out_of_tries:
        return Decision(applied=False, give_up=True, reason=reason, devices=progress)
    return Decision(applied=False, delay=backoff(attempts), reason=reason, devices=progress)
