"""The simulator's HTTP/1.1 server on the wire, started as `bigip-lbaas sim` starts it.

`run_sim_in_thread` runs `Simulator.start`, the same code `bigip-lbaas sim` serves from, so these
raw TLS sockets reach the production server: pipelining, chunked bodies, `Expect: 100-continue`,
malformed requests, HTTP/1.0, and the listening socket closed and reopened at run time."""

from __future__ import annotations

import base64
import json
import socket
import ssl
from collections.abc import Iterator

import pytest

from bigip_lbaas.sim.testing import SimHandle

AUTH = b"Authorization: Basic " + base64.b64encode(b"admin:admin")


def _connect(sim: SimHandle, device: int = 1) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(sim.ca_file))
    raw = socket.create_connection(("127.0.0.1", sim.ports[device - 1]), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


class _Reader:
    """Responses off one connection, one at a time."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("closed before a response head")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            if not self._fill():
                raise ConnectionError("closed in the body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed(self) -> bool:
        """The peer closed the connection (orderly or by reset) and sent nothing more."""
        try:
            return not self._fill() and not self.buf
        except (ConnectionResetError, ssl.SSLError):
            return True


@pytest.fixture
def conn(sim: SimHandle) -> Iterator[tuple[ssl.SSLSocket, _Reader]]:
    sock = _connect(sim)
    try:
        yield sock, _Reader(sock)
    finally:
        sock.close()


def test_pipelined_requests_are_answered_in_order_on_one_connection(
    conn: tuple[ssl.SSLSocket, _Reader],
) -> None:
    sock, reader = conn
    one = b"GET /mgmt/tm/sys/version HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n\r\n"
    two = b"GET /mgmt/tm/nope HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n\r\n"
    sock.sendall(one + two + one)
    assert [reader.response()[0] for _ in range(3)] == [200, 404, 200]


def test_chunked_body_after_100_continue(conn: tuple[ssl.SSLSocket, _Reader]) -> None:
    sock, reader = conn
    body = json.dumps({"name": "chunky", "partition": "Common"}).encode()
    sock.sendall(
        b"POST /mgmt/tm/ltm/pool HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    assert reader.response()[0] == 100
    half = len(body) // 2
    for part in (body[:half], body[half:]):
        sock.sendall(b"%x;ext=1\r\n" % len(part) + part + b"\r\n")
    sock.sendall(b"0\r\nX-Trailer: y\r\n\r\n")
    status, headers, answer = reader.response()
    assert status == 200 and json.loads(answer)["fullPath"] == "/Common/chunky"
    assert headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nno colon\r\n\r\n", b"GET / HTTP/1.1\r\n" + b"x" * 70000],
    ids=["request_line", "header", "head_too_large"],
)
def test_a_malformed_request_is_400_and_the_connection_closed(
    conn: tuple[ssl.SSLSocket, _Reader], request_bytes: bytes
) -> None:
    sock, reader = conn
    sock.sendall(request_bytes)
    assert reader.response()[0] == 400
    assert reader.closed()


def test_http_1_0_and_connection_close_end_the_connection(sim: SimHandle) -> None:
    for request in (
        b"GET /mgmt/tm/sys/version HTTP/1.0\r\n" + AUTH + b"\r\n\r\n",
        b"GET /mgmt/tm/sys/version HTTP/1.1\r\nConnection: close\r\n" + AUTH + b"\r\n\r\n",
    ):
        with _connect(sim) as sock:
            reader = _Reader(sock)
            sock.sendall(request)
            status, headers, _ = reader.response()
            assert status == 200 and headers["connection"] == "close"
            assert reader.closed()


def test_down_resets_live_connections_and_up_reopens_the_same_port(sim: SimHandle) -> None:
    request = b"GET /mgmt/tm/sys/version HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n\r\n"
    port = sim.ports[1]
    with _connect(sim, 2) as sock:
        reader = _Reader(sock)
        sock.sendall(request)
        assert reader.response()[0] == 200
        sim.control("POST", "down", {"mode": "refuse"}, device=2, via=1)
        assert reader.closed()  # the idle keep-alive connection is gone
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    sim.control("POST", "up", device=2, via=1)
    assert sim.ports[1] == port
    with _connect(sim, 2) as sock:
        sock.sendall(request)
        assert _Reader(sock).response()[0] == 200


def test_drop_closes_without_an_answer(sim: SimHandle) -> None:
    request = b"GET /mgmt/tm/sys/version HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n\r\n"
    sim.control("POST", "down", {"mode": "drop"}, device=2, via=1)
    with _connect(sim, 2) as sock:
        reader = _Reader(sock)
        sock.sendall(request)
        assert reader.closed()
    sim.control("POST", "up", device=2, via=1)
