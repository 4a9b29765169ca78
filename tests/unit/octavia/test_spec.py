"""How an octavia-lib provider dictionary becomes the API's wire form (octavia/writes.spec)."""

from __future__ import annotations

from bigip_lbaas.octavia.writes import spec


def test_ids_certificate_data_and_nested_objects() -> None:
    listener = {"listener_id": "L", "loadbalancer_id": "LB", "default_pool_id": "P",
                "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
                "default_tls_container_ref": "ref", "default_tls_container_data": "PEM",
                "sni_container_data": ["PEM"], "l7policies": [{"l7policy_id": "X"}],
                "default_pool": {"pool_id": "P"}}
    out = spec(listener, "listener_id", parents=("default_pool_id",))
    assert out == {"id": "L", "default_pool_id": "P", "protocol": "TERMINATED_HTTPS",
                   "protocol_port": 443, "default_tls_container_ref": "ref"}


def test_a_direct_vnic_is_an_sriov_request() -> None:
    assert spec({"member_id": "M", "pool_id": "P", "vnic_type": "direct"},
                "member_id")["request_sriov"] is True
    assert spec({"member_id": "M", "vnic_type": "normal"}, "member_id") == {
        "id": "M", "request_sriov": False}
