"""What this provider renders on a BIG-IP, as one table the API and the engine both read. Pure.

The API refuses a value listed here as refused at the call, with Octavia's answer for a provider
driver's UnsupportedOptionError (501, the reason below); the engine renders every value listed
as rendered and treats a refused one that reached it anyway (a row written before the refusal
existed) as a failure of its object with the same reason. So the two can never disagree: a value
the API accepts is one the engine renders.

How each rendered value becomes BIG-IP objects is documented in ``engine/render.py``; the
reasons below say why a refused one has no faithful BIG-IP form.
"""

from __future__ import annotations

from collections.abc import Mapping

# Listener protocols: the virtual server's ipProtocol and its protocol profile.
LISTENER_PROTOCOLS: frozenset[str] = frozenset(
    {"TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS", "UDP", "SCTP"}
)
REFUSED_LISTENER_PROTOCOLS: Mapping[str, str] = {
    "PROMETHEUS": (
        "a PROMETHEUS listener serves the load balancer's own metrics in Prometheus' exposition "
        "format; a BIG-IP virtual server has no such exporter (this provider's agents read the "
        "devices' counters over iControl REST and the API shows them as listener and load "
        "balancer stats)."
    ),
}

# Pool protocols: what the members receive. PROXY is the TCP stream preceded by a PROXY
# protocol version 1 header, inserted by an iRule.
POOL_PROTOCOLS: frozenset[str] = frozenset({"TCP", "HTTP", "HTTPS", "PROXY", "UDP", "SCTP"})
REFUSED_POOL_PROTOCOLS: Mapping[str, str] = {
    "PROXYV2": (
        "this provider inserts the PROXY protocol header version 1 (text) before a member's "
        "stream; it has no iRule for the binary version 2 header, so a PROXYV2 member would get "
        "a header it cannot parse."
    ),
}

LB_ALGORITHMS: frozenset[str] = frozenset(
    {"ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"}
)
REFUSED_LB_ALGORITHMS: Mapping[str, str] = {}

HEALTH_MONITOR_TYPES: frozenset[str] = frozenset(
    {"PING", "TCP", "HTTP", "HTTPS", "UDP-CONNECT", "SCTP"}
)
REFUSED_HEALTH_MONITOR_TYPES: Mapping[str, str] = {
    "TLS-HELLO": (
        "this provider renders no BIG-IP monitor that completes a TLS handshake without "
        "sending a request (its HTTPS monitor always sends one), so a TLS-HELLO monitor would "
        "test something else."
    ),
}

# Listener timeouts (milliseconds) and Octavia's defaults. A value equal to the default asks for
# nothing. How each non-default value is rendered, per listener protocol family: client_data and
# member_data are the idle timeouts of the virtual's clientside and serverside TCP profiles;
# member_connect is the serverside TCP profile's SYN retransmission schedule (the connection
# attempt to a member gives up after that long); tcp_inspect is not rendered, as in Octavia's
# own amphora configuration (HAProxy applies its inspect delay only to `tcp-request content`
# rules, and Octavia writes none), so it changes no traffic there either. UDP and SCTP listeners
# render none of the four: Octavia applies them to HAProxy only, never to its UDP/SCTP (LVS)
# listeners.
LISTENER_TIMEOUT_DEFAULTS: Mapping[str, int] = {
    "timeout_client_data": 50000,
    "timeout_member_connect": 5000,
    "timeout_member_data": 50000,
    "timeout_tcp_inspect": 0,
}
REFUSED_LISTENER_TIMEOUTS: Mapping[str, str] = {}

_REFUSALS: Mapping[str, tuple[frozenset[str], Mapping[str, str]]] = {
    "listener protocol": (LISTENER_PROTOCOLS, REFUSED_LISTENER_PROTOCOLS),
    "pool protocol": (POOL_PROTOCOLS, REFUSED_POOL_PROTOCOLS),
    "lb_algorithm": (LB_ALGORITHMS, REFUSED_LB_ALGORITHMS),
    "health monitor type": (HEALTH_MONITOR_TYPES, REFUSED_HEALTH_MONITOR_TYPES),
}


def refusal(what: str, value: str | None) -> str | None:
    """Why this provider does not render ``value`` of ``what`` ("listener protocol", "pool
    protocol", "lb_algorithm", "health monitor type"), as one sentence naming both; None when
    it renders it (or when ``value`` is None: nothing asked)."""
    if value is None:
        return None
    rendered, refused = _REFUSALS[what]
    if value in rendered:
        return None
    reason = refused.get(value, "it is not one this provider renders on a BIG-IP.")
    return f"{what} {value}: {reason}"
