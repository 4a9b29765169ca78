"""Prometheus metrics an agent exports. Names are stable: dashboards depend on them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter("bigip_lbaas_reconciles_total", "Reconcile attempts by outcome", ["outcome"])
RECONCILE_SECONDS = Histogram(
    "bigip_lbaas_reconcile_seconds",
    "Time to reconcile one partition",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
LEASES_HELD = Gauge("bigip_lbaas_leases_held", "Partition leases this agent holds")
HEARTBEAT_AGE = Gauge("bigip_lbaas_heartbeat_age_seconds", "Seconds since the last heartbeat")
PENDING_PARTITIONS = Gauge(
    "bigip_lbaas_partitions_behind", "Owned partitions whose desired generation is ahead"
)
FAILOVERS = Counter(
    "bigip_lbaas_takeovers_total",
    "Partitions this agent took from another (dead or draining) agent",
)
DEVICE_UP = Gauge(
    "bigip_lbaas_device_reachable", "1 if the device answered the last probe", ["device"]
)
DEVICE_ERRORS = Counter(
    "bigip_lbaas_device_errors_total", "Device request failures", ["device", "kind"]
)
DEVICE_SECONDS = Histogram("bigip_lbaas_device_seconds",
                           "Time for one device operation (probe, converge, collect)",
                           ["device", "op"],
                           buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
LOOP_CRASHES = Counter(
    "bigip_lbaas_loop_crashes_total",
    "Agent loops (probe, lease, work, status) that ended in an unexpected exception",
    ["loop"],
)
UNEXPECTED_ERRORS = Counter(
    "bigip_lbaas_unexpected_errors_total",
    "Unexpected exceptions (bugs) caught, logged with a traceback and survived",
    ["where"],
)
