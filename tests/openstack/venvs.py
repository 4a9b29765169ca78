"""One virtualenv per OpenStack service, built from PyPI once per machine and reused.

The services pin dependencies that clash with this project's own (and with each other's), so each
lives in a virtualenv of its own under a cache directory outside the checkout
(`BIGIP_LBAAS_OPENSTACK_CACHE`, default `~/.cache/bigip-lbaas/openstack`). The directory name
carries a hash of the requirements, so changing a pin builds a new one; a file lock makes parallel
test workers wait for one build instead of racing; a marker file written last means a half-built
venv (an interrupted install) is rebuilt, never used.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

CACHE = Path(os.environ.get("BIGIP_LBAAS_OPENSTACK_CACHE",
                            Path.home() / ".cache" / "bigip-lbaas" / "openstack"))
INSTALL_TIMEOUT = 1800.0
COMPLETE = ".complete"


def service_venv(name: str, requirements: Sequence[str], *,
                 python: str | None = None) -> Path:
    """The path of a virtualenv holding `requirements` (pip arguments), built if missing.

    `python` is the interpreter the venv is made from (default: the one running the tests).
    """
    python = python or sys.executable
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], check=True,
                             capture_output=True, text=True).stdout.strip()
    key = hashlib.sha256("\n".join([version, *requirements]).encode()).hexdigest()[:12]
    path = CACHE / f"{name}-{key}"
    if (path / COMPLETE).exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{name}-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (path / COMPLETE).exists():
            return path
        shutil.rmtree(path, ignore_errors=True)
        log = CACHE / f"{name}-{key}.install.log"
        with log.open("w") as out:
            for argv in ([python, "-m", "venv", str(path)],
                         [str(path / "bin" / "python"), "-m", "pip", "install", "-q",
                          "--upgrade", "pip", "setuptools", "wheel"],
                         [str(path / "bin" / "python"), "-m", "pip", "install", "-q",
                          *requirements]):
                done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                                      timeout=INSTALL_TIMEOUT, check=False)
                if done.returncode != 0:
                    tail = log.read_text(errors="replace").splitlines()[-20:]
                    raise RuntimeError(f"building the {name} virtualenv failed "
                                       f"({' '.join(argv[:4])} …); see {log}:\n"
                                       + "\n".join(tail))
        (path / COMPLETE).write_text("\n".join(requirements) + "\n")
    return path


def bin_path(venv: Path, program: str) -> str:
    """The path of `program` installed in `venv`."""
    return str(venv / "bin" / program)
