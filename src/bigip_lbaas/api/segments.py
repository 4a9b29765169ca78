"""Neutron's provider attributes of a network (`provider:network_type`, `provider:physical_network`,
`provider:segmentation_id`): who may set and see them, how they are validated, what keeps a
segment unique. Pure functions; the network routes store the result.

Validation follows ML2's type drivers, with their messages:
- neutron/plugins/ml2/drivers/type_vlan.py `validate_provider_segment` (VLAN id 1-4094, a
  segmentation id needs a physical network),
- neutron/plugins/ml2/drivers/type_flat.py (a physical network required, segmentation_id
  prohibited),
- neutron/plugins/ml2/drivers/type_tunnel.py (no physical network on a tunnel) and neutron-lib's
  neutron_lib/plugins/utils.py `verify_tunnel_range` ("%(id)s is not a valid %(type)s
  identifier", VXLAN VNI 1..2**24-1, GRE key 1..2**32-1),
- neutron/plugins/ml2/managers.py ("network_type required", "network_type value '%s' not
  supported"),
and the 409s of neutron-lib's neutron_lib/exceptions/__init__.py (VlanIdInUse,
FlatNetworkInUse, TunnelIdInUse). Neutron answers a bad value with its InvalidInput
("Invalid input for operation: ...").

Where this registry differs from ML2: it has no VLAN or tunnel ranges to allocate from, so a
vlan, vxlan or gre network names its segmentation id (ML2 would pick a free one), and any
physical network name is accepted (ML2 knows its configured ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bigip_lbaas.core.errors import ApiError

NETWORK_TYPE = "provider:network_type"
PHYSICAL_NETWORK = "provider:physical_network"
SEGMENTATION_ID = "provider:segmentation_id"
PROVIDER_ATTRIBUTES = (NETWORK_TYPE, PHYSICAL_NETWORK, SEGMENTATION_ID)
TYPES = ("flat", "vlan", "vxlan", "gre")
MIN_VLAN_TAG, MAX_VLAN_TAG = 1, 4094  # neutron_lib/constants.py
MAX_ID = {"vxlan": 2**24 - 1, "gre": 2**32 - 1}  # MAX_VXLAN_VNI, MAX_GRE_ID


class InvalidInput(ApiError):
    """neutron_lib.exceptions.InvalidInput."""

    status = 400
    template = "Invalid input for operation: %(error_message)s."


class PolicyNotAuthorized(ApiError):
    """Neutron's 403 when a body sets an attribute its policy keeps for admins."""

    status = 403
    template = "%(rule)s is disallowed by policy"


class VlanIdInUse(ApiError):
    status = 409
    template = ("Unable to create the network. The VLAN %(vlan_id)s on physical network "
                "%(physical_network)s is in use.")


class FlatNetworkInUse(ApiError):
    status = 409
    template = "Unable to create the flat network. Physical network %(physical_network)s is in use."


class TunnelIdInUse(ApiError):
    status = 409
    template = "Unable to create the network. The tunnel ID %(tunnel_id)s is in use."


@dataclass(frozen=True)
class Segment:
    network_type: str
    physical_network: str | None
    segmentation_id: int | None

    @property
    def key(self) -> str:
        """What ML2 keeps unique: a VLAN per physical network, a flat network per physical
        network, a tunnel id per tunnel type."""
        if self.network_type == "vlan":
            return f"vlan:{self.physical_network}:{self.segmentation_id}"
        if self.network_type == "flat":
            return f"flat:{self.physical_network}"
        return f"{self.network_type}:{self.segmentation_id}"

    def in_use(self) -> ApiError:
        if self.network_type == "vlan":
            return VlanIdInUse(vlan_id=self.segmentation_id,
                               physical_network=self.physical_network)
        if self.network_type == "flat":
            return FlatNetworkInUse(physical_network=self.physical_network)
        return TunnelIdInUse(tunnel_id=self.segmentation_id)


def explicitly_set(extra: dict[str, Any]) -> list[str]:
    """The provider attributes a request body sets (Neutron ignores one left at its default,
    None)."""
    return [name for name in PROVIDER_ATTRIBUTES if extra.get(name) is not None]


def require_admin(is_admin: bool, extra: dict[str, Any], shared: bool, external: bool) -> None:
    """A non-admin setting a provider attribute gets Neutron's policy answer, naming every
    admin-only rule the body touched, nested as oslo.policy prints its AndCheck."""
    attrs = explicitly_set(extra)
    if is_admin or not attrs:
        return
    touched = (["shared"] if shared else []) + attrs + (["router:external"] if external else [])
    raise disallowed("create_network", touched)


def disallowed(action: str, attributes: list[str]) -> PolicyNotAuthorized:
    """Neutron's 403 for `action` with these admin-only attributes set: the rule printed as
    oslo.policy prints the AndCheck Neutron builds, `((rule:a and rule:a:x) and rule:a:y)`."""
    rule = f"rule:{action}"
    for attr in attributes:
        rule = f"({rule} and rule:{action}:{attr})"
    return PolicyNotAuthorized(rule=rule)


def _integer(value: Any) -> int:
    """neutron-lib's convert_to_int: an int, or a string of one."""
    if isinstance(value, bool):
        raise InvalidInput(error_message=f"'{value}' is not an integer")
    try:
        return int(value)
    except (TypeError, ValueError) as err:
        raise InvalidInput(error_message=f"'{value}' is not an integer") from err


def parse(extra: dict[str, Any]) -> Segment | None:
    """The segment a create body asks for, validated as ML2 does; None without one."""
    if extra.get("segments"):
        raise InvalidInput(error_message="segments (multi-provider networks) are not "
                                         "supported by this network registry")
    if not explicitly_set(extra):
        return None
    network_type = extra.get(NETWORK_TYPE)
    if network_type is None:
        raise InvalidInput(error_message="network_type required")
    if network_type not in TYPES:
        raise InvalidInput(error_message=f"network_type value '{network_type}' not supported")
    physnet = extra.get(PHYSICAL_NETWORK) or None
    if physnet is not None and (not isinstance(physnet, str) or len(physnet) > 64):
        raise InvalidInput(error_message=f"'{physnet}' is not a valid physical_network "
                                         "(a string of at most 64 characters)")
    raw = extra.get(SEGMENTATION_ID)
    seg_id = None if raw is None else _integer(raw)
    if network_type == "flat":
        if physnet is None:
            raise InvalidInput(error_message="physical_network required for flat provider "
                                             "network")
        if seg_id is not None:
            raise InvalidInput(error_message="segmentation_id prohibited for flat provider "
                                             "network")
    elif network_type == "vlan":
        if physnet is None:
            if seg_id is not None:
                raise InvalidInput(error_message="segmentation_id requires physical_network "
                                                 "for VLAN provider network")
            raise InvalidInput(error_message="physical_network required for VLAN provider "
                                             "network (this registry allocates no VLAN "
                                             "ranges)")
        if seg_id is None:
            raise InvalidInput(error_message="segmentation_id required for VLAN provider "
                                             "network (this registry allocates no VLAN "
                                             "ranges)")
        if not MIN_VLAN_TAG <= seg_id <= MAX_VLAN_TAG:
            raise InvalidInput(error_message=f"segmentation_id out of range ({MIN_VLAN_TAG} "
                                             f"through {MAX_VLAN_TAG})")
    else:
        if physnet is not None:
            raise InvalidInput(error_message=f"provider:physical_network specified for "
                                             f"{network_type} network")
        if seg_id is None:
            raise InvalidInput(error_message=f"segmentation_id required for {network_type} "
                                             "provider network (this registry allocates no "
                                             "tunnel ranges)")
        if not 1 <= seg_id <= MAX_ID[network_type]:
            raise InvalidInput(error_message=f"{seg_id} is not a valid {network_type} "
                                             "identifier")
    return Segment(network_type, physnet, seg_id)


def wire(network_type: str | None, physical_network: str | None,
         segmentation_id: int | None, is_admin: bool) -> dict[str, Any]:
    """The provider attributes of a network as Neutron shows them: to admins only
    (get_network:provider:* is admin_only in Neutron's default policy)."""
    if not is_admin:
        return {}
    return {NETWORK_TYPE: network_type, PHYSICAL_NETWORK: physical_network,
            SEGMENTATION_ID: segmentation_id}
