"""Request handling for one device: faults, authentication, routing, counters and audit.

Owns the path from a parsed HTTP request to a response: `/sim/...` goes to the control API,
everything else counts towards the request counters, passes the fault injector (latency, 503
rate, hangs, drop mode), is authenticated, and is routed to login/tokens, echo, device-info,
transactions (including queueing writes that carry `X-F5-REST-Coordination-Id`) or the
`/mgmt/tm` tree. Writes are appended to the device's audit log. Errors become the device's
JSON error bodies; nothing here answers 500 for bad input.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any
from urllib.parse import parse_qsl

from bigip_lbaas.sim import errors, files
from bigip_lbaas.sim.auth import LOGIN_PATH
from bigip_lbaas.sim.control import Cluster, Control
from bigip_lbaas.sim.device import Device
from bigip_lbaas.sim.httpserver import Request, Response
from bigip_lbaas.sim.names import parse_ident, split_path
from bigip_lbaas.sim.tm import WRITE_METHODS, Result, parse_body

_EMPTY: dict[str, Any] = {}


def encode(result: Result) -> Response:
    if result.body is None:
        return Response(result.status, b"", None)
    return Response(result.status, json.dumps(result.body, separators=(",", ":")).encode())


def error_response(exc: errors.IcrError) -> Response:
    resp = encode(Result(exc.status, exc.body()))
    if exc.status == 401:
        resp.headers.append(("WWW-Authenticate", 'Basic realm="Enterprise Manager"'))
    return resp


def guess_partitions(segs: list[str], body: bytes) -> set[str]:
    """The partition a (possibly failed) write was aimed at, for the audit log."""
    for seg in segs[3:]:
        if seg.startswith("~"):
            ident = parse_ident(seg)
            return {ident.partition} if ident.partition else set()
    if segs[2:4] == ["auth", "partition"] and len(segs) > 4:
        return {segs[4]}
    try:
        data = parse_body(body)
    except errors.IcrError:
        return set()
    if isinstance(data, dict):
        name = data.get("name")
        if isinstance(name, str) and name.startswith("/"):
            return {name.strip("/").split("/")[0]}
        part = data.get("partition")
        if isinstance(part, str) and part:
            return {part.strip("/")}
    return set()


class DeviceApp:
    """The HTTP handler bound to one device's listener."""

    def __init__(self, device: Device, cluster: Cluster) -> None:
        self.device = device
        self.control = Control(cluster)

    async def __call__(self, req: Request) -> Response:
        dev = self.device
        segs = split_path(req.raw_path)
        if segs[:1] == ["sim"]:
            try:
                dev.auth.authenticate(req.headers, req.raw_path, req.client)
                return encode(
                    await self.control.handle(dev, req.method, segs[1:], req.body, req.query)
                )
            except errors.IcrError as exc:
                return error_response(exc)
            except errors.BAD_INPUT as exc:
                return error_response(errors.invalid_value(exc))
        dev.counters[req.method] += 1
        dev.counters["total"] += 1
        if dev.down_mode == "drop":
            return Response(0, drop=True)
        faults = dev.faults
        start = time.monotonic()
        if dev.down_mode == "hang":
            await asyncio.sleep(faults.hangSeconds or 30.0)
            return Response(0, drop=True)
        if faults.latencyMs > 0:
            await asyncio.sleep(faults.latencyMs / 1000.0)
        if faults.hangRate > 0 and random.random() < faults.hangRate:
            await asyncio.sleep(faults.hangSeconds)
            return Response(0, drop=True)
        if faults.errorRate > 0 and random.random() < faults.errorRate:
            dev.status_counters[str(faults.errorStatus)] += 1
            return encode(
                Result(
                    faults.errorStatus,
                    {
                        "code": faults.errorStatus,
                        "message": "Service Unavailable (simulated fault)",
                        "errorStack": [],
                        "apiError": 32768001,
                    },
                )
            )
        partitions: set[str] = set()
        # uploads are writes too (audited by path and status; their bytes never are)
        upload = segs[:4] == ["mgmt", "shared", "file-transfer", "uploads"]
        audit = req.method in WRITE_METHODS and (segs[:2] == ["mgmt", "tm"] or upload)
        trans_id: int | None = None
        commands = 0
        tx_start: float | None = None
        try:
            try:
                result = self._dispatch(req, segs)
            except errors.BAD_INPUT as exc:
                # a value of the wrong type or shape: the device answers 400, never 500
                raise errors.invalid_value(exc) from exc
            partitions = result.partitions
            if audit and segs[2:3] == ["transaction"]:
                audit = (
                    len(segs) == 4
                    and req.method == "PATCH"
                    and result.status == 200
                    and bool(result.partitions)
                )
                if audit:
                    trans_id = int(segs[3])
                    committed = dev.transactions.table[trans_id]
                    commands, tx_start = len(committed.commands), committed.created
            elif audit and req.headers.get("x-f5-rest-coordination-id"):
                audit = False
            resp = encode(result)
        except errors.IcrError as exc:
            resp = error_response(exc)
            if audit and segs[2:3] == ["transaction"]:
                if len(segs) == 4 and exc.message.startswith("transaction failed"):
                    trans_id = int(segs[3])
                    t = dev.transactions.table.get(trans_id)
                    commands = len(t.commands) if t else 0
                    tx_start = t.created if t else None
                    partitions = set()
                    if t is not None:
                        for c in t.commands:
                            partitions |= guess_partitions(split_path(c.path), c.body)
                else:
                    audit = False
            elif audit and req.headers.get("x-f5-rest-coordination-id"):
                audit = False
            elif audit and not upload:
                partitions = guess_partitions(segs, req.body)
        dev.status_counters[str(resp.status)] += 1
        if audit:
            dev.record(
                start,
                req.method,
                req.raw_path,
                partitions,
                resp.status,
                req.headers,
                trans_id,
                commands,
                tx_start,
            )
        return resp

    def _dispatch(self, req: Request, segs: list[str]) -> Result:
        dev = self.device
        path = "/" + "/".join(segs)
        if segs[:1] != ["mgmt"]:
            raise errors.uri_not_registered(req.raw_path)
        if path == LOGIN_PATH:
            dev.auth_counters["login"] += 1
            if not dev.token_login:
                raise errors.uri_not_registered(LOGIN_PATH)
            if req.method != "POST":
                raise errors.IcrError(405, "login requires POST", 0)
            return Result(200, dev.auth.login(parse_body(req.body), req.client))
        user = dev.auth.authenticate(req.headers, req.raw_path, req.client)
        dev.auth_counters["token" if req.headers.get("x-f5-auth-token") else "basic"] += 1
        if segs[:2] == ["mgmt", "shared"]:
            return self._shared(req, segs[2:], user)
        if segs[:2] != ["mgmt", "tm"]:
            raise errors.uri_not_registered(path)
        query = parse_qsl(req.query, keep_blank_values=True)
        coord = req.headers.get("x-f5-rest-coordination-id")
        if segs[2:3] == ["transaction"]:
            body = parse_body(req.body) if req.method in ("POST", "PATCH", "PUT") else _EMPTY
            return dev.transactions.handle(req.method, segs[3:], body, dev.store, self._execute)
        if coord and req.method in WRITE_METHODS:
            self._check_route(req.method, segs[2:], query)
            return Result(
                200, dev.transactions.queue(coord, req.method, req.raw_path, req.query, req.body)
            )
        return dev.tm.handle(req.method, segs[2:], query, req.body)

    def _check_route(self, method: str, segs: list[str], query: list[tuple[str, str]]) -> None:
        from bigip_lbaas.sim.kinds import TYPES

        path = "/".join(segs)
        known = (
            # a type's path or anything below it: one of the path's leading segment runs
            any("/".join(segs[:i]) in TYPES for i in range(1, len(segs) + 1))
            or path in ("sys/config", "cm", "sys/global-settings", "sys/crypto/cert", "sys/crypto/key",
                     "sys/crypto/pkcs12")
            or path.startswith(("auth/partition", "sys/folder"))
        )
        if not known:
            raise errors.uri_not_registered("/mgmt/tm/" + path)

    def _execute(self, method: str, raw_path: str, query: str, body: bytes) -> Result:
        segs = split_path(raw_path)
        return self.device.tm.handle(
            method, segs[2:], parse_qsl(query, keep_blank_values=True), body
        )

    def _shared(self, req: Request, segs: list[str], user: str) -> Result:
        dev = self.device
        if segs[:1] in (["echo-query"], ["echo"]):
            return Result(
                200,
                {
                    "kind": "shared:echo:echoworkerstate",
                    "selfLink": "https://localhost/mgmt/shared/echo",
                },
            )
        if segs[:2] == ["authz", "tokens"]:
            body = parse_body(req.body) if req.method in ("PATCH", "PUT", "POST") else _EMPTY
            status, doc = dev.auth.token_request(
                req.method, segs[2] if len(segs) > 2 else None, body, user
            )
            return Result(status, doc)
        if segs[:2] == ["file-transfer", "uploads"] and len(segs) == 3:
            # application/octet-stream: the body is the file's bytes, never parsed as JSON
            if req.method != "POST":
                raise errors.method_not_allowed(req.method, "/mgmt/shared/file-transfer/uploads")
            doc = files.upload_chunk(
                dev.store, segs[2], req.headers.get("content-range"), req.body
            )
            dev.mark_dirty(pending=False)  # the device's own files: saved, not config-synced
            return Result(200, doc)
        if segs == ["identified-devices", "config", "device-info"]:
            return Result(200, dev.device_info())
        raise errors.uri_not_registered("/mgmt/shared/" + "/".join(segs))
