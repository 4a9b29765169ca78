"""Converge against the simulator: feature matrix, idempotence, wipe, HA, failed transactions."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest

from bigip_lbaas.agent import fleet as fleet_module
from bigip_lbaas.agent.devices import BigipDevice
from bigip_lbaas.agent.fleet import Fleet
from bigip_lbaas.agent.reconcile import on_device
from bigip_lbaas.core.errors import DeviceUnreachable, LeaseLost
from bigip_lbaas.core.model import Listener, LoadBalancer, Member, PartitionState, Pool
from bigip_lbaas.core.status import Oper
from bigip_lbaas.db.leases import Held
from bigip_lbaas.device.apply import ApplyFailed, apply
from bigip_lbaas.device.client import BigipClient, object_path
from bigip_lbaas.device.converge import converge
from bigip_lbaas.device.observe import observe
from bigip_lbaas.device.status import collect, device_counters
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import DeviceConfig, Kind
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.plan import Plan
from bigip_lbaas.engine.render import render
from bigip_lbaas.sim.testing import SimHandle
from tests.integration.device.conftest import make_client, writes
from tests.integration.device.states import PREFIX, feature_matrix, key, small


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def part_of(state: PartitionState) -> str:
    return names.partition(PREFIX, state.key.project_id)


_VOLATILE = frozenset({"vsIndex", "generation", "lastModified", "selfLink", "creationTime"})


def ours(cfg: DeviceConfig) -> dict[Any, Any]:
    """Our objects (prefix or node), without per-device counters and timestamps."""
    return {
        k: {a: v for a, v in o.body.items() if a not in _VOLATILE}
        for k, o in cfg.objects.items()
        if k[1].startswith(PREFIX) or k[0] is Kind.NODE
    }


async def _converge_and_check(client: BigipClient, state: PartitionState) -> DeviceConfig:
    result = await converge(client, state, PREFIX)
    assert result.failures == ()
    observed = await observe(client, part_of(state))
    assert diff(render(state, PREFIX), observed, PREFIX).empty
    return observed


def test_feature_matrix_converges_and_second_converge_writes_nothing(sim: SimHandle) -> None:
    state = feature_matrix("matrix1")

    async def go() -> None:
        async with make_client(sim) as c:
            await _converge_and_check(c, state)
            before = writes(sim)
            again = await converge(c, state, PREFIX)
            assert again.writes == 0 and again.ops == 0
            assert writes(sim) == before
            part = part_of(state)
            pool = await c.get(
                object_path("ltm/pool", part, "Project_pool-rr"), {"expandSubcollections": "true"}
            )
            assert pool["loadBalancingMode"] == "ratio-member"
            assert pool["minActiveMembers"] == 1
            members = {m["name"]: m for m in pool["membersReference"]["items"]}
            assert members["10.1.0.1:80"]["ratio"] == 3
            assert members["10.1.0.2:80"]["session"] == "user-disabled"  # weight 0 drains
            assert members["10.1.0.4:80"]["state"] == "user-down"  # admin down
            assert members["10.1.0.3:80"]["priorityGroup"] == 0  # backup
            assert members["10.1.0.4:80"]["monitor"].strip() == f"/{part}/Project_mem-4_http"
            lc = await c.get(
                object_path("ltm/pool", part, "Project_pool-lc"), {"expandSubcollections": "true"}
            )
            assert {m["name"] for m in lc["membersReference"]["items"]} == {
                "10.1.0.1:8080",
                "2001:db8::6.8080",
            }
            vs = await c.get(
                object_path("ltm/virtual", part, "Project_lst-http"),
                {"expandSubcollections": "true"},
            )
            assert vs["connectionLimit"] == 1000
            assert vs["sourceAddressTranslation"]["type"] == "automap"
            assert vs["destination"] == f"/{part}/Project_lb-1:80"  # linked to its virtual address
            https = await c.get(object_path("ltm/virtual", part, "Project_lst-https"))
            assert https.get("disabled") is True
            tcp = await c.get(object_path("ltm/virtual", part, "Project_lst-tcp"))
            assert tcp["source"] == "10.0.0.0/8"
            va = await c.get(object_path("ltm/virtual-address", part, "Project_lb-2"))
            assert va["enabled"] in ("no", False)
            mon = await c.get(object_path("ltm/monitor/http", part, "Project_hm-http"))
            assert mon["send"].startswith("HEAD /health HTTP/1.0")
            assert "204" in mon["recv"]

    run(go())


def test_health_monitor_rise_threshold_is_time_until_up_on_the_device(sim: SimHandle) -> None:
    """max_retries (successes before ONLINE) → the monitor's timeUntilUp; the device keeps it, and
    neither value is rewritten on the next converge."""
    base = small("rise")
    lb = base.load_balancers[0]
    pool = lb.pools[0]
    monitor = pool.health_monitor
    assert monitor is not None

    def with_retries(n: int, generation: int) -> PartitionState:
        hm = replace(monitor, delay=5, max_retries=n)
        return PartitionState(
            base.key, generation, (replace(lb, pools=(replace(pool, health_monitor=hm),)),)
        )

    path = object_path("ltm/monitor/http", part_of(base), names.monitor(PREFIX, "rise-hm0"))

    async def go() -> None:
        async with make_client(sim) as c:
            for generation, (retries, until_up) in enumerate(((4, 15), (1, 0), (10, 45)), 1):
                state = with_retries(retries, generation)
                await _converge_and_check(c, state)
                assert int((await c.get(path))["timeUntilUp"]) == until_up
                again = await converge(c, state, PREFIX)
                assert again.writes == 0

    run(go())


def test_client_and_member_data_timeouts_reach_their_own_side(sim: SimHandle) -> None:
    """client 20 s / member 90 s: a clientside and a serverside TCP profile on the virtual, each
    with its own idleTimeout; equal again: one profile for both sides, the serverside one gone."""
    base = small("sides")
    lb = base.load_balancers[0]
    part = part_of(base)
    vs = object_path("ltm/virtual", part, names.virtual(PREFIX, "sides-l0"))
    client_tcp = names.tcp_profile(PREFIX, "sides-l0")
    server_tcp = names.tcp_server_profile(PREFIX, "sides-l0")

    def timeouts(client: int, member: int, generation: int) -> PartitionState:
        lst = replace(lb.listeners[0], timeout_client_data=client, timeout_member_data=member)
        return PartitionState(base.key, generation, (replace(lb, listeners=(lst,)),))

    async def sides(c: BigipClient) -> dict[str, str]:
        virtual = await c.get(vs, {"expandSubcollections": "true"})
        return {p["fullPath"]: p["context"] for p in virtual["profilesReference"]["items"]}

    async def idle(c: BigipClient, name: str) -> int:
        return int((await c.get(object_path("ltm/profile/tcp", part, name)))["idleTimeout"])

    async def go() -> None:
        async with make_client(sim) as c:
            split = timeouts(20000, 90000, 1)
            await _converge_and_check(c, split)
            assert await sides(c) == {
                f"/{part}/{client_tcp}": "clientside",
                f"/{part}/{server_tcp}": "serverside",
                "/Common/http": "all",
            }
            assert (await idle(c, client_tcp), await idle(c, server_tcp)) == (20, 90)
            assert (await converge(c, split, PREFIX)).writes == 0
            await _converge_and_check(c, timeouts(30000, 30000, 2))
            assert await sides(c) == {f"/{part}/{client_tcp}": "all", "/Common/http": "all"}
            assert await idle(c, client_tcp) == 30
            gone = object_path("ltm/profile/tcp", part, server_tcp)
            assert await c.get_optional(gone) is None

    run(go())


def test_unsupported_objects_fail_by_id_and_the_rest_is_applied(sim: SimHandle) -> None:
    base = small("unsup")
    lb = base.load_balancers[0]
    bad = LoadBalancer(
        lb.id,
        lb.vip_address,
        listeners=(
            *lb.listeners,
            Listener("lst-tls", "TERMINATED_HTTPS", 443),
            Listener("lst-prom", "PROMETHEUS", 9100),
        ),
        pools=(*lb.pools, Pool("pool-v2", "PROXYV2", "ROUND_ROBIN")),
    )
    state = PartitionState(base.key, 1, (bad,))

    async def go() -> None:
        async with make_client(sim) as c:
            result = await converge(c, state, PREFIX)
            failed = {f.object_id: f.reason for f in result.failures}
            assert set(failed) == {"lst-tls", "lst-prom", "pool-v2"}
            assert "TERMINATED_HTTPS" in failed["lst-tls"]
            observed = await observe(c, part_of(state))
            assert (Kind.VIRTUAL, "Project_unsup-l0") in observed.objects

    run(go())


def test_additional_vips_converge_and_are_removed(sim: SimHandle) -> None:
    """A dual-stack load balancer (plus one more IPv4 address): a virtual address per address and
    a virtual per listener and address on the device; nothing written the second time; removing
    the extra addresses, then a listener, removes exactly their objects."""
    extra = ("2001:db8::77", "198.51.100.77")
    pool = Pool("dual-pool", "HTTP", "ROUND_ROBIN", members=(Member("dual-m", "10.4.0.1", 80),))
    web = Listener("dual-web", "HTTP", 80, default_pool_id=pool.id)
    ssh = Listener("dual-ssh", "TCP", 22, allowed_cidrs=("10.0.0.0/8", "2001:db8::/32"))
    lb = LoadBalancer("dual-lb", "192.0.2.77", listeners=(web, ssh), pools=(pool,))
    state = PartitionState(key("dual"), 1, (replace(lb, additional_vips=extra),))
    part = part_of(state)

    async def virtuals(c: BigipClient) -> dict[str, str]:
        observed = await observe(c, part)
        return {
            n: o.body["destination"] for (k, n), o in observed.objects.items() if k is Kind.VIRTUAL
        }

    async def go() -> None:
        async with make_client(sim) as c:
            await _converge_and_check(c, state)
            assert await virtuals(c) == {
                "Project_dual-web": f"/{part}/192.0.2.77:80",
                "Project_dual-web_2001-db8--77": f"/{part}/2001:db8::77.80",
                "Project_dual-web_198.51.100.77": f"/{part}/198.51.100.77:80",
                "Project_dual-ssh": f"/{part}/192.0.2.77:22",
                "Project_dual-ssh_2001-db8--77": f"/{part}/2001:db8::77.22",
                "Project_dual-ssh_198.51.100.77": f"/{part}/198.51.100.77:22",
            }
            va6 = await c.get(
                object_path("ltm/virtual-address", part, "Project_dual-lb_2001-db8--77")
            )
            assert va6["address"] == "2001:db8::77" and va6["autoDelete"] == "false"
            vs6 = await c.get(object_path("ltm/virtual", part, "Project_dual-ssh_2001-db8--77"))
            assert vs6["source"] == "2001:db8::/32" and vs6["mask"].startswith("ffff:ffff")
            before = writes(sim)
            again = await converge(c, state, PREFIX)
            assert again.writes == 0 and again.ops == 0 and writes(sim) == before
            status = await collect(c, state, PREFIX)
            assert status.of("dual-web") is Oper.ONLINE and status.of("dual-ssh") is Oper.ONLINE

            # The extra addresses go (and then a listener): their objects go, nothing else.
            fewer = PartitionState(state.key, 2, (replace(lb, additional_vips=extra[:1]),))
            await _converge_and_check(c, fewer)
            assert set(await virtuals(c)) == {
                "Project_dual-web",
                "Project_dual-web_2001-db8--77",
                "Project_dual-ssh",
                "Project_dual-ssh_2001-db8--77",
            }
            gone = object_path("ltm/virtual-address", part, "Project_dual-lb_198.51.100.77")
            assert await c.get_optional(gone) is None
            one = PartitionState(
                state.key, 3, (replace(lb, listeners=(web,), additional_vips=extra[:1]),)
            )
            await _converge_and_check(c, one)
            assert set(await virtuals(c)) == {"Project_dual-web", "Project_dual-web_2001-db8--77"}
            await converge(c, PartitionState(state.key, 4, ()), PREFIX)
            assert await c.get_optional(object_path("sys/folder", None, part)) is None

    run(go())


def test_incremental_changes_and_orphan_cleanup(sim: SimHandle) -> None:
    state = small("incr", n_lbs=2)

    async def go() -> None:
        async with make_client(sim) as c:
            await _converge_and_check(c, state)
            lb0, _lb1 = state.load_balancers
            pool = lb0.pools[0]
            changed_pool = Pool(
                pool.id,
                pool.protocol,
                "LEAST_CONNECTIONS",
                members=(pool.members[0], Member("incr-new", "10.3.0.9", 81, weight=5)),
                health_monitor=None,
            )
            lb0b = LoadBalancer(
                lb0.id, lb0.vip_address, listeners=lb0.listeners, pools=(changed_pool,)
            )
            state2 = PartitionState(state.key, 2, (lb0b,))  # lb1 deleted, member swapped, hm gone
            observed = await _converge_and_check(c, state2)
            gone = pool.members[1].address
            assert (Kind.NODE, gone) not in observed.objects  # unused node removed
            assert (Kind.VIRTUAL_ADDRESS, "Project_incr-lb1") not in observed.objects
            assert (Kind.MONITOR_HTTP, "Project_incr-hm0") not in observed.objects
            # nothing left: the partition itself goes
            await converge(c, PartitionState(state.key, 3, ()), PREFIX)
            assert await c.get_optional(object_path("sys/folder", None, part_of(state))) is None

    run(go())


def test_foreign_objects_in_the_partition_are_left_alone(sim: SimHandle) -> None:
    state = small("foreign")
    part = part_of(state)

    async def go() -> None:
        async with make_client(sim) as c:
            await _converge_and_check(c, state)
            await c.request(
                "POST", "/mgmt/tm/ltm/pool", json={"name": "operator_pool", "partition": part}
            )
            await converge(c, PartitionState(state.key, 2, ()), PREFIX)
            assert await c.get_optional(object_path("ltm/pool", part, "operator_pool")) is not None
            assert (
                await c.get_optional(object_path("ltm/pool", part, "Project_foreign-pool0")) is None
            )
            await c.request("DELETE", object_path("ltm/pool", part, "operator_pool"))
            await converge(c, PartitionState(state.key, 3, ()), PREFIX)
            assert await c.get_optional(object_path("sys/folder", None, part)) is None

    run(go())


def test_operator_node_and_virtual_address_in_the_partition_survive(sim: SimHandle) -> None:
    """Named by an address is not ours: an operator's node that none of our pools uses and a
    virtual address of theirs (autoDelete false) outlive our objects; our own nodes still go."""
    state = small("opaddr")
    part = part_of(state)
    node = object_path("ltm/node", part, "10.5.5.5")
    vaddr = object_path("ltm/virtual-address", part, "10.6.6.6")

    async def go() -> None:
        async with make_client(sim) as c:
            await _converge_and_check(c, state)
            await c.request(
                "POST",
                "/mgmt/tm/ltm/node",
                json={"name": "10.5.5.5", "partition": part, "address": "10.5.5.5"},
            )
            await c.request(
                "POST",
                "/mgmt/tm/ltm/virtual-address",
                json={
                    "name": "10.6.6.6",
                    "partition": part,
                    "address": "10.6.6.6",
                    "autoDelete": "false",
                },
            )
            lb = state.load_balancers[0]
            pool = lb.pools[0]
            gone = pool.members[1].address
            fewer = replace(lb, pools=(replace(pool, members=pool.members[:1]),))
            observed = await _converge_and_check(c, PartitionState(state.key, 2, (fewer,)))
            assert (Kind.NODE, gone) not in observed.objects  # ours: removed with its member
            assert await c.get_optional(node) is not None
            assert await c.get_optional(vaddr) is not None
            await converge(c, PartitionState(state.key, 3, ()), PREFIX)
            observed = await observe(c, part)
            assert set(observed.objects) == {
                (Kind.FOLDER, part),
                (Kind.NODE, "10.5.5.5"),
                (Kind.VIRTUAL_ADDRESS, "10.6.6.6"),
            }
            await c.request("DELETE", node)
            await c.request("DELETE", vaddr)
            await converge(c, PartitionState(state.key, 4, ()), PREFIX)
            assert await c.get_optional(object_path("sys/folder", None, part)) is None

    run(go())


def test_wipe_then_converge_restores_exactly(sim: SimHandle) -> None:
    state = feature_matrix("wipe1")

    async def go() -> None:
        async with make_client(sim, device=2) as c:
            before = await _converge_and_check(c, state)
            sim.control("POST", "wipe", device=2)
            assert (await observe(c, part_of(state))).objects == {}
            await _converge_and_check(c, state)
            after = await observe(c, part_of(state))
            assert ours(after) == ours(before)

    run(go())


def test_failed_transaction_leaves_no_partial_state(sim: SimHandle) -> None:
    state = small("txfail")
    part = part_of(state)

    async def go() -> None:
        async with make_client(sim, device=3) as c:
            # A node of the operator's with the address a member needs, under another name: the
            # pool member create fails inside the transaction (BIG-IP rule 0107003a).
            await c.request("POST", "/mgmt/tm/sys/folder", json={"name": part, "partition": "/"})
            addr = state.load_balancers[0].pools[0].members[0].address
            await c.request(
                "POST",
                "/mgmt/tm/ltm/node",
                json={"name": "web1", "partition": part, "address": addr},
            )
            before = await observe(c, part)
            plan = diff(render(state, PREFIX), before, PREFIX)
            assert len(plan) > 3
            with pytest.raises(ApplyFailed) as info:
                await apply(c, plan)
            assert info.value.culprit is not None and info.value.culprit.owner == "txfail-pool0"
            assert ours(await observe(c, part)) == ours(before)
            # converge reports the pool (and what depends on it) and applies the rest
            result = await converge(c, state, PREFIX)
            assert "txfail-pool0" in {f.object_id for f in result.failures}
            observed = await observe(c, part)
            assert (Kind.VIRTUAL_ADDRESS, "Project_txfail-lb0") in observed.objects
            assert (Kind.POOL, "Project_txfail-pool0") not in observed.objects

    run(go())


def test_a_rejected_transaction_leaves_no_new_empty_partition(sim: SimHandle) -> None:
    """The folder of a new partition is created before the transaction; when the device rejects
    the transaction, the folder goes again. Converge then applies the rest, in a new folder."""
    taken = small("clash-a")
    state = small("clash-b")
    part = part_of(state)
    folder = object_path("sys/folder", None, part)
    lb = state.load_balancers[0]
    pool = lb.pools[0]
    # A member on an address another partition's node already has: rejected (0107003a).
    address = taken.load_balancers[0].pools[0].members[0].address
    clash = replace(lb, pools=(replace(pool, members=(replace(pool.members[0], address=address),)),))
    clashing = PartitionState(state.key, 1, (clash,))

    async def go() -> None:
        async with make_client(sim) as c:
            await _converge_and_check(c, taken)
            plan = diff(render(clashing, PREFIX), await observe(c, part), PREFIX)
            assert plan.ops[0].kind is Kind.FOLDER
            with pytest.raises(ApplyFailed) as info:
                await apply(c, plan)
            assert info.value.culprit is not None and info.value.culprit.owner == pool.id
            assert await c.get_optional(folder) is None
            # converge: the pool (and its listener) fail, the rest needs the folder
            result = await converge(c, clashing, PREFIX)
            assert pool.id in {f.object_id for f in result.failures}
            observed = await observe(c, part)
            assert (Kind.VIRTUAL_ADDRESS, names.virtual_address(PREFIX, lb.id)) in observed.objects
            await converge(c, PartitionState(state.key, 2, ()), PREFIX)
            assert await c.get_optional(folder) is None

    run(go())


def test_guard_is_called_before_every_write(sim: SimHandle) -> None:
    state = small("guard")

    def fenced() -> None:
        raise LeaseLost("guard", 7)

    async def go() -> None:
        async with make_client(sim) as c:
            await c.get("/mgmt/tm/sys/version")  # log in first: the login POST is not a write
            before = writes(sim)
            with pytest.raises(LeaseLost):
                await converge(c, state, PREFIX, fenced)
            assert writes(sim) == before

    run(go())


async def _one_write_plan(c: BigipClient, state: PartitionState) -> Plan:
    """A plan of a single request (the partition's folder), so no guard check follows it."""
    plan = diff(render(state, PREFIX), await observe(c, part_of(state)), PREFIX)
    return Plan(plan.partition, plan.ops[:1])


def test_a_write_still_in_flight_when_the_lease_runs_out_is_cancelled(sim: SimHandle) -> None:
    state = small("lapse")

    async def go() -> None:
        async with make_client(sim) as c:
            plan = await _one_write_plan(c, state)
            sim.control("PATCH", "faults", {"latencyMs": 2000})  # the device answers late
            until = time.monotonic() + 0.3

            def lease() -> float:
                if time.monotonic() >= until:
                    raise LeaseLost("lapse", 3)
                return until

            with pytest.raises(LeaseLost):
                await apply(c, plan, lease)

    run(go())


def test_a_write_outlives_its_first_deadline_while_the_lease_is_renewed(sim: SimHandle) -> None:
    state = small("renewed")

    async def go() -> None:
        async with make_client(sim) as c:
            plan = await _one_write_plan(c, state)
            sim.control("PATCH", "faults", {"latencyMs": 1000})
            calls = 0

            def lease() -> float:  # renewed all the time: always good for another 0.2 s
                nonlocal calls
                calls += 1
                return time.monotonic() + 0.2

            assert await apply(c, plan, lease) == 1
            assert calls > 1  # the deadline was looked at again, and moved

    run(go())


def gets(sim: SimHandle) -> int:
    return int(sim.control("GET", "counters")["methods"].get("GET", 0))


def test_a_status_pass_reads_the_device_stats_once(sim: SimHandle) -> None:
    one, two = small("pass1", n_lbs=2), small("pass2", n_lbs=1)

    async def go() -> None:
        async with make_client(sim) as c:
            for state in (one, two):
                await _converge_and_check(c, state)
            alone = [await collect(c, state, PREFIX) for state in (one, two)]
            stats = await device_counters(c)
            before = gets(sim)
            shared = [await collect(c, state, PREFIX, stats) for state in (one, two)]
            assert gets(sim) - before == 2  # each partition's pools; no stats GET
            assert [s.operating for s in shared] == [s.operating for s in alone]
            assert {lid for s in shared for lid in s.listeners} == \
                {lid for s in alone for lid in s.listeners}
            # A virtual the pass's read does not have (made since) is read afresh, not ERROR.
            before = gets(sim)
            late = await collect(c, two, PREFIX, {})
            assert gets(sim) - before == 2
            assert late.operating == alone[1].operating

    run(go())


@pytest.mark.parametrize("devices", [2, 3], ids=["pair", "scalen"])
def test_one_device_down_does_not_block_others_and_catches_up(sim: SimHandle, devices: int) -> None:
    state = small(f"ha{devices}", n_lbs=2)

    async def go() -> None:
        clients = [make_client(sim, device=n) for n in range(1, devices + 1)]
        try:
            sim.control("POST", "down", {"mode": "refuse"}, device=devices)
            results = await asyncio.gather(
                *(converge(c, state, PREFIX) for c in clients),
                return_exceptions=True,
            )
            assert isinstance(results[-1], DeviceUnreachable)
            assert all(not isinstance(r, BaseException) and r.ok for r in results[:-1]), results
            sim.control("POST", "up", device=devices)
            await _converge_and_check(clients[-1], state)
            snapshots = [ours(await observe(c, part_of(state))) for c in clients]
            for s in snapshots[1:]:
                assert {k: v for k, v in s.items() if snapshots[0].get(k) != v} == {}
        finally:
            for c in clients:
                await c.aclose()

    run(go())


async def _gets_of_converge(
    fleet: Fleet, device: BigipDevice, state: PartitionState, held: Held, *, full: bool = False
) -> int:
    """GETs one device's part of a reconcile sends (0: what it held was remembered)."""
    before = device.client.counter.by_method["GET"]
    result = await on_device(fleet, device, held, render(state, PREFIX), lambda: 0.0, full)
    assert result.ok, result
    return device.client.counter.by_method["GET"] - before


def test_known_state_skips_reads_and_is_dropped_when_the_device_is_unreachable(
    sim: SimHandle,
) -> None:
    state = small("cache")
    at5, at6 = Held(1, state.key, 5), Held(1, state.key, 6)

    async def go() -> None:
        async with make_client(sim) as c:
            device = BigipDevice(c, PREFIX)
            fleet = Fleet([device])
            await _gets_of_converge(fleet, device, state, at5)
            writes = c.counter.writes
            assert await _gets_of_converge(fleet, device, state, at5) == 0  # remembered
            assert c.counter.writes == writes
            assert await _gets_of_converge(fleet, device, state, at6) > 0  # new epoch: re-read
            # A full read (take-over, anti-entropy) reads the device, and what it read is
            # remembered under the epoch for the next converge.
            assert await _gets_of_converge(fleet, device, state, at6, full=True) > 0
            assert await _gets_of_converge(fleet, device, state, at6) == 0
            sim.control("POST", "down", {"mode": "refuse"}, device=1, via=2)
            assert await fleet.probe(device, dict) == set()  # the probe finds it unreachable
            sim.control("POST", "up", device=1, via=2)
            assert await _gets_of_converge(fleet, device, state, at6) > 0

    run(go())


def test_known_state_is_remembered_for_the_most_recent_partitions_only(
    sim: SimHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo is bounded (MEMO_PARTITIONS): the oldest partition is forgotten and read
    afresh; the newest are still served from the memo."""
    monkeypatch.setattr(fleet_module, "MEMO_PARTITIONS", 2)
    states = [small(f"lru{i}") for i in range(3)]
    held = [Held(i, st.key, 1) for i, st in enumerate(states)]

    async def go() -> None:
        async with make_client(sim) as c:
            device = BigipDevice(c, PREFIX)
            fleet = Fleet([device])
            for st, h in zip(states, held, strict=True):
                await _gets_of_converge(fleet, device, st, h)
            assert fleet.remembered(device.name) == 2
            assert await _gets_of_converge(fleet, device, states[2], held[2]) == 0
            assert await _gets_of_converge(fleet, device, states[0], held[0]) > 0
            # Remembering states[0] again pushed out the oldest, states[1].
            assert await _gets_of_converge(fleet, device, states[0], held[0]) == 0
            assert await _gets_of_converge(fleet, device, states[1], held[1]) > 0

    run(go())


def test_key_helper() -> None:
    assert str(key("x")) == "test/x"
