"""bench/conformance.py's report: counts by status (a test listed but never run is "not run",
not passed), skip reasons grouped, the markdown summary; and the tempest.conf it writes asks for
what the run relies on (501 is a skip, no isolated networks, the provider read from the API)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.conformance import (
    class_regex,
    class_skips,
    keystone_url,
    markdown,
    merge,
    summarize,
    tempest_conf,
    unfinished,
)

from tests.openstack.keystone import Keystone, Project, User

TESTS: list[dict[str, Any]] = [
    {"id": "a.T.test_ok", "status": "success", "reason": "", "seconds": 1.0},
    {"id": "a.T.test_bad", "status": "fail", "reason": "Traceback ...", "seconds": 2.0},
    {"id": "a.T.test_skip1", "status": "skip", "reason": "Provider 'f5' does not support X",
     "seconds": 0.0},
    {"id": "a.T.test_skip2", "status": "skip", "reason": "Provider 'f5' does not support X",
     "seconds": 0.0},
    {"id": "a.T.test_never", "status": "exists", "reason": "", "seconds": None},
]


def test_summary_counts_each_status_and_groups_skip_reasons() -> None:
    s = summarize(TESTS)
    assert (s["passed"], s["failed"], s["skipped"], s["not_run"]) == (1, 1, 2, 1)
    assert s["skip_reasons"] == [{"reason": "Provider 'f5' does not support X", "tests": 2}]
    assert s["other"] == {}


def test_markdown_names_the_counts_the_reasons_and_the_failures() -> None:
    report = {"regex": "r", "db": "sqlite", "concurrency": 2, "complete": False,
              "seconds": 12.0, "commit": "abc", "summary": summarize(TESTS), "tests": TESTS}
    text = markdown(report)
    assert "**1 passed, 1 failed, 2 skipped**, 1 not run." in text
    assert "| 2 | Provider 'f5' does not support X |" in text
    assert "- `a.T.test_bad`" in text
    assert "stopped at its time limit" in text


def test_tempest_conf_treats_501_as_a_skip_and_names_the_provider(tmp_path: Path) -> None:
    admin = User("uid", "admin", "secret-pw", Project("pid", "admin"), ("admin",))
    ks = Keystone("http://127.0.0.1:5000", admin, proc=None, workdir=tmp_path)  # type: ignore[arg-type]
    conf = tempest_conf(tmp_path, ks, "f5", "F5: BIG-IP, via agents",
                        flavor_capability=("environment", "The environment, of agents"))
    assert "not_implemented_is_error = false" in conf
    assert "create_isolated_networks = false" in conf
    assert "provider = f5\n" in conf
    assert "enabled_provider_drivers = f5:F5  BIG-IP  via agents\n" in conf
    assert "uri_v3 = http://127.0.0.1:5000/v3" in conf
    assert "RBAC_test_type = keystone_default_roles" in conf
    assert "expected_flavor_capability = environment:The environment  of agents\n" in conf
    assert "admin_role" not in conf  # the plugin's own roles, checked by the RBAC tests
    none = tempest_conf(tmp_path, ks, "f5", "F5", rbac="none")
    assert "RBAC_test_type = none" in none and "admin_role = admin" in none


def test_a_class_skipped_whole_lists_each_of_its_tests_with_the_reason() -> None:
    tests = [
        {"id": "p.test_amphora.AmphoraAPITest.test_list[id-1]", "status": "exists",
         "reason": "", "seconds": None},
        {"id": "p.test_amphora.AmphoraAPITest.test_show[id-2]", "status": "exists",
         "reason": "", "seconds": None},
        {"id": "setUpClass (p.test_amphora.AmphoraAPITest)", "status": "skip",
         "reason": "Amphora tests only run with the amphora provider enabled.", "seconds": 0.0},
        {"id": "p.test_x.T.test_never[id-3]", "status": "exists", "reason": "",
         "seconds": None},
    ]
    out = class_skips(tests)
    assert [(t["id"].split("[")[0], t["status"]) for t in out] == [
        ("p.test_amphora.AmphoraAPITest.test_list", "skip"),
        ("p.test_amphora.AmphoraAPITest.test_show", "skip"),
        ("p.test_x.T.test_never", "exists")]
    s = summarize(out)
    assert (s["skipped"], s["not_run"]) == (2, 1)
    report = {"regex": "r", "db": "sqlite", "concurrency": 1, "complete": True,
              "seconds": 1.0, "commit": "abc", "summary": s, "tests": out}
    text = markdown(report)
    assert ("| `p.test_amphora.AmphoraAPITest.test_show` | (whole class) Amphora tests only "
            "run with the amphora provider enabled. |") in text


def test_keystone_gets_the_database_with_the_driver_its_venv_holds() -> None:
    assert keystone_url("postgresql+psycopg://postgres@127.0.0.1:5432/bl_x") == \
        "postgresql+psycopg2://postgres@127.0.0.1:5432/bl_x"
    assert keystone_url("mysql+pymysql://root@127.0.0.1:3306/bl_x") == \
        "mysql+pymysql://root@127.0.0.1:3306/bl_x"


def _t(test_id: str, status: str) -> dict[str, Any]:
    return {"id": test_id, "status": status, "reason": "", "seconds": 1.0}


def test_resume_reruns_the_unfinished_classes_and_merges_them() -> None:
    earlier = {"regex": "r", "db": "sqlite", "concurrency": 1, "complete": False,
               "seconds": 10.0, "commit": "abc",
               "tests": [_t("p.m.A.test_1[id-1]", "success"), _t("p.m.B.test_1[id-2]", "success"),
                         _t("p.m.B.test_2[id-3]", "inprogress"), _t("p.m.C.test_1[id-4]", "exists"),
                         _t("setUpClass (p.m.C)", "fail")]}
    assert unfinished(earlier["tests"]) == ["p.m.B", "p.m.C"]
    regex = class_regex(unfinished(earlier["tests"]))
    assert re.search(regex, "p.m.B.test_2[id-3]") and re.search(regex, "p.m.C.test_1[id-4]")
    assert not re.search(regex, "p.m.A.test_1[id-1]") and not re.search(regex, "p.m.BB.test")
    later = {"regex": regex, "commit": "def", "seconds": 5.0, "complete": True,
             "tests": [_t("p.m.B.test_1[id-2]", "success"), _t("p.m.B.test_2[id-3]", "success"),
                       _t("p.m.C.test_1[id-4]", "fail")]}
    merged = merge(earlier, later)
    assert [(t["id"].split("[")[0], t["status"]) for t in merged["tests"]] == [
        ("p.m.A.test_1", "success"), ("p.m.B.test_1", "success"), ("p.m.B.test_2", "success"),
        ("p.m.C.test_1", "fail")]
    assert merged["complete"] and merged["commit"] == "abc+def" and merged["seconds"] == 15.0
    assert (merged["summary"]["passed"], merged["summary"]["failed"]) == (3, 1)
    assert "Completed by 1 resumed run(s)" in markdown(merged)
