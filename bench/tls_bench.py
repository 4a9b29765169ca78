"""Device requests a TLS listener costs: its create (a default and two SNI certificates, client
authentication MANDATORY with a CA, with and without a CRL, with and without an intermediate in
each bundle), a reconcile where nothing changed, and a certificate rotation.

Runs the simulator in-process on loopback and converges as the agent does in steady state: the
load balancer and its plaintext pool already on the device, the owner remembering what the device
holds (so no observe reads). Counts every request the device client sends (uploads included) and
prints one JSON document. Bounded: a handful of converges.

    python bench/tls_bench.py
"""

from __future__ import annotations

import asyncio
import json
import platform
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bigip_lbaas.core.model import (
    Listener,
    ListenerTls,
    LoadBalancer,
    Member,
    PartitionKey,
    PartitionState,
    Pool,
)
from bigip_lbaas.device.client import BigipClient
from bigip_lbaas.device.converge import converge
from bigip_lbaas.engine.render import render
from bigip_lbaas.engine.tls import KeyPair, Secrets
from bigip_lbaas.sim.testing import SimHandle, run_sim_in_thread
from tests.pki import Pki

PREFIX = "Project"
REF = "https://127.0.0.1/key-manager/v1/secrets/00000000-0000-4000-8000-{:012d}"


def secrets(pki: Pki, intermediates: bool) -> Secrets:
    pairs = {}
    for n, host in ((1, "www.example.com"), (2, "a.example.com"), (3, "b.example.com"),
                    (4, "new.example.com")):
        cert, key = pki.key_pair(host)
        pairs[REF.format(n)] = KeyPair(cert, key, (pki.ca_pem,) if intermediates else ())
    return Secrets(pairs, {REF.format(90): pki.ca_pem}, {REF.format(91): pki.crl_pem()})


def partition(project: str, listener: Listener | None) -> PartitionState:
    pool = Pool("pool", "HTTP", "ROUND_ROBIN", members=(Member("m", "10.9.0.10", 80),))
    listeners = (listener,) if listener else ()
    lb = LoadBalancer("lb", "10.9.0.5", listeners=listeners, pools=(pool,))
    return PartitionState(PartitionKey("bench", project), 1, (lb,))


def tls_listener(default: int, crl: bool) -> Listener:
    return Listener("lst", "TERMINATED_HTTPS", 443, default_pool_id="pool", tls=ListenerTls(
        default_ref=REF.format(default), sni_refs=(REF.format(2), REF.format(3)),
        client_authentication="MANDATORY", client_ca_ref=REF.format(90),
        client_crl_ref=REF.format(91) if crl else None, versions=("TLSv1.2", "TLSv1.3")))


async def scenario(sim: SimHandle, project: str, *, crl: bool, intermediates: bool) -> dict[str, Any]:
    s = secrets(Pki(), intermediates)
    async with BigipClient("127.0.0.1", sim.username, sim.password, port=sim.ports[0],
                           verify=str(sim.ca_file)) as c:
        base = await converge(c, render(partition(project, None), PREFIX), PREFIX)
        assert base.ok and base.observed is not None

        def count() -> dict[str, int]:
            return dict(c.counter.by_method)

        def spent(before: dict[str, int]) -> dict[str, int]:
            now = count()
            return {k: now.get(k, 0) - before.get(k, 0) for k in now if now.get(k, 0)
                    - before.get(k, 0)}

        state = partition(project, tls_listener(1, crl))
        before = count()
        created = await converge(c, render(state, PREFIX, secrets=s), PREFIX,
                                 known=base.observed)
        assert created.ok, created
        create = spent(before)

        before = count()
        same = await converge(c, render(state, PREFIX, secrets=s), PREFIX,
                              known=created.observed)
        assert same.ok and same.writes == 0
        unchanged = spent(before)

        before = count()
        reread = await converge(c, render(state, PREFIX, secrets=s), PREFIX)
        assert reread.ok and reread.writes == 0
        unchanged_full = spent(before)

        rotated_state = replace(state, load_balancers=(replace(
            state.load_balancers[0], listeners=(tls_listener(4, crl),)),))
        before = count()
        rotated = await converge(c, render(rotated_state, PREFIX, secrets=s), PREFIX,
                                 known=reread.observed)
        assert rotated.ok, rotated
        rotation = spent(before)
        await converge(c, render(PartitionState(state.key, 9, ()), PREFIX), PREFIX)
    return {
        "crl": crl,
        "intermediates": intermediates,
        "create": {"requests": sum(create.values()), "by_method": create,
                   "writes": created.writes},
        "no_change_remembered": {"requests": sum(unchanged.values()), "writes": same.writes},
        "no_change_full_read": {"requests": sum(unchanged_full.values()),
                                "writes": reread.writes},
        "rotation": {"requests": sum(rotation.values()), "by_method": rotation,
                     "writes": rotated.writes},
    }


async def main() -> dict[str, Any]:
    with run_sim_in_thread(devices=1) as sim:
        runs = []
        for i, (crl, inter) in enumerate(((False, False), (True, False), (True, True))):
            runs.append(await scenario(sim, f"tls{i}", crl=crl, intermediates=inter))
    return {
        "benchmark": "tls_listener_device_requests",
        "listener": "TERMINATED_HTTPS, default + 2 SNI certificates, client authentication "
                    "MANDATORY with a CA; the load balancer and pool already on the device",
        "targets": {"create_requests_max": 20, "no_change_writes": 0},
        "python": platform.python_version(),
        "runs": runs,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
