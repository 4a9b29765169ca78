"""Every error the API returns, declared as data (template + status), and the fault body shape.

Octavia's clients read `faultstring`; the body is WSME's `{"faultcode", "faultstring", "debuginfo"}`.
The only exception is the 406 of the content-type check, which uses the API-WG `errors` shape.
"""

from __future__ import annotations

from bigip_lbaas.core.errors import ApiError


def fault_body(status: int, message: str) -> dict[str, object]:
    return {
        "faultcode": "Client" if status < 500 else "Server",
        "faultstring": message,
        "debuginfo": None,
    }


class InvalidInput(ApiError):
    status = 400
    template = "Invalid input for field/attribute %(field)s. Value: '%(value)s'. %(reason)s"


class ValidationFailure(ApiError):
    status = 400
    template = "Validation failure: %(detail)s"


class InvalidOption(ApiError):
    status = 400
    template = "%(value)s is not a valid option for %(option)s"


class InvalidL7PolicyArgs(ApiError):
    status = 400
    template = "Invalid L7 Policy arguments: %(msg)s"


class ListenerNoChildren(ApiError):
    status = 400
    template = "Protocol %(protocol)s listeners cannot have child objects."


class InvalidParams(ApiError):
    status = 400
    template = "One or more arguments are either duplicate or invalid"


class InvalidSortKey(ApiError):
    status = 400
    template = "Supplied sort key '%(key)s' is not valid."


class InvalidSortDirection(ApiError):
    status = 400
    template = "Supplied sort direction '%(key)s' is not valid."


class InvalidMarker(ApiError):
    status = 400
    template = "Supplied pagination marker '%(key)s' is not valid."


class InvalidLimit(ApiError):
    status = 400
    template = "Supplied pagination limit '%(key)s' is not valid."


class MissingProject(ApiError):
    status = 400
    template = (
        "Missing project ID in request where one is required. An administrator should "
        "check the keystone settings in the Octavia configuration."
    )


class UnknownProvider(ApiError):
    status = 400
    template = "Provider '%(name)s' is not enabled. Enabled providers: %(known)s"


class ProviderFlavorMismatch(ApiError):
    status = 400
    template = "Flavor '%(flavor)s' is not compatible with provider '%(provider)s'"


class HasChildren(ApiError):
    status = 400
    template = "Cannot delete Load Balancer %(id)s - it has children"


class NotAuthorized(ApiError):
    status = 403
    template = "Policy does not allow this request to be performed."


class QuotaExceeded(ApiError):
    status = 403
    template = "Quota has been met for resources: %(resources)s"


class NotFound(ApiError):
    status = 404
    template = "%(resource)s %(id)s not found."


class PathNotFound(ApiError):
    status = 404
    template = "The resource could not be found."


class MethodNotAllowed(ApiError):
    status = 405
    template = "The method is not allowed for the requested URL."


class LBPendingState(ApiError):
    status = 409
    template = "Invalid state %(state)s of loadbalancer resource %(id)s"


class Immutable(ApiError):
    status = 409
    template = "%(resource)s %(id)s is immutable and cannot be updated."


class DuplicateListener(ApiError):
    status = 409
    template = ("Another Listener on this Load Balancer is already using protocol %(protocol)s "
                "and protocol_port %(port)s")


class DuplicateMember(ApiError):
    status = 409
    template = (
        "Another member on this pool is already using ip %(address)s on protocol_port %(port)s"
    )


class DuplicateHealthMonitor(ApiError):
    status = 409
    template = "This pool already has a health monitor"


class DuplicatePoolOnListener(ApiError):
    status = 409
    template = "Listener %(listener)s is already using a default pool."


class PoolInUseByL7Policy(ApiError):
    status = 409
    template = "Pool %(id)s is in use by L7 policy %(l7policy)s"


class DuplicateName(ApiError):
    status = 409
    template = "A %(resource)s of %(name)s already exists."


class InUse(ApiError):
    status = 409
    template = "%(resource)s %(id)s is in use: %(detail)s"


class VipInUse(ApiError):
    status = 409
    template = "IP address %(address)s already allocated in subnet %(subnet)s."


class NoFreeAddress(ApiError):
    status = 409
    template = "No more IP addresses available on subnet %(subnet)s."


class ProviderUnsupportedOption(ApiError):
    """Octavia's answer when the provider driver raises UnsupportedOptionError."""

    status = 501
    template = "Provider '%(prov)s' does not support a requested option: %(detail)s"


class ProviderNotImplemented(ApiError):
    """Octavia's answer when the provider driver raises NotImplementedError."""

    status = 501
    template = "Provider '%(prov)s' does not support a requested action: %(detail)s"


class DatabaseUnavailable(ApiError):
    status = 503
    template = "The database is unavailable; retry later."


class Unserved(ApiError):
    """No live agent serves the environment (M11): nothing would carry the change out. 503,
    not 409: the object is not busy (a client that waits for it to leave PENDING would wait in
    vain); the service that does the work is unavailable, and retrying later is right."""

    status = 503
    template = ("No live agent serves environment %(environment)s: the change would not be "
                "carried out. Retry when an agent of that environment is running.")


class RequestTooLarge(ApiError):
    status = 413
    template = "Request is too large: the body exceeds %(limit)s bytes."


# Octavia's certificate errors (octavia/common/exceptions.py), raised by api/tls.py.
class CertificateRetrieval(ApiError):
    status = 400
    template = "Could not retrieve certificate: %(ref)s"


class UnreadablePKCS12(ApiError):
    status = 400
    template = ("The PKCS12 bundle is unreadable. Please check the PKCS12 bundle validity. In "
                "addition, make sure it does not require a pass phrase. Error: %(error)s")


class InvalidSubresource(ApiError):
    """Octavia's answer for a referenced object that does not exist (e.g. `vip_port_id`)."""

    status = 400
    template = "%(resource)s %(id)s not found."
