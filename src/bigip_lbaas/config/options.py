"""Option tables, in the names operators already use.

`[DEFAULT]`, `[AGENT]` and `[database]` come from neutron.conf; the iControl and agent options from
F5's f5-openstack-agent.ini (same names, same meaning, F5's code defaults unless noted);
`[api_settings]` from octavia.conf; `[service_providers]` from neutron_lbaas.conf. Our own tuning
knobs live in `[bigip_lbaas]`. F5 options we accept but do not act on are listed in UNSUPPORTED so
that a file that sets them is reported once, by name, and never fails.
"""

from __future__ import annotations

import socket

from oslo_config import cfg, types

from bigip_lbaas.config.l2l3 import L2L3_OPTS

HA_TYPES = ("standalone", "pair", "scalen")

# Values F5's shipped ini files carry in quotes ('Common'); real agents strip them.
QuotedStr = types.String(quotes=True)

COMMON_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<hostname>",
        help="Name of this host; must be unique among the agents of one environment.",
    ),
    cfg.BoolOpt("debug", default=False, help="Log at debug level."),
]

AGENT_SECTION_OPTS: list[cfg.Opt] = [
    cfg.FloatOpt(
        "report_interval",
        default=30.0,
        help="Neutron's agent report interval (s). Our heartbeat is "
        "[bigip_lbaas] heartbeat_interval; this is read for compatibility.",
    ),
]

DATABASE_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "connection",
        secret=True,
        default="sqlite:///bigip-lbaas.sqlite",
        help="SQLAlchemy URL of the shared database (sqlite, postgresql, mysql+pymysql).",
    ),
]

F5_AGENT_OPTS: list[cfg.Opt] = [
    cfg.StrOpt("agent_id", help="Static agent identity; overrides `host` as the identity."),
    cfg.Opt(
        "environment_prefix",
        type=QuotedStr,
        default="Project",
        help="Environment name; prefix of every partition and object on the device.",
    ),
    cfg.IntOpt(
        "environment_group_number",
        default=1,
        help="F5's group within the environment. Accepted; only 1 is implemented (every agent "
        "of an environment shares its partitions); another value is warned about at start-up.",
    ),
    cfg.FloatOpt(
        "periodic_interval",
        default=10.0,
        help="F5's periodic task tick (s). Accepted; not used (see [bigip_lbaas] "
        "heartbeat_interval and status_interval, and service_resync_interval); another value "
        "than 10 is warned about at start-up.",
    ),
    cfg.FloatOpt(
        "service_resync_interval",
        default=300.0,
        help="Anti-entropy period (s): every owned partition is re-checked this often.",
    ),
    cfg.FloatOpt(
        "f5_pending_services_timeout",
        default=60.0,
        help="Seconds a change may stay pending before its objects go to ERROR "
        "(counted while retries fail).",
    ),
    cfg.Opt(
        "f5_ha_type",
        default="pair",
        type=types.String(choices=HA_TYPES, quotes=True),
        help="standalone (1 device), pair (2) or scalen (2 or more).",
    ),
    cfg.Opt(
        "icontrol_hostname",
        type=QuotedStr,
        default="10.190.5.7",
        help="Comma-separated BIG-IP management addresses, each optionally host:port.",
    ),
    cfg.Opt("icontrol_username", type=QuotedStr, default="admin", help="BIG-IP user."),
    cfg.Opt(
        "icontrol_password",
        type=QuotedStr,
        default="admin",
        secret=True,
        help="BIG-IP password (never logged).",
    ),
    cfg.FloatOpt(
        "icontrol_connection_timeout",
        default=30.0,
        help="Timeout (s) for one iControl REST request.",
    ),
    cfg.BoolOpt(
        "icontrol_verify",
        default=True,
        help="Verify the devices' TLS certificates (ours; F5's agent never verified).",
    ),
    cfg.StrOpt("icontrol_ca_bundle", help="CA bundle used to verify the devices (ours)."),
    cfg.BoolOpt(
        "f5_global_routed_mode",
        default=True,
        help="True: no L2/L3 orchestration (the devices route to every address already). "
        "False: F5's L2/L3 mode: route domains, VLANs or tunnels, self IPs and SNAT per "
        "project (docs/networking-agent.md).",
    ),
    *L2L3_OPTS,
]

# Registered F5 options whose non-default value asks for something we do not do: named, with the
# value, in one warning line at agent start-up; never fatal. name -> (F5's default, why).
VALUE_NOT_IMPLEMENTED: dict[str, tuple[object, str]] = {
    "environment_group_number": (
        1,
        "groups are not implemented: every agent of an environment shares its partitions",
    ),
    "periodic_interval": (
        10.0,
        "not used: see [bigip_lbaas] heartbeat_interval and status_interval, and "
        "[DEFAULT] service_resync_interval",
    ),
}

# F5 agent options that are accepted and reported as not implemented when set in a file.
UNSUPPORTED = (
    "start_agent_admin_state_up",
    "f5_bigip_lbaas_device_driver",
    "l2_population",
    "static_agent_configuration_data",
    "environment_specific_plugin",
    "capacity_policy",
    "f5_errored_services_timeout",
    "icontrol_vcmp_hostname",
    "icontrol_connection_retry_interval",
    "icontrol_config_mode",
    "f5_device_type",
    "f5_populate_static_arp",
    "vlan_binding_driver",
    "interface_port_static_mappings",
    "l3_binding_driver",
    "l3_binding_static_mappings",
    "external_gateway_mode",
    "f5_network_segment_physical_network",
    "f5_network_segment_polling_interval",
    "f5_network_segment_gross_timeout",
    "f5_parent_ssl_profile",
    "cert_manager",
    "auth_version",
    "os_auth_url",
    "os_username",
    "os_password",
    "os_user_domain_name",
    "os_project_name",
    "os_project_domain_name",
    "os_project_id",
    "os_tenant_name",
    "trace_service_requests",
    # BIG-IQ onboarding (legacy)
    "bigiq_hostname",
    "bigiq_admin_username",
    "bigiq_admin_password",
    "openstack_keystone_uri",
    "openstack_admin_username",
    "openstack_admin_password",
    "bigip_management_username",
    "bigip_management_password",
    # F5's driver side (neutron-server), should they sit in a file the agent reads
    "f5_loadbalancer_pool_scheduler_driver_v2",
    "f5_loadbalancer_service_builder_v2",
    "f5_driver_perf_mode",
    "f5_agent_group_number",
    # agent 9.10's additions
    "availability_zone",
    "resync_interval",
    "config_save_interval",
    "device_lock_expire_seconds",
    "member_update_interval",
    "member_update_mode",
    "member_update_number",
    "member_update_agent_number",
    "member_update_agent_order",
    "f5_agent_mode",
)

COORDINATION_OPTS: list[cfg.Opt] = [
    cfg.FloatOpt("heartbeat_interval", default=2.0, min=0.1, help="Agent heartbeat period (s)."),
    cfg.FloatOpt(
        "unserved_timeout",
        default=300.0,
        min=0.0,
        help="How long accepted work may wait while no live agent (alive, admin up) serves its "
        "environment before its pending objects end in ERROR with that reason (s); the API "
        "process checks every lease period. 0: wait forever.",
    ),
    cfg.FloatOpt(
        "lease_seconds",
        default=10.0,
        min=1.0,
        help="Partition lease length (s); also how long a silent agent counts as alive.",
    ),
    cfg.FloatOpt(
        "renew_deadline",
        default=7.0,
        min=0.5,
        help="An owner that has not renewed for this long stops writing (self-fencing).",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=0.1,
        min=0.01,
        help="How often an agent checks for new work when no wake-up channel exists (s).",
    ),
    cfg.IntOpt(
        "max_concurrent_reconciles",
        default=8,
        min=1,
        help="Partitions one agent reconciles at once.",
    ),
    cfg.IntOpt(
        "device_concurrency",
        default=8,
        min=1,
        help="Requests in flight to one device from one agent.",
    ),
    cfg.IntOpt(
        "max_retries",
        default=5,
        min=0,
        help="Failed reconcile attempts before the pending objects go to ERROR.",
    ),
    cfg.FloatOpt(
        "status_interval",
        default=10.0,
        min=1.0,
        help="How often operating status and stats are read from the devices (s).",
    ),
    cfg.StrOpt(
        "default_project_id",
        default="admin",
        help="Project for noauth requests that name none and send no X-Project-Id.",
    ),
    cfg.StrOpt("log_format", default="text", choices=("text", "json"), help="Log line format."),
    cfg.PortOpt(
        "metrics_port",
        help="Serve the agent's Prometheus metrics on this port (unset: no metrics server).",
    ),
    cfg.HostAddressOpt(
        "metrics_host",
        default="127.0.0.1",
        help="Address the agent's metrics server listens on (with metrics_port).",
    ),
]

# Ours: what keeps an API on a network safe (docs/deployment.md, "Exposing the API").
EXPOSURE_OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "allow_insecure_noauth",
        default=False,
        help="Let auth_strategy = noauth (everyone is admin) listen on a bind_host that is not "
        "loopback. Without it such a start is refused.",
    ),
    cfg.StrOpt(
        "cert_file",
        help="PEM certificate (chain) the API serves HTTPS with; with key_file. Unset: plain "
        "HTTP.",
    ),
    cfg.StrOpt("key_file", help="PEM private key of cert_file."),
    cfg.IntOpt(
        "max_request_body_size",
        default=1048576,
        min=1,
        help="Largest request body accepted (bytes); larger is answered 413.",
    ),
]

API_OPTS: list[cfg.Opt] = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1", help="Address the API listens on."),
    cfg.BoolOpt(
        "refuse_unserved",
        default=True,
        help="Refuse (503, naming the environment) a create or change for an environment no "
        "live agent serves, instead of accepting work nothing will carry out.",
    ),
    cfg.PortOpt("bind_port", default=9876, help="Port the API listens on."),
    cfg.StrOpt(
        "auth_strategy",
        default="noauth",
        choices=("noauth", "keystone", "header"),
        help="noauth (everyone is admin), keystone (auth_token middleware) or header "
        "(trust X-Project-Id/X-Roles from an authenticating proxy).",
    ),
    cfg.StrOpt(
        "default_provider_driver", default="f5", help="Provider used when a request names none."
    ),
    cfg.DictOpt(
        "enabled_provider_drivers",
        default={},
        help="Octavia-style provider list, name:description; each is an environment.",
    ),
    cfg.IntOpt("pagination_max_limit", default=1000, help="Largest page size."),
    cfg.StrOpt("api_base_uri", help="Base URL used in links instead of the request's."),
    cfg.IntOpt(
        "workers",
        default=1,
        min=1,
        max=64,
        help="API worker processes serving bind_host:bind_port together (one per core is "
        "plenty); they answer alike and /metrics sums them all.",
    ),
    cfg.IntOpt(
        "threads",
        min=1,
        max=256,
        help="Requests one API worker process runs at once (its thread pool); the others wait "
        "their turn in arrival order. A few keep the tail latency low under load: more "
        "threads in one Python process take turns on one interpreter lock, and each request "
        "waits for it after every database round trip. Unset: 2 on PostgreSQL, 4 on SQLite "
        "and MariaDB (what measured best for each, docs/deployment.md).",
    ),
    *EXPOSURE_OPTS,
]

# Octavia's TLS defaults ([api_settings], octavia/common/config.py), applied by api/tls.py to
# TERMINATED_HTTPS listeners and tls_enabled pools that leave the fields out.
OWASP_SUITE_B_CIPHERS = (
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")
TLS_ALL_VERSIONS = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
ALPN_PROTOCOLS = ["h2", "http/1.1", "http/1.0"]
TLS_API_OPTS: list[cfg.Opt] = [
    cfg.StrOpt("default_listener_ciphers", default=OWASP_SUITE_B_CIPHERS,
               help="Default OpenSSL cipher string for new TERMINATED_HTTPS listeners."),
    cfg.StrOpt("default_pool_ciphers", default=OWASP_SUITE_B_CIPHERS,
               help="Default OpenSSL cipher string for new TLS-enabled pools."),
    cfg.StrOpt("tls_cipher_prohibit_list", default="",
               help="Colon-separated OpenSSL ciphers that listeners and pools may not use."),
    cfg.ListOpt("default_listener_tls_versions", default=["TLSv1.2", "TLSv1.3"],
                item_type=types.String(choices=TLS_ALL_VERSIONS),
                help="TLS versions of new TERMINATED_HTTPS listeners."),
    cfg.ListOpt("default_pool_tls_versions", default=["TLSv1.2", "TLSv1.3"],
                item_type=types.String(choices=TLS_ALL_VERSIONS),
                help="TLS versions of new TLS-enabled pools."),
    cfg.StrOpt("minimum_tls_version", choices=TLS_ALL_VERSIONS,
               help="Oldest TLS version a listener or pool may ask for."),
    # Octavia's default also offers h2; a BIG-IP negotiates h2 only with an HTTP/2 profile,
    # which this provider does not deploy (docs/api.md), so h2 is left out of the defaults.
    cfg.ListOpt("default_listener_alpn_protocols", default=["http/1.1", "http/1.0"],
                item_type=types.String(choices=ALPN_PROTOCOLS),
                help="ALPN protocols of new TERMINATED_HTTPS listeners (h2 is refused)."),
    cfg.ListOpt("default_pool_alpn_protocols", default=["http/1.1", "http/1.0"],
                item_type=types.String(choices=ALPN_PROTOCOLS),
                help="ALPN protocols of new TLS-enabled pools (h2 is refused)."),
]
API_OPTS += TLS_API_OPTS

QUOTA_OPTS: list[cfg.Opt] = [
    cfg.IntOpt(f"default_{name}_quota", default=-1, min=-1,
               help=f"Default {name.replace('_', ' ')} quota per project; -1: unlimited.")
    for name in ("load_balancer", "listener", "member", "pool", "health_monitor", "l7policy",
                 "l7rule")
]

SERVICE_PROVIDER_OPTS: list[cfg.Opt] = [
    cfg.MultiStrOpt(
        "service_provider",
        default=[],
        help="LOADBALANCERV2:<name>:<driver>[:default], as in neutron_lbaas.conf.",
    ),
]


BUILTIN_CERT_MANAGER = "database_cert_manager"
BARBICAN_CERT_MANAGER = "barbican_cert_manager"
CERTIFICATE_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "cert_manager",
        default=BUILTIN_CERT_MANAGER,
        choices=[BUILTIN_CERT_MANAGER, BARBICAN_CERT_MANAGER],
        help="Where TLS secrets live (Octavia's option): database_cert_manager, the built-in "
        "store in the shared database, served as Barbican's v1 secrets API under /key-manager; "
        "barbican_cert_manager, a real Barbican found in the Keystone catalog, read with the "
        "[service_auth] credentials (needs auth_strategy = keystone and the barbican extra).",
    ),
    cfg.StrOpt(
        "region_name",
        help="Region of the key-manager endpoint in the catalog (Octavia's option); unset: "
        "the catalog's only or first one.",
    ),
    cfg.StrOpt(
        "endpoint_type",
        default="publicURL",
        help="Interface of the key-manager endpoint (Octavia's option): public, internal, "
        "admin (or publicURL, internalURL, adminURL).",
    ),
    cfg.StrOpt(
        "storage_key_file",
        help="File holding the built-in store's key: 32 bytes, URL-safe base64, one line "
        "(`bigip-lbaas up` writes one). Every API and agent host needs the same file. Unset: "
        "the store refuses secrets (503).",
    ),
]


# Octavia's `[service_auth]`: the service's own Keystone credentials (keystoneauth1's password
# plugin option names), used with barbican_cert_manager.
SERVICE_AUTH_OPTS: list[cfg.Opt] = [
    cfg.StrOpt("auth_url", help="Keystone's URL (with or without /v3)."),
    cfg.StrOpt("auth_type", default="password", choices=["password"],
               help="keystoneauth1 plugin; password is the one supported."),
    cfg.StrOpt("username", help="The service user's name."),
    cfg.StrOpt("password", secret=True, help="The service user's password."),
    cfg.StrOpt("user_domain_name", default="Default", help="Domain of the service user."),
    cfg.StrOpt("project_name", default="service", help="Project the service user works in."),
    cfg.StrOpt("project_domain_name", default="Default", help="Domain of that project."),
    cfg.StrOpt("cafile", help="PEM CA bundle to verify Keystone's and Barbican's HTTPS with."),
    cfg.BoolOpt("insecure", default=False, help="Skip HTTPS verification (tests only)."),
    cfg.FloatOpt("timeout", default=30.0, min=1, help="Seconds per request to Keystone or "
                 "Barbican."),
]


# `[networking]`: where network facts come from and where VIP, self-IP and SNAT addresses are
# booked as ports (network/__init__.py `source_for`).
BUILTIN_NETWORK_SOURCE = "builtin"
NEUTRON_NETWORK_SOURCE = "neutron"
NETWORKING_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "source",
        default=BUILTIN_NETWORK_SOURCE,
        choices=[BUILTIN_NETWORK_SOURCE, NEUTRON_NETWORK_SOURCE],
        help="builtin: the Neutron-shaped registry in the shared database (served at /v2.0); "
        "neutron: a real Neutron found in the Keystone catalog (service type network), called "
        "with the [service_auth] credentials (the user needs Neutron's admin role to read "
        "provider:* attributes; needs the neutron extra).",
    ),
    cfg.StrOpt("region_name", help="Region of the network endpoint in the catalog; unset: the "
               "catalog's only or first one."),
    cfg.StrOpt("endpoint_type", default="publicURL", help="Interface of the network endpoint: "
               "public, internal, admin (or publicURL, internalURL, adminURL)."),
    cfg.StrOpt("endpoint_override", help="Neutron's URL, instead of the catalog's (tests, "
               "split deployments)."),
    cfg.FloatOpt("timeout", default=30.0, min=1, help="Seconds per request to Neutron."),
    cfg.IntOpt("retries", default=2, min=0, max=10, help="Retries of a request that failed to "
               "connect or got a 5xx/503 from Neutron, before the call fails (the work stays "
               "pending and is tried again later)."),
]


def register(conf: cfg.ConfigOpts) -> None:
    """Register every option table on `conf` (idempotent)."""
    conf.register_opts(COMMON_OPTS)
    conf.register_opts(F5_AGENT_OPTS)
    conf.register_opts(AGENT_SECTION_OPTS, group="AGENT")
    conf.register_opts(DATABASE_OPTS, group="database")
    conf.register_opts(COORDINATION_OPTS, group="bigip_lbaas")
    conf.register_opts(API_OPTS, group="api_settings")
    conf.register_opts(SERVICE_PROVIDER_OPTS, group="service_providers")
    conf.register_opts(QUOTA_OPTS, group="quotas")
    conf.register_opts(CERTIFICATE_OPTS, group="certificates")
    conf.register_opts(SERVICE_AUTH_OPTS, group="service_auth")
    conf.register_opts(NETWORKING_OPTS, group="networking")


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Entry point for oslo-config-generator."""
    return [
        ("DEFAULT", COMMON_OPTS + F5_AGENT_OPTS),
        ("AGENT", AGENT_SECTION_OPTS),
        ("database", DATABASE_OPTS),
        ("bigip_lbaas", COORDINATION_OPTS),
        ("api_settings", API_OPTS),
        ("service_providers", SERVICE_PROVIDER_OPTS),
        ("quotas", QUOTA_OPTS),
        ("certificates", CERTIFICATE_OPTS),
        ("service_auth", SERVICE_AUTH_OPTS),
        ("networking", NETWORKING_OPTS),
    ]
