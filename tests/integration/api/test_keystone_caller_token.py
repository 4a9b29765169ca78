"""The keystone gate hands the token it accepted to the app in the scope (for barbican_cert_manager's
ACL step, which acts with the caller's token), never as a header; real auth_token, real Keystone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from bigip_lbaas.api.keystone import KeystoneAuth, caller_token
from bigip_lbaas.config.load import load
from tests.openstack.keystone import Keystone


def test_the_accepted_token_reaches_the_app_in_the_scope_only(keystone: Keystone,
                                                                tmp_path: Path) -> None:
    conf_file = tmp_path / "api.conf"
    conf_file.write_text("[api_settings]\nauth_strategy = keystone\n"
                         + keystone.authtoken_conf(keystone.service_user("octavia")))
    conf = load([str(conf_file)])
    alice = keystone.user("ctok-alice", keystone.project("ctok-alice"), "member")
    token = keystone.token(alice)
    seen: list[tuple[str | None, dict[bytes, bytes]]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append((caller_token(scope), dict(scope["headers"])))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate = KeystoneAuth(app, conf)

    async def requests() -> list[int]:
        transport = httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            ok = await client.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": token})
            bad = await client.get("/v2/lbaas/loadbalancers",
                                   headers={"X-Auth-Token": "gAAAAAB-not-a-token"})
            open_path = await client.get("/healthcheck", headers={"X-Auth-Token": token})
            return [ok.status_code, bad.status_code, open_path.status_code]

    assert asyncio.run(requests()) == [204, 401, 204]
    [(accepted, headers), (on_open_path, _)] = seen  # the refused request never reached the app
    assert accepted == token
    assert headers[b"x-project-id"] == alice.project.id.encode()
    assert b"x-auth-token" not in headers and token.encode() not in headers.values()
    assert on_open_path is None  # nothing was checked there
