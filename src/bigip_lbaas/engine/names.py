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


# --------------------------------------------------------------------------- L2/L3 (engine/network.py)
# F5's agent names (``vlan-<segid>``, ``local-<device>-<subnet>``, ...) with our prefix in front:
# ownership is by name (``owned``), so nothing of the operator's is ever taken for ours. The
# route domain is named after the partition (F5's name), its auxiliary ones ``_aux_<id>``.


def route_domain(partition_name: str, rd: int, default: bool) -> str:
    return partition_name if default else f"{partition_name}_aux_{rd}"


def _token(text: str) -> str:
    """A device or interface name as a name part: anything but ``[A-Za-z0-9.-]`` becomes ``-``."""
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in text)


def vlan(prefix: str, segmentation_id: int) -> str:
    return _join(prefix, f"vlan-{segmentation_id}")


def flat_vlan(prefix: str, interface: str) -> str:
    return _join(prefix, f"flat-{_token(interface)}")


def tunnel(prefix: str, network_type: str, segmentation_id: int) -> str:
    return _join(prefix, f"tunnel-{network_type}-{segmentation_id}")


def local_self_ip(prefix: str, device: str, subnet_id: str) -> str:
    return _join(prefix, f"local-{_token(device)}-{subnet_id}")


def floating_self_ip(prefix: str, subnet_id: str) -> str:
    return _join(prefix, f"floating-{subnet_id}")


def gateway_self_ip(prefix: str, subnet_id: str) -> str:
    """``f5_snat_mode = False``: the self IP at the subnet's gateway address (F5's ``gw-``)."""
    return _join(prefix, f"gw-{subnet_id}")


def snat_translations(prefix: str, subnet_id: str) -> str:
    """The family of a subnet's SNAT translations (``<family>_<i>``)."""
    return _join(prefix, f"snat-{subnet_id}")


def snat_translation(prefix: str, subnet_id: str, index: int) -> str:
    return f"{snat_translations(prefix, subnet_id)}_{index}"


def snatpool(prefix: str) -> str:
    """The partition's one SNAT pool (not named after the partition as F5's is: the route
    domain already is, and a path both share would make each look used by the other)."""
    return _join(prefix, "snatpool")


def default_route(prefix: str, rd: int, ip_version: int) -> str:
    return _join(prefix, f"default{'6' if ip_version == 6 else ''}-{rd}")


def with_rd(address: str, rd: int, explicit: bool = False) -> str:
    """``address%rd``; none for route domain 0 unless ``explicit`` (a partition whose default
    route domain is not 0 must say ``%0`` for its route-domain-0 addresses)."""
    return f"{address}%{rd}" if rd or explicit else address


def split_rd(address: str) -> tuple[str, int | None]:
    """``10.0.0.5%2`` -> (``10.0.0.5``, 2); ``10.0.0.5`` -> (``10.0.0.5``, None)."""
    base, sep, rd = address.partition("%")
    if sep and rd.isdigit():
        return base, int(rd)
    return address, None


def is_address_name(name: str) -> bool:
    """A name that is an address, with or without ``%rd`` (how a device names the nodes and
    virtual addresses it creates by itself)."""
    return is_address(split_rd(name)[0])
