"""One reconcile: make every device of the cluster hold one partition's desired state, and say
what that came to.

``reconcile(held, snap, fleet, ...) -> Outcome`` renders the snapshot once, converges every
device separately and concurrently (a device that is down is skipped and recorded as behind; it
never blocks the others), and decides the outcome with ``agent.decide``. Level-triggered and
idempotent: re-running it after a crash is always safe.

Raises LeaseLost (from ``guard``: stop, the new owner redoes the work); returns an Outcome for
everything the devices did. The caller writes the outcome to the database (``db.outcomes``),
logs it and counts it, once (``agent.loop``).

Must not: talk to the database; log outcomes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bigip_lbaas.agent import certificates, metrics
from bigip_lbaas.agent.decide import Decision, DeviceResult, decide
from bigip_lbaas.agent.fleet import Device, Fleet
from bigip_lbaas.core.certs import CertificateSource
from bigip_lbaas.core.errors import DeviceError, DeviceUnreachable
from bigip_lbaas.core.network import NetworkSettings, PartitionNetwork
from bigip_lbaas.db.desired import Snapshot
from bigip_lbaas.db.leases import Held
from bigip_lbaas.db.outcomes import Finished
from bigip_lbaas.device.apply import Guard
from bigip_lbaas.engine import tls
from bigip_lbaas.engine.config import Rendered
from bigip_lbaas.engine.render import render


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5  # device refusals before giving up
    pending_timeout: float = 60.0  # seconds of no device reachable before giving up


@dataclass(frozen=True)
class Outcome:
    held: Held
    snap: Snapshot
    decision: Decision
    results: tuple[DeviceResult, ...]

    @property
    def kind(self) -> str:
        """applied | applied_with_errors | retry | gave_up (the metric's label)."""
        if self.decision.applied:
            return "applied_with_errors" if self.decision.failures else "applied"
        return "gave_up" if self.decision.give_up else "retry"

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.results)

    def to_record(self) -> Finished:
        """What ``db.outcomes.record`` writes for it."""
        d = self.decision
        if d.applied:
            return Finished(self.held, self.snap, d.devices, d.failures)
        return Finished(
            self.held, self.snap, d.devices, error=d.reason or "unknown", give_up=d.give_up
        )


async def reconcile(
    held: Held,
    snap: Snapshot,
    fleet: Fleet,
    *,
    prefix: str,
    guard: Guard,
    attempts: int = 0,
    failing_for: float = 0.0,
    policy: RetryPolicy | None = None,
    full: bool = True,
    certs: CertificateSource | None = None,
    network: PartitionNetwork | None = None,
    net_settings: NetworkSettings | None = None,
) -> Outcome:
    """Converge every device of ``fleet`` onto ``snap`` under ``held``'s lease.

    ``attempts`` counts the failed attempts before this one and ``failing_for`` how long they
    have been failing (for backoff and giving up); ``full`` reads every device afresh instead of
    trusting what this owner last saw it hold under this epoch (take-over, device return,
    anti-entropy); ``certs``: where the TLS secrets the partition names are fetched from (for
    this reconcile only: the decrypted keys live in its ``Rendered`` and nowhere else);
    ``network``: in L2/L3 mode, the partition's networking as ``network.prepare`` gathered it
    (route domains, segments, self IPs, SNAT) with the operator's ``net_settings``."""
    secrets = tls.NO_SECRETS
    if tls.wanted(snap.state) != tls.Wanted():
        secrets = await asyncio.to_thread(certificates.fetch, certs, snap.state)
    rendered = render(snap.state, prefix, secrets=secrets, network=network,
                      settings=net_settings if network is not None else None,
                      devices=tuple(d.name for d in fleet.devices))
    del secrets
    results = await asyncio.gather(
        *(on_device(fleet, d, held, rendered, guard, full) for d in fleet.devices)
    )
    policy = policy or RetryPolicy()
    decision = decide(
        results,
        attempts=attempts + 1,
        failing_for=failing_for,
        max_retries=policy.max_retries,
        pending_timeout=policy.pending_timeout,
    )
    guard()  # still ours: the outcome may be written
    return Outcome(held, snap, decision, tuple(results))


async def on_device(
    fleet: Fleet, device: Device, held: Held, rendered: Rendered, guard: Guard, full: bool
) -> DeviceResult:
    """Converge one device; what it came to, as ``decide`` reads it. A device that is down is
    not tried and the partition is recorded as behind on it."""
    name = device.name
    pid = held.partition_id
    if not fleet.up[name]:
        fleet.missed(name, pid)
        return DeviceResult(name, ok=False, unreachable=True, error=f"{name}: {fleet.error[name]}")
    known = fleet.take_known(name, held)
    try:
        result = await device.converge(rendered.for_device(name), guard, None if full else known)
    except DeviceUnreachable as err:
        fleet.missed(name, pid)
        fleet.mark_down(name, str(err))
        metrics.DEVICE_ERRORS.labels(name, "unreachable").inc()
        return DeviceResult(name, ok=False, unreachable=True, error=str(err))
    except DeviceError as err:
        metrics.DEVICE_ERRORS.labels(name, "rejected").inc()
        return DeviceResult(name, ok=False, error=str(err))
    fleet.remember(name, held, result.observed)
    if result.refused is not None:
        metrics.DEVICE_ERRORS.labels(name, "rejected").inc()
        return DeviceResult(name, ok=False, error=result.refused, writes=result.writes)
    fleet.caught_up(name, pid)
    return DeviceResult(name, ok=True, failures=result.failures, writes=result.writes)
