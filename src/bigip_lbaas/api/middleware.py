"""Pure ASGI middleware in front of everything else: request id and access log; body size limit.

`RequestLog` is the outermost layer. Every answer, the auth gate's 401s and every fault included,
carries Octavia's `X-Openstack-Request-Id: req-<uuid>`, and each request leaves one log line:
method, path (never the query string), status, duration, project and request id. It reads the
request line only, never a header value other than the project, never a body, so no token or
password can reach the line. Under keystone the project is the one the token proved, which the
auth gate leaves in the scope under `REQUEST`; a client's own X-Project-Id is logged only where
it is what the API goes by (noauth, header).

`BodyLimit` answers 413 (Octavia's fault body) to a body larger than `[api_settings]
max_request_body_size` before anything reads it: by Content-Length when the client sends one; a
body without one (chunked) is read here, never past the limit, then handed on unchanged.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bigip_lbaas.api.errors import RequestTooLarge, fault_body

LOG = logging.getLogger("bigip_lbaas.api.access")

# Scope key of a dict the layers of one request share: `request_id`, and `project` once proven.
REQUEST = "bigip_lbaas.request"
REQUEST_ID_HEADER = b"x-openstack-request-id"


class RequestLog:
    """Outermost: a request id on every answer, and one access log line per request."""

    def __init__(self, app: ASGIApp, *, project_from_header: bool) -> None:
        self.app = app
        self.project_from_header = project_from_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        facts: dict[str, Any] = {"request_id": request_id}
        scope[REQUEST] = facts
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            project = facts.get("project")
            if project is None and self.project_from_header:
                project = _header(scope, b"x-project-id")
            LOG.info("request", extra={
                "action": "http", "method": scope["method"], "path": scope["path"],
                "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "project": project, "request_id": request_id})


class BodyLimit:
    """413 for a request body over `limit` bytes, without holding more than `limit` in memory."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = True
        if length is not None and not chunked:
            # The server reads exactly Content-Length bytes (h11 refuses a longer body).
            if length.isdigit() and int(length) > self.limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if not chunked:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body was complete
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        err = RequestTooLarge(limit=self.limit)
        # The unread body stays unread: the connection closes after the answer.
        await JSONResponse(fault_body(err.status, str(err)), status_code=err.status,
                           headers={"connection": "close"})(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body read so far, then whatever the server says next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None
