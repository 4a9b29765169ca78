"""Frozen desired-state types: what one partition (environment, project) should look like.

These are the engine's input. The database layer builds them from committed rows; `engine.render`
turns them into BIG-IP objects. Objects being deleted are simply absent. Field names follow
Octavia's meaning but not its wire names (`enabled`, not `admin_state_up`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PartitionKey:
    """The unit of ownership: one project's objects in one environment."""

    environment: str
    project_id: str

    def __str__(self) -> str:
        return f"{self.environment}/{self.project_id}"


@dataclass(frozen=True)
class SessionPersistence:
    type: str  # SOURCE_IP | HTTP_COOKIE | APP_COOKIE
    cookie_name: str | None = None
    persistence_timeout: int | None = None
    persistence_granularity: str | None = None  # a netmask (UDP/SCTP SOURCE_IP only)


@dataclass(frozen=True)
class HealthMonitor:
    id: str
    type: str  # PING | TCP | HTTP | HTTPS | TLS-HELLO | UDP-CONNECT | SCTP
    delay: int
    timeout: int
    max_retries: int
    max_retries_down: int = 3
    http_method: str | None = None
    url_path: str | None = None
    expected_codes: str | None = None
    http_version: float | None = None
    domain_name: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Member:
    id: str
    address: str
    protocol_port: int
    weight: int = 1
    backup: bool = False
    enabled: bool = True
    monitor_address: str | None = None
    monitor_port: int | None = None
    subnet_id: str | None = None  # L2/L3 mode: the subnet the member is on (None: the VIP's)


@dataclass(frozen=True)
class PoolTls:
    """A pool's re-encryption to its members (Octavia's ``tls_enabled`` pool). Refs are secret
    references in the certificate store; the agent fetches them at reconcile time."""

    certificate_ref: str | None = None  # client certificate (PKCS12) shown to the members
    ca_ref: str | None = None  # PEM CA bundle the members' certificates are validated with
    crl_ref: str | None = None  # PEM CRL, with ca_ref
    versions: tuple[str, ...] = ()  # Octavia names: SSLv3 TLSv1 TLSv1.1 TLSv1.2 TLSv1.3
    ciphers: str | None = None  # OpenSSL cipher string
    alpn_protocols: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pool:
    id: str
    protocol: str  # TCP | HTTP | HTTPS | PROXY | PROXYV2 | UDP | SCTP
    lb_algorithm: str  # ROUND_ROBIN | LEAST_CONNECTIONS | SOURCE_IP | SOURCE_IP_PORT
    enabled: bool = True
    session_persistence: SessionPersistence | None = None
    members: tuple[Member, ...] = ()
    health_monitor: HealthMonitor | None = None
    tls: PoolTls | None = None  # None: plaintext to the members


@dataclass(frozen=True)
class L7Rule:
    id: str
    type: str  # HOST_NAME | PATH | FILE_TYPE | HEADER | COOKIE | SSL_*
    compare_type: str  # REGEX | STARTS_WITH | ENDS_WITH | CONTAINS | EQUAL_TO
    value: str
    key: str | None = None
    invert: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class L7Policy:
    id: str
    action: str  # REJECT | REDIRECT_TO_URL | REDIRECT_TO_POOL | REDIRECT_PREFIX
    position: int
    redirect_pool_id: str | None = None
    redirect_url: str | None = None
    redirect_prefix: str | None = None
    redirect_http_code: int | None = None
    enabled: bool = True
    rules: tuple[L7Rule, ...] = ()


@dataclass(frozen=True)
class ListenerTls:
    """What a TERMINATED_HTTPS listener terminates TLS with. Refs are secret references in the
    certificate store (PKCS12 for certificates, PEM for the CA and CRL)."""

    default_ref: str | None = None
    sni_refs: tuple[str, ...] = ()
    client_authentication: str = "NONE"  # NONE | OPTIONAL | MANDATORY
    client_ca_ref: str | None = None
    client_crl_ref: str | None = None
    versions: tuple[str, ...] = ()
    ciphers: str | None = None
    alpn_protocols: tuple[str, ...] = ()
    hsts_max_age: int | None = None
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False


@dataclass(frozen=True)
class Listener:
    id: str
    protocol: str  # TCP | HTTP | HTTPS | TERMINATED_HTTPS | UDP | SCTP | PROMETHEUS
    protocol_port: int
    connection_limit: int = -1
    enabled: bool = True
    default_pool_id: str | None = None
    insert_headers: tuple[tuple[str, str], ...] = ()
    timeout_client_data: int | None = None
    timeout_member_connect: int | None = None
    timeout_member_data: int | None = None
    timeout_tcp_inspect: int | None = None
    allowed_cidrs: tuple[str, ...] = ()
    l7policies: tuple[L7Policy, ...] = ()
    tls: ListenerTls | None = None  # set for TERMINATED_HTTPS listeners


@dataclass(frozen=True)
class LoadBalancer:
    id: str
    vip_address: str
    enabled: bool = True
    listeners: tuple[Listener, ...] = ()
    pools: tuple[Pool, ...] = ()
    # Octavia's `additional_vips`: further addresses of the load balancer, each on another subnet
    # of the VIP network (typically the IPv6 half of a dual-stack LB). Every listener serves on
    # all of them.
    additional_vips: tuple[str, ...] = ()
    # L2/L3 mode: the VIP's subnet and network, and each additional VIP's subnet (by address).
    vip_subnet_id: str | None = None
    vip_network_id: str | None = None
    additional_vip_subnets: tuple[tuple[str, str], ...] = ()  # (address, subnet id)


@dataclass(frozen=True)
class PartitionState:
    """Everything one partition should hold, at one desired generation."""

    key: PartitionKey
    generation: int
    load_balancers: tuple[LoadBalancer, ...] = field(default=())
