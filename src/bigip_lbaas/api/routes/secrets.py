"""The built-in certificate store, served as Barbican's v1 secrets API under /key-manager.

Version discovery at /key-manager/ (300, Barbican's `versions` document) and /key-manager/v1;
secrets at /key-manager/v1/secrets: create (payload in the POST, or POST metadata then PUT the
payload), metadata, payload, list (limit/offset, `total`, `next`/`previous`) and delete, so
python-barbicanclient works unchanged. Errors have Barbican's shape, `{code, title, description}`.

A project sees only its own secrets (another's answers 404, as in Barbican); an admin reads any
by reference; a list shows the caller's project. Payloads are sealed before they reach the
database (db.secrets) and appear in no log line, error or metric.
"""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bigip_lbaas.api.auth import Context
from bigip_lbaas.api.schemas.secrets import (
    MAX_REQUEST_BYTES,
    MAX_SECRET_BYTES,
    TEXT,
    SecretPOST,
    content_type_of,
)
from bigip_lbaas.api.state import AppState, context, host_url, state
from bigip_lbaas.core.certs import InvalidStorageKey, UndecryptablePayload, secret_id_from_ref
from bigip_lbaas.core.errors import ApiError, DatabaseError, DatabaseUnavailable
from bigip_lbaas.db import secrets as store
from bigip_lbaas.db.models import Secret

router = APIRouter(include_in_schema=False)

TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          406: "Not Acceptable", 409: "Conflict", 413: "Request Entity Too Large",
          415: "Unsupported Media Type", 500: "Internal Server Error",
          503: "Service Unavailable"}
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MIN_VERSION, MAX_VERSION = "1.0", "1.1"
NO_KEY = "the certificate store has no usable storage key: see [certificates] storage_key_file"


class BarbicanError(Exception):
    """An answer in Barbican's error shape. The description never carries a payload."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _not_found() -> BarbicanError:
    return BarbicanError(404, "Secret not found.")


def _schema_error(reason: str, prop: str) -> BarbicanError:
    return BarbicanError(400, f"Provided object does not match schema 'Secret': {reason}. "
                              f"Invalid property: '{prop}'")


def barbican(fn: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """Answer every failure of a /key-manager handler in Barbican's shape."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return await fn(*args, **kwargs)
        except BarbicanError as err:
            code, description = err.code, err.description
        except ApiError as err:  # from the request context: 400/403
            code, description = err.status, str(err)
        except DatabaseUnavailable:
            code, description = 503, "The database is unavailable; retry later."
        except DatabaseError:
            code, description = 500, "Internal Server Error"
        body = {"code": code, "title": TITLES.get(code, "Error"), "description": description}
        return JSONResponse(body, status_code=code)

    return wrapper


def _storage_key(request: Request, st: AppState) -> bytes:
    """The storage key, read once per app from `[certificates] storage_key_file`."""
    key: bytes | None = getattr(request.app.state, "secret_storage_key", None)
    if key is None:
        path = st.conf.certificates.storage_key_file
        if not path:
            raise BarbicanError(503, NO_KEY)
        try:
            key = store.read_storage_key(str(path))
        except (OSError, UnicodeDecodeError, InvalidStorageKey):
            raise BarbicanError(503, NO_KEY) from None
        request.app.state.secret_storage_key = key
    return key


async def _run(fn: Callable[..., Any], *args: Any) -> Any:
    return await run_in_threadpool(fn, *args)


async def _body(request: Request) -> bytes:
    """The request body, refused (413) before it is read when it says it is too large."""
    too_large = BarbicanError(413, "Could not add secret: the request is too large.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise too_large
    raw = await request.body()
    if len(raw) > MAX_REQUEST_BYTES:
        raise too_large
    return raw


def _ref_base(request: Request) -> str:
    return host_url(request) + "key-manager/v1/secrets"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _wire(row: Secret, base: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "secret_ref": f"{base}/{row.id}", "name": row.name, "status": "ACTIVE",
        "secret_type": row.secret_type, "created": _time(row.created_at),
        "updated": _time(row.updated_at), "expiration": _time(row.expiration),
        "algorithm": row.algorithm, "bit_length": row.bit_length, "mode": row.mode,
        "creator_id": row.creator_id, "consumers": []}
    if row.payload is not None and row.content_type:
        body["content_types"] = {"default": row.content_type}
    return body


def _scope(ctx: Context) -> str | None:
    """Whose secrets a read by reference may return: an admin's any, anyone else's their own."""
    return None if ctx.is_admin else ctx.project_id


def _decode(payload: str, content_type: str, encoding: str | None) -> bytes:
    """The payload bytes of a POST, by Barbican's rules (no payload text in any message)."""
    enc = (encoding or "").lower() or None
    if content_type == TEXT:
        if enc is not None:
            raise _schema_error("payload_content_encoding is not valid when "
                                "payload_content_type is text/plain", "payload_content_encoding")
        return payload.encode("utf-8")
    if enc != "base64":
        raise _schema_error(f"payload_content_encoding must be base64 when "
                            f"payload_content_type is {content_type}", "payload_content_encoding")
    try:
        return base64.b64decode(payload.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        raise _schema_error("the payload is not valid base64", "payload") from None


def _version(request: Request) -> dict[str, Any]:
    return {"id": "v1", "status": "CURRENT", "min_version": MIN_VERSION,
            "max_version": MAX_VERSION,
            "links": [{"rel": "self", "href": host_url(request) + "key-manager/v1/"},
                      {"rel": "describedby", "type": "text/html",
                       "href": "https://docs.openstack.org/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.key-manager-v1+json"}]}


@router.get("")
@router.get("/")
@barbican
async def versions(request: Request) -> Response:
    return JSONResponse({"versions": {"values": [_version(request)]}}, status_code=300)


@router.get("/v1")
@router.get("/v1/")
@barbican
async def version_v1(request: Request) -> Response:
    return JSONResponse({"version": _version(request)})


@router.post("/v1/secrets")
@router.post("/v1/secrets/")
@barbican
async def create_secret(request: Request) -> Response:
    st, ctx = state(request), context(request)
    project = ctx.project_for_create(None)
    raw = await _body(request)
    try:
        body = SecretPOST.model_validate_json(raw or b"{}")
    except ValidationError as err:
        first = err.errors()[0]
        prop = ".".join(str(p) for p in first.get("loc", ())) or "body"
        reason = "malformed JSON" if first.get("type") == "json_invalid" else str(first["msg"])
        raise _schema_error(reason, prop) from None
    if body.expiration is not None and body.expiration <= store.utcnow():
        raise _schema_error("'expiration' is before current time", "expiration")
    payload: bytes | None = None
    content_type: str | None = None
    if body.payload is not None:
        if not body.payload.strip():
            raise _schema_error("If 'payload' specified, must be non empty", "payload")
        if not body.payload_content_type:
            raise _schema_error("If 'payload' is supplied, 'payload_content_type' must also "
                                "be supplied", "payload_content_type")
        content_type = content_type_of(body.payload_content_type)
        if content_type is None:
            raise _schema_error("payload_content_type is not one of the supported types",
                                "payload_content_type")
        payload = _decode(body.payload, content_type, body.payload_content_encoding)
        if len(payload) > MAX_SECRET_BYTES:
            raise BarbicanError(413, "Could not add secret: the payload is too large.")
    elif body.payload_content_type is not None:
        raise _schema_error("payload must be provided when payload_content_type is specified",
                            "payload")
    values = {"id": str(uuid.uuid4()), "project_id": project,
              "creator_id": request.headers.get("x-user-id"), "name": body.name,
              "secret_type": body.secret_type, "algorithm": body.algorithm,
              "bit_length": body.bit_length, "mode": body.mode,
              "expiration": body.expiration, "content_type": content_type}
    key = _storage_key(request, st)
    row_id = await _run(st.write, lambda s: store.create(s, key, values, payload).id)
    ref = f"{_ref_base(request)}/{row_id}"
    return JSONResponse({"secret_ref": ref}, status_code=201, headers={"Location": ref})


@router.get("/v1/secrets")
@router.get("/v1/secrets/")
@barbican
async def list_secrets(request: Request) -> Response:
    st, ctx = state(request), context(request)
    query = request.query_params
    try:
        offset = max(int(query.get("offset", "0")), 0)
    except ValueError:
        offset = 0
    try:
        limit = min(max(int(query.get("limit", str(DEFAULT_LIMIT))), 1), MAX_LIMIT)
    except ValueError:
        limit = DEFAULT_LIMIT
    filters: dict[str, Any] = {}
    for name in store.LIST_FILTERS:
        if name in query:
            filters[name] = query[name]
    if "bits" in filters:
        try:
            filters["bits"] = int(filters["bits"])
        except ValueError:
            raise BarbicanError(400, "Invalid value for 'bits': an integer.") from None
        if filters["bits"] <= 0:
            del filters["bits"]
    base = _ref_base(request)

    def fn(session: Session) -> tuple[list[dict[str, Any]], int]:
        rows, total = store.page(session, ctx.project_id, filters, limit, offset)
        return [_wire(r, base) for r in rows], total

    items, total = await _run(st.read, fn)
    body: dict[str, Any] = {"secrets": items, "total": total}
    if offset > 0:
        body["previous"] = f"{base}?limit={limit}&offset={max(0, offset - limit)}"
    if total > offset + limit:
        body["next"] = f"{base}?limit={limit}&offset={offset + limit}"
    return JSONResponse(body)


def _accepts_json(accept: str) -> bool:
    media = [p.split(";", 1)[0].strip().lower() for p in accept.split(",") if p.strip()]
    return not media or any(m in ("application/json", "*/*", "application/*") for m in media)


async def _payload(request: Request, secret_id: str) -> Response:
    st, ctx = state(request), context(request)
    key = _storage_key(request, st)

    def fn(session: Session) -> tuple[bytes | None, str | None] | None:
        row = store.find(session, secret_id, _scope(ctx))
        return None if row is None else (store.payload_of(key, row), row.content_type)

    try:
        found = await _run(st.read, fn)
    except UndecryptablePayload:
        raise BarbicanError(500, "Secret payload retrieval failure seen.") from None
    if found is None:
        raise _not_found()
    payload, content_type = found
    if payload is None or content_type is None:
        raise BarbicanError(404, "Secret has no payload.")
    wanted = [p.split(";", 1)[0].strip().lower()
              for p in request.headers.get("accept", "").split(",") if p.strip()]
    if wanted and not any(w in (content_type, "*/*") or content_type_of(w) == content_type
                          for w in wanted):
        raise BarbicanError(406, "Wrong payload content-type")
    media = "text/plain; charset=utf-8" if content_type == TEXT else content_type
    return Response(payload, media_type=media)


def _secret_id(value: str) -> str:
    found = secret_id_from_ref(value)
    if found is None:
        raise _not_found()
    return found


@router.get("/v1/secrets/{secret_id}")
@barbican
async def show_secret(request: Request, secret_id: str) -> Response:
    sid = _secret_id(secret_id)
    if not _accepts_json(request.headers.get("accept", "")):
        return await _payload(request, sid)  # Barbican's older way to ask for the payload
    st, ctx = state(request), context(request)
    base = _ref_base(request)

    def fn(session: Session) -> dict[str, Any] | None:
        row = store.find(session, sid, _scope(ctx))
        return None if row is None else _wire(row, base)

    found = await _run(st.read, fn)
    if found is None:
        raise _not_found()
    return JSONResponse(found)


@router.get("/v1/secrets/{secret_id}/payload")
@barbican
async def show_payload(request: Request, secret_id: str) -> Response:
    return await _payload(request, _secret_id(secret_id))


@router.put("/v1/secrets/{secret_id}")
@barbican
async def put_payload(request: Request, secret_id: str) -> Response:
    sid = _secret_id(secret_id)
    st, ctx = state(request), context(request)
    content_type = content_type_of(request.headers.get("content-type", ""))
    if content_type is None:
        raise BarbicanError(415, "Unsupported Media Type")
    raw = await _body(request)
    if not raw:
        raise BarbicanError(400, "No payload provided.")
    encoding = request.headers.get("content-encoding", "").lower() or None
    # Raw bytes, or (Content-Encoding: base64) base64 text of a binary type.
    payload = raw if encoding is None else _decode(raw.decode("ascii", "replace"),
                                                   content_type, encoding)
    if len(payload) > MAX_SECRET_BYTES:
        raise BarbicanError(413, "Could not add secret: the payload is too large.")
    key = _storage_key(request, st)

    def fn(session: Session) -> str:
        row = store.find(session, sid, _scope(ctx))
        if row is None:
            return "missing"
        return "done" if store.put_payload(session, key, row, payload, content_type) else "has"

    outcome = await _run(st.write, fn)
    if outcome == "missing":
        raise _not_found()
    if outcome == "has":
        raise BarbicanError(409, "Secret already has data, cannot modify it.")
    return Response(status_code=204)


@router.delete("/v1/secrets/{secret_id}")
@barbican
async def delete_secret(request: Request, secret_id: str) -> Response:
    sid = _secret_id(secret_id)
    st, ctx = state(request), context(request)

    def fn(session: Session) -> bool:
        row = store.find(session, sid, _scope(ctx))
        if row is None:
            return False
        store.delete(session, row)
        return True

    if not await _run(st.write, fn):
        raise _not_found()
    return Response(status_code=204)
