"""VIP allocation micro-benchmark (issue #17): what one load balancer create costs in
`api/vip.py` (`resolve`, which locks the subnet and allocates the address, and `book_port`) on a
subnet already holding N load balancers, in process, on SQLite or PostgreSQL.

Each create is its own transaction, as in the API: resolve -> INSERT load_balancer ->
book_port -> commit. Reported per create: SQL statements, the client's CPU ms
(time.process_time: with SQLite the database's work too, with PostgreSQL only ours) and wall
ms. Uses only what both the old and the new allocation expose, so the code before the change can
be measured with the same script (PYTHONPATH pointing at its src/).

    .venv/bin/python bench/vip_alloc_bench.py --db sqlite --db postgresql --n 0 --n 700 \
        --n 5000 --creates 200 > out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from bigip_lbaas.api import vip
from bigip_lbaas.api.schemas.loadbalancer import LoadBalancerPOST
from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import create_engine

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROJECT = "bench"


def _pg_url(admin_url: str) -> tuple[str, str]:
    name = f"bl_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(
        hide_password=False), name


def _drop_pg(admin_url: str, name: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def _seed(engine: sa.Engine, n: int) -> tuple[str, int]:
    """A /16 subnet with `n` load balancers (VIP in load_balancer and port_ip, as the API makes
    them); returns the subnet id and the partition id."""
    m.Base.metadata.create_all(engine)
    net_id, sub_id = str(uuid.uuid4()), str(uuid.uuid4())
    with Session(engine) as s:
        part = m.Partition(environment="bench", project_id=PROJECT)
        s.add(part)
        s.add(m.Network(id=net_id, project_id=PROJECT, name="n"))
        s.flush()
        s.add(m.Subnet(id=sub_id, network_id=net_id, project_id=PROJECT, cidr="10.0.0.0/16",
                       gateway_ip="10.0.0.1", allocation_pools=[]))
        s.commit()
        part_id = part.id
    lbs, ports, ips = [], [], []
    for i in range(n):
        lb_id, port_id = str(uuid.uuid4()), str(uuid.uuid4())
        addr = f"10.0.{(i + 2) // 256}.{(i + 2) % 256}"
        lbs.append(dict(id=lb_id, project_id=PROJECT, provisioning_status="ACTIVE",
                        operating_status="ONLINE", enabled=True, tags=[], partition_id=part_id,
                        provider="f5", vip_address=addr, vip_port_id=port_id,
                        vip_subnet_id=sub_id, vip_network_id=net_id, additional_vips=[]))
        ports.append(dict(id=port_id, project_id=PROJECT, network_id=net_id,
                          name=f"loadbalancer-{lb_id}", description="",
                          device_owner="network:f5lbaasv2", device_id=lb_id,
                          mac_address=f"fa:16:3e:{i >> 16:02x}:{(i >> 8) & 255:02x}:"
                                      f"{i & 255:02x}",
                          admin_state_up=True, binding_host_id="", vip_of=lb_id))
        ips.append(dict(port_id=port_id, subnet_id=sub_id, ip_address=addr))
    if n:
        with engine.begin() as conn:
            conn.execute(sa.insert(m.LoadBalancer), lbs)
            conn.execute(sa.insert(m.Port), ports)
            conn.execute(sa.insert(m.PortIp), ips)
    with engine.begin() as conn:  # statistics, as a live database has them (autovacuum)
        conn.exec_driver_sql("ANALYZE")
    return sub_id, part_id


def _create(engine: sa.Engine, sub_id: str, part_id: int) -> str:
    with Session(engine) as s, s.begin():
        cols = vip.resolve(s, LoadBalancerPOST(vip_subnet_id=sub_id))
        lb = m.LoadBalancer(id=str(uuid.uuid4()), project_id=PROJECT,
                            provisioning_status="PENDING_CREATE", operating_status="OFFLINE",
                            enabled=True, tags=[], partition_id=part_id, provider="f5",
                            additional_vips=[], **cols)
        s.add(lb)
        s.flush()
        vip.book_port(s, lb)
        return str(cols["vip_address"])


def run(url: str, n: int, creates: int) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        sub_id, part_id = _seed(engine, n)
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        for _ in range(5):  # warm-up: connections, statement caches
            _create(engine, sub_id, part_id)
        event.listen(engine, "before_cursor_execute", count)
        cpu, wall, stmts, seen = [], [], [], set()
        for _ in range(creates):
            statements[0] = 0
            c0, w0 = time.process_time(), time.perf_counter()
            seen.add(_create(engine, sub_id, part_id))
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            stmts.append(statements[0])
        assert len(seen) == creates, "an address was handed out twice"
        return {"existing_lbs": n, "creates": creates,
                "statements_per_create": statistics.mean(stmts),
                "cpu_ms_per_create": round(statistics.mean(cpu), 3),
                "cpu_ms_p50": round(statistics.median(cpu), 3),
                "wall_ms_per_create": round(statistics.mean(wall), 3),
                "wall_ms_p50": round(statistics.median(wall), 3)}
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", action="append", choices=["sqlite", "postgresql"])
    ap.add_argument("--n", action="append", type=int)
    ap.add_argument("--creates", type=int, default=200)
    ap.add_argument("--label", default="")
    ap.add_argument("--pg-admin-url", default=PG_ADMIN)
    args = ap.parse_args(argv)
    results = []
    for kind in args.db or ["sqlite"]:
        for n in args.n or [0, 700, 5000]:
            if kind == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    res = run(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", n, args.creates)
            else:
                url, name = _pg_url(args.pg_admin_url)
                try:
                    res = run(url, n, args.creates)
                finally:
                    _drop_pg(args.pg_admin_url, name)
            results.append({"db": kind, **res})
            print(json.dumps(results[-1]), file=sys.stderr)
    json.dump({"bench": "vip_alloc", "label": args.label,
               "code": vip.__file__, "results": results}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
