"""SQLAlchemy 2 models: the Octavia object model, the network registry and coordination tables.

Tables have singular names. Every Octavia child row carries its `load_balancer_id` so that a
partition's whole desired state loads with one query per table. Times that decide liveness
(`heartbeat_at`, `expires_at`) are float epoch seconds taken from the database server's clock,
and the two rules that read them live here, once, next to their columns, each in a SQL form and a
Python form that agree at the boundary: `PartitionLease.valid_where`/`is_valid` (an owner, and an
expiry strictly ahead of the clock) and `Agent.alive_where`/`is_alive` (not stopped, and a
heartbeat strictly less than one lease period old).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UUID = String(36)
NAME = String(255)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime, nullable=True, onupdate=func.now()
    )


class OctaviaObject(Timestamped):
    """Columns every Octavia object shares."""

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(NAME, nullable=True)
    description: Mapped[str | None] = mapped_column(NAME, nullable=True)
    provisioning_status: Mapped[str] = mapped_column(String(16))
    operating_status: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Why an object is in ERROR, in words an operator can act on (never a password).
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


# --- coordination ---------------------------------------------------------------------------


class Partition(Base):
    """One (environment, project): the unit of ownership, with its desired/applied generations."""

    __tablename__ = "partition"
    __table_args__ = (UniqueConstraint("environment", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(64))
    desired_generation: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_generation: Mapped[int] = mapped_column(BigInteger, default=0)
    # When the oldest unapplied change was requested (DB clock); None when in step.
    pending_since: Mapped[float | None] = mapped_column(Double, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The desired generation whose reconcile must read every device afresh (a failover request):
    # the owner drops what it remembers of the devices until applied_generation reaches it.
    full_read_generation: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class PartitionLease(Base):
    """Who may write a partition, until when, under which epoch (fencing token)."""

    __tablename__ = "partition_lease"

    partition_id: Mapped[int] = mapped_column(
        ForeignKey("partition.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[float] = mapped_column(Double, default=0.0)

    @classmethod
    def valid_where(cls, now: float | sa.ColumnElement[float]) -> sa.ColumnElement[bool]:
        """Held: an owner whose lease has not expired by `now` (the database clock)."""
        return sa.and_(cls.owner.is_not(None), cls.expires_at > now)

    @classmethod
    def free_where(cls, now: float | sa.ColumnElement[float]) -> sa.ColumnElement[bool]:
        """Not held (`valid_where` negated): free, or expired; anyone may acquire it."""
        return sa.or_(cls.owner.is_(None), cls.expires_at <= now)

    @staticmethod
    def is_valid(owner: str | None, expires_at: float | None, now: float | None) -> bool:
        """`valid_where` for values already read (with `now` read from the database clock)."""
        return owner is not None and expires_at is not None and now is not None \
            and expires_at > now


class Agent(Base):
    """A registered agent. `identity` is F5's `agent_id` when set, else the neutron `host`."""

    __tablename__ = "agent"
    __table_args__ = (UniqueConstraint("environment", "identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(64))
    identity: Mapped[str] = mapped_column(NAME)
    host: Mapped[str] = mapped_column(NAME)
    # A fresh id per process start: leases are owned by an instance, not a host.
    instance_id: Mapped[str] = mapped_column(String(64), unique=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[float] = mapped_column(Double)
    heartbeat_at: Mapped[float] = mapped_column(Double)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether it can reach at least one of its devices; an agent that cannot claims nothing.
    operational: Mapped[bool] = mapped_column(Boolean, default=True)
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    ha_type: Mapped[str] = mapped_column(String(16), default="standalone")
    devices: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    @classmethod
    def alive_where(cls, now: float | sa.ColumnElement[float],
                    lease_seconds: float) -> sa.ColumnElement[bool]:
        """Alive: not stopped, and a heartbeat less than one lease period before `now`."""
        return sa.and_(cls.stopped.is_(False), now - cls.heartbeat_at < lease_seconds)

    def is_alive(self, now: float, lease_seconds: float) -> bool:
        """`alive_where` for a row already read (with `now` read from the database clock)."""
        return not self.stopped and now - self.heartbeat_at < lease_seconds


class DeviceState(Base):
    """How far one device has come with one partition."""

    __tablename__ = "device_state"

    partition_id: Mapped[int] = mapped_column(
        ForeignKey("partition.id", ondelete="CASCADE"), primary_key=True
    )
    device: Mapped[str] = mapped_column(NAME, primary_key=True)
    applied_generation: Mapped[int] = mapped_column(BigInteger, default=0)
    in_step: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[float] = mapped_column(Double, default=0.0)


# --- the Octavia object model ---------------------------------------------------------------


class LoadBalancer(OctaviaObject, Base):
    __tablename__ = "load_balancer"
    __table_args__ = (UniqueConstraint("vip_subnet_id", "vip_address"),)

    partition_id: Mapped[int] = mapped_column(ForeignKey("partition.id"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    vip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    vip_port_id: Mapped[str] = mapped_column(UUID)  # every VIP is a port (migration 0009)
    vip_subnet_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    vip_network_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    vip_qos_policy_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    flavor_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(NAME, nullable=True)
    # Octavia's `additional_vips` as returned: [{subnet_id, ip_address, port_id}]. Fixed at
    # create; each address is also booked in `additional_vip`, which keeps them unique.
    additional_vips: Mapped[list[dict[str, str | None]] | None] = mapped_column(
        JSON, nullable=True
    )


class AdditionalVip(Base):
    """One more VIP address of a load balancer, in another subnet of its VIP network. Booked
    here so that no address is handed out twice in a subnet (with `load_balancer.vip_address`)."""

    __tablename__ = "additional_vip"
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address"),)

    load_balancer_id: Mapped[str] = mapped_column(
        ForeignKey("load_balancer.id", ondelete="CASCADE"), primary_key=True
    )
    subnet_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    network_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    ip_address: Mapped[str] = mapped_column(String(64))
    port_id: Mapped[str | None] = mapped_column(UUID, nullable=True)


class Listener(OctaviaObject, Base):
    __tablename__ = "listener"
    __table_args__ = (UniqueConstraint("load_balancer_id", "protocol", "protocol_port"),)

    load_balancer_id: Mapped[str] = mapped_column(
        ForeignKey("load_balancer.id", ondelete="CASCADE"), index=True
    )
    protocol: Mapped[str] = mapped_column(String(32))
    protocol_port: Mapped[int] = mapped_column(Integer)
    connection_limit: Mapped[int] = mapped_column(Integer, default=-1)
    default_pool_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    insert_headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    timeout_client_data: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timeout_member_connect: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timeout_member_data: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timeout_tcp_inspect: Mapped[int | None] = mapped_column(Integer, nullable=True)
    default_tls_container_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    sni_container_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    client_authentication: Mapped[str] = mapped_column(String(16), default="NONE")
    client_ca_tls_container_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    client_crl_container_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    allowed_cidrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    tls_ciphers: Mapped[str | None] = mapped_column(Text, nullable=True)
    tls_versions: Mapped[list[str]] = mapped_column(JSON, default=list)
    alpn_protocols: Mapped[list[str]] = mapped_column(JSON, default=list)
    hsts_max_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hsts_include_subdomains: Mapped[bool] = mapped_column(Boolean, default=False)
    hsts_preload: Mapped[bool] = mapped_column(Boolean, default=False)


class ListenerStats(Base):
    """Counters an agent last read from the devices for one listener."""

    __tablename__ = "listener_stats"

    listener_id: Mapped[str] = mapped_column(
        ForeignKey("listener.id", ondelete="CASCADE"), primary_key=True
    )
    load_balancer_id: Mapped[str] = mapped_column(UUID, index=True)
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    active_connections: Mapped[int] = mapped_column(BigInteger, default=0)
    total_connections: Mapped[int] = mapped_column(BigInteger, default=0)
    request_errors: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[float] = mapped_column(Double, default=0.0)


class Pool(OctaviaObject, Base):
    __tablename__ = "pool"

    load_balancer_id: Mapped[str] = mapped_column(
        ForeignKey("load_balancer.id", ondelete="CASCADE"), index=True
    )
    protocol: Mapped[str] = mapped_column(String(32))
    lb_algorithm: Mapped[str] = mapped_column(String(32))
    session_persistence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    tls_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    tls_container_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    ca_tls_container_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    crl_container_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    tls_ciphers: Mapped[str | None] = mapped_column(Text, nullable=True)
    tls_versions: Mapped[list[str]] = mapped_column(JSON, default=list)
    alpn_protocols: Mapped[list[str]] = mapped_column(JSON, default=list)


class Member(OctaviaObject, Base):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("pool_id", "address", "protocol_port"),)

    pool_id: Mapped[str] = mapped_column(ForeignKey("pool.id", ondelete="CASCADE"), index=True)
    load_balancer_id: Mapped[str] = mapped_column(UUID, index=True)
    address: Mapped[str] = mapped_column(String(64))
    protocol_port: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    backup: Mapped[bool] = mapped_column(Boolean, default=False)
    subnet_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    monitor_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    monitor_port: Mapped[int | None] = mapped_column(Integer, nullable=True)


class HealthMonitor(OctaviaObject, Base):
    __tablename__ = "health_monitor"

    pool_id: Mapped[str] = mapped_column(ForeignKey("pool.id", ondelete="CASCADE"), unique=True)
    load_balancer_id: Mapped[str] = mapped_column(UUID, index=True)
    type: Mapped[str] = mapped_column(String(32))
    delay: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    max_retries: Mapped[int] = mapped_column(Integer)
    max_retries_down: Mapped[int] = mapped_column(Integer, default=3)
    http_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    url_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    expected_codes: Mapped[str | None] = mapped_column(String(64), nullable=True)
    http_version: Mapped[float | None] = mapped_column(Double, nullable=True)
    domain_name: Mapped[str | None] = mapped_column(NAME, nullable=True)


class L7Policy(OctaviaObject, Base):
    __tablename__ = "l7policy"

    listener_id: Mapped[str] = mapped_column(
        ForeignKey("listener.id", ondelete="CASCADE"), index=True
    )
    load_balancer_id: Mapped[str] = mapped_column(UUID, index=True)
    action: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    redirect_pool_id: Mapped[str | None] = mapped_column(UUID, nullable=True)
    redirect_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    redirect_prefix: Mapped[str | None] = mapped_column(Text, nullable=True)
    redirect_http_code: Mapped[int | None] = mapped_column(Integer, nullable=True)


class L7Rule(OctaviaObject, Base):
    __tablename__ = "l7rule"

    l7policy_id: Mapped[str] = mapped_column(
        ForeignKey("l7policy.id", ondelete="CASCADE"), index=True
    )
    load_balancer_id: Mapped[str] = mapped_column(UUID, index=True)
    type: Mapped[str] = mapped_column(String(32))
    compare_type: Mapped[str] = mapped_column(String(32))
    key: Mapped[str | None] = mapped_column(NAME, nullable=True)
    value: Mapped[str] = mapped_column(NAME)
    invert: Mapped[bool] = mapped_column(Boolean, default=False)


# --- quotas, flavors, networks --------------------------------------------------------------


class Quota(Base):
    """Per-project limits; NULL means "use the default", -1 means unlimited."""

    __tablename__ = "quota"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    load_balancer: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listener: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pool: Mapped[int | None] = mapped_column(Integer, nullable=True)
    health_monitor: Mapped[int | None] = mapped_column(Integer, nullable=True)
    member: Mapped[int | None] = mapped_column(Integer, nullable=True)
    l7policy: Mapped[int | None] = mapped_column(Integer, nullable=True)
    l7rule: Mapped[int | None] = mapped_column(Integer, nullable=True)


class FlavorProfile(Base):
    __tablename__ = "flavor_profile"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    provider_name: Mapped[str] = mapped_column(String(64))
    flavor_data: Mapped[str] = mapped_column(Text)


class Flavor(Base):
    __tablename__ = "flavor"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(NAME, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    flavor_profile_id: Mapped[str] = mapped_column(ForeignKey("flavor_profile.id"))


class Network(Timestamped, Base):
    """A minimal Neutron-shaped network, so that VIP subnets mean something."""

    __tablename__ = "network"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(NAME, nullable=True)
    description: Mapped[str | None] = mapped_column(NAME, nullable=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    # Neutron's provider attributes (provider:network_type, :physical_network,
    # :segmentation_id); all NULL for a network without a segment. segment_key is what ML2's
    # type drivers keep unique (vlan: physical network + VLAN id; flat: physical network;
    # vxlan/gre: the id), one unique column so that every database enforces it alike.
    network_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    physical_network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    segmentation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    segment_key: Mapped[str | None] = mapped_column(String(96), nullable=True, unique=True)


class Subnet(Timestamped, Base):
    __tablename__ = "subnet"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("network.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(NAME, nullable=True)
    description: Mapped[str | None] = mapped_column(NAME, nullable=True)
    cidr: Mapped[str] = mapped_column(String(64))
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    gateway_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    dns_nameservers: Mapped[list[str]] = mapped_column(JSON, default=list)
    host_routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)


class Port(Timestamped, Base):
    """A Neutron-shaped port: an address (or several) on a network, held for a device.

    A load balancer's VIP is one (device_owner network:f5lbaasv2, `vip_of` its id: deleted with
    the load balancer's row). A port its owner created and named as `vip_port_id` is `used_by`
    the load balancer while it lives (set NULL when it goes; the port stays, as in Octavia)."""

    __tablename__ = "port"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network.id"), index=True)
    name: Mapped[str | None] = mapped_column(NAME, nullable=True)
    description: Mapped[str | None] = mapped_column(NAME, nullable=True)
    device_owner: Mapped[str] = mapped_column(NAME, default="", index=True)
    device_id: Mapped[str] = mapped_column(NAME, default="", index=True)
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    binding_host_id: Mapped[str] = mapped_column(NAME, default="")
    vip_of: Mapped[str | None] = mapped_column(
        ForeignKey("load_balancer.id", ondelete="CASCADE"), nullable=True, index=True
    )
    used_by: Mapped[str | None] = mapped_column(
        ForeignKey("load_balancer.id", ondelete="SET NULL"), nullable=True, index=True
    )


class PortIp(Base):
    """One fixed IP of a port. (subnet_id, ip_address) is the key: an address is never held
    twice in a subnet, by ports or VIPs (a VIP's address is its port's)."""

    __tablename__ = "port_ip"

    subnet_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("port.id", ondelete="CASCADE"), index=True)



# --- L2/L3 mode: route domains and the subnets a partition has networking on (db/networking.py)


class RouteDomain(Base):
    """A route-domain id held by a partition. The id is the primary key, so no two partitions
    (of any environment) ever hold the same one, and every device gets it from here. ``slot`` 0
    is the partition's default route domain, 1.. its auxiliary ones."""

    __tablename__ = "route_domain"
    __table_args__ = (UniqueConstraint("partition_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    partition_id: Mapped[int] = mapped_column(
        ForeignKey("partition.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[int] = mapped_column(Integer, default=0)


class SubnetBinding(Base):
    """A subnet a partition has networking on: its route domain (NULL: route domain 0, a common
    network or ``use_namespaces = False``) and the ports booked for it (names), kept so that the
    binding is stable and its ports are released exactly."""

    __tablename__ = "subnet_binding"

    partition_id: Mapped[int] = mapped_column(
        ForeignKey("partition.id", ondelete="CASCADE"), primary_key=True
    )
    subnet_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    route_domain_id: Mapped[int | None] = mapped_column(
        ForeignKey("route_domain.id"), nullable=True, index=True
    )
    ports: Mapped[list[str]] = mapped_column(JSON, default=list)


# --- the built-in certificate store ------------------------------------------------------------


class Secret(Base):
    """A secret of the built-in store (Barbican v1's secret resource). `payload` is sealed with the
    storage key (core.certs.seal), never plaintext; NULL until a payload is stored. Times are UTC."""

    __tablename__ = "secret"

    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    creator_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str | None] = mapped_column(NAME, nullable=True)
    secret_type: Mapped[str] = mapped_column(String(32))
    algorithm: Mapped[str | None] = mapped_column(NAME, nullable=True)
    bit_length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mode: Mapped[str | None] = mapped_column(NAME, nullable=True)
    expiration: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


Index("ix_partition_lease_expires_at", PartitionLease.expires_at)


# --- statuses owed to Octavia (the provider driver and the bridge) ---------------------------


class OctaviaStatus(Base):
    """One object Octavia knows through the `bigip` provider, with the statuses Octavia shows
    for it as far as this product knows: set pending by the driver (in the transaction of the
    desired-state change), set to what was delivered by `bigip-lbaas octavia-bridge` once
    Octavia's driver agent acknowledged it, and removed once Octavia took its DELETED.
    `version` is bumped by every driver mark, so a bridge's acknowledgement never overwrites a
    newer mark. The load balancer's row carries the delivery claim of its whole tree
    (`claimed_by`, `claim_expires`, database clock), so several bridges never deliver one load
    balancer's statuses at the same time."""

    __tablename__ = "octavia_status"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    object_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    load_balancer_id: Mapped[str] = mapped_column(UUID, index=True)
    provisioning_status: Mapped[str] = mapped_column(String(16), index=True)
    operating_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claim_expires: Mapped[float] = mapped_column(Double, default=0.0)
