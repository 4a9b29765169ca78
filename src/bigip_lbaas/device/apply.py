"""Apply an ordered Plan to one device: one transaction per partition.

The folder is created before the transaction (objects cannot be queued into a folder that does not
exist yet) and deleted after it (once empty). A folder this apply created is deleted again when the
device rejects the transaction, so a rejected plan leaves no empty partition behind (the device
refuses to delete a folder that is not empty, and then it stays). A plan of exactly one object
operation is sent without a transaction: a single request is already atomic. Every write runs under ``guard``: it
is checked before the request goes out, so an agent that has lost its lease raises LeaseLost and
never starts a write, and a write still in flight when the lease runs out is cancelled (its
connection reset, so not a byte of it reaches the device later, even after a network cut heals).

Must not: decide what to change (that is ``engine.diff``); swallow a device error.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from bigip_lbaas.core.errors import DeviceRejected, DeviceUnreachable, LeaseLost
from bigip_lbaas.device.client import (
    DOWNLOADS,
    UPLOAD_CHUNK,
    BigipClient,
    collection_path,
    object_path,
)
from bigip_lbaas.engine.config import FILE_KINDS, Body, Kind, ObjKey
from bigip_lbaas.engine.plan import Action, Op, Plan

Guard = Callable[[], float]
"""Raises LeaseLost once the partition's lease is gone; otherwise returns the ``time.monotonic()``
instant until which the lease is certainly still ours (it may move later on each call)."""

T = TypeVar("T")


def _no_guard() -> float:
    return math.inf


async def _guarded(guard: Guard, write: Callable[[], Awaitable[T]]) -> T:
    """Run ``write()`` only while ``guard`` holds. Raises LeaseLost before sending when the lease
    is gone, and cancels the write (the transport then resets its connection) when the lease runs
    out before the device answered.

    The write runs in the caller's task; a timer asks ``guard`` again at each deadline (moved on
    by every renewal) and cancels the task once the lease is lost. (A task and a wait per write
    cost more than the write itself: a cold partition sends 44 of them.)"""
    until = guard()
    if until == math.inf:
        return await write()
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    lost: list[LeaseLost] = []
    timer: asyncio.TimerHandle | None = None

    def check() -> None:
        nonlocal timer
        try:
            later = guard()  # renewed meanwhile: keep waiting; lost: cancel the write
        except LeaseLost as err:
            lost.append(err)
            task.cancel()
            return
        timer = loop.call_later(max(0.0, later - time.monotonic()), check)

    timer = loop.call_later(max(0.0, until - time.monotonic()), check)
    try:
        return await write()
    except asyncio.CancelledError:
        if lost and task.uncancel() == 0:
            raise lost[0] from None
        raise
    finally:
        timer.cancel()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None


def wire_body(kind: Kind, partition: str, body: Body) -> dict[str, Any]:
    """The canonical body as the device wants it on the wire."""
    out = dict(body)
    if kind is Kind.VIRTUAL:
        out["persist"] = [{"name": p} for p in body.get("persist", [])]
    elif kind is Kind.POOL:
        out["members"] = [{**m, "partition": partition} for m in body.get("members", [])]
    elif kind is Kind.POLICY:
        out["legacy"] = True
    return out


def upload_name(partition: str, op: Op) -> str:
    """The upload file of a file object: unique per partition and object, in the characters
    the upload worker takes."""
    return f"{partition}.{op.name}".replace("_", "-").replace("/", "-")


def request_for(op: Op, partition: str, source: str | None = None) -> Request:
    """The request of one op; ``source``: for a file object, the uploaded file it is created
    from (its body then carries only that: fingerprints and checksums are the device's)."""
    if source is not None and op.kind in FILE_KINDS and op.action is not Action.DELETE:
        if op.action is Action.CREATE:
            body = {"name": op.name, "partition": partition, "sourcePath": f"file://{source}"}
            return Request("POST", collection_path(op.kind.value), body)
        return Request("PATCH", object_path(op.kind.value, partition, op.name),
                       {"sourcePath": f"file://{source}"})
    if op.kind is Kind.FOLDER:
        if op.action is Action.CREATE:
            return Request(
                "POST", collection_path(op.kind.value), {"name": op.name, "partition": "/"}
            )
        return Request("DELETE", object_path(op.kind.value, None, op.name), None)
    if op.action is Action.CREATE:
        body = {"name": op.name, "partition": partition, **wire_body(op.kind, partition, op.body)}
        return Request("POST", collection_path(op.kind.value), body)
    path = object_path(op.kind.value, partition, op.name)
    if op.action is Action.UPDATE:
        return Request("PATCH", path, wire_body(op.kind, partition, op.body))
    return Request("DELETE", path, None)


class ApplyFailed(DeviceRejected):
    """The device rejected the plan; nothing of the transaction was applied."""

    def __init__(self, cause: DeviceRejected, culprit: Op | None, writes: int) -> None:
        self.culprit = culprit
        self.writes = writes
        super().__init__(cause.device, cause.status, cause.reason, cause.code)


def _mentions(message: str, text: str) -> bool:
    return re.search(re.escape(text) + r"(?![A-Za-z0-9_\-.:])", message) is not None


def find_culprit(plan: Plan, message: str) -> Op | None:
    """The op a device error message is about: the longest object name the message mentions, else
    the pool whose member (or that member's node) it mentions. Never the partition's folder: it is
    written outside the transaction, and every path in the message mentions it."""
    best: Op | None = None
    for op in plan.ops:
        if op.kind is Kind.FOLDER:
            continue
        if _mentions(message, op.name) and (best is None or len(op.name) > len(best.name)):
            best = op
    if best is not None:
        return best
    for op in plan.ops:
        for m in op.body.get("members", []) if op.kind is Kind.POOL else []:
            addr = str(m.get("address", ""))
            if _mentions(message, str(m.get("name", ""))) or _mentions(message, f"/{addr}"):
                return op
    return None


async def _send(client: BigipClient, req: Request, guard: Guard, trans: int | None = None) -> None:
    await _guarded(
        guard, lambda: client.request(req.method, req.path, json=req.body, transaction=trans)
    )


async def _upload(client: BigipClient, plan: Plan, files: Mapping[ObjKey, bytes],
                  guard: Guard, sources: dict[ObjKey, str]) -> int:
    """Upload the content of every file object the plan creates or changes (outside the
    transaction); record each one's path in ``sources``; return the requests sent. A refused
    upload is the file object's failure (ApplyFailed naming it)."""
    sent = 0
    for op in plan.ops:
        key = (op.kind, op.name)
        if op.kind not in FILE_KINDS or op.action is Action.DELETE or key not in files:
            continue
        data = files[key]
        name = upload_name(plan.partition, op)

        async def send(name: str = name, data: bytes = data) -> str:
            return await client.upload(name, data)

        try:
            sources[key] = await _guarded(guard, send)
        except DeviceRejected as exc:
            raise ApplyFailed(exc, op, sent) from exc
        sent += max(1, math.ceil(len(data) / UPLOAD_CHUNK))
    return sent


async def apply(client: BigipClient, plan: Plan, guard: Guard | None = None,
                files: Mapping[ObjKey, bytes] | None = None) -> int:
    """Apply ``plan``; return the number of write requests sent. ``files``: the content of the
    file objects (``Rendered.files``): uploaded first, outside the transaction, and removed
    from the upload area once the transaction is over (committed or not). Raises ApplyFailed
    (device unchanged; a folder it created is removed again if nothing is in it),
    DeviceUnreachable or LeaseLost."""
    check = guard or _no_guard
    sources: dict[ObjKey, str] = {}
    # A file object deleted now may have left its upload behind (an apply cut off between its
    # upload and its clean-up): removing it again costs nothing extra when this apply uploads.
    stale = [f"{DOWNLOADS}/{upload_name(plan.partition, op)}" for op in plan.ops
             if op.kind in FILE_KINDS and op.action is Action.DELETE]
    writes = 0
    try:
        writes += await _upload(client, plan, files or {}, check, sources)
        writes += await _apply(client, plan, check, sources)
    except ApplyFailed as exc:
        exc.writes += writes + await _remove_uploads(client, [*sources.values()], check)
        raise
    except BaseException:
        await _remove_uploads(client, [*sources.values()], check)
        raise
    return writes + await _remove_uploads(client, [*sources.values(), *stale], check)


async def _remove_uploads(client: BigipClient, paths: list[str], guard: Guard) -> int:
    """Remove uploads from the device's upload area (the device keeps its own copy of each file
    object); the requests sent. Best effort after a failure: a device that cannot be reached
    keeps them until an apply that uploads under, or deletes, the same names."""
    if not paths:
        return 0
    try:
        await _guarded(guard, lambda: client.remove_uploads(sorted(set(paths))))
    except (DeviceUnreachable, DeviceRejected):
        return 0
    return 1


async def _apply(client: BigipClient, plan: Plan, check: Guard,
                 sources: Mapping[ObjKey, str]) -> int:
    part = plan.partition
    head = [op for op in plan.ops if op.kind is Kind.FOLDER and op.action is Action.CREATE]
    tail = [op for op in plan.ops if op.kind is Kind.FOLDER and op.action is Action.DELETE]
    body = [op for op in plan.ops if op.kind is not Kind.FOLDER]
    writes = 0
    current: Op | None = None
    created: list[Op] = []
    try:
        for op in head:
            current = op
            await _send(client, request_for(op, part), check)
            writes += 1
            created.append(op)
        if len(body) == 1:
            current = body[0]
            await _send(client, request_for(body[0], part, sources.get((body[0].kind, body[0].name))), check)
            writes += 1
        elif body:
            current = None
            trans = await _guarded(check, client.begin)
            writes += 1
            try:
                for op in body:
                    current = op
                    await _send(client, request_for(op, part, sources.get((op.kind, op.name))), check, trans)
                    writes += 1
                current = None
                writes += 1
                await _guarded(check, lambda: client.commit(trans))
            except DeviceRejected:
                await client.abandon(trans)
                raise
        for op in tail:
            current = op
            await _send(client, request_for(op, part), check)
            writes += 1
    except DeviceRejected as exc:
        culprit = current or find_culprit(plan, exc.reason)
        writes += await _remove_created_folders(client, created, part, check)
        raise ApplyFailed(exc, culprit, writes) from exc
    return writes


async def _remove_created_folders(
    client: BigipClient, created: list[Op], part: str, guard: Guard
) -> int:
    """Delete the folders ``apply`` created before a rejected transaction; return the writes sent.
    A folder that is not empty (someone else put something in it) stays: the device refuses."""
    writes = 0
    for op in created:
        delete = Op(Action.DELETE, op.kind, op.name, {}, op.owner)
        try:
            await _send(client, request_for(delete, part), guard)
        except DeviceUnreachable:
            continue
        except DeviceRejected:
            pass
        writes += 1
    return writes
