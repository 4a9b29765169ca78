"""Translate httpx exceptions and iControl error responses into DeviceUnreachable / DeviceRejected.

This is the only module that knows what a foreign exception from the HTTP stack looks like.
Must not: log secrets; the messages built here contain paths and device messages only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bigip_lbaas.core.errors import DeviceRejected, DeviceUnreachable


def icontrol_message(response: httpx.Response) -> tuple[str, int | None]:
    """(message, apiError or code) from an iControl error body; tolerant of HTML 401 pages."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text.strip().replace("\n", " ")
        return (text[:200] or response.reason_phrase), None
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("errorMessage") or response.reason_phrase)
        code = body.get("apiError", body.get("code"))
        return message, code if isinstance(code, int) else None
    return response.reason_phrase, None


def from_response(device: str, response: httpx.Response) -> DeviceUnreachable | DeviceRejected:
    message, code = icontrol_message(response)
    where = f"{response.request.method} {response.request.url.path}"
    if response.status_code >= 500:
        return DeviceUnreachable(device, f"HTTP {response.status_code} on {where}: {message}")
    return DeviceRejected(device, response.status_code, message, code)


@contextmanager
def device_errors(device: str) -> Iterator[None]:
    """Turn transport failures into DeviceUnreachable (temporary)."""
    try:
        yield
    except httpx.TransportError as exc:
        raise DeviceUnreachable(device, f"{type(exc).__name__}: {exc}") from exc
    except httpx.InvalidURL as exc:
        raise DeviceRejected(device, 0, f"invalid URL: {exc}") from exc
