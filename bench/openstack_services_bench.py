"""What the real OpenStack test services cost, as JSON: building each one's virtualenv from
PyPI into an empty cache (tests/openstack/venvs.py), and starting Keystone and Barbican
(tests/openstack/keystone.py, barbican.py) from a built one, with a token and a secret round
trip to prove each answers.

Usage: python bench/openstack_services_bench.py [--skip-build] [--starts 2] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.openstack import barbican as barbican_service
from tests.openstack import keystone as keystone_service
from tests.openstack import venvs


def build_times() -> dict[str, float]:
    """Seconds to build each venv into a fresh, empty cache (pip's own download cache and the
    machine's local wheel directories still apply, as they do for a first test run)."""
    with tempfile.TemporaryDirectory(prefix="os-venvs-") as cache:
        saved = venvs.CACHE
        venvs.CACHE = Path(cache)
        try:
            out = {}
            for name, requirements in (("keystone", keystone_service.REQUIREMENTS),
                                       ("barbican", barbican_service.REQUIREMENTS)):
                began = time.monotonic()
                venvs.service_venv(name, requirements)
                out[name] = round(time.monotonic() - began, 1)
            return out
        finally:
            venvs.CACHE = saved


def start_times(starts: int) -> list[dict[str, float]]:
    runs = []
    for _ in range(starts):
        with tempfile.TemporaryDirectory(prefix="os-services-") as work:
            root = Path(work)
            with keystone_service.running_keystone(root / "keystone") as keystone, \
                    barbican_service.running_barbican(root / "barbican", keystone) as barbican:
                user = keystone.user("bench", keystone.project("bench"), "member")
                began = time.monotonic()
                client = barbican.client(keystone, user)
                ref = client.secrets.create(name="bench", payload=b"\x00bench").store()
                assert client.secrets.get(ref).payload == b"\x00bench"
                runs.append({"keystone_start_s": round(keystone.startup_seconds, 1),
                             "barbican_start_s": round(barbican.startup_seconds, 1),
                             "first_secret_round_trip_s": round(time.monotonic() - began, 2)})
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--output")
    args = parser.parse_args()
    result: dict[str, object] = {
        "bench": "openstack_services", "python": platform.python_version(),
        "cpus": os.cpu_count(), "load_before": os.getloadavg()[0],
        "keystone_requirements": list(keystone_service.REQUIREMENTS),
        "barbican_requirements": list(barbican_service.REQUIREMENTS)}
    if not args.skip_build:
        result["venv_build_s"] = build_times()
    result["starts"] = start_times(args.starts)
    text = json.dumps(result, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
