"""PostgreSQL LISTEN/NOTIFY wakes an agent when the API commits a change (and not before)."""

from __future__ import annotations

import asyncio

import pytest

from bigip_lbaas.agent.wakeup import ChangeNotifications
from bigip_lbaas.db import partitions
from bigip_lbaas.db.session import Database


# LISTEN/NOTIFY is PostgreSQL's; on SQLite and MariaDB agents rely on the short poll.
@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_commit_of_a_change_wakes_listeners(db: Database) -> None:
    with db.transaction() as s:
        pid = partitions.ensure_partition(s, "Project", "p1")

    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        listener = ChangeNotifications(db.url, asyncio.get_running_loop(), event)
        listener.start()
        try:
            await asyncio.sleep(1.0)  # let it connect and LISTEN
            with db.transaction() as s:
                partitions.mark_changed(s, pid)
                await asyncio.sleep(0.5)
                early = event.is_set()  # NOTIFY is delivered at commit, never before
            try:
                await asyncio.wait_for(event.wait(), timeout=10)
            except TimeoutError:
                return early, False
            return early, True
        finally:
            await asyncio.to_thread(listener.stop)

    early, woken = asyncio.run(scenario())
    assert not early
    assert woken
