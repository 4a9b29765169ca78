"""Nothing open by accident: start-up refusals, the body size limit, the request id on every
answer and the access log line (its content, and no token, password or query secret in it).

The refusals run the real `bigip-lbaas api` command (it exits before binding anything); the rest
runs the real app on loopback, with SQLite (none of it touches the database's dialect).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bigip_lbaas.config.load import check_api_exposure, is_loopback
from bigip_lbaas.core.errors import ConfigError
from bigip_lbaas.logs import JsonFormatter, TextFormatter
from bigip_lbaas.sim.tls import generate
from tests.cluster import PY, wait_for
from tests.integration.api.server import Api, api_server, make_conf

LIMIT = 4096
REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")
TOKEN, PASSWORD, QUERY_SECRET = "gAAAAAB-token-7f3e", "hunter2-pw-91c4", "q-secret-55d0"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with api_server("sqlite", tmp_path_factory.mktemp("db"),
                    max_request_body_size=LIMIT) as api:
        yield api


def start_api(tmp_path: Path, settings: str) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "api.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{tmp_path / 'x.sqlite'}\n"
                    f"[api_settings]\n{settings}")
    return subprocess.run([PY, "-m", "bigip_lbaas.cli", "api", "--config-file", str(conf)],
                          capture_output=True, text=True, timeout=60, check=False)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# --- start-up refusals ---------------------------------------------------------------------


def test_noauth_on_a_public_address_is_refused(tmp_path: Path) -> None:
    line = one_line(start_api(tmp_path, "auth_strategy = noauth\nbind_host = 0.0.0.0\n"))
    assert "bind_host = 0.0.0.0" in line and "noauth" in line
    assert "[api_settings] allow_insecure_noauth = true" in line
    assert str(tmp_path / "api.conf") in line


def test_the_refusal_follows_the_address_and_the_option(tmp_path: Path) -> None:
    conf = make_conf("sqlite://", bind_host="10.20.30.40")
    with pytest.raises(ConfigError, match=re.escape("bind_host = 10.20.30.40 is not a loopback")):
        check_api_exposure(conf)
    conf.set_override("allow_insecure_noauth", True, group="api_settings")
    check_api_exposure(conf)  # the operator said so
    for strategy in ("keystone", "header"):
        check_api_exposure(make_conf("sqlite://", bind_host="0.0.0.0", auth_strategy=strategy))
    check_api_exposure(make_conf("sqlite://"))  # the default: noauth on 127.0.0.1
    assert make_conf("sqlite://").api_settings.allow_insecure_noauth is False
    for host in ("127.0.0.1", "127.0.0.53", "::1", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "10.0.0.1", "192.0.2.1", "no-such-host.invalid"):
        assert not is_loopback(host), host


def test_a_missing_certificate_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "api-cert.pem"
    line = one_line(start_api(tmp_path, f"cert_file = {missing}\nkey_file = {missing}.key\n"))
    assert f"[api_settings] cert_file = {missing}: cannot read the file" in line
    assert "No such file or directory" in line


def test_a_key_without_a_certificate_or_not_its_pair_is_refused(tmp_path: Path) -> None:
    one = generate(tmp_path / "one", "api")
    other = generate(tmp_path / "other", "api")
    line = one_line(start_api(tmp_path, f"key_file = {one.key_file}\n"))
    assert "[api_settings] cert_file is not set but key_file is" in line
    line = one_line(start_api(tmp_path, f"cert_file = {one.cert_file}\n"
                                        f"key_file = {other.key_file}\n"))
    assert f"cert_file = {one.cert_file}, key_file = {other.key_file}" in line
    line = one_line(start_api(tmp_path, f"cert_file = {one.cert_file}\n"
                                        f"key_file = {one.ca_file}\n"))
    assert "not a PEM certificate and its matching unencrypted key" in line
    assert "BEGIN" not in line  # no file content in the message


# --- body size limit -----------------------------------------------------------------------


def fault_413() -> dict[str, object]:
    return {"faultcode": "Client", "debuginfo": None,
            "faultstring": f"Request is too large: the body exceeds {LIMIT} bytes."}


def test_default_limit_is_one_mebibyte() -> None:
    assert make_conf("sqlite://").api_settings.max_request_body_size == 1024 * 1024


def test_a_body_over_the_limit_is_413_by_content_length(api: Api) -> None:
    before = api.get("/v2.0/networks").json()["networks"]
    body = {"network": {"name": "x" * LIMIT}}
    r = api.post("/v2.0/networks", body)
    assert r.status_code == 413
    assert r.json() == fault_413()
    assert REQUEST_ID.match(r.headers["x-openstack-request-id"])
    assert api.get("/v2.0/networks").json()["networks"] == before
    # At the limit exactly, the request is the app's to judge.
    name = "y" * (LIMIT - len(json.dumps({"network": {"name": ""}})))
    ok = api.http.post("/v2.0/networks", content=json.dumps({"network": {"name": name}}),
                       headers={"content-type": "application/json"})
    assert ok.status_code != 413, ok.text


def test_a_chunked_body_is_counted(api: Api) -> None:
    def chunks(total: int) -> Iterator[bytes]:
        text = json.dumps({"network": {"name": "c" * total}}).encode()
        for i in range(0, len(text), 512):
            yield text[i:i + 512]

    big = api.http.post("/v2.0/networks", content=chunks(LIMIT * 4),
                        headers={"content-type": "application/json"})
    assert big.status_code == 413
    assert big.json() == fault_413()
    small = api.http.post("/v2.0/networks", content=chunks(10),
                          headers={"content-type": "application/json"})
    assert small.status_code == 201, small.text
    assert small.json()["network"]["name"] == "c" * 10


# --- request id and access log -------------------------------------------------------------


def test_every_answer_carries_a_request_id(api: Api) -> None:
    answers = [
        api.get("/"),
        api.get("/v2/lbaas/loadbalancers"),
        api.get("/v2/lbaas/loadbalancers/nonexistent"),  # 404 fault
        api.post("/v2/lbaas/loadbalancers", {"loadbalancer": {}}),  # 400 validation
        api.get("/v2/lbaas/loadbalancers", headers={"Accept": "text/html"}),  # 406
        api.delete("/v2/lbaas/quotas"),  # 405
        api.get("/metrics"),
    ]
    assert [r.status_code for r in answers] == [200, 200, 404, 400, 406, 405, 200]
    ids = [r.headers.get("x-openstack-request-id", "") for r in answers]
    assert all(REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert answers[4].json()["errors"][0]["request_id"] == ids[4]  # the 406 body names it too


def test_access_log_line_has_the_facts_and_no_secret(api: Api,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bigip_lbaas.api.access")
    r = api.http.post(f"/v2/lbaas/loadbalancers?password={QUERY_SECRET}",
                      json={"loadbalancer": {"vip_subnet_id": "nope", "password": PASSWORD}},
                      headers={"X-Auth-Token": TOKEN, "X-Project-Id": "p-log"})
    assert r.status_code == 400
    request_id = r.headers["x-openstack-request-id"]

    def logged() -> list[logging.LogRecord]:
        return [rec for rec in caplog.records if rec.name == "bigip_lbaas.api.access"
                and rec.__dict__.get("request_id") == request_id]

    # The line is written once the answer has gone out: the client may be quicker.
    records = wait_for(logged, 10, "the access log line")
    assert len(records) == 1
    rec = records[0].__dict__
    assert (rec["method"], rec["path"], rec["status"], rec["project"]) == (
        "POST", "/v2/lbaas/loadbalancers", 400, "p-log")
    assert isinstance(rec["duration_ms"], float) and rec["duration_ms"] >= 0
    assert records[0].getMessage() == "request"
    for formatter in (TextFormatter("h"), JsonFormatter("h")):
        line = formatter.format(records[0])
        assert request_id in line and "/v2/lbaas/loadbalancers" in line
        for secret in (TOKEN, PASSWORD, QUERY_SECRET, "password"):
            assert secret not in line, (secret, line)
    everything = "\n".join(TextFormatter("h").format(x) for x in caplog.records)
    for secret in (TOKEN, PASSWORD, QUERY_SECRET):
        assert secret not in everything
