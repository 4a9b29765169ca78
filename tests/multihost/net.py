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
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import subprocess
from dataclasses import dataclass, field

SUPERNET = ipaddress.ip_network("10.251.0.0/16")


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
    """Third octets of 10.251.X.Y addresses already present in the root namespace."""
    out = ip("-o", "-4", "addr", "show").stdout
    used = set()
    for word in out.split():
        with contextlib.suppress(ValueError):
            iface = ipaddress.ip_interface(word)
            if iface.ip in SUPERNET:
                used.add(int(str(iface.ip).split(".")[2]))
    return used


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

    def __post_init__(self) -> None:
        if self.octet < 0:
            free = sorted(set(range(1, 255)) - _used_blocks())
            self.octet = free[secrets.randbelow(len(free))]

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
