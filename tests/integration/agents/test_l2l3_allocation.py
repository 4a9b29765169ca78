"""L2/L3 mode's shared allocation on each database: route-domain ids (lowest free >= 1, never
twice, also with allocators racing), stable subnet bindings, auxiliary route domains, release;
and the built-in network source's ports (idempotent by name, never an address twice), and
``network.prepare`` over both."""

from __future__ import annotations

import threading
import uuid

import sqlalchemy as sa

from bigip_lbaas.core import model
from bigip_lbaas.core.network import NetworkSettings
from bigip_lbaas.db import models as m
from bigip_lbaas.db import networking
from bigip_lbaas.db.partitions import ensure_partition
from bigip_lbaas.db.session import Database
from bigip_lbaas.network import prepare, release
from bigip_lbaas.network.builtin import BuiltinSource


def _partitions(db: Database, count: int) -> list[int]:
    return db.run(lambda s: [ensure_partition(s, "E", f"p{i}") for i in range(count)])


def _network(db: Database, project: str, cidrs: list[str], *, vlan: int | None = None,
             shared: bool = False, external: bool = False) -> tuple[str, list[str]]:
    net = str(uuid.uuid4())
    subnets = [str(uuid.uuid4()) for _ in cidrs]

    def write(s: sa.orm.Session) -> None:
        s.add(m.Network(id=net, project_id=project, name="n", shared=shared, external=external,
                        network_type="vlan" if vlan else None, physical_network="physnet1"
                        if vlan else None, segmentation_id=vlan,
                        segment_key=f"vlan:physnet1:{vlan}" if vlan else None))
        s.flush()
        for sid, cidr in zip(subnets, cidrs, strict=True):
            gw = cidr.rsplit(".", 1)[0] + ".1"
            s.add(m.Subnet(id=sid, network_id=net, project_id=project, cidr=cidr,
                           ip_version=4, gateway_ip=gw, allocation_pools=[]))

    db.run(write)
    return net, subnets


def test_ids_lowest_free_unique_and_stable(db: Database) -> None:
    p1, p2, p3 = _partitions(db, 3)
    a, _ = networking.bind(db, p1, {"s1": "10.0.0.0/24"})
    b, _ = networking.bind(db, p2, {"s2": "10.0.0.0/24"})
    assert a.route_domains == (1,) and b.route_domains == (2,)
    assert networking.bind(db, p1, {"s1": "10.0.0.0/24"}) == (a, None)  # stable: no write
    # p1 released: its id is free again and the next partition takes the lowest one.
    networking.release(db, p1, keep=())
    assert networking.bind(db, p3, {"s3": "10.0.0.0/24"})[0].route_domains == (1,)
    assert networking.route_domains(db) == {1: (p3, 0), 2: (p2, 0)}


def test_concurrent_allocators_never_share_an_id(db: Database) -> None:
    pids = _partitions(db, 12)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def agent(mine: list[int]) -> None:
        other = Database(db.url)
        try:
            start.wait()
            for pid in mine:
                networking.bind(other, pid, {f"s{pid}": "10.0.0.0/24"})
        except BaseException as err:  # reported below
            errors.append(err)
        finally:
            other.dispose()

    threads = [threading.Thread(target=agent, args=(pids[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    held = networking.route_domains(db)
    assert sorted(held) == list(range(1, 13))
    assert sorted(p for p, _ in held.values()) == sorted(pids)


def test_aux_route_domain_for_an_overlap_and_error_beyond_the_max(db: Database) -> None:
    (p,) = _partitions(db, 1)
    got, _ = networking.bind(db, p, {"a": "10.0.0.0/24", "b": "10.0.0.0/24", "c": "10.0.0.0/25"},
                          max_slots=2)
    assert got.route_domains == (1, 2)
    assert got.subnet_rd == {"a": 1, "b": 2}
    assert "max_namespaces_per_tenant" in got.refused["c"]
    # Without use_namespaces every subnet is in route domain 0 and no id is taken.
    (q,) = [pid for pid in _partitions(db, 2) if pid != p]
    plain, _ = networking.bind(db, q, {"x": "10.0.0.0/24"}, use_namespaces=False)
    assert plain.route_domains == () and plain.subnet_rd == {"x": 0}


def test_builtin_ports_idempotent_by_name_and_released(db: Database) -> None:
    source = BuiltinSource(db)
    net, (sub,) = _network(db, "p", ["10.0.0.0/24"], vlan=100)
    one = source.ensure_port(name="local-d1-x", network_id=net, subnet_id=sub, project_id="p",
                             device_id="d1")
    again = source.ensure_port(name="local-d1-x", network_id=net, subnet_id=sub,
                               project_id="p", device_id="d1")
    two = source.ensure_port(name="local-d2-x", network_id=net, subnet_id=sub, project_id="p",
                             device_id="d2")
    assert one == again and one.ip_address == "10.0.0.2" and two.ip_address == "10.0.0.3"
    assert source.segment(net).segmentation_id == 100
    assert source.delete_ports(["local-d1-x", "local-d2-x", "absent"]) == 2
    assert db.query(lambda s: s.scalar(sa.select(sa.func.count()).select_from(m.PortIp))) == 0


def _state(project: str, lbs: list[tuple[str, str, str, str]]) -> model.PartitionState:
    """lbs: (lb id, subnet, vip address, member address)."""
    return model.PartitionState(
        key=model.PartitionKey("E", project), generation=1,
        load_balancers=tuple(
            model.LoadBalancer(
                id=lb, vip_address=vip, vip_subnet_id=sub,
                pools=(model.Pool(id=f"pool-{lb}", protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                                  members=(model.Member(id=f"m-{lb}", address=member,
                                                        protocol_port=80),)),))
            for lb, sub, vip, member in lbs))


def test_prepare_two_projects_same_cidr_then_release(db: Database) -> None:
    source = BuiltinSource(db)
    settings = NetworkSettings(global_routed_mode=False, snat_addresses_per_subnet=2)
    ctx = prepare.Context(db, source, settings, ("dev-a", "dev-b"), source_name=source.name)
    p1, p2 = _partitions(db, 2)
    _n1, (s1,) = _network(db, "p0", ["10.0.0.0/24"], vlan=101)
    _n2, (s2,) = _network(db, "p1", ["10.0.0.0/24"], vlan=102)
    got1 = prepare.prepare(ctx, p1, "E_p0", "p0", _state("p0", [("lb1", s1, "10.0.0.10",
                                                                 "10.0.0.5")]))
    got2 = prepare.prepare(ctx, p2, "E_p1", "p1", _state("p1", [("lb2", s2, "10.0.0.10",
                                                                 "10.0.0.5")]))
    assert got1.route_domains == (1,) and got2.route_domains == (2,)
    plan = got1.subnet(s1)
    assert plan is not None and plan.route_domain == 1 and not plan.common
    assert set(plan.self_ips) == {"dev-a", "dev-b"} and plan.floating_ip
    assert len(plan.snat_addresses) == 2
    assert len({*plan.self_ips.values(), plan.floating_ip, *plan.snat_addresses}) == 5
    # Repeating it (a new owner after a crash) books nothing new.
    assert prepare.prepare(ctx, p1, "E_p0", "p0", _state("p0", [("lb1", s1, "10.0.0.10",
                                                                 "10.0.0.5")])) == got1
    ports = db.query(lambda s: s.scalar(sa.select(sa.func.count()).select_from(m.Port)))
    assert ports == 10
    # A subnet the source does not have: that object's ERROR, naming the source.
    gone = prepare.prepare(ctx, p1, "E_p0", "p0", _state("p0", [("lb1", s1, "10.0.0.10",
                                                                 "10.0.0.5"),
                                                                ("lb9", "nope", "1.1.1.1",
                                                                 "1.1.1.2")]))
    assert gone.failures["lb9"] == f"subnet nope not found in {source.name}"
    # Project 1's load balancer deleted: its ports and route domain go, project 2's stay.
    empty = prepare.prepare(ctx, p1, "E_p0", "p0", _state("p0", []))
    assert empty.subnets == () and empty.route_domains == ()
    out = release.release(db, source, p1, keep=())
    assert out.route_domains == (1,) and len(out.ports) == 5
    assert networking.route_domains(db) == {2: (p2, 0)}
    assert db.query(lambda s: s.scalar(sa.select(sa.func.count()).select_from(m.Port))) == 5


def test_common_network_in_route_domain_zero_books_nothing(db: Database) -> None:
    source = BuiltinSource(db)
    ctx = prepare.Context(db, source, NetworkSettings(global_routed_mode=False), ("d",))
    (p,) = _partitions(db, 1)
    _net, (sub,) = _network(db, "admin", ["172.16.0.0/24"], vlan=300, external=True)
    got = prepare.prepare(ctx, p, "E_p0", "p0", _state("p0", [("lb", sub, "172.16.0.9",
                                                               "172.16.0.7")]))
    plan = got.subnet(sub)
    assert plan is not None and plan.common and plan.route_domain == 0 and not plan.self_ips
    assert got.route_domains == ()
    assert db.query(lambda s: s.scalar(sa.select(sa.func.count()).select_from(m.Port))) == 0


def test_builtin_delete_port_leaves_what_is_not_ours(db: Database) -> None:
    """A purged load balancer's VIP port: the registry deletes only service ports of ours; a
    port the project made (even with F5's owner) stays, as Octavia leaves it."""
    source = BuiltinSource(db)
    net, (sub,) = _network(db, "p", ["10.0.0.0/24"], vlan=100)
    ours = source.ensure_port(name="snat-E_p-x_0", network_id=net, subnet_id=sub,
                              project_id="p", device_id="E_p")
    theirs = str(uuid.uuid4())

    def add(s: sa.orm.Session) -> None:
        s.add(m.Port(id=theirs, project_id="p", network_id=net, name="my-vip", description="",
                     device_owner="network:f5lbaasv2", device_id="", mac_address="fa:16:3e:0:0:1",
                     admin_state_up=True, binding_host_id=""))

    db.run(add)
    source.delete_port(theirs)
    source.delete_port(ours.id)
    source.delete_port(str(uuid.uuid4()))  # gone already is fine
    left = db.query(lambda s: sorted(s.scalars(sa.select(m.Port.name))))
    assert left == ["my-vip"]
