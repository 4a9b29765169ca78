"""Every value the engine cannot express fails the Octavia object that carries it, with a reason;
the object's device configuration is held, and the rest of the partition still renders."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from bigip_lbaas.core.model import (
    HealthMonitor,
    L7Policy,
    L7Rule,
    Listener,
    LoadBalancer,
    Member,
    PartitionState,
    Pool,
)
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import Kind, ObjKey
from bigip_lbaas.engine.render import render
from tests.unit.engine.strategies import KEY

PREFIX = "Project"

GOOD_POOL = Pool(
    "pool-ok",
    "HTTP",
    "ROUND_ROBIN",
    members=(Member("mem-ok", "10.0.0.1", 80),),
    health_monitor=HealthMonitor("hm-ok", "HTTP", 5, 3, 3),
)
GOOD_LISTENER = Listener("lst-ok", "HTTP", 80, default_pool_id="pool-ok")
# What must render whatever else fails.
GOOD: tuple[ObjKey, ...] = (
    (Kind.VIRTUAL_ADDRESS, "Project_lb1"),
    (Kind.VIRTUAL, "Project_lst-ok"),
    (Kind.POOL, "Project_pool-ok"),
    (Kind.MONITOR_HTTP, "Project_hm-ok"),
)


@dataclass(frozen=True)
class Case:
    listener: Listener | None = None
    pool: Pool | None = None
    failed: str = ""  # the Octavia id that must be in the failures
    absent: ObjKey | None = None  # a device object of the failed one that must not be rendered


def listener(**kw: Any) -> Case:
    lst = replace(Listener("lst-bad", "HTTP", 81), **kw)
    return Case(listener=lst, failed="lst-bad", absent=(Kind.VIRTUAL, "Project_lst-bad"))


def pool(**kw: Any) -> Case:
    p = replace(Pool("pool-bad", "HTTP", "ROUND_ROBIN"), **kw)
    return Case(pool=p, failed="pool-bad", absent=(Kind.POOL, "Project_pool-bad"))


def monitor(hm_type: str) -> Case:
    hm = HealthMonitor("hm-bad", hm_type, 5, 3, 3)
    p = Pool("pool-mon", "HTTP", "ROUND_ROBIN", health_monitor=hm)
    return Case(pool=p, failed="hm-bad")


def l7(failed: str, rule: L7Rule | None = None, **kw: Any) -> Case:
    rules = (rule or L7Rule("rule-ok", "PATH", "STARTS_WITH", "/api"),)
    pol = replace(L7Policy("pol-bad", "REJECT", 1, rules=rules), **kw)
    lst = Listener("lst-l7", "HTTP", 82, l7policies=(pol,))
    return Case(listener=lst, failed=failed, absent=(Kind.VIRTUAL, "Project_lst-l7"))


def rule(rule_type: str, compare: str = "EQUAL_TO") -> Case:
    return l7("rule-bad", L7Rule("rule-bad", rule_type, compare, "x", key="k"))


CASES = {
    # What core/capabilities.py refuses (the API refuses it first; an older row still fails).
    **{f"listener-{p}": listener(protocol=p) for p in ("PROMETHEUS", "TERMINATED_HTTPS")},
    "pool-PROXYV2": pool(protocol="PROXYV2"),
    "monitor-TLS-HELLO": monitor("TLS-HELLO"),
    "compare-REGEX": rule("PATH", "REGEX"),
    **{f"rule-{t}": rule(t) for t in ("SSL_CONN_HAS_CERT", "SSL_VERIFY_RESULT", "SSL_DN_FIELD")},
    "action-REDIRECT_PREFIX": l7(
        "pol-bad", action="REDIRECT_PREFIX", redirect_prefix="https://example.com"
    ),
    **{
        f"redirect_http_code-{code}": l7(
            "pol-bad",
            action="REDIRECT_TO_URL",
            redirect_url="https://example.com/",
            redirect_http_code=code,
        )
        for code in (301, 303, 307, 308)
    },
    **{
        f"insert_headers-{h}": listener(insert_headers=((h, "true"),))
        for h in ("X-SSL-Client-Verify",)
    },
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_unsupported_value_fails_its_object_and_the_rest_renders(case: Case) -> None:
    lb = LoadBalancer(
        "lb1",
        "192.0.2.10",
        listeners=(GOOD_LISTENER, *([case.listener] if case.listener else [])),
        pools=(GOOD_POOL, *([case.pool] if case.pool else [])),
    )
    rendered = render(PartitionState(KEY, 1, (lb,)), PREFIX)
    reasons = {f.object_id: f.reason for f in rendered.failures}
    assert reasons.get(case.failed), rendered.failures
    assert set(reasons) <= {case.failed, "lst-bad", "lst-l7", "pol-bad"}  # nothing good failed
    objects = rendered.config.objects
    for key in GOOD:
        assert key in objects
    if case.absent is not None:
        assert case.absent not in objects
        assert case.absent in {(k, n) for k, n in rendered.hold}
    if case.failed == "hm-bad":  # the pool renders, unmonitored
        assert objects[(Kind.POOL, names.pool(PREFIX, "pool-mon"))].body["monitor"] == ""


def test_supported_values_next_to_the_unsupported_ones_render() -> None:
    """The boundary of each rule: what is accepted renders without failures."""
    lb = LoadBalancer(
        "lb1",
        "192.0.2.10",
        listeners=(
            replace(
                GOOD_LISTENER,
                timeout_member_connect=5000,
                timeout_tcp_inspect=0,
                insert_headers=(("X-Forwarded-For", "true"), ("X-Forwarded-Port", "false")),
                l7policies=(
                    L7Policy(
                        "pol-ok",
                        "REDIRECT_TO_URL",
                        1,
                        redirect_url="https://example.com/",
                        redirect_http_code=302,
                        rules=(L7Rule("rule-ok", "PATH", "STARTS_WITH", "/api"),),
                    ),
                ),
            ),
        ),
        pools=(GOOD_POOL,),
    )
    rendered = render(PartitionState(KEY, 1, (lb,)), PREFIX)
    assert rendered.failures == ()
