"""Supervision of the agent's loops: a loop that crashes is logged with its traceback, counted,
and restarted after a bounded backoff; one that keeps crashing stops the agent, which then
releases its leases (never a heartbeat that renews leases for an agent whose work is dead).

Must not: catch expected trouble (database or device errors): each loop handles its own; what
reaches here is a bug.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bigip_lbaas.agent import metrics

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestartPolicy:
    """Restart after ``first_delay`` doubling up to ``max_delay``; stop the agent at the
    ``max_crashes``-th crash within ``window`` seconds."""

    first_delay: float = 0.5
    max_delay: float = 4.0
    max_crashes: int = 3
    window: float = 60.0


async def supervise(
    name: str,
    loop: Callable[[], Awaitable[None]],
    stopping: asyncio.Event,
    policy: RestartPolicy | None = None,
) -> bool:
    """Run ``loop`` until ``stopping`` is set; restart it when it crashes (see RestartPolicy).
    A loop that returns while the agent is not stopping counts as a crash. Returns True when
    it gave up (and set ``stopping``)."""
    policy = policy or RestartPolicy()
    crashes: list[float] = []
    delay = policy.first_delay
    while not stopping.is_set():
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            LOG.exception("agent loop crashed", extra={"action": "loop_crash", "loop": name})
        else:
            if stopping.is_set():
                return False
            LOG.error("agent loop ended", extra={"action": "loop_crash", "loop": name})
        metrics.LOOP_CRASHES.labels(name).inc()
        now = time.monotonic()
        crashes = [t for t in crashes if now - t < policy.window] + [now]
        if len(crashes) >= policy.max_crashes:
            LOG.error(
                "agent loop keeps crashing; stopping the agent",
                extra={"action": "stop", "loop": name, "crashes": len(crashes)},
            )
            stopping.set()
            return True
        LOG.warning("restarting agent loop",
                    extra={"action": "loop_restart", "loop": name, "after": delay})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=delay)
        delay = min(policy.max_delay, delay * 2)
    return False
