"""Linux network namespaces and veth links for the multi-host harness.

One `Network` owns everything it creates: namespaces named `bl-<tag>-<host>` (random tag, so
parallel runs never clash), one veth pair per namespace with a private 10.251.X.Y/30 on each end
(root side `.1`, namespace side `.2`), and nothing else: no address outside those veths, no
forwarding, no NAT, no default route in the root namespace. Traffic never leaves the veths.

Layout: a `svc` namespace's link gives the root namespace one stable service address (its root
side) where the simulator and the database forwarders listen; each agent host `hN` gets its own
namespace whose only route is its veth towards the root side, plus a host route to the service
address through it (the root namespace answers for all its local addresses on any interface).
Cutting `hN`'s link therefore cuts that host from the devices and the database, and nobody else.

`close()` removes it all and is safe to call twice or after a partial set-up.

Every `Network` is recorded in `RUN_DIR/<tag>.json` with its owner (pid and that pid's start time)
and its 10.251.X block, from before its first namespace until `close()`. The block is picked and
recorded under an fcntl lock, and blocks of recorded networks count as taken, so parallel runs
(`pytest -n 2`) never pick the same one. A run killed too hard to tear down (SIGKILL, or SIGTERM
outside the fixture's handler) leaves its record behind; `sweep()` removes what such a record
names once its owner is dead: processes inside its namespaces or holding files in its work
directory, its veths, its namespaces. It touches only names with this module's prefixes.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import secrets
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPERNET = ipaddress.ip_network("10.251.0.0/16")
NS_PREFIX = "bl-"  # namespaces: bl-<tag>-<host>; veths: bl<tag>r<n> / bl<tag>n<n>
TAG = re.compile(r"[0-9a-f]{6}")
ORPHAN_AGE = 600.0  # a namespace with no record (older code) is left alone until this old


def _run_dir() -> Path:
    for base in (Path("/run"), Path(tempfile.gettempdir())):
        path = base / "bigip-lbaas-multihost"
        with contextlib.suppress(OSError):
            path.mkdir(mode=0o700, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
    raise OSError("no writable directory for multi-host network records")


RUN_DIR: Path | None = None


def run_dir() -> Path:
    global RUN_DIR
    if RUN_DIR is None:
        RUN_DIR = _run_dir()
    return RUN_DIR


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    with (run_dir() / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["ip", "netns", "exec", ns, "ip", *args] if ns else ["ip", *args]
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=20)


def netns_unavailable() -> str | None:
    """None if this process may create network namespaces, else why not."""
    name = f"bl-probe-{secrets.token_hex(3)}"
    try:
        done = ip("netns", "add", name, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"`ip netns add` cannot run: {err}"
    if done.returncode != 0:
        return f"`ip netns add` not permitted: {done.stderr.strip() or done.returncode}"
    ip("netns", "del", name, check=False)
    try:
        probe = subprocess.run(["unshare", "--uts", "true"], check=False,
                               capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"`unshare --uts` cannot run: {err}"
    if probe.returncode != 0:
        return f"`unshare --uts` not permitted: {probe.stderr.decode().strip()}"
    return None


def _used_blocks() -> set[int]:
    """Third octets of 10.251.X.Y addresses already present in the root namespace, and of
    every recorded network (whose links may not exist yet)."""
    out = ip("-o", "-4", "addr", "show").stdout
    used = set()
    for word in out.split():
        with contextlib.suppress(ValueError):
            iface = ipaddress.ip_interface(word)
            if iface.ip in SUPERNET:
                used.add(int(str(iface.ip).split(".")[2]))
    used |= {int(r["octet"]) for r in records() if isinstance(r.get("octet"), int)}
    return used


# --- records of live networks, and the sweep of dead ones --------------------------------------

def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    """The start time of `pid` (clock ticks since boot), or None if there is no such process:
    with the pid it names one process, even after the pid is reused."""
    stat = _stat(pid)
    return stat[19] if stat and len(stat) > 19 else None


def owner_alive(record: dict[str, Any]) -> bool:
    pid = record.get("pid")
    return isinstance(pid, int) and start_time(pid) == record.get("started")


def records() -> list[dict[str, Any]]:
    out = []
    for path in sorted(run_dir().glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text())
            if isinstance(record, dict) and TAG.fullmatch(str(record.get("tag"))):
                out.append(record)
    return out


def _write_record(record: dict[str, Any]) -> None:
    path = run_dir() / f"{record['tag']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def _namespaces() -> list[str]:
    out = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines()
            if line.strip() and line.startswith(NS_PREFIX)]


def _veths() -> list[str]:
    out = ip("-o", "link", "show", check=False).stdout
    names = (m.group(1) for m in re.finditer(r"^\d+: ([^:@\s]+)", out, re.M))
    return [n for n in names if re.fullmatch(r"bl[0-9a-f]{6}[rn]\d+", n)]


def _tag_of_ns(name: str) -> str | None:
    m = re.fullmatch(r"bl-([0-9a-f]{6})-[\w.-]+", name)
    return m.group(1) if m else None


def _holders(directory: str) -> set[int]:
    """Processes with a file (log, cwd) under `directory`."""
    root = os.path.realpath(directory)
    if root in ("/", "") or not os.path.isdir(root):
        return set()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        links = [entry / "cwd"]
        with contextlib.suppress(OSError):
            links += list((entry / "fd").iterdir())
        for link in links:
            with contextlib.suppress(OSError):
                target = os.readlink(link)
                if target == root or target.startswith(root + "/"):
                    found.add(int(entry.name))
                    break
    return found


def _kill(pids: set[int]) -> None:
    pids.discard(os.getpid())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pids and time.monotonic() < deadline:  # gone (or a zombie of someone else's)
        pids = {p for p in pids if (st := _stat(p)) is not None and st[0] != "Z"}
        time.sleep(0.05)


def _remove(tag: str, namespaces: list[str], veths: list[str],
            workdir: str | None = None) -> list[str]:
    """Kill what runs in `tag`'s namespaces or in `workdir`, delete its veths and namespaces."""
    mine = [n for n in namespaces if _tag_of_ns(n) == tag]
    pids: set[int] = set()
    for ns in mine:
        pids |= {int(p) for p in ip("netns", "pids", ns, check=False).stdout.split()
                 if p.isdigit()}
    if workdir:
        pids |= _holders(workdir)
    _kill(pids)
    for dev in veths:
        if dev.startswith(f"bl{tag}r") or dev.startswith(f"bl{tag}n"):
            ip("link", "del", dev, check=False)
    for ns in mine:
        ip("netns", "del", ns, check=False)
    return [*mine, *(d for d in veths if d.startswith(f"bl{tag}"))]


def sweep() -> list[str]:
    """Remove what dead runs left behind; returns the names removed.

    A recorded network whose owner is dead goes entirely (its processes too). Namespaces and
    veths with the prefix but no record (from a run of code older than the records) go once the
    namespace is `ORPHAN_AGE` old and nothing runs inside it, or, for a veth, once its namespace
    is gone. Nothing of a live owner, and no name without the prefix, is touched."""
    removed: list[str] = []
    with _locked():
        namespaces, veths = _namespaces(), _veths()
        live = set()
        for record in records():
            tag = str(record["tag"])
            if owner_alive(record):
                live.add(tag)
                continue
            workdir = record.get("workdir")
            removed += _remove(tag, namespaces, veths, workdir if isinstance(workdir, str)
                               else None)
            (run_dir() / f"{tag}.json").unlink(missing_ok=True)
        namespaces, veths = _namespaces(), _veths()
        now = time.time()
        for ns in namespaces:
            orphan = _tag_of_ns(ns)
            if orphan is None or orphan in live:
                continue
            with contextlib.suppress(OSError):
                old = now - os.stat(f"/run/netns/{ns}").st_mtime > ORPHAN_AGE
                if old and not ip("netns", "pids", ns, check=False).stdout.split():
                    removed += _remove(orphan, [ns], [])
        has_ns = {_tag_of_ns(n) for n in _namespaces()}
        for dev in veths:
            tag = dev[2:8]
            if tag not in live and tag not in has_ns:
                ip("link", "del", dev, check=False)
                removed.append(dev)
    return sorted(set(removed))


@dataclass
class Link:
    host: str
    ns: str
    root_dev: str
    ns_dev: str
    root_ip: str
    ns_ip: str


@dataclass
class Network:
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    octet: int = -1
    links: dict[str, Link] = field(default_factory=dict)

    workdir: str | None = None  # recorded, so a sweep can find processes logging there

    def __post_init__(self) -> None:
        """Pick a free block and record it (the reservation), under the lock."""
        with _locked():
            while (run_dir() / f"{self.tag}.json").exists():
                self.tag = secrets.token_hex(3)
            if self.octet < 0:
                free = sorted(set(range(1, 255)) - _used_blocks())
                self.octet = free[secrets.randbelow(len(free))]
            self._record()

    def _record(self) -> None:
        _write_record({"tag": self.tag, "octet": self.octet, "pid": os.getpid(),
                       "started": start_time(os.getpid()), "workdir": self.workdir})

    def set_workdir(self, path: str | os.PathLike[str]) -> None:
        self.workdir = str(path)
        with _locked():
            self._record()

    @property
    def service_ip(self) -> str:
        return self.links["svc"].root_ip

    def add(self, host: str) -> Link:
        """A namespace for `host` and its veth link to the root namespace."""
        n = len(self.links)
        base = ipaddress.ip_address(f"10.251.{self.octet}.{4 * n}")
        link = Link(host=host, ns=f"bl-{self.tag}-{host}", root_dev=f"bl{self.tag}r{n}",
                    ns_dev=f"bl{self.tag}n{n}", root_ip=str(base + 1), ns_ip=str(base + 2))
        self.links[host] = link
        ip("netns", "add", link.ns)
        ip("link", "add", link.root_dev, "type", "veth", "peer", "name", link.ns_dev,
           "netns", link.ns)
        ip("addr", "add", f"{link.root_ip}/30", "dev", link.root_dev)
        ip("link", "set", link.root_dev, "up")
        ip("addr", "add", f"{link.ns_ip}/30", "dev", link.ns_dev, ns=link.ns)
        ip("link", "set", link.ns_dev, "up", ns=link.ns)
        ip("link", "set", "lo", "up", ns=link.ns)
        if host != "svc":
            ip("route", "add", f"{self.service_ip}/32", "via", link.root_ip, ns=link.ns)
        return link

    def cut(self, host: str, inside: bool = False) -> None:
        """Link down, on the root side (or inside the host's namespace)."""
        link = self.links[host]
        if inside:
            ip("link", "set", link.ns_dev, "down", ns=link.ns)
        else:
            ip("link", "set", link.root_dev, "down")

    def restore(self, host: str) -> None:
        link = self.links[host]
        ip("link", "set", link.root_dev, "up")
        ip("link", "set", link.ns_dev, "up", ns=link.ns)
        # Routes through a link go away when it goes down: put the service route back.
        if host != "svc":
            ip("route", "replace", f"{self.service_ip}/32", "via", link.root_ip, ns=link.ns)

    def wrap(self, host: str, argv: list[str], hostname: str | None = None) -> list[str]:
        """argv run inside `host`'s namespace, in a UTS namespace of its own named `hostname`."""
        name = hostname or host
        return ["ip", "netns", "exec", self.links[host].ns, "unshare", "--uts", "sh", "-c",
                'hostname "$0" && exec "$@"', name, *argv]

    def close(self) -> None:
        for link in reversed(list(self.links.values())):
            ip("link", "del", link.root_dev, check=False)
            ip("netns", "del", link.ns, check=False)
        self.links.clear()
        with contextlib.suppress(OSError):
            (run_dir() / f"{self.tag}.json").unlink(missing_ok=True)
