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
        async with make_client(sim, token_auth=False) as c:
            assert "items" in await c.get("/mgmt/tm/sys/folder") or True
        bad = make_client(sim)
        bad._password = "wrong"
        with pytest.raises(DeviceRejected) as info:
            await bad.get("/mgmt/tm/sys/version")
        assert info.value.status == 401 and "wrong" not in str(info.value)
        await bad.aclose()

    asyncio.run(go())


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
