"""What the real-Neutron network source costs, as JSON: starting Neutron on each database
(tests/openstack/neutron.py: schema, server), then the source's calls against it
(network/neutron.py, built from a config file as the API builds it), N times each: subnet and
segment lookups, `ensure_port` creating a port and finding it again, `delete_port`.

Usage: python bench/neutron_source_bench.py [--db mariadb --db postgresql] [-n 20] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bigip_lbaas import network
from bigip_lbaas.config.load import load
from tests.openstack import keystone as keystone_service
from tests.openstack import neutron as neutron_service


def _ms(fn: Callable[[], Any], n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {"n": n, "median_ms": round(statistics.median(times), 1),
            "p90_ms": round(times[int(0.9 * (n - 1))], 1), "max_ms": round(times[-1], 1)}


def run(db_kind: str, n: int, root: Path, keystone: keystone_service.Keystone) -> dict[str, Any]:
    began = time.monotonic()
    with neutron_service.running_neutron(root / f"neutron-{db_kind}", keystone, db_kind) as nt:
        started = round(time.monotonic() - began, 1)
        service = keystone.service_user("octavia")
        conf_path = root / f"net-{db_kind}.conf"
        conf_path.write_text("[networking]\nsource = neutron\n"
                             + keystone.service_auth_conf(service))
        source: Any = network.source_for(load([str(conf_path)]), db=None)  # type: ignore[arg-type]
        user = keystone.user("bench-net", keystone.project("bench-net"), "member")
        net = nt.request(user, "POST", "/v2.0/networks", {"network": {"name": "b"}})["network"]
        sub = nt.request(user, "POST", "/v2.0/subnets", {"subnet": {
            "network_id": net["id"], "cidr": "10.80.0.0/20", "ip_version": 4}})["subnet"]
        names = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(n)]
        it = iter(names)
        booked: list[str] = []

        def create() -> None:
            booked.append(source.ensure_port(
                name=next(it), network_id=net["id"], subnet_id=sub["id"],
                project_id=user.project.id, device_id="bench").id)

        calls = {"subnet": _ms(lambda: source.subnet(sub["id"]), n),
                 "segment": _ms(lambda: source.segment(net["id"]), n),
                 "ensure_port_create": _ms(create, n)}
        it = iter(names)
        calls["ensure_port_found"] = _ms(lambda: source.ensure_port(
            name=next(it), network_id=net["id"], subnet_id=sub["id"],
            project_id=user.project.id, device_id="bench"), n)
        gone = iter(booked)
        calls["delete_port"] = _ms(lambda: source.delete_port(next(gone)), n)
        return {"db": db_kind, "neutron_start_s": started,
                "neutron_timings_s": {k: round(v, 1) for k, v in nt.timings.items()},
                "calls": calls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", choices=["mariadb", "postgresql"])
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--output")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "bench": "neutron_source", "python": platform.python_version(),
        "cpus": os.cpu_count(), "load_before": os.getloadavg()[0],
        "neutron_requirements": list(neutron_service.REQUIREMENTS), "runs": []}
    with tempfile.TemporaryDirectory(prefix="neutron-bench-") as work:
        root = Path(work)
        with keystone_service.running_keystone(root / "keystone") as keystone:
            for kind in args.db or ["mariadb", "postgresql"]:
                result["runs"].append(run(kind, args.n, root, keystone))
    text = json.dumps(result, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
