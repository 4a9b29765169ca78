"""Without `[certificates] storage_key_file` the API still starts and serves everything else; the
certificate store answers version discovery and refuses secrets with 503, naming the option."""

from __future__ import annotations

from tests.integration.api.server import Api


def test_store_without_a_key_refuses_secrets_naming_the_option(api: Api) -> None:
    assert api.get("/key-manager/").status_code == 300
    for r in (api.post("/key-manager/v1/secrets",
                       {"payload": "x", "payload_content_type": "text/plain"}),
              api.get("/key-manager/v1/secrets/0b5c3c0e-6a1e-4f5e-9a37-1d2b3c4d5e6f/payload")):
        assert r.status_code == 503
        body = r.json()
        assert body["code"] == 503 and body["title"] == "Service Unavailable"
        assert "[certificates] storage_key_file" in body["description"]
    assert api.get("/v2/lbaas/loadbalancers").status_code == 200
