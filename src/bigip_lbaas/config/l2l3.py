"""F5's L2/L3 options (``f5_global_routed_mode = False``) read from the operator's ini as it is,
into one ``core.network.NetworkSettings``.

Same names, same meaning and F5's code defaults (f5-openstack-agent's ``agent_manager.py`` and
``icontrol_driver.py``). Where F5's agent is lax we refuse at start-up, with one line naming the
file, the option and the value: ``f5_external_physical_mappings``' ``tagged`` is a real boolean
(F5's agent compared the string, so ``False`` tagged the VLAN: f5-openstack-agent #1066), a
mapping without a ``default`` entry is refused, a tunnel type other than vxlan or gre is refused.

Must not: talk to a device, a database or a network source.
"""

from __future__ import annotations

from oslo_config import cfg, types

from bigip_lbaas.core.errors import ConfigError
from bigip_lbaas.core.network import TUNNEL_TYPES, NetworkSettings, PhysicalMapping

QuotedStr = types.String(quotes=True)

# Registered in [DEFAULT] next to F5's other agent options (config/options.py).
L2L3_OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "use_namespaces",
        default=True,
        help="L2/L3 mode: one route domain per project (ids allocated in the shared database, "
        "identical on every device); False: every project in route domain 0.",
    ),
    cfg.BoolOpt(
        "f5_route_domain_strictness",
        default=False,
        help="Route domains are strict (no routing across them); False: parent /Common/0.",
    ),
    cfg.IntOpt(
        "max_namespaces_per_tenant",
        default=1,
        min=1,
        help="Route domains one project may use: a subnet overlapping another of the project "
        "gets an auxiliary route domain, up to this many.",
    ),
    cfg.BoolOpt(
        "f5_snat_mode",
        default=True,
        help="Virtual servers translate source addresses (SNAT pool or automap).",
    ),
    cfg.IntOpt(
        "f5_snat_addresses_per_subnet",
        default=1,
        min=0,
        help="SNAT addresses booked per subnet (as ports); 0: automap (the self IPs).",
    ),
    cfg.BoolOpt(
        "f5_common_networks",
        default=False,
        help="Every network is common: route domain 0, objects of /Common only.",
    ),
    cfg.BoolOpt(
        "f5_common_external_networks",
        default=True,
        help="router:external networks are common (route domain 0).",
    ),
    cfg.DictOpt(
        "common_network_ids",
        default={},
        help="network-id:vlan-name pairs: these networks are common and reached through the "
        "operator's /Common VLAN (or tunnel) of that name.",
    ),
    cfg.ListOpt(
        "f5_external_physical_mappings",
        default=["default:1.1:True"],
        help="physical_network:interface:tagged[:hostname], comma-separated; a `default` "
        "entry is required (it serves every physical network without its own).",
    ),
    cfg.Opt("f5_vtep_folder", type=QuotedStr, default="Common",
            help="Folder of the VTEP self IP tunnels take their local address from."),
    cfg.Opt("f5_vtep_selfip_name", type=QuotedStr, default=None,
            help="Name of the VTEP self IP (needed for vxlan and gre networks)."),
    cfg.ListOpt(
        "advertised_tunnel_types",
        default=["vxlan"],
        help="Tunnel types the devices take part in: vxlan, gre (empty: none).",
    ),
]

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class BadOption(ConfigError):
    """One L2/L3 option's value refused; ``config.load`` adds the file that set it."""

    def __init__(self, name: str, value: object, reason: str, accepted: str) -> None:
        self.name, self.value, self.reason, self.accepted = name, value, reason, accepted
        super().__init__(f"[DEFAULT] {name} = {value!r}: {reason}; accepted: {accepted}")


def _refuse(conf: cfg.ConfigOpts, name: str, value: object, reason: str, accepted: str) -> None:
    raise BadOption(name, value, reason, accepted)


def _bool(text: str) -> bool | None:
    lowered = text.strip().strip("'\"").lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else None


def physical_mappings(conf: cfg.ConfigOpts) -> tuple[PhysicalMapping, ...]:
    accepted = "physnet:interface:tagged[:hostname], tagged true or false, one `default` entry"
    found: dict[str, PhysicalMapping] = {}
    for item in conf.f5_external_physical_mappings or []:
        parts = [p.strip() for p in str(item).strip().strip("'\"").split(":")]
        if len(parts) not in (3, 4) or not parts[0] or not parts[1]:
            _refuse(conf, "f5_external_physical_mappings", item, f"cannot parse {item!r}",
                    accepted)
        tagged = _bool(parts[2])
        if tagged is None:
            _refuse(conf, "f5_external_physical_mappings", item,
                    f"tagged {parts[2]!r} in {item!r} is not true or false", accepted)
        if len(parts) == 4 and parts[3] and parts[3] != str(conf.host):
            continue  # another agent host's entry (F5's `:hostname`)
        if parts[0] in found:
            _refuse(conf, "f5_external_physical_mappings", item,
                    f"physical network {parts[0]!r} is mapped twice", accepted)
        found[parts[0]] = PhysicalMapping(parts[0], parts[1], bool(tagged))
    if "default" not in found:
        names = ", ".join(sorted(found)) or "none"
        _refuse(conf, "f5_external_physical_mappings", ",".join(found) or "",
                f"no `default` entry (mapped: {names}); physical networks other than these "
                "would have no interface", accepted)
    return tuple(found[k] for k in sorted(found, key=lambda k: (k != "default", k)))


def network_settings(conf: cfg.ConfigOpts) -> NetworkSettings:
    """The operator's L2/L3 options, checked; raises ConfigError naming the option and value."""
    tunnels = tuple(str(t).strip().lower() for t in conf.advertised_tunnel_types or [] if t)
    for t in tunnels:
        if t not in TUNNEL_TYPES:
            _refuse(conf, "advertised_tunnel_types", ",".join(tunnels),
                    f"unknown tunnel type {t!r}", ", ".join(TUNNEL_TYPES) + " (comma-separated)")
    common_ids = {str(k).strip(): str(v).strip() for k, v in
                  (conf.common_network_ids or {}).items()}
    for net_id, vlan in common_ids.items():
        if not net_id or not vlan:
            _refuse(conf, "common_network_ids", f"{net_id}:{vlan}",
                    "a network id and a VLAN name are both needed",
                    "network-id:vlan-name pairs, comma-separated")
    selfip = conf.f5_vtep_selfip_name
    folder = str(conf.f5_vtep_folder or "Common").strip("/") or "Common"
    return NetworkSettings(
        global_routed_mode=bool(conf.f5_global_routed_mode),
        use_namespaces=bool(conf.use_namespaces),
        route_domain_strictness=bool(conf.f5_route_domain_strictness),
        max_namespaces_per_tenant=int(conf.max_namespaces_per_tenant),
        snat_mode=bool(conf.f5_snat_mode),
        snat_addresses_per_subnet=int(conf.f5_snat_addresses_per_subnet),
        common_networks=bool(conf.f5_common_networks),
        common_external_networks=bool(conf.f5_common_external_networks),
        common_network_ids=common_ids,
        physical_mappings=physical_mappings(conf),
        vtep_folder=folder,
        vtep_selfip_name=str(selfip).strip() or None if selfip else None,
        advertised_tunnel_types=tunnels,
    )
