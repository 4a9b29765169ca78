"""db/addresses.py next_free: pool addresses probed in batches from a per-process hint, never one
held (by a port's fixed IP, a primary VIP with no port, an additional VIP with no port), never
the gateway, within the allocation pools; the hint moves only on commit, any DELETE here drops
it, and an address freed elsewhere is found when probing wraps round."""

from __future__ import annotations

import contextlib
import ipaddress
import random
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from bigip_lbaas.db import addresses
from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database


@pytest.fixture
def net(db: Database) -> Iterator[tuple[Database, str]]:
    addresses.forget()
    net_id = str(uuid.uuid4())
    with Session(db.engine) as s, s.begin():
        s.add(m.Network(id=net_id, project_id="p", name="n"))
    yield db, net_id
    addresses.forget()


def _subnet(db: Database, net_id: str, cidr: str, pools: list[dict[str, str]] | None = None,
            gateway: str | None = None) -> str:
    sub_id = str(uuid.uuid4())
    with Session(db.engine) as s, s.begin():
        s.add(m.Subnet(id=sub_id, network_id=net_id, project_id="p", cidr=cidr,
                       gateway_ip=gateway, allocation_pools=pools or []))
    return sub_id


def _hold_in(s: Session, net_id: str, sub_id: str, address: str) -> None:
    """Hold `address` by a new port's fixed IP, in `s`'s transaction."""
    port_id = str(uuid.uuid4())
    s.add(m.Port(id=port_id, project_id="p", network_id=net_id, mac_address=port_id[:17]))
    s.flush()
    s.add(m.PortIp(port_id=port_id, subnet_id=sub_id, ip_address=address))
    s.flush()


def _hold(db: Database, net_id: str, sub_id: str, address: str) -> None:
    with Session(db.engine) as s, s.begin():
        _hold_in(s, net_id, sub_id, address)


@contextlib.contextmanager
def _probes(db: Database, prefix: str) -> Iterator[list[list[str]]]:
    """The addresses of each probe the engine sends meanwhile (those starting with `prefix`)."""
    asked: list[list[str]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if "port_ip.ip_address" in statement and "UNION ALL" in statement.upper():
            values = parameters.values() if isinstance(parameters, dict) else parameters
            asked.append(sorted({v for v in values if str(v).startswith(prefix)}))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield asked
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _take(db: Database, net_id: str, sub_id: str) -> str | None:
    """Allocate and hold the next free address, committed."""
    with Session(db.engine) as s:
        subnet = s.get(m.Subnet, sub_id)
        assert subnet is not None
        found = addresses.next_free(s, subnet)
        s.commit()
    if found is not None:
        _hold(db, net_id, sub_id, found)
    return found


def test_pools_gateway_and_full(net: tuple[Database, str]) -> None:
    db, net_id = net
    sub = _subnet(db, net_id, "10.1.0.0/24", gateway="10.1.0.5",
                  pools=[{"start": "10.1.0.4", "end": "10.1.0.6"},
                         {"start": "10.1.0.20", "end": "10.1.0.21"}])
    _hold(db, net_id, sub, "10.1.0.20")  # held before any allocation
    got = [_take(db, net_id, sub) for _ in range(4)]
    assert got == ["10.1.0.4", "10.1.0.6", "10.1.0.21", None]
    with Session(db.engine) as s:
        subnet = s.get(m.Subnet, sub)
        assert subnet is not None
        assert addresses.taken(s, sub, ["10.1.0.4", "10.1.0.7", "10.1.0.20"]) == {
            "10.1.0.4", "10.1.0.20"}
        assert addresses.is_free(s, sub, "10.1.0.7")


def test_many_held_one_probe_and_exclude(net: tuple[Database, str]) -> None:
    db, net_id = net
    sub = _subnet(db, net_id, "10.2.0.0/16")
    with Session(db.engine) as s, s.begin():  # 300 held: past several batches
        for i in range(300):
            port_id = str(uuid.uuid4())
            s.add(m.Port(id=port_id, project_id="p", network_id=net_id,
                         mac_address=port_id[:17]))
            s.flush()
            s.add(m.PortIp(port_id=port_id, subnet_id=sub,
                           ip_address=f"10.2.{(i + 1) // 256}.{(i + 1) % 256}"))
    assert _take(db, net_id, sub) == "10.2.1.45"
    statements: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute",
                    lambda *a: statements.append(a[2]))
    with Session(db.engine) as s:
        subnet = s.get(m.Subnet, sub)
        assert subnet is not None
        statements.clear()
        assert addresses.next_free(s, subnet, exclude={"10.2.1.46"}) == "10.2.1.47"
        assert len(statements) == 1  # the hint: one probe, not the 301 held
        s.rollback()


def test_rollback_keeps_the_hint_and_a_delete_here_drops_it(net: tuple[Database, str]) -> None:
    db, net_id = net
    sub = _subnet(db, net_id, "10.3.0.0/29")  # pool .1 - .6
    assert [_take(db, net_id, sub) for _ in range(3)] == ["10.3.0.1", "10.3.0.2", "10.3.0.3"]
    with Session(db.engine) as s:
        subnet = s.get(m.Subnet, sub)
        assert subnet is not None
        assert addresses.next_free(s, subnet) == "10.3.0.4"
        s.rollback()  # not committed: .4 stays first in line
    with Session(db.engine) as s, s.begin():
        s.execute(sa.delete(m.PortIp).where(m.PortIp.ip_address == "10.3.0.2"))
    assert _take(db, net_id, sub) == "10.3.0.2"  # freed here: handed out again first
    assert _take(db, net_id, sub) == "10.3.0.4"


def test_freed_elsewhere_is_found_when_probing_wraps(net: tuple[Database, str]) -> None:
    db, net_id = net
    sub = _subnet(db, net_id, "10.4.0.0/29")  # pool .1 - .6
    assert [_take(db, net_id, sub) for _ in range(5)] == [f"10.4.0.{i}" for i in range(1, 6)]
    raw = db.engine.raw_connection()  # another process's DELETE: no event here
    try:
        cur = raw.cursor()
        cur.execute(f"DELETE FROM port_ip WHERE ip_address = '10.4.0.2' AND subnet_id = '{sub}'")
        raw.commit()
    finally:
        raw.close()
    assert _take(db, net_id, sub) == "10.4.0.6"
    assert _take(db, net_id, sub) == "10.4.0.2"
    assert _take(db, net_id, sub) is None


def test_vips_without_ports_are_held(net: tuple[Database, str]) -> None:
    """Load balancers from before VIP ports (migration 0009 made no port_ip rows) and
    additional VIPs without a port row hold their addresses too."""
    db, net_id = net
    sub = _subnet(db, net_id, "10.5.0.0/29")
    with Session(db.engine) as s, s.begin():
        part = m.Partition(environment="e", project_id="p")
        s.add(part)
        s.flush()
        lb_id = str(uuid.uuid4())
        s.execute(sa.insert(m.LoadBalancer).values(
            id=lb_id, project_id="p", provisioning_status="ACTIVE", operating_status="ONLINE",
            enabled=True, tags=[], partition_id=part.id, provider="f5",
            vip_address="10.5.0.1", vip_port_id=str(uuid.uuid4()), vip_subnet_id=sub,
            vip_network_id=net_id, additional_vips=[]))
        s.add(m.AdditionalVip(load_balancer_id=lb_id, subnet_id=sub, network_id=net_id,
                              ip_address="10.5.0.2", port_id=None))
    assert _take(db, net_id, sub) == "10.5.0.3"


def test_open_transactions_of_one_process_never_get_the_same_address(
        net: tuple[Database, str]) -> None:
    """VIP creates take no subnet lock: a process's concurrent transactions are kept apart by
    its reservations, which end with each transaction (a rolled-back address is free again)."""
    db, net_id = net
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one write transaction at a time: there are no two to keep apart")
    sub = _subnet(db, net_id, "10.6.0.0/29")  # pool .1 - .6
    with Session(db.engine) as one, Session(db.engine) as two:
        first = addresses.next_free(one, one.get(m.Subnet, sub))  # type: ignore[arg-type]
        second = addresses.next_free(two, two.get(m.Subnet, sub))  # type: ignore[arg-type]
        assert (first, second) == ("10.6.0.1", "10.6.0.2")
        one.rollback()
        with Session(db.engine) as three:
            assert addresses.next_free(three, three.get(m.Subnet, sub)) == "10.6.0.1"  # type: ignore[arg-type]
            three.rollback()
        two.rollback()
    assert _take(db, net_id, sub) == "10.6.0.1"


def test_a_probe_asks_for_one_address_first_and_never_for_one_held_open(
        net: tuple[Database, str]) -> None:
    """The first probe is the hinted address alone: an equality on the tables' unique keys,
    an index lookup whatever the planner's statistics say (an IN list was read as a filter over
    every row of the subnet). An address another open transaction of this process holds is
    not asked for at all."""
    db, net_id = net
    sub = _subnet(db, net_id, "10.11.0.0/24")
    with _probes(db, "10.11.") as asked:
        assert (_take(db, net_id, sub), _take(db, net_id, sub)) == ("10.11.0.1", "10.11.0.2")
        assert asked == [["10.11.0.1"], ["10.11.0.2"]]
        if db.dialect == "sqlite":
            return  # one write transaction at a time: no two open ones to keep apart
        asked.clear()
        with Session(db.engine) as one, Session(db.engine) as two:
            assert addresses.next_free(one, one.get(m.Subnet, sub)) == "10.11.0.3"  # type: ignore[arg-type]
            assert addresses.next_free(two, two.get(m.Subnet, sub)) == "10.11.0.4"  # type: ignore[arg-type]
            one.rollback()
            two.rollback()
        assert asked == [["10.11.0.3"], ["10.11.0.4"]]


def test_the_hint_only_moves_forward(net: tuple[Database, str]) -> None:
    """Transactions commit out of the order they picked in: the hint stays after the furthest
    address committed, so the next allocation probes one address, once (a hint moved back to
    the earlier pick's successor, already committed, cost a second probe)."""
    db, net_id = net
    if db.dialect == "sqlite":
        pytest.skip("SQLite runs one write transaction at a time: they commit in order")
    sub = _subnet(db, net_id, "10.12.0.0/24")
    with Session(db.engine) as one, Session(db.engine) as two:
        first = addresses.next_free(one, one.get(m.Subnet, sub))  # type: ignore[arg-type]
        second = addresses.next_free(two, two.get(m.Subnet, sub))  # type: ignore[arg-type]
        assert (first, second) == ("10.12.0.1", "10.12.0.2")
        _hold_in(one, net_id, sub, "10.12.0.1")
        _hold_in(two, net_id, sub, "10.12.0.2")
        two.commit()
        one.commit()
    with _probes(db, "10.12.") as asked:
        assert _take(db, net_id, sub) == "10.12.0.3"
    assert asked == [["10.12.0.3"]]


def test_transactions_starting_together_probe_different_addresses(
        net: tuple[Database, str]) -> None:
    """Two transactions of one process that start from the same hint at the same moment each
    reserve a different address before probing it: two probes in all. (Picking after the probe,
    both probed the same address, one lost it to the other and probed again.) Each first probe
    waits, in the database driver's path, until the other has reached its own."""
    db, net_id = net
    if db.dialect == "sqlite":
        pytest.skip("SQLite runs one write transaction at a time: there are no two at once")
    sub = _subnet(db, net_id, "10.13.0.0/24")
    both_probing = threading.Barrier(2, timeout=5)
    waited: set[int] = set()

    def meet(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "port_ip.ip_address" in statement and threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):
                both_probing.wait()

    event.listen(db.engine, "before_cursor_execute", meet)
    got: list[str | None] = []

    def allocate() -> None:
        with Session(db.engine) as s:
            got.append(addresses.next_free(s, s.get(m.Subnet, sub)))  # type: ignore[arg-type]
            s.rollback()

    try:
        with _probes(db, "10.13.") as asked:
            threads = [threading.Thread(target=allocate) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
    finally:
        event.remove(db.engine, "before_cursor_execute", meet)
    assert sorted(got, key=str) == ["10.13.0.1", "10.13.0.2"]
    assert sorted(asked) == [["10.13.0.1"], ["10.13.0.2"]]


def test_scatter_moves_where_probing_starts(net: tuple[Database, str]) -> None:
    """After a collision with another process on some subnets (`scatter`), this process probes
    those from a random pool position, whether it had a hint there or not, and no other subnet;
    `forget` undoes it."""
    db, net_id = net
    sub, fresh, other = (_subnet(db, net_id, f"10.{n}.0.0/16") for n in (7, 8, 9))
    assert _take(db, net_id, sub) == "10.7.0.1"
    random.seed(1234)  # the positions below are those of this seed, not a lucky draw
    addresses.scatter({sub, fresh})
    moved, elsewhere = _take(db, net_id, sub), _take(db, net_id, fresh)
    assert moved not in (None, "10.7.0.2") and elsewhere not in (None, "10.8.0.1")
    following = ipaddress.ip_address(str(moved)) + 1
    assert _take(db, net_id, sub) == str(following)  # sequential again from there
    assert _take(db, net_id, other) == "10.9.0.1"
    addresses.forget()
    assert _take(db, net_id, fresh) == "10.8.0.1"


def test_concurrent_allocations_in_one_process(net: tuple[Database, str]) -> None:
    """16 threads of one process allocate on one small subnet at once, without a subnet lock,
    a fifth of them rolling back: every committed address is distinct, and no allocation finds
    the pool full while it is not (a probe that reserved whole batches once made others see
    every address reserved)."""
    db, net_id = net
    sub = _subnet(db, net_id, "10.10.0.0/24", gateway="10.10.0.1")  # 253 pool addresses
    committed: list[str] = []
    full: list[int] = []
    lock = threading.Lock()

    def worker(idx: int) -> None:
        for n in range(10):
            def fn(s: Session, roll_back: bool = (idx + n) % 5 == 0) -> str | None:
                subnet = s.get(m.Subnet, sub)
                assert subnet is not None
                found = addresses.next_free(s, subnet)
                if found is None:
                    return None
                port_id = str(uuid.uuid4())
                s.add(m.Port(id=port_id, project_id="p", network_id=net_id,
                             mac_address=port_id[:17]))
                s.flush()
                s.add(m.PortIp(port_id=port_id, subnet_id=sub, ip_address=found))
                s.flush()
                if roll_back:
                    raise LookupError("roll back")
                return found

            try:
                got = db.run(fn)
            except LookupError:
                continue
            with lock:
                (committed.append(got) if got else full.append(idx))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert full == [] and len(committed) == 128
    assert len(set(committed)) == len(committed)
