"""Give back a partition's networking once every device has removed it: the ports booked for
subnets the partition no longer uses (from the network source, by name), then their bindings
and any route domain no binding uses (``db.networking.release``).

Ports first: a crash between the two only repeats the deletes (gone already is fine). Blocking
(the agent runs it in a thread); never talks to a device.
"""

from __future__ import annotations

from collections.abc import Iterable

from bigip_lbaas.db import networking
from bigip_lbaas.db.session import Database
from bigip_lbaas.network.source import NetworkSource


def release(db: Database, source: NetworkSource, partition_id: int,
            keep: Iterable[str]) -> networking.Released:
    keep = set(keep)
    unused = networking.unused(db, partition_id, keep)
    if not unused.subnets:
        return unused
    if unused.ports:
        source.delete_ports(list(unused.ports))
    return networking.release(db, partition_id, keep)
