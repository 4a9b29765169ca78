"""Apply an ordered Plan to one device: one transaction per partition.

Files (device/client ``upload``) go up before the transaction, outside it. A new certificate with
its key (an ssl-cert and an ssl-key of one name, both created by the plan) is one PKCS12 bundle
made here, uploaded once and installed with ``sys/crypto/pkcs12`` (which makes both objects
together, or neither) after the folder exists and before the transaction: one upload and one
request instead of two uploads and two queued objects, and the pair is on the device before the
transaction points a profile at it. Any other file object (a CA, a CRL, a chain, a pair whose
content changed in place, a key that is not its certificate's) is uploaded alone and created or
patched from ``sourcePath`` inside the transaction. Every upload is removed (``util/unix-rm``)
once the apply is over.

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

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from bigip_lbaas.core.errors import DeviceRejected, DeviceUnreachable, LeaseLost
from bigip_lbaas.device.client import (
    DOWNLOADS,
    UPLOAD_CHUNK,
    BigipClient,
    collection_path,
    object_path,
    quote_name,
)
from bigip_lbaas.engine.config import FILE_KINDS, PATCH_KINDS, Body, Kind, ObjKey
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
    the upload worker takes (a key and its certificate share a name: the key's ends in .key)."""
    suffix = ".key" if op.kind is Kind.SSL_KEY else ""
    return f"{partition}.{op.name}{suffix}".replace("_", "-").replace("/", "-")


def pkcs12_bundle(cert_pem: bytes, key_pem: bytes) -> bytes | None:
    """A PKCS12 bundle (no passphrase) of a certificate and its private key, for one
    ``sys/crypto/pkcs12`` install; None when the key is not the certificate's (or either does
    not parse): that pair goes as two files, and the device says why it refuses it."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, None)
    except (TypeError, ValueError):
        return None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        return None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return None  # what a BIG-IP serves; anything else goes as two files
    return pkcs12.serialize_key_and_certificates(None, key, cert, None,
                                                 serialization.NoEncryption())


def new_pairs(plan: Plan, files: Mapping[ObjKey, bytes]) -> dict[str, bytes]:
    """name → PKCS12 bundle of each certificate and key the plan creates together (an
    ssl-cert and an ssl-key of one name, both CREATE, both contents known)."""
    created = {(op.kind, op.name) for op in plan.ops if op.action is Action.CREATE}
    out: dict[str, bytes] = {}
    for kind, name in sorted(created):
        if kind is not Kind.SSL_KEY or (Kind.SSL_CERT, name) not in created:
            continue
        cert, key = files.get((Kind.SSL_CERT, name)), files.get((Kind.SSL_KEY, name))
        if cert is None or key is None:
            continue
        bundle = pkcs12_bundle(cert, key)
        if bundle is not None:
            out[name] = bundle
    return out


def pkcs12_upload_name(partition: str, name: str) -> str:
    return upload_name(partition, Op(Action.CREATE, Kind.SSL_CERT, name, {})) + ".p12"


def request_for(op: Op, partition: str, source: str | None = None) -> Request:
    """The request of one op; ``source``: for a file object, the uploaded file it is created
    from (its body then carries only that: fingerprints and checksums are the device's)."""
    if source is not None and op.kind in FILE_KINDS and op.action is not Action.DELETE:
        if op.action is Action.CREATE:
            body = {"name": op.name, "partition": partition, "sourcePath": f"file://{source}"}
            return Request("POST", collection_path(op.kind.value), body)
        return Request("PATCH", object_path(op.kind.value, partition, op.name),
                       {"sourcePath": f"file://{source}"})
    if op.kind in PATCH_KINDS:
        # objects the device owns (the partition, a tunnel's FDB): only ever PATCHed; a
        # delete puts back what the device had (default route domain 0, no records)
        if op.kind is Kind.PARTITION_DEFAULT_RD:
            path = f"/mgmt/tm/auth/partition/{quote_name(op.name)}"
            empty: dict[str, Any] = {"defaultRouteDomain": 0}
        else:
            path, empty = object_path(op.kind.value, partition, op.name), {"records": []}
        return Request("PATCH", path, empty if op.action is Action.DELETE else dict(op.body))
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
                  guard: Guard, sources: dict[ObjKey, str],
                  pairs: Mapping[str, bytes]) -> int:
    """Upload the content of every file object the plan creates or changes (outside the
    transaction), a new pair's as its one PKCS12 bundle (``pairs``, recorded under its
    ssl-key); record each one's path in ``sources``; return the requests sent. A refused
    upload is the file object's failure (ApplyFailed naming it)."""
    sent = 0
    for op in plan.ops:
        key = (op.kind, op.name)
        if op.kind not in FILE_KINDS or op.action is Action.DELETE or key not in files:
            continue
        data = files[key]
        name = upload_name(plan.partition, op)
        if op.name in pairs:
            if op.kind is not Kind.SSL_KEY:
                continue  # the certificate travels in its key's bundle
            data, name = pairs[op.name], pkcs12_upload_name(plan.partition, op.name)

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
    pairs = new_pairs(plan, files or {})
    # A file object deleted now may have left its upload behind (an apply cut off between its
    # upload and its clean-up): removing it again costs nothing extra when this apply uploads.
    stale = [f"{DOWNLOADS}/{upload_name(plan.partition, op)}" for op in plan.ops
             if op.kind in FILE_KINDS and op.action is Action.DELETE]
    stale += [f"{DOWNLOADS}/{pkcs12_upload_name(plan.partition, op.name)}" for op in plan.ops
              if op.kind is Kind.SSL_KEY and op.action is Action.DELETE]
    writes = 0
    try:
        writes += await _upload(client, plan, files or {}, check, sources, pairs)
        writes += await _apply(client, plan, check, sources, pairs)
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
                 sources: Mapping[ObjKey, str], pairs: Mapping[str, bytes]) -> int:
    part = plan.partition
    head = [op for op in plan.ops if op.kind is Kind.FOLDER and op.action is Action.CREATE]
    tail = [op for op in plan.ops if op.kind is Kind.FOLDER and op.action is Action.DELETE]
    installs = [op for op in plan.ops if op.kind is Kind.SSL_KEY and op.name in pairs]
    body = [op for op in plan.ops if op.kind is not Kind.FOLDER
            and not (op.kind in (Kind.SSL_KEY, Kind.SSL_CERT) and op.name in pairs)]
    writes = 0
    current: Op | None = None
    created: list[Op] = []
    installed: list[Op] = []
    try:
        for op in head:
            current = op
            await _send(client, request_for(op, part), check)
            writes += 1
            created.append(op)
        for op in installs:
            current = op
            path, source = f"/{part}/{op.name}", sources[(op.kind, op.name)]

            async def install(path: str = path, source: str = source) -> None:
                await client.install_pkcs12(path, source)

            await _guarded(check, install)
            writes += 1
            installed.append(op)
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
        writes += await _remove_installed(client, installed, part, check)
        writes += await _remove_created_folders(client, created, part, check)
        raise ApplyFailed(exc, culprit, writes) from exc
    return writes


async def _remove_installed(client: BigipClient, installed: list[Op], part: str,
                            guard: Guard) -> int:
    """Delete the pairs ``apply`` installed before a rejected transaction (nothing uses them:
    the transaction that would have did not happen); return the writes sent. Best effort: what
    stays is an unused pair the next reconcile finds and removes."""
    writes = 0
    for op in installed:
        for kind in (Kind.SSL_CERT, Kind.SSL_KEY):
            delete = Op(Action.DELETE, kind, op.name, {}, op.owner)
            try:
                await _send(client, request_for(delete, part), guard)
            except (DeviceUnreachable, DeviceRejected):
                continue
            writes += 1
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
