"""Log setup: one line per event, text or JSON, carrying the `extra` fields code attaches.

Code logs a constant message with details in `extra` (action, partition, epoch, agent, device);
this module decides how that looks. It never sees secrets because nothing passes them in.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class TextFormatter(logging.Formatter):
    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields = " ".join(f"{k}={v}" for k, v in sorted(_extras(record).items()))
        line = (
            f"{stamp}.{int(record.msecs):03d}Z {record.levelname:<7} {self.host} "
            f"{record.name}: {record.getMessage()}"
        )
        if fields:
            line = f"{line} [{fields}]"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class JsonFormatter(logging.Formatter):
    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": record.created,
            "level": record.levelname,
            "host": self.host,
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup_logging(fmt: str = "text", debug: bool = False, host: str | None = None) -> None:
    """Send every log line to stderr in the chosen format (idempotent)."""
    host = host or socket.gethostname()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(host) if fmt == "json" else TextFormatter(host))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
