"""A small TCP forwarder, run as its own process in the root namespace by the multi-host harness.

    python tests/multihost/forward.py LISTEN_HOST:LISTEN_PORT=TARGET_HOST:TARGET_PORT ...

Each argument is one listener (port 0 = any free port). It prints `listening L -> T` per listener
(with the real port), then `ready`, and forwards until SIGTERM/SIGINT, when every listener and
connection is closed. Bounded: at most MAX_CONNECTIONS connections at once (more are closed at
once), and the target connect times out after CONNECT_TIMEOUT seconds. Used to reach the
PostgreSQL/MariaDB servers (which listen on 127.0.0.1 only) from agents in network namespaces over
the veth links, so cutting a link cuts the database too. Standalone: imports nothing from the
project or the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

MAX_CONNECTIONS = 256
CONNECT_TIMEOUT = 5.0
CHUNK = 65536


def split(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host, int(port)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def main(specs: list[str]) -> None:
    live: set[asyncio.StreamWriter] = set()

    def handler(target: tuple[str, int]):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if len(live) >= MAX_CONNECTIONS:
                writer.close()
                return
            try:
                up_r, up_w = await asyncio.wait_for(
                    asyncio.open_connection(*target), CONNECT_TIMEOUT)
            except (OSError, TimeoutError):
                writer.close()  # target down: the client sees the connection closed
                return
            live.update((writer, up_w))
            try:
                await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
            finally:
                live.difference_update((writer, up_w))

        return handle

    servers = []
    for spec in specs:
        listen, _, target = spec.partition("=")
        host, port = split(listen)
        server = await asyncio.start_server(handler(split(target)), host, port)
        real = server.sockets[0].getsockname()[1]
        print(f"listening {host}:{real} -> {target}", flush=True)
        servers.append(server)
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    for w in list(live):
        w.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
