"""The device's upload area: `/mgmt/shared/file-transfer/uploads/<name>` and `util/unix-rm`.

Owns chunked uploads (`Content-Range: start-end/total`, `application/octet-stream`, any chunk
size; the file is complete when all `total` bytes have arrived and then lives at
`/var/config/rest/downloads/<name>`), reading a complete file back for `sourcePath` /
`from-local-file`, and removing files. Files are objects of the device's `Store` (type
`UPLOAD`, base64 content in a hidden property), so the state file keeps them; config-sync
does not copy them, as a device does not copy its upload directory. An upload is never
audited with its bytes, and no message here ever contains them.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from bigip_lbaas.sim import errors
from bigip_lbaas.sim.store import Obj, Store

UPLOAD = "shared/file-transfer/uploads"
"""The `Store` type of uploaded files (not a `/mgmt/tm` type)."""
DOWNLOADS = "/var/config/rest/downloads"
"""Where uploaded files land on a device."""
MAX_FILE = 64 * 1024 * 1024

_RANGE = re.compile(r"^\s*(?:bytes\s+)?(\d+)-(\d+)/(\d+)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9._@+=,-]+$")


def _valid_name(name: str) -> str:
    if not _NAME.match(name) or name in (".", ".."):
        raise errors.bad_value(f"invalid upload file name ({name[:100]})")
    return name


def path_of(name: str) -> str:
    return f"{DOWNLOADS}/{name}"


def upload_chunk(store: Store, name: str, content_range: str | None, body: bytes) -> dict[str, Any]:
    """Write one chunk; answer what the device's file-transfer worker answers."""
    name = _valid_name(name)
    m = _RANGE.match(content_range or "")
    if m is None:
        raise errors.IcrError(400, "Missing or invalid Content-Range header", 1)
    start, end, total = (int(g) for g in m.groups())
    if total > MAX_FILE or end < start or end >= total or end - start + 1 != len(body):
        raise errors.IcrError(
            400, f"Content-Range {start}-{end}/{total} does not match a {len(body)}-byte body", 1
        )
    path = path_of(name)
    old = store.get(UPLOAD, path)
    if start == 0 or old is None or int(old.props.get("total", -1)) != total:
        data = b""
    else:
        data = base64.b64decode(old.props["_data"])
    if start > len(data):
        raise errors.IcrError(
            400, f"Content-Range {start}-{end}/{total} leaves a gap after byte {len(data)}", 1
        )
    data = data[:start] + body + data[end + 1 :]
    now = int(time.time() * 1_000_000)
    props = {"total": total, "_data": base64.b64encode(data).decode("ascii"), "micros": now}
    store.put(Obj(UPLOAD, "", "", name, path, props, store.generation))
    return {
        "remainingByteCount": max(total - len(data), 0),
        "usedChunks": {"0": len(data)},
        "totalByteCount": total,
        "localFilePath": path,
        "temporaryFilePath": f"{DOWNLOADS}/tmp/{name}",
        "generation": 0,
        "lastUpdateMicros": now,
    }


def read(store: Store, path: str) -> bytes | None:
    """A complete uploaded file (`/var/config/rest/downloads/<name>`), or None."""
    obj = store.get(UPLOAD, path)
    if obj is None:
        return None
    data = base64.b64decode(obj.props["_data"])
    return data if len(data) == int(obj.props.get("total", -1)) else None


def read_source(store: Store, source: object, what: str) -> bytes:
    """The content a `sourcePath` (`file:///var/config/rest/downloads/<f>`) or
    `from-local-file` (the bare path) names; 400 when there is no such complete file."""
    if not isinstance(source, str) or not source.strip():
        raise errors.bad_value(f"{what} must name a file (file:///var/config/rest/downloads/...)")
    path = source.strip()
    if path.startswith("file://"):
        path = path[len("file://") :]
    data = read(store, path)
    if data is None:
        raise errors.IcrError(
            400,
            f"01070712:3: Caught configuration exception (0), Failed to open file "
            f"({path[:200]}): No such file or directory.",
        )
    return data


def unix_rm(store: Store, args: str) -> str:
    """`util/unix-rm`: remove uploaded files. Returns the command's output (empty on success,
    `/bin/rm: cannot remove …` for a missing file unless `-f` was given)."""
    words = args.split()
    force = any(w.startswith("-") and "f" in w for w in words)
    out = []
    for word in words:
        if word.startswith("-"):
            continue
        if store.get(UPLOAD, word) is not None:
            store.remove(UPLOAD, word)
        elif not force:
            out.append(f"/bin/rm: cannot remove '{word[:200]}': No such file or directory\n")
    return "".join(out)
