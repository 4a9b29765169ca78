"""Which op a device error message blames."""

from __future__ import annotations

from bigip_lbaas.device.apply import find_culprit
from bigip_lbaas.engine.config import Kind
from bigip_lbaas.engine.plan import Action, Op, Plan

PART = "Project_new"
PLAN = Plan(
    PART,
    (
        Op(Action.CREATE, Kind.FOLDER, PART, {}),
        Op(Action.CREATE, Kind.VIRTUAL_ADDRESS, "Project_lb1", {}, "lb1"),
        Op(
            Action.CREATE,
            Kind.POOL,
            "Project_pool1",
            {"members": [{"name": "10.0.0.1:80", "address": "10.0.0.1"}]},
            "pool1",
        ),
    ),
)


def test_a_member_node_clash_in_a_new_partition_blames_the_pool_not_the_folder() -> None:
    message = (
        "transaction failed:0107003a:3: Pool member node (/Project_new/10.0.0.1) and existing "
        "node (/Project_old/10.0.0.1) cannot use the same IP Address (10.0.0.1)."
    )
    culprit = find_culprit(PLAN, message)
    assert culprit is not None and culprit.owner == "pool1"


def test_the_longest_object_name_mentioned_is_blamed() -> None:
    culprit = find_culprit(PLAN, "01020036:3: The requested (/Project_new/Project_lb1) is bad")
    assert culprit is not None and culprit.owner == "lb1"


def test_a_message_naming_only_the_folder_blames_nothing() -> None:
    assert find_culprit(PLAN, "01070734:3: folder /Project_new is odd") is None
