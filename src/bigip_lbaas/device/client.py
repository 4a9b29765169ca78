"""An async iControl REST client for one BIG-IP device.

Owns: HTTPS with verification on by default (or a CA bundle), token login with refresh (basic auth
as fallback when the device has no token service), timeouts, retries with backoff, transactions,
``%``→``%25`` in object names, a per-device concurrency bound, and request counters.

Must not: log or put into exception messages any password or token; know about Octavia objects.
Every error that leaves this module is DeviceUnreachable (temporary) or DeviceRejected (permanent).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json as jsonlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from bigip_lbaas import __version__
from bigip_lbaas.core.errors import DeviceError, DeviceRejected, DeviceUnreachable
from bigip_lbaas.device.errors import device_errors, from_response
from bigip_lbaas.device.transport import FastTransport

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-F5-Auth-Token"
COORDINATION_HEADER = "X-F5-REST-Coordination-Id"
CLIENT_ID_HEADER = "X-Client-Id"
USER_AGENT = f"bigip-lbaas/{__version__}"
TOKEN_MARGIN = 60.0  # renew this many seconds before the device says the token expires


def quote_name(name: str) -> str:
    """A name as it goes into a URL path: ``%`` (route domains) must travel as ``%25``."""
    return name.replace("%", "%25")


def object_path(collection: str, partition: str | None, name: str) -> str:
    """``/mgmt/tm/<collection>/~<partition>~<name>``; a folder: ``…/sys/folder/~<name>``."""
    if partition is None:
        return f"/mgmt/tm/{collection}/~{quote_name(name)}"
    return f"/mgmt/tm/{collection}/~{quote_name(partition)}~{quote_name(name)}"


def collection_path(collection: str) -> str:
    return f"/mgmt/tm/{collection}"


UPLOAD_CHUNK = 512 * 1024  # what F5's tools send per request
DOWNLOADS = "/var/config/rest/downloads"  # where the upload worker puts files


@dataclass
class RequestCounter:
    """What this client sent, for benchmarks and tests (never used for decisions)."""

    by_method: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    @property
    def writes(self) -> int:
        return self.total - self.by_method["GET"]

    def snapshot(self) -> dict[str, int]:
        return dict(self.by_method)


# ``json.loads``'s object_pairs_hook: lets a caller drop what it does not need while a large body
# is decoded, instead of holding the whole decoded tree at once.
PairsHook = Callable[[list[tuple[str, Any]]], Any]


@dataclass(slots=True)
class _Reply:
    """What the client reads of a response; the full httpx Response is built only when asked
    for (error messages), since building one costs more than the exchange on the wire."""

    status_code: int
    content: bytes
    _full: Callable[[], httpx.Response]

    def json(self, pairs_hook: PairsHook | None = None) -> Any:
        return jsonlib.loads(self.content, object_pairs_hook=pairs_hook)

    @property
    def response(self) -> httpx.Response:
        return self._full()


class _RetryableError(Exception):
    def __init__(self, error: DeviceError) -> None:
        self.error = error


class BigipClient:
    """One device. Use as ``async with BigipClient(...) as c:`` or call ``aclose()``."""

    def __init__(
        self,
        host: str,
        username: str,
        password: str,
        *,
        port: int = 443,
        verify: bool | str = True,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_concurrency: int = 8,
        retries: int = 2,
        backoff: float = 0.2,
        client_id: str | None = None,
        token_auth: bool = True,
        transport: FastTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.name = f"{host}:{port}" if port != 443 else host
        self._username = username
        self._password = password
        self._use_token = token_auth
        self._token: str | None = None
        self._token_expires = 0.0
        self._login_lock = asyncio.Lock()
        self._sem = asyncio.Semaphore(max_concurrency)
        self._retries = retries
        self._backoff = backoff
        self.counter = RequestCounter()
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if client_id:
            headers[CLIENT_ID_HEADER] = client_id
        self._headers = headers
        for value in headers.values():
            if not value.isascii() or not value.isprintable():
                raise ValueError("client_id must be printable ASCII")
        # the constant part of every request head, for the transport's raw path
        self._head = "\r\n".join(f"{k}: {v}" for k, v in headers.items()).encode("ascii")
        url_host = f"[{host}]" if ":" in host else host
        self._base = httpx.URL(f"https://{url_host}:{port}")
        self._head = b"Host: " + self._base.netloc + b"\r\n" + self._head
        self._timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout)).as_dict()
        self._url = functools.lru_cache(maxsize=512)(self._make_url)
        # Production runs on FastTransport, called directly (no AsyncClient: its per-request URL
        # merging, auth flow and cookie jar, and httpx's default httpcore/anyio transport cost
        # several times the device's own work; measured in bench/transport_bench.py, see
        # transport.py). Any httpx transport may be passed instead, for tests and benchmarks.
        self._transport = transport or FastTransport(verify=verify, max_connections=max_concurrency)

    def __repr__(self) -> str:  # never shows credentials
        return f"BigipClient({self.name!r}, user={self._username!r})"

    async def __aenter__(self) -> BigipClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def _make_url(self, path: str, params: tuple[tuple[str, str], ...]) -> httpx.URL:
        """The request URL (httpx's parsing and validation is the costly part of building a
        request; a cold rebuild POSTs to a handful of collection URLs thousands of times)."""
        if params:
            return self._base.copy_with(path=path, params=dict(params))
        return self._base.join(path)

    async def _http(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: dict[str, str] | None = None,
        octets: bytes | None = None,
    ) -> _Reply:
        """One HTTP exchange (httpx exceptions pass through; ``device_errors`` maps them).
        ``octets``: a body sent as it is (an upload's chunk), instead of ``json``."""
        url = self._url(path, tuple(params.items()) if params else ())
        extra = headers or {}
        content = octets or b""
        if json is not None:
            content = jsonlib.dumps(
                json, ensure_ascii=False, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
            extra = extra | {"Content-Type": "application/json"}

        def as_request() -> httpx.Request:
            return httpx.Request(
                method,
                url,
                headers=self._headers | extra,
                content=content or None,
                extensions={"timeout": self._timeout},
            )

        transport = self._transport
        if not isinstance(transport, FastTransport):  # a test or benchmark seam, not production
            request = as_request()
            response = await transport.handle_async_request(request)
            response.request = request
            await response.aread()
            return _Reply(response.status_code, response.content, lambda: response)
        lines = [self._head, *(f"{k}: {v}".encode("ascii") for k, v in extra.items())]
        raw = await transport.exchange(method, url, lines, content, self._timeout)
        if raw.encoded:  # not asked for; let httpx decode it
            full = raw.response(as_request())
            return _Reply(full.status_code, full.content, lambda: full)
        return _Reply(raw.status, raw.content, lambda: raw.response(as_request()))

    # ------------------------------------------------------------------ auth

    def _basic(self) -> dict[str, str]:
        userpass = f"{self._username}:{self._password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(userpass).decode("ascii")}

    async def _login(self) -> None:
        body = {"username": self._username, "password": self._password, "loginProviderName": "tmos"}
        self.counter.by_method["POST"] += 1
        with device_errors(self.name):
            resp = await self._http(
                "POST", "/mgmt/shared/authn/login", json=body, headers=self._basic()
            )
        if resp.status_code in (404, 501):
            log.info("token login unavailable, using basic auth", extra={"device": self.name})
            self._use_token = False
            return
        if resp.status_code != 200:
            raise from_response(self.name, resp.response)
        data = resp.json().get("token", {})
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise DeviceRejected(self.name, resp.status_code, "login response carries no token")
        if not token.isascii() or not token.isprintable():
            raise DeviceRejected(self.name, resp.status_code, "login response carries a bad token")
        lifetime = float(data.get("timeout") or 1200)
        if "expirationMicros" in data and "lastUpdateMicros" in data:
            lifetime = (int(data["expirationMicros"]) - int(data["lastUpdateMicros"])) / 1e6
        self._token = token
        self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN, lifetime / 2)
        log.debug("logged in", extra={"device": self.name})

    async def _auth(self) -> dict[str, str]:
        if self._use_token:
            if self._token is None or time.monotonic() >= self._token_expires:
                async with self._login_lock:
                    if self._token is None or time.monotonic() >= self._token_expires:
                        await self._login()
            if self._use_token and self._token is not None:
                return {TOKEN_HEADER: self._token}
        return self._basic()

    def _drop_token(self, token: str | None) -> None:
        if token is not None and self._token == token:
            self._token = None

    # ------------------------------------------------------------------ requests

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        idempotent: bool,
        octets: bytes | None = None,
    ) -> _Reply:
        for attempt in range(2):  # the second attempt only after a fresh login
            auth_headers = await self._auth()
            self.counter.by_method[method] += 1
            try:
                with device_errors(self.name):
                    resp = await self._http(
                        method,
                        path,
                        json=json,
                        params=params,
                        headers=headers | auth_headers,
                        octets=octets,
                    )
            except DeviceUnreachable as err:
                cause = err.__cause__
                sent = not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout)
                if idempotent or not sent:
                    raise _RetryableError(err) from err
                raise
            if resp.status_code == 401 and attempt == 0 and TOKEN_HEADER in auth_headers:
                self._drop_token(auth_headers.get(TOKEN_HEADER))
                continue
            if resp.status_code >= 500 and (idempotent or resp.status_code == 503):
                raise _RetryableError(from_response(self.name, resp.response))
            return resp
        return resp

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        transaction: int | None = None,
        missing_ok: bool = False,
        pairs_hook: PairsHook | None = None,
        octets: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """Send one request; return the JSON body (``{}`` for an empty body), or None for a 404
        when ``missing_ok``. Raises DeviceUnreachable / DeviceRejected. ``octets`` (with its
        ``extra_headers``): a raw body instead of JSON, sent again on a transient failure (an
        upload chunk: writing the same range twice is harmless)."""
        headers: dict[str, str] = dict(extra_headers or {})
        if transaction is not None:
            headers[COORDINATION_HEADER] = str(transaction)
        idempotent = (method in ("GET", "HEAD") or octets is not None) and transaction is None
        send = functools.partial(
            self._send_once,
            method,
            path,
            json=json,
            params=params,
            headers=headers,
            idempotent=idempotent,
            octets=octets,
        )
        try:
            async with self._sem:
                try:  # the first attempt without the retry machinery (the common case)
                    resp = await send()
                except _RetryableError:
                    if not self._retries:
                        raise
                    resp = await self._retry(send)
        except _RetryableError as exc:
            raise exc.error from exc.error.__cause__
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "icontrol request",
                extra={
                    "device": self.name,
                    "method": method,
                    "path": path,
                    "status": resp.status_code,
                },
            )
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code >= 400:
            raise from_response(self.name, resp.response)
        if not resp.content:
            return {}
        data = resp.json(pairs_hook)
        return data if isinstance(data, dict) else {"items": data}

    async def _retry(self, send: Callable[[], Awaitable[_Reply]]) -> _Reply:
        """Attempts 2 … retries+1 after a retryable failure, waiting backoff·2^(n-1) (≤ 2 s)
        before attempt n+1, as one tenacity loop over all attempts would."""
        await asyncio.sleep(min(self._backoff, 2.0))
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._retries),
            wait=wait_exponential(multiplier=self._backoff * 2, max=2.0),
            retry=retry_if_exception(lambda e: isinstance(e, _RetryableError)),
            reraise=True,
        ):
            with attempt:
                resp = await send()
        return resp

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        data = await self.request("GET", path, params=params)
        assert data is not None
        return data

    async def get_optional(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        pairs_hook: PairsHook | None = None,
    ) -> dict[str, Any] | None:
        return await self.request(
            "GET", path, params=params, missing_ok=True, pairs_hook=pairs_hook
        )

    async def items(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The ``items`` of a collection (a missing ``items`` key means empty)."""
        data = await self.get_optional(path, params)
        if not data:
            return []
        items = data.get("items", [])
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    # ------------------------------------------------------------------ files

    async def upload(self, name: str, data: bytes) -> str:
        """Upload ``data`` to ``/mgmt/shared/file-transfer/uploads/<name>`` in chunks (never part
        of a transaction: the upload worker is not a ``/mgmt/tm`` one); return the path the file
        has on the device. The content is never logged."""
        path = f"/mgmt/shared/file-transfer/uploads/{name}"
        total = len(data)
        for start in range(0, max(total, 1), UPLOAD_CHUNK):
            chunk = data[start : start + UPLOAD_CHUNK]
            headers = {"Content-Type": "application/octet-stream",
                       "Content-Range": f"{start}-{start + len(chunk) - 1}/{total}"}
            await self.request("POST", path, octets=chunk, extra_headers=headers)
        return f"{DOWNLOADS}/{name}"

    async def remove_uploads(self, paths: list[str]) -> None:
        """``util/unix-rm -f`` the uploaded files (one request for all of them)."""
        if paths:
            await self.request("POST", "/mgmt/tm/util/unix-rm",
                               json={"command": "run", "utilCmdArgs": "-f " + " ".join(paths)})

    # ------------------------------------------------------------------ transactions

    async def begin(self) -> int:
        data = await self.request("POST", "/mgmt/tm/transaction", json={})
        assert data is not None
        try:
            return int(data["transId"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DeviceRejected(self.name, 200, "transaction create returned no transId") from exc

    async def commit(self, trans_id: int) -> dict[str, Any]:
        """Commit (the coordination header must not be sent on the commit itself)."""
        data = await self.request(
            "PATCH", f"/mgmt/tm/transaction/{trans_id}", json={"state": "VALIDATING"}
        )
        assert data is not None
        state = str(data.get("state", "COMPLETED"))
        if state == "FAILED":
            raise DeviceRejected(
                self.name, 400, str(data.get("failureReason") or "transaction failed")
            )
        return data

    async def abandon(self, trans_id: int) -> None:
        """Best effort: drop an uncommitted transaction (it would time out on its own)."""
        try:
            await self.request("DELETE", f"/mgmt/tm/transaction/{trans_id}", missing_ok=True)
        except DeviceError:
            log.debug("transaction not abandoned", extra={"device": self.name})
