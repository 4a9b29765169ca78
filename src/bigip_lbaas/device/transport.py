"""A lean HTTP/1.1 keep-alive transport for the device client, on asyncio's own TLS.

Why (measured): the device client sends tens of thousands of small requests in a cold rebuild,
and the client's CPU per request bounds it. ``bench/transport_bench.py`` sends the same requests
(collection GETs, POSTs, a transaction) through ``BigipClient`` on this transport and on httpx's
default one (``httpx.AsyncHTTPTransport``: httpcore, h11 and anyio's TLS stream, same limits) to
the simulator over TLS. The default transport took 4.5x the client CPU per request with one
request in flight and 14.6x with 16 (its pool checks every connection, polling each idle one's
socket, whenever a request starts or ends), and served 5.2x / 7.2x fewer requests per second (docs/benchmarks.md, 2026-12-04, on a loaded 2-core
machine). Issue 12 keeps a hand-written stack only if the library costs more than 20 %.

The wire is one ``asyncio.Protocol`` per connection, the request head and body written as one
TLS record, the response parsed in place; URLs, timeouts and exceptions are httpx's. There is one
request path: ``BigipClient`` calls ``exchange`` directly (this is not an httpx transport), and
tests/integration/device/test_transport.py drives the same ``exchange``.

Owns: request framing (``request_head``), a per-origin pool of keep-alive connections (at most
``max_connections``, idle ones dropped after ``keepalive_expiry`` seconds or as soon as the peer
closes them), HTTP/1.1 responses with Content-Length, chunked or read-to-close bodies, 1xx
skipped, HEAD/204/304 without body, the httpx exception types for every failure (ConnectError /
ConnectTimeout when nothing was sent; ReadError, ReadTimeout, WriteError, WriteTimeout,
RemoteProtocolError, PoolTimeout otherwise), and a TCP reset of the connection of any request
given up on (SO_LINGER 0: what was not sent yet never reaches the device; docs/coordination.md).
Must not: retry (the client decides), follow redirects, or log anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

MAX_HEAD = 64 * 1024


class _Conn(asyncio.Protocol):
    """One connection: collects received bytes and wakes the single waiting reader."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.eof = False
        self.closed = False
        self.error: BaseException | None = None
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    # -- asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.eof = True
        self.error = exc
        self._wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    # -- used by the transport
    @property
    def reusable(self) -> bool:
        return not (self.closed or self.eof or self.buf) and self.transport is not None

    async def more(self, timeout: float | None) -> None:
        """Wait until more bytes arrived or the peer closed (raises ReadTimeout)."""
        if self.eof:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out reading the response") from exc
        finally:
            self._waiter = None

    async def send(self, data: bytes, timeout: float | None) -> None:
        t = self.transport
        if t is None or self.closed or t.is_closing():
            raise httpx.WriteError("connection closed before the request was written")
        t.write(data)
        if self._writable is not None and not self._writable.done():
            try:
                async with asyncio.timeout(timeout):
                    await self._writable
            except TimeoutError as exc:
                raise httpx.WriteTimeout("timed out writing the request") from exc
        if self.closed and self.error is not None:
            raise httpx.WriteError(str(self.error))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def reset(self) -> None:
        """Close with a TCP reset: the kernel drops whatever of the request it has not sent yet.
        A request given up on (timed out, cancelled) must never reach the device later, as a plain
        close would let it when a cut network heals and TCP retransmits the queued bytes."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()


Origin = tuple[bytes, bytes, int]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def request_head(method: str, url: httpx.URL, headers: Sequence[bytes], length: int) -> bytes:
    """The request line, ``headers`` (``b"Name: value"`` lines, ``Host`` among them) and the
    ``Content-Length`` of a ``length``-byte body (sent for POST, PUT and PATCH even when 0), ending
    in the blank line."""
    lines = [method.encode("ascii") + b" " + (url.raw_path or b"/") + b" HTTP/1.1", *headers]
    if length or method in _BODY_METHODS:
        lines.append(b"Content-Length: %d" % length)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


class FastTransport:
    """The device client's wire: ``exchange`` sends one request and reads its answer. HTTP/1.1
    only, no proxies, no redirects; not an httpx transport (``BigipClient`` calls it directly)."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | str | bool = True,
        max_connections: int = 10,
        keepalive_expiry: float = 5.0,
    ) -> None:
        if isinstance(verify, ssl.SSLContext):
            self._ssl = verify
        elif isinstance(verify, str):  # a CA bundle file, or a directory of hashed certificates
            if os.path.isdir(verify):
                self._ssl = ssl.create_default_context(capath=verify)
            else:
                self._ssl = ssl.create_default_context(cafile=verify)
        else:
            self._ssl = httpx.create_ssl_context(verify=verify, trust_env=False)
        self._max = max(1, max_connections)
        self._expiry = keepalive_expiry
        self._idle: dict[Origin, list[_Conn]] = {}
        self._slots = asyncio.Semaphore(self._max)
        self._all: set[_Conn] = set()
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()

    # ------------------------------------------------------------------ pool

    def _take_idle(self, origin: Origin) -> _Conn | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.reusable and now - conn.idle_since < self._expiry:
                return conn
            self._discard(conn)
        return None

    def _discard(self, conn: _Conn) -> None:
        conn.close()
        self._all.discard(conn)

    def _release(self, origin: Origin, conn: _Conn, keep: bool) -> None:
        if keep and not self._closed and conn.reusable:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(origin, []).append(conn)
        else:
            self._discard(conn)

    async def _connect(self, origin: Origin, timeout: float | None) -> _Conn:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        hostname = host.decode("ascii")
        tls = scheme == b"https"
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    _Conn,
                    hostname,
                    port,
                    ssl=self._ssl if tls else None,
                    server_hostname=hostname if tls else None,
                    ssl_handshake_timeout=timeout if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect to {hostname}:{port} timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        self._all.add(conn)
        return conn

    # ------------------------------------------------------------------ one request

    async def exchange(
        self,
        method: str,
        url: httpx.URL,
        headers: Sequence[bytes],
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> RawResponse:
        """Send ``method url`` with ``headers`` (``b"Name: value"`` lines, ``Host`` included;
        see ``request_head``) and ``body`` to ``url``'s origin; the answer, unparsed beyond the
        framing. ``timeouts``: httpx's ``connect``/``read``/``write``/``pool`` keys.

        A request given up on (a timeout, an error, or the caller's task cancelled) resets its
        connection: the bytes of it still queued are dropped, never delivered later."""
        if self._closed:
            raise RuntimeError("the transport is closed")
        head = request_head(method, url, headers, len(body))
        scheme = url.raw_scheme
        port = url.port or (443 if scheme == b"https" else 80)
        origin: Origin = (scheme, url.raw_host, port)
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no connection available") from exc
        try:
            conn = self._take_idle(origin)
            if conn is None:
                conn = await self._connect(origin, timeouts.get("connect"))
            keep = False
            try:
                write = timeouts.get("write")
                if len(body) < 65536:
                    await conn.send(head + body, write)
                else:
                    await conn.send(head, write)
                    await conn.send(body, write)
                raw, keep = await _read_response(conn, method, timeouts.get("read"))
            except BaseException:
                conn.reset()
                raise
            finally:
                self._release(origin, conn, keep)
        finally:
            self._slots.release()
        return raw


@dataclass(slots=True)
class RawResponse:
    """A response as read off the wire (``content`` still content-encoded, if it was)."""

    status: int
    reason: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]
    content: bytes

    @property
    def encoded(self) -> bool:
        """The body carries a Content-Encoding other than identity."""
        return any(
            n.lower() == b"content-encoding" and v.lower() not in (b"", b"identity")
            for n, v in self.headers
        )

    def response(self, request: httpx.Request) -> httpx.Response:
        """The httpx Response (decodes any Content-Encoding)."""
        return httpx.Response(
            self.status,
            headers=self.headers,
            content=self.content,
            request=request,
            extensions={"http_version": self.version, "reason_phrase": self.reason},
        )


async def _need(conn: _Conn, timeout: float | None, n: int, what: str) -> None:
    """Wait until ``conn.buf`` holds at least ``n`` bytes."""
    while len(conn.buf) < n:
        if conn.eof:
            raise _disconnected(conn, what)
        await conn.more(timeout)


async def _find(conn: _Conn, timeout: float | None, sep: bytes, what: str) -> int:
    """Wait until ``sep`` is in ``conn.buf``; its position."""
    while (pos := conn.buf.find(sep)) < 0:
        if len(conn.buf) > MAX_HEAD:
            raise httpx.RemoteProtocolError("response head too large")
        if conn.eof:
            raise _disconnected(conn, what)
        await conn.more(timeout)
    return pos


def _disconnected(conn: _Conn, what: str) -> httpx.TransportError:
    if conn.error is not None and not isinstance(conn.error, ssl.SSLError | EOFError):
        return httpx.ReadError(f"{what}: {conn.error}")
    return httpx.RemoteProtocolError(f"Server disconnected {what}.")


async def _read_response(
    conn: _Conn, method: str, timeout: float | None
) -> tuple[RawResponse, bool]:
    buf = conn.buf
    while True:
        what = "without sending a response" if not buf else "in the middle of the response head"
        end = await _find(conn, timeout, b"\r\n\r\n", what)
        lines = bytes(buf[:end]).split(b"\r\n")
        del buf[: end + 4]
        version, status, reason = _status_line(lines[0])
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise httpx.RemoteProtocolError("malformed response header")
            headers.append((name, value.strip()))
        if 100 <= status < 200 and status != 101:
            continue  # 100 Continue and friends: the real answer follows
        break
    fields: dict[bytes, bytes] = {}
    for name, value in headers:
        key = name.lower()
        fields[key] = fields[key] + b"," + value if key in fields else value
    connection = fields.get(b"connection", b"").lower()
    keep = (b"close" not in connection) and (version == b"HTTP/1.1" or b"keep-alive" in connection)
    if method == "HEAD" or status in (204, 304) or status < 200:
        return RawResponse(status, reason, version, headers, b""), keep
    if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
        content = await _read_chunked(conn, timeout)
    elif b"content-length" in fields:
        try:
            length = int(fields[b"content-length"].split(b",")[0])
        except ValueError as exc:
            raise httpx.RemoteProtocolError("bad Content-Length") from exc
        if length < 0:
            raise httpx.RemoteProtocolError("bad Content-Length")
        await _need(conn, timeout, length, "in the middle of the body")
        content = bytes(buf[:length])
        del buf[:length]
    else:  # read to close
        while not conn.eof:
            await conn.more(timeout)
        content = bytes(buf)
        buf.clear()
        keep = False
    return RawResponse(status, reason, version, headers, content), keep


def _status_line(line: bytes) -> tuple[bytes, int, bytes]:
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise httpx.RemoteProtocolError("malformed status line")
    try:
        status = int(parts[1])
    except ValueError as exc:
        raise httpx.RemoteProtocolError("malformed status line") from exc
    return parts[0], status, parts[2] if len(parts) > 2 else b""


async def _read_chunked(conn: _Conn, timeout: float | None) -> bytes:
    buf = conn.buf
    out = bytearray()
    while True:
        eol = await _find(conn, timeout, b"\r\n", "in a chunk")
        try:
            size = int(bytes(buf[:eol]).split(b";")[0].strip(), 16)
        except ValueError as exc:
            raise httpx.RemoteProtocolError("bad chunk size") from exc
        del buf[: eol + 2]
        if size == 0:
            # trailers until an empty line
            while True:
                eol = await _find(conn, timeout, b"\r\n", "in the trailer")
                del buf[: eol + 2]
                if eol == 0:
                    return bytes(out)
        await _need(conn, timeout, size + 2, "in a chunk")
        out += buf[:size]
        del buf[: size + 2]
