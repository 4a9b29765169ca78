"""iControl REST transactions (`/mgmt/tm/transaction`).

Owns the transaction table of one device: create, queue a command (any write sent with
`X-F5-REST-Coordination-Id`), list and delete commands, and commit with
`PATCH {"state":"VALIDATING"}` (optionally `validateOnly`). A commit runs every command in
`evalOrder` inside one `Store.atomic()`; the first failure rolls everything back and answers
400 `transaction failed:<message>`. An empty commit answers 404 as the device does.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bigip_lbaas.sim.errors import BAD_INPUT, IcrError, invalid_value
from bigip_lbaas.sim.store import Store
from bigip_lbaas.sim.tm import Result, parse_body

MAX_KEPT = 500

Execute = Callable[[str, str, str, bytes], Result]


@dataclass
class Command:
    """One queued write."""

    command_id: int
    method: str
    path: str
    query: str
    body: bytes
    eval_order: int


@dataclass
class Transaction:
    """One transaction and its queued commands."""

    trans_id: int
    created: float
    state: str = "STARTED"
    timeout: int = 120
    validate_only: bool = False
    failure: str = ""
    execution_time: int = 0
    commands: list[Command] = field(default_factory=list)


class Transactions:
    """The transaction table of one device."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.table: dict[int, Transaction] = {}
        self._ids = itertools.count(int(time.time() * 1_000_000))

    def reset(self) -> None:
        self.table.clear()

    def _link(self, path: str) -> str:
        return f"https://localhost/mgmt/tm/transaction{path}?ver={self.version}"

    def body(self, t: Transaction) -> dict[str, Any]:
        return {
            "transId": t.trans_id,
            "state": t.state,
            "timeoutSeconds": t.timeout,
            "asyncExecution": False,
            "validateOnly": t.validate_only,
            "executionTimeout": 300,
            "executionTime": t.execution_time,
            "failureReason": t.failure,
            "kind": "tm:transactionstate",
            "selfLink": self._link(f"/{t.trans_id}"),
        }

    def command_body(self, t: Transaction, c: Command, parsed: Any = None) -> dict[str, Any]:
        body: Any = parsed
        if body is None:
            try:
                body = parse_body(c.body)
            except IcrError:
                body = {}
        uri = f"https://localhost{c.path}" + (f"?{c.query}" if c.query else "")
        return {
            "method": c.method,
            "uri": uri,
            "body": body,
            "evalOrder": c.eval_order,
            "commandId": c.command_id,
            "kind": "tm:transaction:commandsstate",
            "selfLink": self._link(f"/{t.trans_id}/commands/{c.command_id}"),
        }

    def get(self, trans_id: str) -> Transaction:
        try:
            t = self.table.get(int(trans_id))
        except ValueError:
            t = None
        if t is None:
            raise IcrError(404, f"Transaction {trans_id} not found", 1)
        if t.state == "STARTED" and time.monotonic() - t.created > t.timeout:
            t.state = "EXPIRED"
        return t

    def create(self) -> Transaction:
        t = Transaction(next(self._ids), time.monotonic())
        self.table[t.trans_id] = t
        if len(self.table) > MAX_KEPT:
            for old in list(self.table)[: len(self.table) - MAX_KEPT]:
                del self.table[old]
        return t

    def queue(
        self, trans_id: str, method: str, path: str, query: str, body: bytes
    ) -> dict[str, Any]:
        t = self.get(trans_id)
        if t.state != "STARTED":
            raise IcrError(
                400, f"Transaction {trans_id} is in state {t.state} and cannot accept commands", 1
            )
        parsed = parse_body(body) if method != "DELETE" else None
        n = len(t.commands) + 1
        cmd = Command(n, method, path, query, body, n)
        t.commands.append(cmd)
        return self.command_body(t, cmd, parsed)

    def handle(
        self, method: str, rest: list[str], body: dict[str, Any], store: Store, execute: Execute
    ) -> Result:
        """`/mgmt/tm/transaction[/<id>[/commands[/<n>]]]`."""
        if not rest:
            if method == "POST":
                return Result(200, self.body(self.create()))
            if method == "GET":
                items = [self.body(t) for t in self.table.values()]
                doc: dict[str, Any] = {
                    "kind": "tm:transactioncollectionstate",
                    "selfLink": self._link(""),
                }
                if items:
                    doc["items"] = items
                return Result(200, doc)
            raise IcrError(405, f"{method} not supported", 1)
        t = self.get(rest[0])
        if len(rest) == 1:
            if method == "GET":
                return Result(200, self.body(t))
            if method == "DELETE":
                del self.table[t.trans_id]
                return Result(200, None)
            if method == "PATCH":
                return self._patch(t, body, store, execute)
            raise IcrError(405, f"{method} not supported", 1)
        if rest[1] != "commands":
            raise IcrError(
                404, f"URI path /mgmt/tm/transaction/{'/'.join(rest)} not registered.", 1
            )
        if len(rest) == 2 and method == "GET":
            doc = {
                "kind": "tm:transaction:commandscollectionstate",
                "selfLink": self._link(f"/{t.trans_id}/commands"),
            }
            if t.commands:
                doc["items"] = [self.command_body(t, c) for c in t.commands]
            return Result(200, doc)
        if len(rest) == 3:
            cmd = next((c for c in t.commands if str(c.command_id) == rest[2]), None)
            if cmd is None:
                raise IcrError(404, f"command {rest[2]} not found", 1)
            if method == "GET":
                return Result(200, self.command_body(t, cmd))
            if method == "DELETE":
                t.commands.remove(cmd)
                return Result(200, None)
            if method == "PATCH" and "evalOrder" in body:
                cmd.eval_order = int(str(body["evalOrder"]))
                return Result(200, self.command_body(t, cmd))
        raise IcrError(405, f"{method} not supported", 1)

    def _patch(
        self, t: Transaction, body: dict[str, Any], store: Store, execute: Execute
    ) -> Result:
        if body.get("state") != "VALIDATING":
            if "timeoutSeconds" in body:
                t.timeout = int(str(body["timeoutSeconds"]))
                return Result(200, self.body(t))
            raise IcrError(400, 'a transaction is committed with {"state":"VALIDATING"}', 1)
        if t.state == "EXPIRED":
            raise IcrError(400, f"transaction failed:Transaction {t.trans_id} has expired.", 2)
        if t.state != "STARTED":
            raise IcrError(400, f"Transaction {t.trans_id} is in state {t.state}.", 1)
        if not t.commands:
            raise IcrError(404, "there is no command to commit in the transaction.", 1)
        t.validate_only = bool(body.get("validateOnly", False))
        started = time.monotonic()
        partitions: set[str] = set()
        try:
            with store.atomic():
                for cmd in sorted(t.commands, key=lambda c: c.eval_order):
                    result = execute(cmd.method, cmd.path, cmd.query, cmd.body)
                    partitions |= result.partitions
                if t.validate_only:
                    store.check()
                    raise _ValidatedOnly
        except _ValidatedOnly:
            t.state = "VALIDATED"
            return Result(200, self.body(t))
        except IcrError as exc:
            raise self._failed(t, exc.message) from exc
        except BAD_INPUT as exc:
            # a command whose value no validation caught: still a failed commit, not a 400
            # that leaves the transaction STARTED
            raise self._failed(t, invalid_value(exc).message) from exc
        t.state = "COMPLETED"
        t.execution_time = int((time.monotonic() - started) * 1000)
        return Result(200, self.body(t), partitions)

    @staticmethod
    def _failed(t: Transaction, message: str) -> IcrError:
        t.state = "FAILED"
        t.failure = message
        return IcrError(400, f"transaction failed:{message}", 2)


class _ValidatedOnly(Exception):
    pass
