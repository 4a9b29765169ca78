"""The exception tree. One root, three families (API, device, lease) plus configuration and database.

Foreign exceptions (httpx, SQLAlchemy, oslo.config) are translated into these at the boundary that
meets them; nothing above that boundary catches a foreign exception.
"""

from __future__ import annotations

from typing import Any, ClassVar


class BigipLbaasError(Exception):
    """Root of every error this product raises on purpose."""


class ConfigError(BigipLbaasError):
    """A configuration value is missing or invalid. The message names file/section/option."""


class DatabaseError(BigipLbaasError):
    """The database cannot be used (unreachable, bad URL, schema out of date)."""


class DatabaseUnavailable(DatabaseError):
    """Temporary: the connection was lost, the server is down, or a lock or deadlock timed out.
    The unit of work is safe to retry."""


class DuplicateRow(DatabaseError):
    """A write broke a unique or foreign-key constraint (a concurrent writer got there first)."""


class SchemaOutOfDate(DatabaseError):
    """The schema is older (or newer) than this code; ``bigip-lbaas db upgrade`` fixes it."""


class ApiError(BigipLbaasError):
    """An error the API returns to its client: a message template plus an HTTP status."""

    status: ClassVar[int] = 400
    template: ClassVar[str] = "Invalid request."

    def __init__(self, **fields: Any) -> None:
        self.fields = fields
        super().__init__(self.template % fields if fields else self.template)


class DeviceError(BigipLbaasError):
    """A BIG-IP device did not do what was asked."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(f"{device}: {message}")


class DeviceUnreachable(DeviceError):
    """Temporary: connection refused, timed out, or the device answered 5xx. Retry later."""


class DeviceRejected(DeviceError):
    """Permanent for this request: the device refused it (4xx with an iControl code)."""

    def __init__(self, device: str, status: int, message: str, code: int | None = None) -> None:
        self.status = status
        self.code = code
        self.reason = message
        super().__init__(device, f"HTTP {status}: {message}")


class LeaseLost(BigipLbaasError):
    """This agent no longer owns the partition (expired, taken over or fenced). Stop writing now."""

    def __init__(self, partition: str, epoch: int) -> None:
        self.partition = partition
        self.epoch = epoch
        super().__init__(f"lease on partition {partition} (epoch {epoch}) is lost")
