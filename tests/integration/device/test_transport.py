"""The device client's HTTP/1.1 transport against scripted servers: framing, keep-alive, errors.

Every test drives ``FastTransport.exchange``, the one entry point ``BigipClient`` calls in
production; the last ones go through ``BigipClient`` itself on its default transport."""

from __future__ import annotations

import asyncio
import json
import math
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from bigip_lbaas.core.errors import LeaseLost
from bigip_lbaas.device.apply import _guarded
from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.transport import FastTransport, RawResponse
from bigip_lbaas.sim import tls
from bigip_lbaas.sim.testing import SimHandle

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return head, body


async def _serve(script: Script) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(script, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def _run(script: Script, client: Callable[[str, FastTransport], Awaitable[None]]) -> None:
    async def go() -> None:
        server, url = await _serve(script)
        transport = FastTransport(max_connections=2)
        try:
            await client(url, transport)
        finally:
            await transport.aclose()
            server.close()

    asyncio.run(go())


def _send(
    t: FastTransport, method: str, url: str, body: bytes = b"", timeout: float = 5.0
) -> Awaitable[RawResponse]:
    u = httpx.URL(url)
    return t.exchange(method, u, [b"Host: " + u.netloc], body, httpx.Timeout(timeout).as_dict())


def test_request_is_one_write_and_keep_alive_reuses_the_connection() -> None:
    seen: list[bytes] = []
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                head, body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            seen.append(head + body)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n" + b'{"a":1}')
            await writer.drain()
        writer.close()

    async def client(url: str, t: FastTransport) -> None:
        for i in range(3):
            resp = await _send(t, "POST", f"{url}/p/~P~a%252?x=1", b"{}")
            assert resp.status == 200 and json.loads(resp.content) == {"a": 1}, i

    _run(script, client)
    assert connections == 1
    assert seen[0].startswith(b"POST /p/~P~a%252?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Length: 2\r\n" in seen[0] and seen[0].endswith(b"\r\n\r\n{}")


def test_chunked_body_100_continue_and_head() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await _read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b'4;ext=1\r\n{"a"\r\n3\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n')
        head, _ = await _read_request(reader)
        assert head.startswith(b"HEAD ")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
        head, _ = await _read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()

    async def client(url: str, t: FastTransport) -> None:
        resp = await _send(t, "GET", url + "/")
        assert resp.status == 200 and json.loads(resp.content) == {"a": 1}
        resp = await _send(t, "HEAD", url + "/")
        assert resp.status == 200 and resp.content == b""
        resp = await _send(t, "DELETE", url + "/x")
        assert resp.status == 204 and resp.content == b""

    _run(script, client)


def test_body_until_close_and_connection_close_are_not_reused() -> None:
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        if connections == 1:
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil close")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def client(url: str, t: FastTransport) -> None:
        assert (await _send(t, "GET", url + "/")).content == b"until close"
        assert (await _send(t, "GET", url + "/")).content == b"ok"
        assert (await _send(t, "GET", url + "/")).content == b"ok"

    _run(script, client)
    assert connections == 3


def test_idle_connection_closed_by_the_server_is_not_reused() -> None:
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()  # keep-alive answer, then the server drops the idle connection

    async def client(url: str, t: FastTransport) -> None:
        await _send(t, "GET", url + "/")
        await asyncio.sleep(0.05)
        assert (await _send(t, "GET", url + "/")).status == 200

    _run(script, client)
    assert connections == 2


def test_failures_are_httpx_transport_errors() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await _read_request(reader)
        if b"/drop" in head:
            writer.close()
        elif b"/slow" in head:
            await asyncio.sleep(1.0)
            writer.close()
        elif b"/short" in head:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
            await writer.drain()
            writer.close()
        else:
            writer.write(b"NOT HTTP\r\n\r\n")
            await writer.drain()
            writer.close()

    async def client(url: str, t: FastTransport) -> None:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await _send(t, "GET", url + "/drop")
        with pytest.raises(httpx.ReadTimeout):
            await _send(t, "GET", url + "/slow", timeout=0.1)
        with pytest.raises(httpx.RemoteProtocolError):
            await _send(t, "GET", url + "/short")
        with pytest.raises(httpx.RemoteProtocolError, match="status line"):
            await _send(t, "GET", url + "/garbage")

    _run(script, client)


@pytest.mark.parametrize("cancelled", [False, True], ids=["write_timeout", "cancelled"])
def test_an_abandoned_request_resets_its_connection(cancelled: bool) -> None:
    """A request given up on must never reach the device later: the bytes still queued are
    dropped and the peer sees a reset, not the request's end followed by an orderly close."""
    given_up = asyncio.Event()
    seen: dict[str, object] = {}
    body = b"x" * (32 * 1024 * 1024)  # far more than the socket buffers hold

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await given_up.wait()  # read nothing while the client is sending
        received = 0
        try:
            while chunk := await reader.read(1 << 20):
                received += len(chunk)
            seen["end"] = "eof"
        except ConnectionResetError:
            seen["end"] = "reset"
        seen["received"] = received
        writer.close()

    async def client(url: str, t: FastTransport) -> None:
        send = _send(t, "POST", url + "/big", body, timeout=0.3)
        if cancelled:
            task = asyncio.ensure_future(send)
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            with pytest.raises(httpx.WriteTimeout):
                await send
        given_up.set()
        for _ in range(100):
            if "end" in seen:
                break
            await asyncio.sleep(0.05)

    _run(script, client)
    assert seen["end"] == "reset"
    assert isinstance(seen["received"], int) and seen["received"] < len(body)


def test_connection_refused_and_untrusted_certificate_are_connect_errors(sim: SimHandle) -> None:
    async def go() -> None:
        server, url = await _serve(lambda r, w: asyncio.sleep(0))
        server.close()
        await server.wait_closed()
        t = FastTransport()
        with pytest.raises(httpx.ConnectError):
            await _send(t, "GET", url + "/")
        with pytest.raises(httpx.ConnectError):  # default trust store: the sim's CA is unknown
            await _send(t, "GET", sim.urls[0] + "/mgmt/tm/sys/version")
        await t.aclose()
        t = FastTransport(verify=str(sim.ca_file))
        resp = await _send(t, "GET", sim.urls[0] + "/mgmt/tm/sys/version")
        assert resp.status == 401  # trusted, reached the device, no credentials
        await t.aclose()

    asyncio.run(go())


def test_pool_bound_waits_for_a_free_connection() -> None:
    active = 0
    peak = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active, peak
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.02)
            active -= 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        writer.close()

    async def client(url: str, t: FastTransport) -> None:
        await asyncio.gather(*(_send(t, "GET", url + "/") for _ in range(8)))

    _run(script, client)
    assert peak == 2


def test_client_on_any_httpx_transport() -> None:
    """BigipClient also runs on a plain httpx transport (here a mock device): same requests,
    same retries and error mapping as on its own transport."""
    from bigip_lbaas.core.errors import DeviceRejected
    from bigip_lbaas.device.client import BigipClient

    seen: list[httpx.Request] = []
    fail_once = {"n": 0}

    def device(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/mgmt/shared/authn/login":
            return httpx.Response(200, json={"token": {"token": "T1", "timeout": 1200}})
        if request.url.path == "/mgmt/tm/ltm/pool" and fail_once["n"] == 0:
            fail_once["n"] += 1
            return httpx.Response(503, json={"code": 503, "message": "busy"})
        if request.url.path.endswith("~P~missing"):
            return httpx.Response(404, json={"code": 404, "message": "01020036:3: not found"})
        return httpx.Response(200, json={"items": [{"name": "p"}]})

    async def go() -> None:
        async with BigipClient(
            "127.0.0.1", "u", "pw", transport=httpx.MockTransport(device), backoff=0.01
        ) as c:
            items = await c.items("/mgmt/tm/ltm/pool", {"$filter": "partition eq P"})
            assert items == [{"name": "p"}]
            with pytest.raises(DeviceRejected) as info:
                await c.get("/mgmt/tm/ltm/pool/~P~missing")
            assert info.value.status == 404 and "01020036" in info.value.reason

    asyncio.run(go())
    assert [r.url.path for r in seen][:3] == [
        "/mgmt/shared/authn/login",
        "/mgmt/tm/ltm/pool",
        "/mgmt/tm/ltm/pool",
    ]
    assert seen[1].headers["X-F5-Auth-Token"] == "T1"
    assert seen[1].url.query == b"%24filter=partition+eq+P"


def test_header_values_are_checked() -> None:
    from bigip_lbaas.device.client import BigipClient

    with pytest.raises(ValueError, match="client_id"):
        BigipClient("127.0.0.1", "u", "p", client_id="agent\r\nX-Evil: 1")


def test_a_write_in_flight_when_the_lease_lapses_never_reaches_the_device(tmp_path: Path) -> None:
    """The production path end to end: ``BigipClient`` on its default transport, as the agent
    builds it, over TLS, with the write guarded as ``device/apply.py`` guards it. The device reads
    nothing while the lease holds; when the lease lapses the write is cancelled, and the device
    sees a reset with only part of the request received, never the whole request later."""
    files = tls.generate(tmp_path)
    given_up = asyncio.Event()
    seen: dict[str, object] = {}
    description = "x" * (32 * 1024 * 1024)  # far more than the socket buffers hold
    lapses = math.inf  # the lease lapses 0.3 s after the device accepted the connection

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal lapses
        lapses = time.monotonic() + 0.3
        await given_up.wait()
        received = 0
        try:
            while chunk := await reader.read(1 << 20):
                received += len(chunk)
            seen["end"] = "eof"
        except (ConnectionResetError, ssl.SSLError):
            seen["end"] = "reset"
        seen["received"] = received
        writer.close()

    async def go() -> None:
        server = await asyncio.start_server(
            script, "127.0.0.1", 0, ssl=tls.server_context(files)
        )
        port = server.sockets[0].getsockname()[1]
        client = BigipClient(
            "127.0.0.1", "u", "pw", port=port, verify=str(files.ca_file), token_auth=False
        )
        assert isinstance(client._transport, FastTransport)  # what production runs

        def guard() -> float:  # renewed every 50 ms until it lapses
            now = time.monotonic()
            if now >= lapses:
                raise LeaseLost("P", 1)
            return min(lapses, now + 0.05)

        body = {"name": "p", "partition": "P", "description": description}
        try:
            with pytest.raises(LeaseLost):
                await _guarded(guard, lambda: client.request("POST", "/mgmt/tm/ltm/pool", json=body))
            given_up.set()  # the client is still open: only the cancellation can have reset it
            for _ in range(100):
                if "end" in seen:
                    break
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
            server.close()

    asyncio.run(go())
    assert seen["end"] == "reset"
    assert isinstance(seen["received"], int) and seen["received"] < len(description)


def test_an_unguarded_write_is_sent_whole(tmp_path: Path) -> None:
    """The control for the test above: the same request, not given up on, arrives complete."""
    files = tls.generate(tmp_path)
    received: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, body = await _read_request(reader)
        received.append(body)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    async def go() -> None:
        server = await asyncio.start_server(
            script, "127.0.0.1", 0, ssl=tls.server_context(files)
        )
        port = server.sockets[0].getsockname()[1]
        async with BigipClient(
            "127.0.0.1", "u", "pw", port=port, verify=str(files.ca_file), token_auth=False
        ) as client:
            body = {"name": "p", "description": "x" * (4 * 1024 * 1024)}
            assert await _guarded(lambda: math.inf, lambda: client.request(
                "POST", "/mgmt/tm/ltm/pool", json=body)) == {}
        server.close()

    asyncio.run(go())
    assert len(received) == 1 and json.loads(received[0])["description"] == "x" * (4 * 1024 * 1024)
