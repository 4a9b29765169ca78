"""normalize reads a device's own forms as render writes them: a virtual whose destination names
the virtual address it is linked to (``/P/Project_<lb>:80``) compares equal to the rendered
``/P/<address>:80``, so a fresh read of a device changes nothing; a virtual address a virtual
(ours or not) is linked to is never deleted from under it."""

from __future__ import annotations

from typing import Any

from bigip_lbaas.core.model import Listener, LoadBalancer, PartitionState
from bigip_lbaas.engine import names
from bigip_lbaas.engine.config import Kind
from bigip_lbaas.engine.diff import diff
from bigip_lbaas.engine.normalize import destination, observed_config
from bigip_lbaas.engine.plan import Action
from bigip_lbaas.engine.render import render
from tests.unit.engine.strategies import KEY

PREFIX = "Project"
PART = names.partition(PREFIX, KEY.project_id)
V6 = "2001:db8::77"


def test_destination_naming_a_virtual_address_reads_as_its_address() -> None:
    addresses = {f"/{PART}/Project_lb": "192.0.2.10", f"/{PART}/Project_lb_v6": V6}
    assert destination(f"/{PART}/Project_lb:80", addresses) == f"/{PART}/192.0.2.10:80"
    assert destination(f"/{PART}/Project_lb_v6:443", addresses) == f"/{PART}/{V6}.443"
    # already an address, or a name that is no virtual address of the partition: unchanged
    for dest in (f"/{PART}/192.0.2.10:80", f"/{PART}/{V6}.80", f"/{PART}/other:80"):
        assert destination(dest, addresses) == dest


def _device_form(state: PartitionState) -> dict[Kind, list[dict[str, Any]]]:
    """The rendered objects as a device lists them, each virtual linked to the virtual address
    of its address (the destination names it) and the virtual address's flags as words."""
    rendered = render(state, PREFIX).config
    by_address = {
        o.body["address"]: o.name for o in rendered.of_kind(Kind.VIRTUAL_ADDRESS)
    }
    out: dict[Kind, list[dict[str, Any]]] = {}
    for o in rendered.objects.values():
        if o.kind is Kind.FOLDER:
            continue
        raw = {"name": o.name, "partition": PART, **o.body}
        if o.kind is Kind.VIRTUAL:
            head, port = o.body["destination"].rsplit("." if o.body["destination"].count(":") > 1
                                                      else ":", 1)
            raw["destination"] = f"/{PART}/{by_address[head.rsplit('/', 1)[1]]}:{port}"
        out.setdefault(o.kind, []).append(raw)
    return out


def _state(*listeners: Listener) -> PartitionState:
    lb = LoadBalancer("lb", "192.0.2.10", additional_vips=(V6,), listeners=listeners)
    return PartitionState(KEY, 1, (lb,))


def test_a_device_that_links_virtuals_to_virtual_addresses_gets_no_write() -> None:
    state = _state(Listener("l1", "TCP", 80), Listener("l2", "HTTP", 8080))
    observed = observed_config(PART, _device_form(state), folder_exists=True)
    assert diff(render(state, PREFIX), observed, PREFIX).empty


def test_a_linked_virtual_address_is_kept_while_a_foreign_virtual_uses_it() -> None:
    """The load balancer goes, but an operator's virtual (not ours) is linked to its virtual
    address: the virtual address stays (the device would refuse to delete it)."""
    collections = _device_form(_state(Listener("l1", "TCP", 80)))
    collections[Kind.VIRTUAL].append(
        {"name": "operator_vs", "partition": PART, "destination": f"/{PART}/Project_lb:22"}
    )
    observed = observed_config(PART, collections, folder_exists=True)
    plan = diff(render(PartitionState(KEY, 2), PREFIX), observed, PREFIX)
    deleted = {(op.kind, op.name) for op in plan.ops if op.action is Action.DELETE}
    assert (Kind.VIRTUAL, "Project_l1") in deleted
    assert (Kind.VIRTUAL_ADDRESS, "Project_lb") not in deleted
    assert (Kind.VIRTUAL_ADDRESS, names.additional_virtual_address(PREFIX, "lb", V6)) in deleted
    assert (Kind.FOLDER, PART) not in deleted
