"""The iControl REST client against the simulator: auth, TLS, headers, encoding, errors."""

from __future__ import annotations

import asyncio

import pytest

from bigip_lbaas.core.errors import ConfigError, DeviceRejected, DeviceUnreachable
from bigip_lbaas.device.client import USER_AGENT, object_path, quote_name
from bigip_lbaas.device.cluster import autosync_warnings, validate_ha
from bigip_lbaas.device.converge import converge
from bigip_lbaas.device.status import collect
from bigip_lbaas.sim.testing import SimHandle
from tests.integration.device.conftest import make_client
from tests.integration.device.states import PREFIX, small


def test_percent_is_encoded_in_names() -> None:
    assert quote_name("10.0.0.1%10:80") == "10.0.0.1%2510:80"
    assert object_path("ltm/pool", "P", "a%2") == "/mgmt/tm/ltm/pool/~P~a%252"


def test_token_is_refreshed_after_the_device_forgets_it(sim: SimHandle) -> None:
    async def go() -> None:
        async with make_client(sim) as c:
            await c.get("/mgmt/tm/sys/version")
            token = c._token
            assert token
            await c.request("DELETE", f"/mgmt/shared/authz/tokens/{token}")
            await c.get("/mgmt/tm/sys/version")  # 401 → login again → retried
            assert c._token and c._token != token
            assert token not in repr(c)

    asyncio.run(go())


def test_basic_auth_and_wrong_password(sim: SimHandle) -> None:
    async def go() -> None:
        sim.control("DELETE", "counters")
        async with make_client(sim, token_auth=False) as c:
            folders = await c.get("/mgmt/tm/sys/folder")
            assert "/Common" in {f["fullPath"] for f in folders["items"]}
        assert sim.control("GET", "counters")["auth"] == {"basic": 1}  # no login at all
        bad = make_client(sim)
        bad._password = "wrong"
        with pytest.raises(DeviceRejected) as info:
            await bad.get("/mgmt/tm/sys/version")
        assert info.value.status == 401 and "wrong" not in str(info.value)
        await bad.aclose()

    asyncio.run(go())


def test_falls_back_to_basic_auth_when_the_device_has_no_token_login(sim: SimHandle) -> None:
    """A device whose login URI is not registered (404): the client tries to log in once, then
    sends Basic auth, and every request succeeds."""

    async def go() -> None:
        async with make_client(sim, device=2) as c:  # token auth wanted
            folders = await c.get("/mgmt/tm/sys/folder")
            assert "/Common" in {f["fullPath"] for f in folders["items"]}
            await c.get("/mgmt/tm/sys/version")
            await c.get("/mgmt/tm/ltm/pool")

    sim.control("PATCH", "auth", {"tokenLogin": False}, device=2)
    try:
        sim.control("DELETE", "counters", device=2)
        asyncio.run(go())
        counters = sim.control("GET", "counters", device=2)
    finally:
        sim.control("PUT", "auth", {"tokenLogin": True}, device=2)
    assert counters["auth"] == {"login": 1, "basic": 3}  # one login attempt, no token used
    assert counters["statuses"] == {"404": 1, "200": 3}
    # with token login available the same client uses a token, so the counters can tell
    sim.control("DELETE", "counters", device=2)
    asyncio.run(go())
    assert sim.control("GET", "counters", device=2)["auth"] == {"login": 1, "token": 3}


def test_tls_is_verified_by_default(sim: SimHandle) -> None:
    async def go() -> None:
        async with make_client(sim, verify=True) as c:
            with pytest.raises(DeviceUnreachable):
                await c.get("/mgmt/tm/sys/version")

    asyncio.run(go())


def test_client_id_and_user_agent_reach_the_device(sim: SimHandle) -> None:
    async def go() -> None:
        async with make_client(sim, client_id="agent-h1/abcd") as c:
            await converge(c, small("clientid"), PREFIX)

    sim.control("DELETE", "audit")
    asyncio.run(go())
    items = sim.control("GET", "audit")["items"]
    assert items and all(e["clientId"] == "agent-h1/abcd" for e in items)
    assert USER_AGENT.startswith("bigip-lbaas/")


def test_missing_object_is_a_rejection_with_the_icontrol_message(sim: SimHandle) -> None:
    async def go() -> None:
        async with make_client(sim) as c:
            with pytest.raises(DeviceRejected) as info:
                await c.get(object_path("ltm/pool", "Common", "nope"))
            assert info.value.status == 404 and "was not found" in info.value.reason

    asyncio.run(go())


def test_status_collection_reports_member_monitor_results(sim: SimHandle) -> None:
    state = small("status")
    m_down = state.load_balancers[0].pools[0].members[0]

    async def go() -> None:
        async with make_client(sim) as c:
            await converge(c, state, PREFIX)
            sim.control("PUT", "members-down", {"addresses": [m_down.address]})
            try:
                st = await collect(c, state, PREFIX)
            finally:
                sim.control("DELETE", "members-down")
            lb = state.load_balancers[0]
            assert st.of(m_down.id) == "ERROR"
            assert st.of(lb.pools[0].members[1].id) == "ONLINE"
            assert st.of(lb.pools[0].id) == "DEGRADED"
            assert st.of(lb.id) == "DEGRADED"
            assert set(st.listeners) == {lb.listeners[0].id}

    asyncio.run(go())


def test_ha_validation_names_the_options() -> None:
    validate_ha("standalone", ["a"])
    validate_ha("pair", ["a", "b"])
    validate_ha("scalen", ["a", "b", "c"])
    for ha, hosts in (("standalone", ["a", "b"]), ("pair", ["a"]), ("scalen", ["a"]), ("x", ["a"])):
        with pytest.raises(ConfigError) as info:
            validate_ha(ha, hosts)
        assert "f5_ha_type" in str(info.value)


def test_autosync_warning(sim: SimHandle) -> None:
    async def go() -> list[str]:
        async with make_client(sim) as c:
            return await autosync_warnings(c)

    sim.control("POST", "autosync", {"enabled": True})
    try:
        assert any("autoSync" in w for w in asyncio.run(go()))
    finally:
        sim.control("POST", "autosync", {"enabled": False})
    assert asyncio.run(go()) == []
