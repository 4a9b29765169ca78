"""Helpers for tests that need simulated devices: in a thread, or as a subprocess.

Owns `run_sim_in_thread(...)` (a context manager that serves N devices from a background
event loop and yields a `SimHandle` with URLs, ports, the CA file, credentials and a client for
the `/sim` control API) and `start_sim_process(...)`/`wait_ready(...)` for tests that run the
simulator as a separate process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bigip_lbaas.sim.server import READY_LINE, Simulator

T = TypeVar("T")


@dataclass
class SimHandle:
    """A running simulator as seen by a test."""

    sim: Simulator
    loop: asyncio.AbstractEventLoop
    urls: list[str]
    ports: list[int]
    ca_file: Path
    username: str
    password: str

    def client(self, device: int = 1, **kwargs: Any) -> httpx.Client:
        """An httpx client for device n (basic auth, verifying with the simulator's CA)."""
        return httpx.Client(
            base_url=self.urls[device - 1],
            verify=str(self.ca_file),
            auth=(self.username, self.password),
            **kwargs,
        )

    def control(
        self, method: str, op: str, json: Any = None, device: int = 1, via: int | None = None
    ) -> Any:
        """Call `/sim/devices/<device>/<op>` through device `via` (default: a device that is up)."""
        via = via or next((d.index for d in self.sim.devices if d.down_mode is None), 1)
        with self.client(via, timeout=10.0) as c:
            resp = c.request(method, f"/sim/devices/{device}/{op}", json=json)
            resp.raise_for_status()
            return resp.json() if resp.content else None

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the simulator's event loop thread and return its result."""

        async def wrapper() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(10)


@contextlib.contextmanager
def run_sim_in_thread(
    devices: int = 1,
    *,
    port: int = 0,
    username: str = "admin",
    password: str = "admin",
    state_file: Path | None = None,
    version: str = "15.1.0",
    latency_ms: float = 0.0,
    save_interval: float = 0.2,
    cert: Path | None = None,
    key: Path | None = None,
) -> Iterator[SimHandle]:
    """Serve `devices` simulated BIG-IPs on loopback for the duration of the block.

    `port=0` picks free ports (not necessarily consecutive); `cert`/`key` serve your own PEM
    pair (as `--cert/--key`; the handle's `ca_file` is then the certificate)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            sim = Simulator(
                devices=devices,
                port=port,
                username=username,
                password=password,
                state_file=state_file,
                version=version,
                latency_ms=latency_ms,
                save_interval=save_interval,
                cert=cert,
                key=key,
            )
            await sim.start()
        except BaseException as exc:
            box["error"] = exc
            ready.set()
            return
        box["sim"] = sim
        ready.set()
        try:
            await stop.wait()
        finally:
            await sim.stop()

    thread = threading.Thread(
        target=loop.run_until_complete, args=(main(),), name="bigip-sim", daemon=True
    )
    thread.start()
    try:
        if not ready.wait(30):
            raise TimeoutError("simulator did not start within 30 s")
        if "error" in box:
            raise box["error"]
        sim: Simulator = box["sim"]
        yield SimHandle(
            sim,
            loop,
            [d.url for d in sim.devices],
            [d.port for d in sim.devices],
            sim.ca_file,
            username,
            password,
        )
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
            thread.join(30)
        loop.close()


def start_sim_process(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `python -m bigip_lbaas.sim <args>`; call `wait_ready` before using it.

    Its stderr (logs) is inherited, so a chatty simulator can never block on a full pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "bigip_lbaas.sim", *args],
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env=env if env is not None else dict(os.environ),
    )


def wait_ready(proc: subprocess.Popen[str], timeout: float = 30.0) -> list[dict[str, str]]:
    """Read the start-up lines until `ready`; return one dict per device (name, url, ca)."""
    assert proc.stdout is not None
    devices: list[dict[str, str]] = []
    deadline = time.monotonic() + timeout
    for _ in range(10_000):
        if time.monotonic() > deadline:
            raise TimeoutError("simulator did not report ready")
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"simulator exited early with {proc.wait(5)}")
        line = line.strip()
        if line == READY_LINE:
            return devices
        parts = line.split()
        if len(parts) == 7 and parts[2] == "device":
            devices.append(
                {
                    "index": parts[3],
                    "name": parts[4],
                    "url": parts[5],
                    "ca": parts[6].removeprefix("ca="),
                }
            )
    raise TimeoutError("simulator did not report ready")
