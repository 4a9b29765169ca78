"""iControl REST error bodies as the device sends them.

Owns the `IcrError` exception (raised anywhere in the simulator, turned into a response at the
edge) and one constructor per real error message (mcpd codes and texts from the reference).
"""

from __future__ import annotations

import itertools
from typing import Any

from bigip_lbaas.sim.pki import redact

_op_ids = itertools.count(1000)

BAD_INPUT = (ValueError, TypeError, KeyError, AttributeError, IndexError)
"""What a value of the wrong type or shape raises deep in the handlers: always a 400, never a
500 (`invalid_value`)."""


class IcrError(Exception):
    """An error the device answers with: HTTP status, message and `apiError` code. A PEM
    private key in the message (a client's value echoed back) is redacted."""

    def __init__(self, status: int, message: str, api_error: int = 3) -> None:
        message = redact(message)
        super().__init__(message)
        self.status = status
        self.message = message
        self.api_error = api_error

    def body(self) -> dict[str, Any]:
        return {
            "code": self.status,
            "message": self.message,
            "errorStack": [],
            "apiError": self.api_error,
        }


class RestError(IcrError):
    """A restjavad-level error (auth, unknown URI): the `:resterrorresponse` shape."""

    def __init__(self, status: int, message: str, referer: str = "127.0.0.1") -> None:
        super().__init__(status, message, 0)
        self.referer = referer

    def body(self) -> dict[str, Any]:
        return {
            "code": self.status,
            "message": self.message,
            "referer": self.referer,
            "restOperationId": next(_op_ids),
            "kind": ":resterrorresponse",
        }


def not_found(label: str, full_path: str) -> IcrError:
    return IcrError(404, f"01020036:3: The requested {label} ({full_path}) was not found.")


def member_not_found(full_path: str) -> IcrError:
    return IcrError(404, f"Object not found - {full_path}", 1)


def duplicate(label: str, full_path: str, partition: str) -> IcrError:
    return IcrError(
        409,
        f"01020066:3: The requested {label} ({full_path}) already exists in partition {partition}.",
    )


def in_use(label: str, full_path: str, user_label: str, user_path: str) -> IcrError:
    return IcrError(
        400,
        f"01070265:3: The {label} ({full_path}) cannot be deleted because it is in use by a "
        f"{user_label} ({user_path}).",
    )


def node_in_use(node: str, pool: str) -> IcrError:
    return IcrError(
        400, f"01070110:3: Node address '{node}' is referenced by a member of pool '{pool}'."
    )


def node_address_clash(member_node: str, node: str, address: str) -> IcrError:
    return IcrError(
        400,
        f"0107003a:3: Pool member node ({member_node}) and existing node ({node}) cannot use the "
        f"same IP Address ({address}).",
    )


def folder_not_empty(folder: str, item: str) -> IcrError:
    return IcrError(
        400,
        f"010713f9:3: The folder {folder} cannot be deleted because it contains configuration "
        f"item ({item})",
    )


def partition_not_empty(partition: str) -> IcrError:
    return IcrError(
        400,
        f"0107082a:3: All objects must be removed from a partition ({partition}) before the "
        "partition may be removed, type ID (915)",
    )


def route_domain_is_default(rd_id: int, partitions: list[str]) -> IcrError:
    return IcrError(
        400,
        f"0107097c:3: The specified route domain ({rd_id}) is the default route domain for one "
        f"or more partitions ({', '.join(partitions)}) and cannot be deleted.",
    )


def folder_missing(label: str, full_path: str) -> IcrError:
    return IcrError(
        400,
        f"01070734:3: Configuration error: Can't associate {label} ({full_path}) folder does "
        "not exist",
    )


def foreign_key(values: str, what: str, owner: str, index: str) -> IcrError:
    return IcrError(
        400,
        f"01070712:3: Values ({values}) specified for {what} ({owner} {values}): foreign key "
        f"index ({index}) do not point at an item that exists in the database.",
    )


def action_target_missing(rule: str, action: str, label: str, full_path: str) -> IcrError:
    return IcrError(
        400,
        f"01070712:3: Policy rule ({rule}) action ({action}) references the {label} "
        f"({full_path}), which does not exist.",
    )


def profile_name_clash(full_path: str) -> IcrError:
    return IcrError(
        400, f"01070293:3: The profile name ({full_path}) is already assigned to another profile."
    )


def builtin(label: str, full_path: str) -> IcrError:
    return IcrError(
        400, f"01070523:3: The {label} ({full_path}) is a built-in object and cannot be deleted."
    )


def modify_not_allowed(prop: str, command_context: str) -> IcrError:
    return IcrError(
        400,
        f'"{prop}" may not be specified in the context of the "modify" command. '
        f'"tmsh help {command_context}" for more information.',
        26214401,
    )


def unexpected_property(config_item: str, key: str, value: str) -> IcrError:
    return IcrError(
        400,
        f"Found unexpected json pair at configuration item {config_item}. "
        f'The json pair "{key}":{value} is not allowed.',
        1,
    )


def file_missing(label: str, full_path: str) -> IcrError:
    """A profile names a certificate, key or CRL file object that does not exist."""
    return IcrError(400, f"01070277:3: The requested {label} ({full_path}) was not found.")


def bad_file(label: str, full_path: str, reason: str) -> IcrError:
    """A `sourcePath` whose content is not what the object type needs."""
    return IcrError(
        400, f"01070712:3: Caught configuration exception (0), {label} ({full_path}): {reason}."
    )


def key_cert_mismatch(profile: str) -> IcrError:
    return IcrError(400, f"01070317:3: profile {profile}'s key and certificate do not match")


def profiles_incompatible(virtual: str) -> IcrError:
    return IcrError(
        400, f"01070097:3: Virtual server {virtual} lists profiles incompatible with its protocol."
    )


def sni_default(virtual: str, defaults: int) -> IcrError:
    if defaults:
        return IcrError(
            400,
            f"0107149c:3: Virtual server {virtual} has more than one client SSL profile with "
            "sni-default enabled.",
        )
    return IcrError(
        400,
        f"0107149c:3: Virtual server {virtual} has more than one client SSL profile but none "
        "of them is the default for SNI (sni-default).",
    )


def sni_server_name(virtual: str, name: str, first: str, second: str) -> IcrError:
    return IcrError(
        400,
        f"0107149d:3: Virtual server {virtual}: client SSL profiles {first} and {second} have "
        f"the same server name ({name}).",
    )


def self_vlan_not_in_route_domain(self_ip: str, vlan: str, rd: int) -> IcrError:
    """F5's agent looks for "must be one of the vlans in the associated route domain" (and
    then adds the VLAN to the route domain and retries); the rest of the text is approximate."""
    return IcrError(
        400,
        f"01070712:3: Caught configuration exception (0), Self IP ({self_ip}): the VLAN "
        f"({vlan}) must be one of the vlans in the associated route domain ({rd}).",
    )


def route_domain_mismatch(route: str, gw: str, rd: int) -> IcrError:
    return IcrError(
        400,
        f"01070712:3: Caught configuration exception (0), Route ({route}): the gateway "
        f"({gw}) is not in the route domain of the destination network ({rd}).",
    )


def local_address_not_self(tunnel: str, address: str) -> IcrError:
    return IcrError(
        400,
        f"01070712:3: Caught configuration exception (0), Tunnel ({tunnel}): the local "
        f"address ({address}) is not a self IP address of this device.",
    )


def method_not_allowed(method: str, path: str) -> IcrError:
    return IcrError(405, f"Method {method} is not allowed on {path}.", 1)


def bad_json() -> IcrError:
    return IcrError(400, "Found invalid JSON body in the request.", 1)


def bad_value(message: str) -> IcrError:
    return IcrError(400, message, 26214401)


def invalid_value(exc: Exception) -> IcrError:
    """The 400 for a `BAD_INPUT` exception that no validation caught first."""
    return bad_value(f"invalid value in the request: {exc!s}")


def uri_not_registered(path: str) -> RestError:
    return RestError(
        404,
        f"URI path {path} not registered.  Please verify URI is supported and wait for "
        "/available suffix to be responsive.",
    )
