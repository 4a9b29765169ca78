"""Device requests in L2/L3 mode (``f5_global_routed_mode = False``) against global routed mode:
the first load balancer of a project on a new VLAN network (networking + graph: VLAN, route
domain, partition default, self IPs, route, SNAT translations and pool, then the graph), and a
second load balancer on the same network.

Runs a simulated pair in-process on loopback and converges each device with its own view
(``Rendered.for_device``) as the agent does. "first": a new partition, so the observe is one
folder GET. "second": both as in steady state (the owner remembers what the device holds: no
observe reads) and with a full read. Counts every request the device client sends for device
bigip1 (the other device's numbers are the same) and prints one JSON document. Bounded: a
handful of converges.

    python bench/l2l3_bench.py
"""

from __future__ import annotations

import asyncio
import json
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bigip_lbaas.core.model import (
    HealthMonitor,
    Listener,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
)
from bigip_lbaas.core.network import NetworkSettings, PartitionNetwork, Segment, SubnetPlan
from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.converge import converge
from bigip_lbaas.engine.config import DeviceConfig
from bigip_lbaas.engine.render import render
from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread

PREFIX = "Project"
DEVICES = ("bigip1", "bigip2")
SETTINGS = NetworkSettings(global_routed_mode=False, snat_addresses_per_subnet=1)


def lb(n: int, subnet: str | None) -> LoadBalancer:
    pool = Pool(f"pool-{n}", "HTTP", "ROUND_ROBIN",
                members=(Member(f"m-{n}a", "10.0.0.5", 80, subnet_id=subnet),
                         Member(f"m-{n}b", "10.0.0.6", 80, subnet_id=subnet)),
                health_monitor=HealthMonitor(f"hm-{n}", "HTTP", 5, 3, 3))
    return LoadBalancer(f"lb-{n}", f"10.0.0.{10 + n}",
                        listeners=(Listener(f"lst-{n}", "HTTP", 80, default_pool_id=pool.id),),
                        pools=(pool,), vip_subnet_id=subnet, vip_network_id="net" if subnet
                        else None)


def network(rd: int) -> PartitionNetwork:
    return PartitionNetwork(
        route_domains=(rd,),
        segments=(Segment("net", "vlan", "physnet1", 100 + rd),),
        subnets=(SubnetPlan("sub", "net", "10.0.0.0/24", gateway_ip="10.0.0.1", route_domain=rd,
                            self_ips={"bigip1": "10.0.0.2", "bigip2": "10.0.0.3"},
                            floating_ip="10.0.0.4", snat_addresses=("10.0.0.200",)),))


async def scenario(sim: SimHandle, project: str, l2l3: bool, rd: int) -> dict[str, Any]:
    key = PartitionKey("bench", project)
    subnet = "sub" if l2l3 else None
    net = network(rd) if l2l3 else None

    def rendered(n: int) -> Any:
        state = PartitionState(key, n, tuple(lb(i, subnet) for i in range(1, n + 1)))
        return render(state, PREFIX, network=net, settings=SETTINGS, devices=DEVICES)

    out: dict[str, Any] = {}
    clients = [BigipClient("127.0.0.1", sim.username, sim.password, port=sim.ports[i],
                           verify=str(sim.ca_file)) for i in (0, 1)]
    known: list[DeviceConfig | None] = [None, None]
    try:
        for c in clients:
            await c.__aenter__()

        async def step(name: str, n: int, remembered: bool) -> None:
            before = dict(clients[0].counter.by_method)
            writes = []
            for i, (c, dev) in enumerate(zip(clients, DEVICES, strict=True)):
                result = await converge(c, rendered(n).for_device(dev), PREFIX,
                                        known=known[i] if remembered else None)
                assert result.ok, result
                known[i] = result.observed
                writes.append(result.writes)
            now = dict(clients[0].counter.by_method)
            spent = {k: now.get(k, 0) - before.get(k, 0) for k in now
                     if now.get(k, 0) - before.get(k, 0)}
            out[name] = {"requests": sum(spent.values()), "by_method": spent,
                         "writes": writes[0]}

        await step("first_lb", 1, remembered=False)
        await step("second_lb_remembered", 2, remembered=True)
        await step("no_change_full_read", 2, remembered=False)
        known[:] = [None, None]
        empty = PartitionState(key, 9, ())
        for c, dev in zip(clients, DEVICES, strict=True):
            gone = await converge(c, render(empty, PREFIX, network=PartitionNetwork()
                                            if l2l3 else None, settings=SETTINGS,
                                            devices=DEVICES).for_device(dev), PREFIX)
            assert gone.ok, gone
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)
    return out


async def second_full_read(sim: SimHandle, project: str, l2l3: bool, rd: int) -> dict[str, Any]:
    """The second load balancer converged with a full observe (no remembered state)."""
    key = PartitionKey("bench", project)
    subnet = "sub" if l2l3 else None
    net = network(rd) if l2l3 else None
    async with BigipClient("127.0.0.1", sim.username, sim.password, port=sim.ports[0],
                           verify=str(sim.ca_file)) as c:
        first = render(PartitionState(key, 1, (lb(1, subnet),)), PREFIX, network=net,
                       settings=SETTINGS, devices=DEVICES)
        assert (await converge(c, first.for_device("bigip1"), PREFIX)).ok
        before = dict(c.counter.by_method)
        second = render(PartitionState(key, 2, (lb(1, subnet), lb(2, subnet))), PREFIX,
                        network=net, settings=SETTINGS, devices=DEVICES)
        result = await converge(c, second.for_device("bigip1"), PREFIX)
        assert result.ok, result
        now = dict(c.counter.by_method)
        spent = {k: now.get(k, 0) - before.get(k, 0) for k in now
                 if now.get(k, 0) - before.get(k, 0)}
        await converge(c, render(PartitionState(key, 9, ()), PREFIX,
                                 network=PartitionNetwork() if l2l3 else None,
                                 settings=SETTINGS, devices=DEVICES).for_device("bigip1"), PREFIX)
    return {"requests": sum(spent.values()), "by_method": spent, "writes": result.writes}


async def main() -> dict[str, Any]:
    with run_sim_in_thread(devices=2) as sim:
        routed = await scenario(sim, "routed", False, 0)
        l2l3 = await scenario(sim, "l2l3", True, 2)
        routed["second_lb_full_read"] = await second_full_read(sim, "routed2", False, 0)
        l2l3["second_lb_full_read"] = await second_full_read(sim, "l2l32", True, 3)
    return {
        "benchmark": "l2l3_device_requests",
        "graph": "one load balancer: an HTTP listener, a pool with an HTTP monitor and two "
                 "members; L2/L3: a new VLAN network, one subnet, a pair (bigip1 counted)",
        "targets": {"first_lb_requests_max": 30,
                    "second_lb_requests_max": "routed mode's (remembered and full read)"},
        "python": platform.python_version(),
        "routed": routed,
        "l2l3": l2l3,
        "met": {
            "first_lb": l2l3["first_lb"]["requests"] <= 30,
            "second_lb_remembered": l2l3["second_lb_remembered"]["requests"]
            <= routed["second_lb_remembered"]["requests"],
            "second_lb_full_read": l2l3["second_lb_full_read"]["requests"]
            <= routed["second_lb_full_read"]["requests"],
        },
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
