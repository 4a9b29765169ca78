"""Running the simulator: command-line options, devices, HTTP servers, state file, shutdown.

Owns `Simulator` (N devices on one event loop, one TLS `HttpServer` per device on ports
P..P+N-1, down/up by closing and reopening its listening socket, the debounced state-file writer) and the CLI
contract `add_arguments(parser)` / `run(args)`. `run` prints one line per device and then a
line `bigip-lbaas sim: ready`, and serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bigip_lbaas.sim import persist, tls
from bigip_lbaas.sim.app import DeviceApp
from bigip_lbaas.sim.device import DEVICE_GROUP, Device
from bigip_lbaas.sim.httpserver import HttpServer

log = logging.getLogger(__name__)

READY_LINE = "bigip-lbaas sim: ready"


class Simulator:
    """A set of simulated devices served from one event loop."""

    def __init__(
        self,
        *,
        devices: int = 1,
        port: int = 8443,
        bind: str = "127.0.0.1",
        username: str = "admin",
        password: str = "admin",
        latency_ms: float = 0.0,
        state_file: Path | None = None,
        cert: Path | None = None,
        key: Path | None = None,
        version: str = "15.1.0",
        save_interval: float = 1.0,
    ) -> None:
        if devices < 1:
            raise ValueError("--devices must be at least 1")
        self.bind = bind
        self.base_port = port
        self.state_file = state_file
        self.save_interval = save_interval
        self.tls_files = tls.prepare(state_file, cert, key)
        self.devices = [
            Device(i, devices, username, password, version) for i in range(1, devices + 1)
        ]
        for dev in self.devices:
            dev.peers = self.devices
            dev.faults.latencyMs = latency_ms
        self.servers: list[HttpServer] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._saver: asyncio.Task[None] | None = None
        if state_file is not None:
            self._load(state_file)

    @property
    def ca_file(self) -> Path:
        return self.tls_files.ca_file

    # -- life cycle --------------------------------------------------------------------------
    async def start(self) -> None:
        ctx = tls.server_context(self.tls_files)
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        try:
            for i, dev in enumerate(self.devices):
                port = self.base_port + i if self.base_port else 0
                server = HttpServer(DeviceApp(dev, self), self.bind, port, ctx)
                await server.open()
                self.servers.append(server)
                dev.port = server.port
                dev.url = f"https://{host}:{server.port}"
        except BaseException:
            await self.stop()
            raise
        if self.state_file is not None:
            self._saver = asyncio.get_running_loop().create_task(self._save_loop())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        for server in self.servers:
            await server.close()
        self.servers.clear()
        if self.state_file is not None:
            self.save_now()
        if self.tls_files.temp_dir is not None:
            shutil.rmtree(self.tls_files.temp_dir, ignore_errors=True)

    def _server_of(self, dev: Device) -> HttpServer:
        return self.servers[self.devices.index(dev)]

    async def set_down(self, device: Device, mode: str, seconds: float | None) -> None:
        device.down_mode = mode
        server = self._server_of(device)
        if mode == "refuse":
            await server.close(defer_abort=True)
        else:
            # after the answer to this control request has been written
            asyncio.get_running_loop().call_soon(server.abort_connections)
        if seconds:
            task = asyncio.get_running_loop().create_task(self._up_later(device, seconds))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _up_later(self, device: Device, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.set_up(device)

    async def set_up(self, device: Device) -> None:
        device.down_mode = None
        await self._server_of(device).open()

    # -- state file --------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        devices: dict[str, Any] = {}
        for dev in self.devices:
            group = dev.store.get("cm/device-group", f"/Common/{DEVICE_GROUP}")
            data = persist.dump_store(dev.store, skip_prefix="cm/")
            data["hostname"] = dev.hostname
            data["globalSettings"] = dev.global_settings
            data["autoSync"] = group.props.get("autoSync", "disabled") if group else "disabled"
            devices[str(dev.index)] = data
        return {"format": persist.FORMAT, "devices": devices}

    def save_now(self) -> None:
        if self.state_file is None:
            return
        for dev in self.devices:
            dev.dirty = False
        persist.write_atomic(self.state_file, self.snapshot())

    async def _save_loop(self) -> None:
        """Write the state file when something changed, at most every `save_interval` seconds.

        A snapshot of a large configuration takes a while and holds the event loop, so the
        interval stretches to ten times the last save's duration (about 10 % overhead at most)."""
        assert self.state_file is not None
        interval = self.save_interval
        while True:
            await asyncio.sleep(interval)
            if not any(dev.dirty for dev in self.devices):
                continue
            started = time.monotonic()
            for dev in self.devices:
                dev.dirty = False
            # Encoded here, on the loop: the snapshot shares the live objects' property dicts,
            # which requests change; only the file write and fsync go to a thread.
            text = persist.encode(self.snapshot())
            try:
                await asyncio.to_thread(persist.write_atomic, self.state_file, text)
            except OSError:
                log.exception("could not write the simulator state file")
            interval = max(self.save_interval, 10 * (time.monotonic() - started))

    def _load(self, path: Path) -> None:
        data = persist.read(path)
        if data is None:
            return
        for dev in self.devices:
            saved = data.get("devices", {}).get(str(dev.index))
            if saved is None:
                continue
            keep = [
                o
                for coll in dev.store.objs.values()
                for o in coll.values()
                if o.rtype.startswith("cm/")
            ]
            dev.store.clear()
            persist.load_store(dev.store, saved)
            for obj in keep:
                dev.store.put(obj)
            dev.hostname = str(saved.get("hostname", dev.hostname))
            dev.global_settings = dict(saved.get("globalSettings", {}))
            dev.set_auto_sync(saved.get("autoSync") == "enabled")
            dev.dirty = False


# -- CLI contract ------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `bigip-lbaas sim`."""
    parser.add_argument(
        "--port",
        type=int,
        default=8443,
        help="HTTPS port of device 1; device n listens on port+n-1 (default 8443)",
    )
    parser.add_argument("--devices", type=int, default=1, help="number of devices (default 1)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added latency per /mgmt request"
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="JSON file that persists configuration across restarts",
    )
    parser.add_argument("--cert", type=Path, default=None, help="PEM server certificate")
    parser.add_argument("--key", type=Path, default=None, help="PEM private key for --cert")
    parser.add_argument(
        "--version",
        dest="tmos_version",
        default="15.1.0",
        help="TMOS version the devices report (default 15.1.0)",
    )


def simulator_from_args(args: argparse.Namespace) -> Simulator:
    return Simulator(
        devices=args.devices,
        port=args.port,
        bind=args.bind,
        username=args.username,
        password=args.password,
        latency_ms=args.latency_ms,
        state_file=args.state_file,
        cert=args.cert,
        key=args.key,
        version=args.tmos_version,
    )


async def serve(sim: Simulator, stop: asyncio.Event) -> None:
    await sim.start()
    try:
        for dev in sim.devices:
            print(
                f"bigip-lbaas sim: device {dev.index} {dev.name} {dev.url} ca={sim.ca_file}",
                flush=True,
            )
        print(READY_LINE, flush=True)
        await stop.wait()
    finally:
        await sim.stop()


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; return the process exit code."""
    try:
        sim = simulator_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"bigip-lbaas sim: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(sim, stop)

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"bigip-lbaas sim: {exc}", file=sys.stderr)
        return 1
    return 0
