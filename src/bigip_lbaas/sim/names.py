"""Names, paths and addresses as iControl REST spells them.

Owns parsing of URL ids (`~Partition~[subPath~]name`, bare names), building full paths and
ids back, splitting member/destination names into address and port, and route-domain
suffixes (`10.0.0.1%2`). Pure functions; no state.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


@dataclass(frozen=True, slots=True)
class Ident:
    """A parsed object id: partition ("" when the URL gave a bare name), subPath, name."""

    partition: str
    sub_path: str
    name: str

    def full_path(self, default_partition: str = "Common") -> str:
        return full_path(self.partition or default_partition, self.sub_path, self.name)


def full_path(partition: str, sub_path: str, name: str) -> str:
    if not partition:
        return name
    if sub_path:
        return f"/{partition}/{sub_path}/{name}"
    return f"/{partition}/{name}"


def split_full_path(path: str, default_partition: str = "Common") -> Ident:
    """Split `/P/name`, `/P/sub/name` or a bare `name` (which means `default_partition`)."""
    if not path.startswith("/"):
        return Ident(default_partition, "", path)
    parts = path[1:].split("/")
    if len(parts) == 1:
        return Ident(default_partition, "", parts[0])
    if len(parts) == 2:
        return Ident(parts[0], "", parts[1])
    return Ident(parts[0], "/".join(parts[1:-1]), parts[-1])


def parse_ident(segment: str) -> Ident:
    """Parse a decoded URL id segment: `~P~name`, `~P~sub~name` or bare `name`."""
    if segment.startswith("~"):
        parts = segment[1:].split("~")
        if len(parts) == 1:
            return Ident("", "", parts[0])
        if len(parts) == 2:
            return Ident(parts[0], "", parts[1])
        return Ident(parts[0], "~".join(parts[1:-1]).replace("~", "/"), parts[-1])
    return Ident("", "", segment)


def url_id(partition: str, sub_path: str, name: str) -> str:
    if not partition:
        return name
    if sub_path:
        return f"~{partition}~{sub_path.replace('/', '~')}~{name}"
    return f"~{partition}~{name}"


def split_path(raw_path: str) -> list[str]:
    """Split a raw URL path into decoded segments, ignoring empty ones (trailing slashes)."""
    return [unquote(s) for s in raw_path.split("/") if s]


def split_port(name: str) -> tuple[str, str]:
    """`10.0.0.1%2:80` -> (`10.0.0.1%2`, `80`); IPv6 `2001:db8::1.443` -> (`2001:db8::1`, `443`)."""
    if name.count(":") > 1:
        addr, sep, port = name.rpartition(".")
    else:
        addr, sep, port = name.rpartition(":")
    if not sep:
        return name, ""
    return addr, port


def route_domain_id(address: str) -> int | None:
    """The `%N` suffix of an address (without any `/mask`), or None."""
    base = address.split("/", 1)[0]
    if "%" not in base:
        return None
    try:
        return int(base.rsplit("%", 1)[1])
    except ValueError:
        return None


def address_base(address: str) -> str:
    """An address without its `%N` suffix and `/mask`: `10.0.0.5%2/24` -> `10.0.0.5`."""
    return address.split("/", 1)[0].split("%", 1)[0]


def rd_key(address: str, rd: int) -> str:
    """An address in a route domain as a uniqueness key: `10.0.0.5%2` (`%0` included)."""
    return f"{address_base(address)}%{rd}"


def address_key(address: str) -> str:
    """An address as a uniqueness key: `%0` is the same as no route domain."""
    return address[:-2] if address.endswith("%0") else address


def is_ip(text: str) -> bool:
    import ipaddress

    base = text.split("%", 1)[0]
    try:
        ipaddress.ip_address(base)
    except ValueError:
        return False
    return True


def is_ipv6(text: str) -> bool:
    return ":" in text.split("%", 1)[0]
