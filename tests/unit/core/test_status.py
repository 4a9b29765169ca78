"""The status tables: which provisioning status allows which change (Octavia's rule)."""

from __future__ import annotations

import pytest

from bigip_lbaas.core.status import (
    ONLINE_WHEN_ENABLED,
    Oper,
    Prov,
    is_pending,
    may_change,
    may_fail_over,
    operating_at_active,
)

# status -> (may be updated / get a child, may be deleted, may be failed over)
TABLE = {
    Prov.ACTIVE: (True, True, True),
    Prov.ERROR: (False, True, True),
    Prov.PENDING_CREATE: (False, False, False),
    Prov.PENDING_UPDATE: (False, False, False),
    Prov.PENDING_DELETE: (False, False, False),
    Prov.DELETED: (False, False, False),
}


def test_the_table_covers_every_status() -> None:
    assert set(TABLE) == set(Prov)


@pytest.mark.parametrize("status", list(Prov))
def test_update_needs_mutable_delete_needs_deletable(status: Prov) -> None:
    update, delete, failover = TABLE[status]
    assert may_change(status, deleting=False) is update
    assert may_change(status.value, deleting=True) is delete
    assert may_fail_over(status) is failover
    assert is_pending(status) is status.value.startswith("PENDING_")


def test_an_unknown_status_is_refused_loudly() -> None:
    with pytest.raises(ValueError):
        may_change("BOGUS", deleting=True)


@pytest.mark.parametrize("kind", sorted(ONLINE_WHEN_ENABLED))
def test_device_independent_objects_are_online_when_enabled_at_active(kind: str) -> None:
    assert operating_at_active(kind, enabled=True) is Oper.ONLINE
    assert operating_at_active(kind, enabled=False) is Oper.OFFLINE


def test_a_pool_is_offline_at_active_without_a_listener_or_when_disabled() -> None:
    assert operating_at_active("pool", enabled=True, in_use=False) is Oper.OFFLINE
    assert operating_at_active("pool", enabled=False, in_use=True) is Oper.OFFLINE
    assert operating_at_active("pool", enabled=True, in_use=True) is None  # the device's
    assert operating_at_active("member", enabled=True) is None


def test_a_disabled_member_is_offline_at_active() -> None:
    assert operating_at_active("member", enabled=False) is Oper.OFFLINE
