"""Read partitions' desired state from committed rows into frozen engine types.

One read transaction, one query per table for one partition or many (``additional_vip`` gives
each load balancer its additional VIP addresses). Objects marked PENDING_DELETE (and everything
under them) are left out: the desired state is what should exist on the device. The snapshot also
lists every pending object with the status it was seen in, so the outcome can be written for
exactly those objects and no later change is mistaken for one this reconcile applied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bigip_lbaas.core import model
from bigip_lbaas.core.status import Prov, is_pending
from bigip_lbaas.db import models as m
from bigip_lbaas.db.session import Database, chunks

# The ORM model of each object kind, as ``PendingObject.kind`` and ``engine.health`` name them;
# child tables before parents: the order in which confirmed deletions are removed.
MODELS: dict[str, type[m.OctaviaObject]] = {
    "l7rule": m.L7Rule,
    "l7policy": m.L7Policy,
    "member": m.Member,
    "health_monitor": m.HealthMonitor,
    "listener": m.Listener,
    "pool": m.Pool,
    "load_balancer": m.LoadBalancer,
}


@dataclass(frozen=True)
class PendingObject:
    kind: str
    id: str
    load_balancer_id: str
    status: Prov


@dataclass(frozen=True)
class Snapshot:
    """A partition's desired state at one generation, and what was pending in it."""

    partition_id: int
    state: model.PartitionState
    pending: tuple[PendingObject, ...]
    # VIP port of each load balancer being deleted: once its row is purged, the agent asks the
    # network source to delete the port (a real Neutron's; the registry's goes with the row).
    vip_ports: dict[str, str] = field(default_factory=dict)

    @property
    def generation(self) -> int:
        return self.state.generation


def load(db: Database, partition_id: int) -> Snapshot:
    snaps = db.query(lambda session: load_many_in(session, [partition_id]))
    if partition_id not in snaps:
        raise LookupError(f"partition {partition_id} does not exist")
    return snaps[partition_id]


def load_many(db: Database, partition_ids: Sequence[int]) -> dict[int, Snapshot]:
    """Several partitions in one read transaction (a status pass); missing ones are left out."""
    return db.query(lambda session: load_many_in(session, partition_ids))


def _in_chunks(
    session: Session, query: Callable[[Sequence[Any]], Any], ids: Sequence[Any]
) -> list[Any]:
    """Rows of ``query(chunk)`` over ``ids`` in chunks (bounded IN lists on every database)."""
    return [row for chunk in chunks(ids) for row in session.execute(query(chunk)).all()]


# Columns the desired state never uses (decoding ``tags``, a JSON column of every row, cost as
# much as building the rest).
_UNUSED = frozenset({"tags", "name", "description", "status_reason", "created_at", "updated_at"})


def _rows_of(model: type[Any]) -> sa.Select[Any]:
    """A SELECT of the model's columns that the desired state uses, as plain rows (attribute
    access by column name): an agent reads tens of thousands of them in a cold rebuild, and ORM
    instances cost several times as much to build, for nothing (the rows are only read)."""
    return sa.select(*(c for c in model.__table__.columns if c.name not in _UNUSED))


def _children_of(table: type[m.OctaviaObject]) -> Callable[[Sequence[Any]], Any]:
    column = table.load_balancer_id  # type: ignore[attr-defined]
    return lambda chunk: _rows_of(table).where(column.in_(chunk)).order_by(table.id)


def load_many_in(session: Session, partition_ids: Sequence[int]) -> dict[int, Snapshot]:
    ids = sorted(set(partition_ids))
    parts = _in_chunks(session, lambda c: _rows_of(m.Partition).where(m.Partition.id.in_(c)), ids)
    lbs = _in_chunks(
        session,
        lambda c: _rows_of(m.LoadBalancer)
        .where(m.LoadBalancer.partition_id.in_(c))
        .order_by(m.LoadBalancer.id),
        ids,
    )
    lb_ids = [lb.id for lb in lbs]
    rows: dict[str, list[Any]] = {"load_balancer": lbs}
    for kind, table in MODELS.items():
        if kind != "load_balancer":
            rows[kind] = _in_chunks(session, _children_of(table), lb_ids)
    extra: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for lb_id, address, subnet_id in _in_chunks(
        session,
        lambda c: sa.select(m.AdditionalVip.load_balancer_id, m.AdditionalVip.ip_address,
                            m.AdditionalVip.subnet_id)
        .where(m.AdditionalVip.load_balancer_id.in_(c))
        .order_by(m.AdditionalVip.load_balancer_id, m.AdditionalVip.ip_address),
        lb_ids,
    ):
        extra[lb_id].append((address, subnet_id))

    # Everything grouped by partition, through the load balancer each row belongs to.
    part_of = {lb.id: lb.partition_id for lb in lbs}
    grouped: dict[int, dict[str, list[Any]]] = {p.id: defaultdict(list) for p in parts}
    for kind, kind_rows in rows.items():
        for row in kind_rows:
            pid = row.partition_id if kind == "load_balancer" else part_of[row.load_balancer_id]
            grouped[pid][kind].append(row)
    snaps = {}
    for part in parts:
        mine = grouped[part.id]
        pending = tuple(
            PendingObject(
                kind,
                row.id,
                row.id if kind == "load_balancer" else row.load_balancer_id,
                Prov(row.provisioning_status),
            )
            for kind in MODELS
            for row in mine[kind]
            if is_pending(row.provisioning_status)
        )
        state = model.PartitionState(
            key=model.PartitionKey(part.environment, part.project_id),
            generation=part.desired_generation,
            load_balancers=_build(mine, extra),
        )
        vip_ports = {lb.id: lb.vip_port_id for lb in mine["load_balancer"]
                     if lb.provisioning_status == Prov.PENDING_DELETE and lb.vip_port_id}
        snaps[part.id] = Snapshot(part.id, state, pending, vip_ports)
    return snaps


def _alive(row: Any) -> bool:
    return bool(row.provisioning_status != Prov.PENDING_DELETE)


def _build(
    rows: dict[str, list[Any]], extra: dict[str, list[tuple[str, str]]]
) -> tuple[model.LoadBalancer, ...]:
    by_parent: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for row in rows["member"]:
        by_parent["member"][row.pool_id].append(row)
    for row in rows["health_monitor"]:
        by_parent["health_monitor"][row.pool_id].append(row)
    for row in rows["l7rule"]:
        by_parent["l7rule"][row.l7policy_id].append(row)
    for row in rows["l7policy"]:
        by_parent["l7policy"][row.listener_id].append(row)
    for kind in ("listener", "pool"):
        for row in rows[kind]:
            by_parent[kind][row.load_balancer_id].append(row)

    result = []
    for lb in rows["load_balancer"]:
        if not _alive(lb):
            continue
        pools = tuple(_pool(p, by_parent) for p in by_parent["pool"][lb.id] if _alive(p))
        pool_ids = {p.id for p in pools}
        listeners = tuple(
            _listener(li, by_parent, pool_ids) for li in by_parent["listener"][lb.id] if _alive(li)
        )
        result.append(
            model.LoadBalancer(
                id=lb.id,
                vip_address=lb.vip_address or "",
                enabled=lb.enabled,
                listeners=listeners,
                pools=pools,
                additional_vips=tuple(a for a, _ in extra.get(lb.id, ())),
                vip_subnet_id=lb.vip_subnet_id,
                vip_network_id=lb.vip_network_id,
                additional_vip_subnets=tuple(extra.get(lb.id, ())),
            )
        )
    return tuple(result)


def _pool(row: m.Pool, children: dict[str, dict[str, list[Any]]]) -> model.Pool:
    sp = row.session_persistence
    hms = [h for h in children["health_monitor"][row.id] if _alive(h)]
    return model.Pool(
        tls=_pool_tls(row),
        id=row.id,
        protocol=row.protocol,
        lb_algorithm=row.lb_algorithm,
        enabled=row.enabled,
        session_persistence=model.SessionPersistence(
            type=sp["type"],
            cookie_name=sp.get("cookie_name"),
            persistence_timeout=sp.get("persistence_timeout"),
            persistence_granularity=sp.get("persistence_granularity"),
        )
        if sp
        else None,
        members=tuple(
            model.Member(
                id=mb.id,
                address=mb.address,
                protocol_port=mb.protocol_port,
                weight=mb.weight,
                backup=mb.backup,
                enabled=mb.enabled,
                monitor_address=mb.monitor_address,
                monitor_port=mb.monitor_port,
                subnet_id=mb.subnet_id,
            )
            for mb in children["member"][row.id]
            if _alive(mb)
        ),
        health_monitor=model.HealthMonitor(
            id=hms[0].id,
            type=hms[0].type,
            delay=hms[0].delay,
            timeout=hms[0].timeout,
            max_retries=hms[0].max_retries,
            max_retries_down=hms[0].max_retries_down,
            http_method=hms[0].http_method,
            url_path=hms[0].url_path,
            expected_codes=hms[0].expected_codes,
            http_version=hms[0].http_version,
            domain_name=hms[0].domain_name,
            enabled=hms[0].enabled,
        )
        if hms
        else None,
    )


def _listener_tls(row: m.Listener) -> model.ListenerTls | None:
    """The TLS settings of a TERMINATED_HTTPS listener (None for any other protocol)."""
    if row.protocol != "TERMINATED_HTTPS":
        return None
    return model.ListenerTls(
        default_ref=row.default_tls_container_ref,
        sni_refs=tuple(row.sni_container_refs or ()),
        client_authentication=row.client_authentication or "NONE",
        client_ca_ref=row.client_ca_tls_container_ref,
        client_crl_ref=row.client_crl_container_ref,
        versions=tuple(row.tls_versions or ()),
        ciphers=row.tls_ciphers,
        alpn_protocols=tuple(row.alpn_protocols or ()),
        hsts_max_age=row.hsts_max_age,
        hsts_include_subdomains=bool(row.hsts_include_subdomains),
        hsts_preload=bool(row.hsts_preload),
    )


def _pool_tls(row: m.Pool) -> model.PoolTls | None:
    """A pool's re-encryption settings (None when ``tls_enabled`` is off)."""
    if not row.tls_enabled:
        return None
    return model.PoolTls(
        certificate_ref=row.tls_container_ref,
        ca_ref=row.ca_tls_container_ref,
        crl_ref=row.crl_container_ref,
        versions=tuple(row.tls_versions or ()),
        ciphers=row.tls_ciphers,
        alpn_protocols=tuple(row.alpn_protocols or ()),
    )


def _listener(
    row: m.Listener, children: dict[str, dict[str, list[Any]]], pool_ids: set[str]
) -> model.Listener:
    policies = sorted(
        (p for p in children["l7policy"][row.id] if _alive(p)), key=lambda p: (p.position, p.id)
    )
    return model.Listener(
        tls=_listener_tls(row),
        id=row.id,
        protocol=row.protocol,
        protocol_port=row.protocol_port,
        connection_limit=row.connection_limit,
        enabled=row.enabled,
        default_pool_id=row.default_pool_id if row.default_pool_id in pool_ids else None,
        insert_headers=tuple(sorted((row.insert_headers or {}).items())),
        timeout_client_data=row.timeout_client_data,
        timeout_member_connect=row.timeout_member_connect,
        timeout_member_data=row.timeout_member_data,
        timeout_tcp_inspect=row.timeout_tcp_inspect,
        allowed_cidrs=tuple(row.allowed_cidrs or ()),
        l7policies=tuple(
            model.L7Policy(
                id=p.id,
                action=p.action,
                position=p.position,
                redirect_pool_id=p.redirect_pool_id if p.redirect_pool_id in pool_ids else None,
                redirect_url=p.redirect_url,
                redirect_prefix=p.redirect_prefix,
                redirect_http_code=p.redirect_http_code,
                enabled=p.enabled,
                rules=tuple(
                    model.L7Rule(
                        id=r.id,
                        type=r.type,
                        compare_type=r.compare_type,
                        value=r.value,
                        key=r.key,
                        invert=r.invert,
                        enabled=r.enabled,
                    )
                    for r in children["l7rule"][p.id]
                    if _alive(r)
                ),
            )
            for p in policies
        ),
    )
