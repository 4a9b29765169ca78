"""Snapshots of a device's configuration: the state file and config-sync copies.

Owns turning a `Store` into plain JSON-able data and back, and writing the state file
atomically (temporary file, fsync, `os.replace`), so a crash mid-write never leaves a torn file.
The file holds everything a device keeps across a reboot, private keys and uploaded files
included, so it is written with mode 0600.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bigip_lbaas.sim.store import Obj, Store

FORMAT = 1


def dump_obj(obj: Obj) -> dict[str, Any]:
    d: dict[str, Any] = {
        "t": obj.rtype,
        "p": obj.partition,
        "s": obj.sub_path,
        "n": obj.name,
        "f": obj.full_path,
        "g": obj.generation,
        "props": obj.props,
    }
    if obj.builtin:
        d["b"] = True
    if obj.children:
        d["c"] = {sub: [dump_obj(c) for c in items.values()] for sub, items in obj.children.items()}
    return d


def load_obj(d: dict[str, Any]) -> Obj:
    now = time.monotonic()
    children = {sub: {c["f"]: load_obj(c) for c in items} for sub, items in d.get("c", {}).items()}
    return Obj(
        d["t"],
        d["p"],
        d["s"],
        d["n"],
        d["f"],
        dict(d["props"]),
        int(d["g"]),
        now,
        bool(d.get("b", False)),
        children,
    )


def dump_store(
    store: Store, skip_prefix: str | tuple[str, ...] | None = None
) -> dict[str, Any]:
    objs = [
        dump_obj(o)
        for coll in store.objs.values()
        for o in coll.values()
        if skip_prefix is None or not o.rtype.startswith(skip_prefix)
    ]
    return {"generation": store.generation, "objects": objs}


def load_store(store: Store, data: dict[str, Any]) -> None:
    for d in data.get("objects", []):
        store.put(load_obj(d))
    store.generation = max(store.generation, int(data.get("generation", 1)))


def encode(data: dict[str, Any]) -> str:
    """The state file's text. ``json.dumps`` (one shot) uses the C encoder; ``json.dump`` to a
    file would use the pure-Python one, several times slower on a large configuration."""
    return json.dumps(data, separators=(",", ":"))


def write_atomic(path: Path, data: dict[str, Any] | str) -> None:
    text = data if isinstance(data, str) else encode(data)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # mode 0600: the file holds the devices' private keys, as a device's /config does
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a simulator state file (format {FORMAT})")
    return data
