"""The outcome table of one reconcile attempt."""

from __future__ import annotations

from bigip_lbaas.agent.decide import DeviceResult, backoff, decide
from bigip_lbaas.agent.settings import DeviceAddress, parse_devices
from bigip_lbaas.engine.config import ObjectFailure

OK = DeviceResult("a", ok=True, writes=3)
DOWN = DeviceResult("b", ok=False, unreachable=True, error="b: refused")
REJECTED = DeviceResult("b", ok=False, error="b: HTTP 400: bad monitor")


def run(*results: DeviceResult, attempts: int = 1, failing_for: float = 0.0):  # type: ignore[no-untyped-def]
    return decide(list(results), attempts=attempts, failing_for=failing_for, max_retries=3,
                  pending_timeout=60)


def test_one_device_down_does_not_block_the_other() -> None:
    d = run(OK, DOWN)
    assert d.applied
    assert [(p.device, p.in_step) for p in d.devices] == [("a", True), ("b", False)]


def test_all_devices_down_retries_then_gives_up_after_timeout() -> None:
    d = run(DOWN)
    assert not d.applied and not d.give_up and d.delay == backoff(1)
    d = run(DOWN, attempts=50, failing_for=61)
    assert d.give_up and "no device reachable" in (d.reason or "")


def test_rejection_retries_then_gives_up_after_max_retries() -> None:
    assert not run(OK, REJECTED).applied
    assert not run(OK, REJECTED, attempts=2).give_up
    final = run(OK, REJECTED, attempts=3)
    assert final.give_up and "bad monitor" in (final.reason or "")


def test_object_failures_are_merged_once() -> None:
    f = ObjectFailure("m1", "unsupported")
    d = run(DeviceResult("a", ok=True, failures=(f,)), DeviceResult("b", ok=True, failures=(f,)))
    assert d.applied and d.failures == (f,)


def test_backoff_grows_and_is_capped() -> None:
    assert backoff(1) < backoff(2) < backoff(3)
    assert backoff(100) == 30.0


def test_parse_devices_accepts_ports_quotes_and_ipv6() -> None:
    assert parse_devices("'10.0.0.1', 10.0.0.2:8443 ,[::1]:9443") == (
        DeviceAddress("10.0.0.1", 443), DeviceAddress("10.0.0.2", 8443), DeviceAddress("::1", 9443))
