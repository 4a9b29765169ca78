"""Provisioning and operating statuses, and the rule that says which changes a status allows.

Pure: the API and the agents both consult these tables; nothing here touches a database.
"""

from __future__ import annotations

from enum import StrEnum


class Prov(StrEnum):
    """Octavia's provisioning_status values that this product uses."""

    ACTIVE = "ACTIVE"
    PENDING_CREATE = "PENDING_CREATE"
    PENDING_UPDATE = "PENDING_UPDATE"
    PENDING_DELETE = "PENDING_DELETE"
    DELETED = "DELETED"
    ERROR = "ERROR"


class Oper(StrEnum):
    """Octavia's operating_status values."""

    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    DEGRADED = "DEGRADED"
    ERROR = "ERROR"
    DRAINING = "DRAINING"
    NO_MONITOR = "NO_MONITOR"


PENDING = frozenset({Prov.PENDING_CREATE, Prov.PENDING_UPDATE, Prov.PENDING_DELETE})
# Octavia's MUTABLE_STATUSES and DELETABLE_STATUSES: an update (or a create below the object)
# needs the first, a delete the second.
MUTABLE = frozenset({Prov.ACTIVE})
DELETABLE = frozenset({Prov.ACTIVE, Prov.ERROR})
# A failover ("push it again") is how an operator recovers a load balancer, so ERROR may take it.
FAILOVER = DELETABLE


def may_change(current: Prov | str, *, deleting: bool) -> bool:
    """Whether an object (or its load balancer) in ``current`` may take a new change now."""
    return Prov(current) in (DELETABLE if deleting else MUTABLE)


def may_fail_over(current: Prov | str) -> bool:
    """Whether a load balancer in ``current`` may be failed over (pushed again) now."""
    return Prov(current) in FAILOVER


def is_pending(status: Prov | str) -> bool:
    return Prov(status) in PENDING


# The operating status an object takes when it turns ACTIVE, for what does not depend on the
# device (Octavia's Mark*ActiveInDB tasks and its health manager): a health monitor, an L7
# policy and an L7 rule are ONLINE when enabled and OFFLINE when not; a load balancer and a
# listener are ONLINE when enabled (and, for a listener, its load balancer too) until the status
# collection says otherwise, and OFFLINE when not; a pool no listener sends traffic to (neither
# as default pool nor by an L7 policy) is OFFLINE, as is a disabled pool; a disabled member (or
# one of a disabled pool) is OFFLINE, as the status collection will say (engine/health.py). Other
# statuses (a used pool's, an enabled member's) come from the device.
ONLINE_WHEN_ENABLED = frozenset({"load_balancer", "listener", "health_monitor", "l7policy",
                                 "l7rule"})


def operating_at_active(kind: str, *, enabled: bool, in_use: bool = True) -> Oper | None:
    """The operating status of an object of ``kind`` turning ACTIVE, or None when the device
    decides it (then it is left as it is until the status collection)."""
    if kind in ONLINE_WHEN_ENABLED:
        return Oper.ONLINE if enabled else Oper.OFFLINE
    if kind == "pool" and not (enabled and in_use):
        return Oper.OFFLINE
    if kind == "member" and not enabled:
        return Oper.OFFLINE
    return None
