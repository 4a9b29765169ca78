"""The one place BIG-IP names come from.

F5-compatible naming (``f5-openstack-agent``): partition ``<prefix>_<project_id>``, objects
``<prefix>_<uuid>`` (virtual address ← load balancer, virtual ← listener, pool ← pool, monitor ←
health monitor). Nodes are named by address, as the device names the nodes it creates for members.
Global routed mode: no route domains, so no ``%<id>`` suffix is ever produced here.

Must not: import I/O, know about URLs (``%`` encoding is the client's job).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress


def _join(prefix: str, ident: str) -> str:
    return f"{prefix}_{ident}"


def partition(prefix: str, project_id: str) -> str:
    return _join(prefix, project_id)


def virtual_address(prefix: str, lb_id: str) -> str:
    return _join(prefix, lb_id)


def virtual(prefix: str, listener_id: str) -> str:
    return _join(prefix, listener_id)


def address_token(address: str) -> str:
    """An address as a name part: IPv6 colons become ``-`` (never part of an address, so distinct
    addresses stay distinct), keeping ``:`` out of names that BIG-IP also parses as ``name:port``."""
    return address.replace(":", "-")


def additional_virtual_address(prefix: str, lb_id: str, address: str) -> str:
    """The virtual address of one of a load balancer's additional VIPs: named by the address,
    which is fixed for the LB's life and unique per LB, so the name does not depend on order."""
    return f"{_join(prefix, lb_id)}_{address_token(address)}"


def additional_virtual(prefix: str, listener_id: str, address: str) -> str:
    """A listener's virtual server on one additional VIP address (``<virtual>_<address>``)."""
    return f"{virtual(prefix, listener_id)}_{address_token(address)}"


def pool(prefix: str, pool_id: str) -> str:
    return _join(prefix, pool_id)


def monitor(prefix: str, hm_id: str) -> str:
    return _join(prefix, hm_id)


def member_monitor(prefix: str, member_id: str, monitor_type: str) -> str:
    """A per-member monitor, needed when a member has its own monitor address or port. It copies
    the pool's monitor, whose type can change (a new health monitor of another type), so the
    type is in the name: two monitor types never claim one path, and the old one is an orphan."""
    return f"{_join(prefix, member_id)}_{monitor_type}"


def l7_rule(prefix: str, l7policy_id: str) -> str:
    """Octavia L7 policy → one rule of the listener's first-match LTM policy."""
    return _join(prefix, l7policy_id)


def ltm_policy(prefix: str, listener_id: str, content: str) -> str:
    """The listener's LTM policy. Published policies cannot be edited in place on TMOS ≥ 12.1, so
    the name carries a short digest of its content: a change creates a new policy, re-points the
    virtual and deletes the old one, all in one transaction."""
    digest = hashlib.sha256(content.encode()).hexdigest()[:8]
    return _join(prefix, f"{listener_id}_{digest}")


def tcp_profile(prefix: str, listener_id: str) -> str:
    """A listener's TCP profile: for both sides, or the clientside one when the two differ."""
    return _join(prefix, f"{listener_id}_tcp")


def tcp_server_profile(prefix: str, listener_id: str) -> str:
    """A listener's serverside TCP profile, when its member data timeout differs from its client
    data timeout (in the family of ``tcp_profile``, so held with it)."""
    return f"{tcp_profile(prefix, listener_id)}_server"


def xff_http_profile(prefix: str) -> str:
    """One shared HTTP profile per partition that inserts X-Forwarded-For."""
    return _join(prefix, "http_xff")


def app_cookie_rule(prefix: str, pool_id: str) -> str:
    return _join(prefix, f"{pool_id}_app_cookie")


def app_cookie_persistence(prefix: str, pool_id: str) -> str:
    return _join(prefix, f"{pool_id}_app_cookie")


def header_rule(prefix: str, listener_id: str) -> str:
    """The iRule that sets a listener's inserted headers (other than X-Forwarded-For)."""
    return _join(prefix, f"{listener_id}_headers")


def proxy_protocol_rule(prefix: str, pool_id: str) -> str:
    """The iRule that sends a PROXY protocol header to a PROXY pool's members."""
    return _join(prefix, f"{pool_id}_proxy_protocol")


def source_port_hash_rule(prefix: str, pool_id: str) -> str:
    """The iRule giving a SOURCE_IP_PORT pool's hash persistence its key."""
    return _join(prefix, f"{pool_id}_source_ip_port")


def source_port_hash_persistence(prefix: str, pool_id: str) -> str:
    return _join(prefix, f"{pool_id}_source_ip_port")


def source_addr_persistence(prefix: str, pool_id: str) -> str:
    """A pool's own source-address persistence (a UDP/SCTP SOURCE_IP persistence with a
    timeout or granularity)."""
    return _join(prefix, f"{pool_id}_source_addr")


def node(address: str) -> str:
    """Nodes are named by their address, exactly as the device names auto-created nodes."""
    return address


@functools.lru_cache(maxsize=65536)  # render asks about the same addresses over and over
def is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).version == 6
    except ValueError:
        return False


@functools.lru_cache(maxsize=65536)
def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def service(address: str, port: int) -> str:
    """``addr:port`` for IPv4, ``addr.port`` for IPv6 (BIG-IP's destination and member syntax)."""
    return f"{address}.{port}" if is_ipv6(address) else f"{address}:{port}"


def member(address: str, port: int) -> str:
    return service(address, port)


def full_path(partition_name: str, name: str) -> str:
    return f"/{partition_name}/{name}"


def owned(prefix: str, name: str) -> bool:
    """Whether an object name carries our environment prefix (and so may be changed or purged)."""
    return name.startswith(prefix + "_")


# --------------------------------------------------------------------------- TLS (engine/tls.py)
# F5's agent names a certificate and key after the container: ``<prefix>_<container id>.crt``
# and ``.key``, the chain ``<prefix>_<container id>_inter.crt``; a CRL gets ``.crl``. Here they
# live in the project's partition, never in /Common.


def ssl_cert(prefix: str, token: str) -> str:
    return f"{_join(prefix, token)}.crt"


def ssl_key(prefix: str, token: str) -> str:
    return f"{_join(prefix, token)}.key"


def ssl_pair(prefix: str, token: str) -> str:
    """The one name of a certificate and its key (``sys/file/ssl-cert`` and ``ssl-key``): what
    ``sys crypto pkcs12 install`` gives both objects it makes from one bundle."""
    return _join(prefix, token)


def ssl_chain(prefix: str, token: str) -> str:
    return f"{_join(prefix, token)}_inter.crt"


def ssl_crl(prefix: str, token: str) -> str:
    return f"{_join(prefix, token)}.crl"


def client_ssl_profile(prefix: str, listener_id: str, token: str) -> str:
    """One client-ssl profile per listener and certificate (in the listener's family, so held
    with its virtual): a new certificate is a new profile, never an edit of a live one."""
    return f"{virtual(prefix, listener_id)}_{token}"


def listener_http_profile(prefix: str, listener_id: str) -> str:
    """A TERMINATED_HTTPS listener's own HTTP profile, when it sets HSTS."""
    return f"{virtual(prefix, listener_id)}_http"


def server_ssl_profile(prefix: str, pool_id: str) -> str:
    """A re-encrypting pool's server-ssl profile (in the pool's family)."""
    return f"{pool(prefix, pool_id)}_server_ssl"
