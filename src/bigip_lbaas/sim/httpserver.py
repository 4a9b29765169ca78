"""A small asyncio HTTP/1.1 server: the simulator's transport.

Owns byte-level HTTP parsing and writing, keep-alive, and the listening socket's life cycle (so a
simulated device can go down with *connection refused* and come back on the same port). It knows
nothing about BIG-IP: every parsed request goes to one async handler, which returns a `Response`.

Why not an ASGI server (measured, and a requirement): `bench/transport_bench.py` serves the same
`DeviceApp` with uvicorn (h11, the HTTP implementation the dependencies provide) through a thin
ASGI adapter. uvicorn took 2.1-3.3x the server CPU per request and served 1.5-2.1x fewer
requests per second for GET and POST at 1 and 16 clients (docs/benchmarks.md, 2026-12-04);
issue 12 keeps a hand-written stack only if the library costs more than 20 %. And the simulator
must close a device's listening socket while the device lives on (connection refused), reopen it
on the same port, reset live connections, and close a connection without answering (`drop`,
`hang`): uvicorn's public interface starts and stops whole servers, and an ASGI application that
does not answer gets a 500 from uvicorn. tests/integration/sim/test_httpserver.py drives this
server as `bigip-lbaas sim` starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


@dataclass(slots=True)
class Request:
    """One parsed HTTP request. `raw_path` is still percent-encoded."""

    method: str
    raw_path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client: str


@dataclass(slots=True)
class Response:
    """What a handler returns. `drop=True` closes the connection without answering."""

    status: int
    body: bytes = b""
    content_type: str | None = "application/json; charset=UTF-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False


Handler = Callable[[Request], Awaitable[Response]]

_REASONS = {s.value: s.phrase for s in HTTPStatus}


class _BadRequest(Exception):
    pass


class HttpProtocol(asyncio.Protocol):
    """One connection: parse requests one at a time and answer them in order."""

    def __init__(self, handler: Handler, conns: set[HttpProtocol]) -> None:
        self._handler = handler
        self._conns = conns
        self._buf = bytearray()
        self._busy = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._transport: asyncio.Transport | None = None
        self._client = ""
        self._sent_continue = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if peer else ""
        self._conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._conns.discard(self)
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def abort(self) -> None:
        """Reset the connection (used when the simulated device goes down)."""
        if self._transport is not None:
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._busy:
            self._next()

    def _next(self) -> None:
        try:
            req = self._parse()
        except _BadRequest as exc:
            self._write(Response(400, str(exc).encode(), "text/plain"), close=True)
            return
        if req is None:
            return
        self._busy = True
        self._task = asyncio.get_running_loop().create_task(self._run(req))

    def _parse(self) -> Request | None:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                raise _BadRequest("request head too large")
            return None
        head = bytes(buf[:end]).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest("malformed request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest("malformed header")
            headers[name.strip().lower()] = value.strip()
        if version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
            headers.setdefault("connection", "close")
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body_and_end = self._parse_chunked(start)
            if body_and_end is None:
                self._maybe_continue(headers)
                return None
            body, consumed = body_and_end
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError as exc:
                raise _BadRequest("bad content-length") from exc
            if length < 0 or length > MAX_BODY:
                raise _BadRequest("bad content-length")
            if len(buf) - start < length:
                self._maybe_continue(headers)
                return None
            body = bytes(buf[start : start + length])
            consumed = start + length
        del buf[:consumed]
        self._sent_continue = False
        path, _, query = target.partition("?")
        return Request(method.upper(), path, query, headers, body, self._client)

    def _parse_chunked(self, pos: int) -> tuple[bytes, int] | None:
        buf = self._buf
        out = bytearray()
        for _ in range(1_000_000):
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            try:
                size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            except ValueError as exc:
                raise _BadRequest("bad chunk size") from exc
            pos = eol + 2
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", pos - 2)
                if trailer_end < 0:
                    return None
                return bytes(out), trailer_end + 4
            if len(buf) < pos + size + 2:
                return None
            out += buf[pos : pos + size]
            if len(out) > MAX_BODY:
                raise _BadRequest("body too large")
            pos += size + 2
        raise _BadRequest("too many chunks")

    def _maybe_continue(self, headers: dict[str, str]) -> None:
        if headers.get("expect", "").lower() == "100-continue" and not self._sent_continue:
            self._sent_continue = True
            if self._transport is not None:
                self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def _run(self, req: Request) -> None:
        try:
            resp = await self._handler(req)
        except asyncio.CancelledError:
            return
        except Exception:  # the simulator never answers 500 by accident without a trace
            log.exception("simulator handler failed")
            resp = Response(
                500,
                b'{"code":500,"message":"internal simulator error","errorStack":[],"apiError":1}',
            )
        if self._closed:
            return
        if resp.drop:
            self.abort()
            return
        close = req.headers.get("connection", "").lower() == "close"
        self._write(resp, close=close)
        self._busy = False
        if not close and self._buf:
            self._next()

    def _write(self, resp: Response, *, close: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Unknown')}"]
        if resp.content_type is not None:
            lines.append(f"Content-Type: {resp.content_type}")
        lines.append(f"Content-Length: {len(resp.body)}")
        for name, value in resp.headers:
            lines.append(f"{name}: {value}")
        if close:
            lines.append("Connection: close")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + resp.body)
        if close:
            transport.close()


class HttpServer:
    """One port's HTTP server: a (TLS) listening socket that can be closed (connections are then
    refused) and reopened on the same port, and the live connections it accepted, which can be
    reset."""

    def __init__(
        self, handler: Handler, host: str, port: int, ssl_ctx: ssl.SSLContext | None
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.ssl_ctx = ssl_ctx
        self.conns: set[HttpProtocol] = set()
        self._server: asyncio.Server | None = None

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: HttpProtocol(self.handler, self.conns),
            self.host,
            self.port,
            ssl=self.ssl_ctx,
            reuse_address=True,
            backlog=512,
        )
        if self.port == 0:
            sock = self._server.sockets[0]
            self.port = int(sock.getsockname()[1])

    def abort_connections(self) -> None:
        for conn in list(self.conns):
            conn.abort()

    async def close(self, defer_abort: bool = False) -> None:
        """Stop listening and reset live connections.

        With `defer_abort` the resets happen right after the current response is written (the
        request that asked for the outage still gets its answer)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if defer_abort:
            asyncio.get_running_loop().call_soon(self.abort_connections)
            return
        self.abort_connections()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
