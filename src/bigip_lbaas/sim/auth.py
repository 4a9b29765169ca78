"""Authentication as the device does it: basic auth and `X-F5-Auth-Token` login tokens.

Owns the token table of one device, `POST /mgmt/shared/authn/login`, the token resources under
`/mgmt/shared/authz/tokens` (GET, PATCH timeout up to 36000 s, DELETE one or all) and the
401/400/406 bodies real clients match on. Never logs passwords or tokens.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bigip_lbaas.sim.errors import IcrError, RestError

MAX_TIMEOUT = 36000
DEFAULT_TIMEOUT = 1200
MAX_TOKENS = 100
LOGIN_PATH = "/mgmt/shared/authn/login"
TOKENS_PATH = "/mgmt/shared/authz/tokens"


@dataclass
class Token:
    """One login token."""

    name: str
    user: str
    address: str
    start: float
    timeout: int
    generation: int = 1

    @property
    def expires(self) -> float:
        return self.start + self.timeout

    def body(self) -> dict[str, Any]:
        start = datetime.datetime.fromtimestamp(self.start).astimezone()
        return {
            "token": self.name,
            "name": self.name,
            "userName": self.user,
            "authProviderName": "tmos",
            "user": {"link": f"https://localhost/mgmt/shared/authz/users/{self.user}"},
            "groupReferences": [],
            "timeout": self.timeout,
            "startTime": start.isoformat(timespec="milliseconds"),
            "address": self.address,
            "partition": "[All]",
            "generation": self.generation,
            "lastUpdateMicros": int(self.start * 1_000_000),
            "expirationMicros": int(self.expires * 1_000_000),
            "kind": "shared:authz:tokens:authtokenitemstate",
            "selfLink": f"https://localhost{TOKENS_PATH}/{self.name}",
        }


class Auth:
    """Credentials and live tokens of one simulated device."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.tokens: dict[str, Token] = {}

    def reset(self) -> None:
        self.tokens.clear()

    def _basic_ok(self, header: str) -> bool | None:
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(user, self.username) and secrets.compare_digest(
            password, self.password
        )

    def authenticate(self, headers: dict[str, str], path: str, client: str) -> str:
        """Return the user name or raise the 401 the device would send."""
        token = headers.get("x-f5-auth-token")
        if token:
            tok = self.tokens.get(token)
            if tok is None or tok.expires < time.time():
                self.tokens.pop(token, None)
                raise RestError(401, "X-F5-Auth-Token does not exist.", client)
            return tok.user
        basic = self._basic_ok(headers.get("authorization", ""))
        if basic:
            return self.username
        if basic is None:
            raise RestError(
                401,
                "Authorization failed: no user authentication header or token detected. "
                f"Uri:http://localhost:8100{path} Referrer:{client} Sender:{client}",
                client,
            )
        raise RestError(401, "Authentication failed.", client)

    def login(self, body: dict[str, Any], client: str) -> dict[str, Any]:
        user = str(body.get("username", ""))
        password = str(body.get("password", ""))
        if not (
            secrets.compare_digest(user, self.username)
            and secrets.compare_digest(password, self.password)
        ):
            raise RestError(401, "Authentication failed.", client)
        self._expire()
        if user != "admin" and sum(1 for t in self.tokens.values() if t.user == user) >= MAX_TOKENS:
            raise IcrError(
                400,
                f"remoteSender:{client}, user {user} has reached maximum active login tokens",
                0,
            )
        name = secrets.token_hex(13).upper()[:26]
        tok = Token(name, user, client, time.time(), DEFAULT_TIMEOUT)
        self.tokens[name] = tok
        return {
            "username": user,
            "loginReference": {
                "link": "https://localhost/mgmt/cm/system/authn/providers/tmos/"
                "1f44a60e-11a7-3c51-a49f-82983026b41b/login"
            },
            "loginProviderName": str(body.get("loginProviderName", "tmos")),
            "token": tok.body(),
            "generation": 0,
            "lastUpdateMicros": 0,
        }

    def _expire(self) -> None:
        now = time.time()
        for name in [n for n, t in self.tokens.items() if t.expires < now]:
            del self.tokens[name]

    def token_request(
        self, method: str, name: str | None, body: dict[str, Any], user: str
    ) -> tuple[int, Any]:
        """`/mgmt/shared/authz/tokens[/<name>]`: GET, PATCH (timeout) and DELETE."""
        self._expire()
        if name is None:
            mine = [t for t in self.tokens.values() if t.user == user]
            if method == "GET":
                return 200, {
                    "items": [t.body() for t in mine],
                    "kind": "shared:authz:tokens:authtokencollectionstate",
                    "selfLink": f"https://localhost{TOKENS_PATH}",
                }
            if method == "DELETE":
                for t in mine:
                    del self.tokens[t.name]
                return 200, None
            raise IcrError(405, f"{method} not supported", 0)
        tok = self.tokens.get(name)
        if tok is None:
            raise RestError(404, f"Token {name[:4]}… does not exist.")
        if tok.user != user:
            raise IcrError(400, "Authorization failed", 0)
        if method == "GET":
            return 200, tok.body()
        if method == "PATCH":
            if "timeout" in body:
                try:
                    timeout = int(str(body["timeout"]))
                except ValueError as exc:
                    raise IcrError(400, "invalid timeout", 0) from exc
                if timeout > MAX_TIMEOUT:
                    raise IcrError(
                        406, f"Auth-token absolute timeout ({MAX_TIMEOUT} seconds) exceeded", 0
                    )
                if timeout <= 0:
                    raise IcrError(400, "invalid timeout", 0)
                tok.timeout = timeout
                tok.generation += 1
            return 200, tok.body()
        if method == "DELETE":
            del self.tokens[name]
            return 200, None
        raise IcrError(405, f"{method} not supported", 0)
