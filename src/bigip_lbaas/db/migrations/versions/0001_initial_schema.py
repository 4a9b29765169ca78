"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "agent",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("heartbeat_at", sa.Double(), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
        sa.Column("operational", sa.Boolean(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("ha_type", sa.String(length=16), nullable=False),
        sa.Column("devices", sa.JSON(), nullable=False),
        sa.Column("configurations", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.UniqueConstraint(
            "environment", "identity", name=op.f("uq_agent_environment_identity")
        ),
        sa.UniqueConstraint("instance_id", name=op.f("uq_agent_instance_id")),
    )
    op.create_table(
        "flavor_profile",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("provider_name", sa.String(length=64), nullable=False),
        sa.Column("flavor_data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flavor_profile")),
    )
    op.create_table(
        "network",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("external", sa.Boolean(), nullable=False),
        sa.Column("mtu", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network")),
    )
    with op.batch_alter_table("network", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "partition",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("desired_generation", sa.BigInteger(), nullable=False),
        sa.Column("applied_generation", sa.BigInteger(), nullable=False),
        sa.Column("pending_since", sa.Double(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partition")),
        sa.UniqueConstraint(
            "environment",
            "project_id",
            name=op.f("uq_partition_environment_project_id"),
        ),
    )
    op.create_table(
        "quota",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("load_balancer", sa.Integer(), nullable=True),
        sa.Column("listener", sa.Integer(), nullable=True),
        sa.Column("pool", sa.Integer(), nullable=True),
        sa.Column("health_monitor", sa.Integer(), nullable=True),
        sa.Column("member", sa.Integer(), nullable=True),
        sa.Column("l7policy", sa.Integer(), nullable=True),
        sa.Column("l7rule", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_quota")),
    )
    op.create_table(
        "device_state",
        sa.Column("partition_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("applied_generation", sa.BigInteger(), nullable=False),
        sa.Column("in_step", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partition_id"],
            ["partition.id"],
            name=op.f("fk_device_state_partition_id_partition"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partition_id", "device", name=op.f("pk_device_state")),
    )
    op.create_table(
        "flavor",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("flavor_profile_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["flavor_profile_id"],
            ["flavor_profile.id"],
            name=op.f("fk_flavor_flavor_profile_id_flavor_profile"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flavor")),
        sa.UniqueConstraint("name", name=op.f("uq_flavor_name")),
    )
    op.create_table(
        "load_balancer",
        sa.Column("partition_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("vip_address", sa.String(length=64), nullable=True),
        sa.Column("vip_port_id", sa.String(length=36), nullable=True),
        sa.Column("vip_subnet_id", sa.String(length=36), nullable=True),
        sa.Column("vip_network_id", sa.String(length=36), nullable=True),
        sa.Column("vip_qos_policy_id", sa.String(length=36), nullable=True),
        sa.Column("flavor_id", sa.String(length=36), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partition_id"],
            ["partition.id"],
            name=op.f("fk_load_balancer_partition_id_partition"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load_balancer")),
        sa.UniqueConstraint(
            "vip_subnet_id",
            "vip_address",
            name=op.f("uq_load_balancer_vip_subnet_id_vip_address"),
        ),
    )
    with op.batch_alter_table("load_balancer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_load_balancer_partition_id"), ["partition_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_load_balancer_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "partition_lease",
        sa.Column("partition_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("handover_to", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["partition_id"],
            ["partition.id"],
            name=op.f("fk_partition_lease_partition_id_partition"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partition_id", name=op.f("pk_partition_lease")),
    )
    with op.batch_alter_table("partition_lease", schema=None) as batch_op:
        batch_op.create_index(
            "ix_partition_lease_expires_at", ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_partition_lease_owner"), ["owner"], unique=False
        )

    op.create_table(
        "subnet",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("gateway_ip", sa.String(length=64), nullable=True),
        sa.Column("allocation_pools", sa.JSON(), nullable=False),
        sa.Column("enable_dhcp", sa.Boolean(), nullable=False),
        sa.Column("dns_nameservers", sa.JSON(), nullable=False),
        sa.Column("host_routes", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["network.id"],
            name=op.f("fk_subnet_network_id_network"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subnet")),
    )
    with op.batch_alter_table("subnet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subnet_network_id"), ["network_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subnet_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "listener",
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("protocol_port", sa.Integer(), nullable=False),
        sa.Column("connection_limit", sa.Integer(), nullable=False),
        sa.Column("default_pool_id", sa.String(length=36), nullable=True),
        sa.Column("insert_headers", sa.JSON(), nullable=False),
        sa.Column("timeout_client_data", sa.Integer(), nullable=True),
        sa.Column("timeout_member_connect", sa.Integer(), nullable=True),
        sa.Column("timeout_member_data", sa.Integer(), nullable=True),
        sa.Column("timeout_tcp_inspect", sa.Integer(), nullable=True),
        sa.Column("default_tls_container_ref", sa.Text(), nullable=True),
        sa.Column("sni_container_refs", sa.JSON(), nullable=False),
        sa.Column("client_authentication", sa.String(length=16), nullable=False),
        sa.Column("client_ca_tls_container_ref", sa.Text(), nullable=True),
        sa.Column("client_crl_container_ref", sa.Text(), nullable=True),
        sa.Column("allowed_cidrs", sa.JSON(), nullable=False),
        sa.Column("tls_ciphers", sa.Text(), nullable=True),
        sa.Column("tls_versions", sa.JSON(), nullable=False),
        sa.Column("alpn_protocols", sa.JSON(), nullable=False),
        sa.Column("hsts_max_age", sa.Integer(), nullable=True),
        sa.Column("hsts_include_subdomains", sa.Boolean(), nullable=False),
        sa.Column("hsts_preload", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_balancer_id"],
            ["load_balancer.id"],
            name=op.f("fk_listener_load_balancer_id_load_balancer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listener")),
        sa.UniqueConstraint(
            "load_balancer_id",
            "protocol",
            "protocol_port",
            name=op.f("uq_listener_load_balancer_id_protocol_protocol_port"),
        ),
    )
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_listener_load_balancer_id"),
            ["load_balancer_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_listener_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "pool",
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("lb_algorithm", sa.String(length=32), nullable=False),
        sa.Column("session_persistence", sa.JSON(), nullable=True),
        sa.Column("tls_enabled", sa.Boolean(), nullable=False),
        sa.Column("tls_container_ref", sa.Text(), nullable=True),
        sa.Column("ca_tls_container_ref", sa.Text(), nullable=True),
        sa.Column("crl_container_ref", sa.Text(), nullable=True),
        sa.Column("tls_ciphers", sa.Text(), nullable=True),
        sa.Column("tls_versions", sa.JSON(), nullable=False),
        sa.Column("alpn_protocols", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["load_balancer_id"],
            ["load_balancer.id"],
            name=op.f("fk_pool_load_balancer_id_load_balancer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool")),
    )
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pool_load_balancer_id"), ["load_balancer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pool_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "health_monitor",
        sa.Column("pool_id", sa.String(length=36), nullable=False),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("delay", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("max_retries_down", sa.Integer(), nullable=False),
        sa.Column("http_method", sa.String(length=16), nullable=True),
        sa.Column("url_path", sa.Text(), nullable=True),
        sa.Column("expected_codes", sa.String(length=64), nullable=True),
        sa.Column("http_version", sa.Double(), nullable=True),
        sa.Column("domain_name", sa.String(length=255), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pool.id"],
            name=op.f("fk_health_monitor_pool_id_pool"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_monitor")),
        sa.UniqueConstraint("pool_id", name=op.f("uq_health_monitor_pool_id")),
    )
    with op.batch_alter_table("health_monitor", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_monitor_load_balancer_id"),
            ["load_balancer_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_health_monitor_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "l7policy",
        sa.Column("listener_id", sa.String(length=36), nullable=False),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("redirect_pool_id", sa.String(length=36), nullable=True),
        sa.Column("redirect_url", sa.Text(), nullable=True),
        sa.Column("redirect_prefix", sa.Text(), nullable=True),
        sa.Column("redirect_http_code", sa.Integer(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["listener_id"],
            ["listener.id"],
            name=op.f("fk_l7policy_listener_id_listener"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_l7policy")),
    )
    with op.batch_alter_table("l7policy", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_l7policy_listener_id"), ["listener_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_l7policy_load_balancer_id"),
            ["load_balancer_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_l7policy_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "listener_stats",
        sa.Column("listener_id", sa.String(length=36), nullable=False),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("bytes_in", sa.BigInteger(), nullable=False),
        sa.Column("bytes_out", sa.BigInteger(), nullable=False),
        sa.Column("active_connections", sa.BigInteger(), nullable=False),
        sa.Column("total_connections", sa.BigInteger(), nullable=False),
        sa.Column("request_errors", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["listener_id"],
            ["listener.id"],
            name=op.f("fk_listener_stats_listener_id_listener"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("listener_id", name=op.f("pk_listener_stats")),
    )
    with op.batch_alter_table("listener_stats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_listener_stats_load_balancer_id"),
            ["load_balancer_id"],
            unique=False,
        )

    op.create_table(
        "member",
        sa.Column("pool_id", sa.String(length=36), nullable=False),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("protocol_port", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("backup", sa.Boolean(), nullable=False),
        sa.Column("subnet_id", sa.String(length=36), nullable=True),
        sa.Column("monitor_address", sa.String(length=64), nullable=True),
        sa.Column("monitor_port", sa.Integer(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pool_id"],
            ["pool.id"],
            name=op.f("fk_member_pool_id_pool"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint(
            "pool_id",
            "address",
            "protocol_port",
            name=op.f("uq_member_pool_id_address_protocol_port"),
        ),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_load_balancer_id"), ["load_balancer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_member_pool_id"), ["pool_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_member_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "l7rule",
        sa.Column("l7policy_id", sa.String(length=36), nullable=False),
        sa.Column("load_balancer_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("compare_type", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("invert", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("provisioning_status", sa.String(length=16), nullable=False),
        sa.Column("operating_status", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["l7policy_id"],
            ["l7policy.id"],
            name=op.f("fk_l7rule_l7policy_id_l7policy"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_l7rule")),
    )
    with op.batch_alter_table("l7rule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_l7rule_l7policy_id"), ["l7policy_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_l7rule_load_balancer_id"), ["load_balancer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_l7rule_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("l7rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_l7rule_project_id"))
        batch_op.drop_index(batch_op.f("ix_l7rule_load_balancer_id"))
        batch_op.drop_index(batch_op.f("ix_l7rule_l7policy_id"))

    op.drop_table("l7rule")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_project_id"))
        batch_op.drop_index(batch_op.f("ix_member_pool_id"))
        batch_op.drop_index(batch_op.f("ix_member_load_balancer_id"))

    op.drop_table("member")
    with op.batch_alter_table("listener_stats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listener_stats_load_balancer_id"))

    op.drop_table("listener_stats")
    with op.batch_alter_table("l7policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_l7policy_project_id"))
        batch_op.drop_index(batch_op.f("ix_l7policy_load_balancer_id"))
        batch_op.drop_index(batch_op.f("ix_l7policy_listener_id"))

    op.drop_table("l7policy")
    with op.batch_alter_table("health_monitor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_monitor_project_id"))
        batch_op.drop_index(batch_op.f("ix_health_monitor_load_balancer_id"))

    op.drop_table("health_monitor")
    with op.batch_alter_table("pool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pool_project_id"))
        batch_op.drop_index(batch_op.f("ix_pool_load_balancer_id"))

    op.drop_table("pool")
    with op.batch_alter_table("listener", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_listener_project_id"))
        batch_op.drop_index(batch_op.f("ix_listener_load_balancer_id"))

    op.drop_table("listener")
    with op.batch_alter_table("subnet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subnet_project_id"))
        batch_op.drop_index(batch_op.f("ix_subnet_network_id"))

    op.drop_table("subnet")
    with op.batch_alter_table("partition_lease", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partition_lease_owner"))
        batch_op.drop_index("ix_partition_lease_expires_at")

    op.drop_table("partition_lease")
    with op.batch_alter_table("load_balancer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_load_balancer_project_id"))
        batch_op.drop_index(batch_op.f("ix_load_balancer_partition_id"))

    op.drop_table("load_balancer")
    op.drop_table("flavor")
    op.drop_table("device_state")
    op.drop_table("quota")
    op.drop_table("partition")
    with op.batch_alter_table("network", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_project_id"))

    op.drop_table("network")
    op.drop_table("flavor_profile")
    op.drop_table("agent")
