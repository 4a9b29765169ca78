"""Octavia's own API tests against this API: octavia-tempest-plugin 3.5.0 (`tests.api.v2`) on
tempest 47.0.0, with a real Keystone, this API in keystone mode, one agent and the simulator.
Writes a JSON report (every test with its status, every skip with its reason) and a markdown
summary beside it.

    .venv/bin/python bench/conformance.py [--regex octavia_tempest_plugin.tests.api.v2]
        [--concurrency 1] [--timeout 3600] [--db sqlite] [--out bench/results/conformance.json] [--keep]

What runs, all on loopback: tempest and the plugin in a virtualenv of their own
(tests/openstack/venvs.py, built once per machine), Keystone 30 (tests/openstack/keystone.py),
the simulator, the API (`auth_strategy = keystone`, registered in Keystone's catalog as both
`load-balancer` and `network`: its Neutron-shaped registry serves the networks and subnets the
plugin creates as a project member) and one agent (tests/cluster.py). tempest.conf is written
from what is running: dynamic credentials from Keystone's bootstrap admin, the provider and its
description read from the API's /providers, RBAC_test_type keystone_default_roles, no isolated
networks (no routers here), and `not_implemented_is_error = False`, so a 501 for a provider's
unsupported option is a skip, as Octavia's tests treat it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bigip_lbaas.core.certs import generate_storage_key
from tests.cluster import Cluster, wait_for
from tests.databases import fresh_database
from tests.openstack import keystone as keystone_launcher
from tests.openstack.keystone import Keystone, running_keystone
from tests.openstack.venvs import bin_path, service_venv

# Parallel tempest workers create and delete projects and users at once; Keystone's SQLite then
# answers "database is locked" (500) after pysqlite's default 5 s wait on a busy machine. So
# Keystone runs on a database of the test PostgreSQL (or MariaDB) by default (`--keystone-db`);
# on SQLite, a longer busy timeout in the URL (pysqlite's `timeout`) lets the writers queue.
_keystone_conf = keystone_launcher._conf
keystone_launcher._conf = lambda work, url=None: _keystone_conf(work, url).replace(
    "keystone.sqlite\n", "keystone.sqlite?timeout=120\n")

# barbican-tempest-plugin registers `[service_available] barbican`, without which the plugin's
# TERMINATED_HTTPS listener tests skip themselves (its getattr finds no such option).
REQUIREMENTS = ("tempest==47.0.0", "octavia-tempest-plugin==3.5.0",
                "barbican-tempest-plugin==4.6.0")
REGEX = "octavia_tempest_plugin.tests.api.v2"
RUN_TIMEOUT = 4 * 3600.0

# Run by the tempest venv's python: the subunit stream of the last run on stdin, one JSON line
# per test out (id, status, reason of a skip or the tail of a failure, seconds).
PARSE = r"""
import json, sys
import subunit, testtools
tests = {}
def done(test):
    # `tempest run --subunit` first lists every test (status "exists"), then runs them.
    if test["status"] == "exists" and test["id"] in tests:
        return
    details = test.get("details", {})
    reason = ""
    if test["status"] == "skip" and "reason" in details:
        reason = details["reason"].as_text()
    elif test["status"] in ("fail", "uxsuccess") and "traceback" in details:
        reason = details["traceback"].as_text()[-2000:]
    start, stop = test["timestamps"]
    secs = (stop - start).total_seconds() if start and stop else None
    tests[test["id"]] = {"id": test["id"], "status": test["status"], "reason": reason,
                         "seconds": secs}
stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
result = testtools.StreamToDict(done)
result.startTestRun()
stream.run(result)
result.stopTestRun()
for t in tests.values():
    print(json.dumps(t))
"""


def _dict_value(text: str) -> str:
    """A value oslo.config's DictOpt can carry (no item or key separators)."""
    return text.replace(",", " ").replace(":", " ")


def tempest_conf(ws: Path, keystone: Keystone, provider: str, description: str,
                 rbac: str = "keystone_default_roles",
                 flavor_capability: tuple[str, str] | None = None) -> str:
    admin = keystone.admin
    # Without role checks the plugin still gives its users the roles named here; Keystone's
    # defaults (which the API understands) rather than Octavia's load-balancer_* roles.
    roles = ("admin_role = admin\nmember_role = member\nobserver_role = reader\n"
             "global_observer_role = reader\n") if rbac == "none" else ""
    # The plugin checks that the provider lists the capability named here (Octavia's own
    # default is the amphora's loadbalancer_topology).
    capability = (f"expected_flavor_capability = {flavor_capability[0]}:"
                  f"{_dict_value(flavor_capability[1])}\n" if flavor_capability else "")
    return f"""[DEFAULT]
log_dir = {ws / "logs"}
log_file = tempest.log
debug = false

[auth]
use_dynamic_credentials = true
create_isolated_networks = false
admin_username = {admin.name}
admin_password = {admin.password}
admin_project_name = {admin.project.name}
admin_domain_name = Default
default_credentials_domain_name = Default

[identity]
uri_v3 = {keystone.auth_url}
auth_version = v3
region = {keystone.region}
v3_endpoint_type = public

[identity-feature-enabled]
api_v2 = false

[service_available]
# The plugin skips every class unless compute and image are "available" when not in noop mode;
# its API tests never call them (only its scenario tests boot servers).
load_balancer = true
neutron = true
nova = true
glance = true
cinder = false
swift = false
barbican = true

[network]
endpoint_type = public
project_networks_reachable = true

[network-feature-enabled]
port_security = false
ipv6 = true

[load_balancer]
provider = {provider}
enabled_provider_drivers = {provider}:{_dict_value(description)}
{capability}RBAC_test_type = {rbac}
{roles}# Logging every user's roles costs two Keystone calls per user and class; nothing reads it.
log_user_roles = false
test_with_noop = false
test_with_ipv6 = true
# No subnet pools in the registry: the IPv6 test subnets get vip_ipv6_subnet_cidr.
default_ipv6_subnetpool =
build_interval = 0.5
build_timeout = 120
lb_build_interval = 0.5
lb_build_timeout = 120
check_interval = 0.5
check_timeout = 60

[loadbalancer-feature-enabled]
not_implemented_is_error = false
prometheus_listener_enabled = true

[enforce_scope]
octavia = false
"""


def api_conf(keystone: Keystone, work: Path) -> str:
    """Keystone mode, and the built-in certificate store's storage key (the plugin's
    TERMINATED_HTTPS listener tests store their certificates in it)."""
    service = keystone.service_user("octavia")
    key_file = work / "storage.key"
    key_file.write_text(generate_storage_key() + "\n")
    key_file.chmod(0o600)
    return (f"[certificates]\nstorage_key_file = {key_file}\n"
            "[api_settings]\nauth_strategy = keystone\n" + keystone.authtoken_conf(service))


def keystone_url(url: str) -> str:
    """A database URL of tests/databases.py with the driver Keystone's venv holds (psycopg2 for
    PostgreSQL, PyMySQL for MariaDB)."""
    scheme, rest = url.split("://", 1)
    return ("postgresql+psycopg2" if scheme.startswith("postgresql") else "mysql+pymysql") \
        + "://" + rest


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False, cwd=Path(__file__).parent).stdout.strip()


def class_skips(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each test of a class the plugin skips whole (its setUpClass raises the skip, e.g. the
    amphora and availability zone classes) as a skip with that reason, instead of a test listed
    but never run beside one `setUpClass (…)` skip."""
    reasons = {t["id"].split("(", 1)[1].rstrip(")"): t["reason"] for t in tests
               if t["status"] == "skip" and t["id"].startswith("setUpClass (")}
    out = []
    for t in tests:
        if t["id"].startswith("setUpClass (") and t["status"] == "skip":
            continue
        cls = t["id"].split("[", 1)[0].rsplit(".", 1)[0]
        if t["status"] == "exists" and cls in reasons:
            out.append({**t, "status": "skip", "reason": reasons[cls], "class_skipped": True})
        else:
            out.append(t)
    return out


def _class(test_id: str) -> str:
    if test_id.startswith(("setUpClass (", "tearDownClass (")):
        return test_id.split("(", 1)[1].rstrip(")")
    return test_id.split("[", 1)[0].rsplit(".", 1)[0]


def unfinished(tests: list[dict[str, Any]]) -> list[str]:
    """The test classes of which some test never finished (a run stopped at its time limit)."""
    return sorted({_class(t["id"]) for t in tests if t["status"] in ("exists", "inprogress")})


def class_regex(classes: list[str]) -> str:
    return "^(" + "|".join(re.escape(c) + r"\." for c in classes) + ")"


def merge(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """An earlier report completed by a later run of its unfinished classes (`--resume`): the
    later run's entries replace the earlier ones of the same tests (and the class set-up and
    tear-down entries of the classes it ran)."""
    rerun = {_class(t["id"]) for t in later["tests"]}
    ids = {t["id"] for t in later["tests"]}
    tests = [t for t in earlier["tests"] if t["id"] not in ids and not (
        t["id"].startswith(("setUpClass (", "tearDownClass (")) and _class(t["id"]) in rerun)]
    tests += later["tests"]
    tests.sort(key=lambda t: t["id"])
    parts = earlier.get("parts") or [{k: earlier[k] for k in
                                      ("regex", "commit", "seconds", "complete")}]
    parts = [*parts, {k: later[k] for k in ("regex", "commit", "seconds", "complete")}]
    return {**earlier, "commit": "+".join(p["commit"] for p in parts),
            "seconds": sum(p["seconds"] for p in parts), "parts": parts,
            "complete": not unfinished(tests), "summary": summarize(tests), "tests": tests}


def summarize(tests: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(t["status"] for t in tests)
    reasons = Counter(t["reason"].strip() for t in tests if t["status"] == "skip")
    return {
        "passed": counts.get("success", 0),
        "failed": counts.get("fail", 0),
        "skipped": counts.get("skip", 0),
        "not_run": counts.get("exists", 0) + counts.get("inprogress", 0),
        "other": {k: v for k, v in counts.items()
                  if k not in ("success", "fail", "skip", "exists", "inprogress")},
        "skip_reasons": [{"reason": r, "tests": n} for r, n in reasons.most_common()],
    }


def markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [
        "# Octavia's API tests against bigip-lbaas",
        "",
        f"octavia-tempest-plugin 3.5.0 `{report['regex']}`, tempest 47.0.0, Keystone 30 "
        f"({report.get('keystone_db', 'sqlite')}), "
        f"this API (auth_strategy keystone, {report['db']}), one agent, the simulator; "
        f"RBAC_test_type {report.get('rbac', 'keystone_default_roles')}; "
        f"concurrency {report['concurrency']}, {report['seconds']:.0f} s, commit "
        f"{report['commit']}."
        + ("" if report["complete"] else " **The run was stopped at its time limit: only the "
           "tests that finished are counted.**")
        + (" Completed by " + str(len(report["parts"]) - 1) + " resumed run(s) of the classes "
           "left unfinished (`--resume`): " + "; ".join(
               f"commit {p['commit']}, {p['seconds']:.0f} s" for p in report["parts"]) + "."
           if report.get("parts") else ""),
        "",
        f"**{s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped**"
        + (f", {s['not_run']} not run" if s["not_run"] else "")
        + (f", other {s['other']}" if s["other"] else "") + ".",
        "",
        "## Skipped, by reason",
        "",
        "| tests | reason |",
        "|---:|---|",
    ]
    lines += [f"| {r['tests']} | {r['reason'].replace('|', '/')[:300]} |"
              for r in s["skip_reasons"]]
    lines += ["", "## Failed", ""]
    lines += [f"- `{t['id'].split('[')[0]}`" for t in report["tests"] if t["status"] == "fail"]
    lines += ["", "## Every skipped test", "", "| test | reason |", "|---|---|"]
    lines += [f"| `{_short(t['id'])}` | {_reason(t)} |" for t in report["tests"]
              if t["status"] == "skip"]
    return "\n".join(lines) + "\n"


def _short(test_id: str) -> str:
    return test_id.split("[", 1)[0].removeprefix("octavia_tempest_plugin.tests.api.v2.")


def _reason(test: dict[str, Any]) -> str:
    text = " ".join(test["reason"].split()).replace("|", "/")
    text = text if len(text) <= 160 else text[:157] + "…"
    return ("(whole class) " if test.get("class_skipped") else "") + text


def parse(venv: Path, subunit: Path) -> list[dict[str, Any]]:
    """Every test of a subunit stream, its last status ("exists": listed, never run)."""
    with subunit.open("rb") as stream:
        parsed = subprocess.run([str(venv / "bin" / "python"), "-c", PARSE], stdin=stream,
                                capture_output=True, timeout=600, check=True)
    return sorted((json.loads(line) for line in parsed.stdout.decode().splitlines() if line),
                  key=lambda t: t["id"])


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    began = time.monotonic()
    commit = _commit()  # the code under test: what was checked out when the run began
    venv = service_venv("tempest", REQUIREMENTS)
    with ExitStack() as stack:
        keystone_db = None
        if args.keystone_db != "sqlite":
            keystone_db = keystone_url(stack.enter_context(
                fresh_database(args.keystone_db, work)))
        keystone = stack.enter_context(running_keystone(work / "keystone", keystone_db))
        db_url = stack.enter_context(fresh_database(args.db, work))
        cluster = Cluster(work / "cluster", db_url, devices=1, extra_conf=api_conf(keystone, work))
        (work / "cluster").mkdir()
        try:
            # Cluster.start waits for its agents with noauth headers; in keystone mode the wait
            # is ours, with a token (the API refuses work no live agent serves).
            cluster.start(agents=())
            cluster.start_agent("conformance1")
            keystone.register_service("load-balancer", "octavia", cluster.api_url)
            keystone.register_service("network", "neutron", cluster.api_url)
            # The built-in certificate store speaks Barbican's v1 secrets API: the plugin's
            # TERMINATED_HTTPS listener tests store their certificates there with
            # python-barbicanclient, as they would in Barbican.
            keystone.register_service("key-manager", "barbican", f"{cluster.api_url}/key-manager")
            with httpx.Client(timeout=30) as http:
                token = keystone.token(keystone.admin)

                def agent_alive() -> bool:
                    r = http.get(f"{cluster.api_url}/v2/lbaas/agents",
                                 headers={"X-Auth-Token": token})
                    return r.status_code == 200 and any(
                        a["host"] == "conformance1" and a["alive"] for a in r.json()["agents"])

                wait_for(agent_alive, 60, "the agent alive")
                r = http.get(f"{cluster.api_url}/v2/lbaas/providers",
                             headers={"X-Auth-Token": token})
                r.raise_for_status()
                providers = {p["name"]: p["description"] for p in r.json()["providers"]}
                provider = next(iter(providers))
                r = http.get(f"{cluster.api_url}/v2/lbaas/providers/{provider}/"
                             "flavor_capabilities", headers={"X-Auth-Token": token})
                r.raise_for_status()
                caps = r.json()["flavor_capabilities"]
            capability = (caps[0]["name"], caps[0]["description"]) if caps else None
            ws = work / "tempest"
            # The workspace registry is the run's own, not ~/.tempest (where a second run's
            # workspace of the same name would be refused).
            subprocess.run([bin_path(venv, "tempest"), "init", "--workspace-path",
                            str(work / "workspace.yaml"), "--name", work.name, str(ws)],
                           check=True, capture_output=True, timeout=300)
            (ws / "etc" / "tempest.conf").write_text(
                tempest_conf(ws, keystone, provider, providers[provider], args.rbac,
                             capability))
            env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}"}
            # The subunit stream is written as tests finish, so a run stopped at --timeout still
            # reports every test that finished.
            subunit = work / "results.subunit"
            with subunit.open("wb") as out, (work / "tempest-run.log").open("wb") as log:
                proc = subprocess.Popen(
                    [bin_path(venv, "tempest"), "run", "--subunit", "--regex", args.regex,
                     "--concurrency", str(args.concurrency)],
                    cwd=ws, env=env, stdout=out, stderr=log, start_new_session=True)
                try:
                    proc.wait(timeout=args.timeout)
                    complete = True
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=60)
                    complete = False
        finally:
            cluster.close()
    tests = class_skips(parse(venv, subunit))
    return {"regex": args.regex, "db": args.db, "keystone_db": args.keystone_db,
            "concurrency": args.concurrency, "rbac": args.rbac, "complete": complete,
            "provider": provider, "commit": commit, "seconds": time.monotonic() - began,
            "summary": summarize(tests), "tests": tests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regex", default=REGEX)
    # One worker: every class makes its own VIP subnet with the plugin's one vip_subnet_cidr, so
    # two classes at once get the same VIP address in two projects, which a BIG-IP in global
    # routed mode (no route domains) cannot hold twice: the second load balancer is ERROR.
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rbac", default="keystone_default_roles",
                        choices=("keystone_default_roles", "advanced", "owner_or_admin", "none"),
                        help="the plugin's RBAC_test_type (`none`: no role checks, to see the "
                             "rest on its own)")
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql", "mariadb"),
                        help="this API's database")
    parser.add_argument("--keystone-db", default="postgresql",
                        choices=("sqlite", "postgresql", "mariadb"),
                        help="Keystone's database (a fresh one on the test server; SQLite "
                             "locks under parallel tempest workers)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/conformance.json"))
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT,
                        help="stop the tempest run after this many seconds (the tests that "
                             "finished are reported, `complete` false)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (logs, tempest workspace) and print it")
    parser.add_argument("--resume", type=Path, metavar="REPORT",
                        help="run only the classes an earlier report (stopped at its time "
                             "limit) did not finish (or those --regex names), and write that "
                             "report with their new results")
    parser.add_argument("--merge", type=Path, metavar="REPORT",
                        help="with --resume: no run, merge this later report into that one")
    parser.add_argument("--from-subunit", type=Path, metavar="FILE",
                        help="no run: report on an earlier run's results.subunit (kept with "
                             "--keep), e.g. one whose report was lost")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="conformance-"))
    if args.from_subunit:
        tests = class_skips(parse(service_venv("tempest", REQUIREMENTS), args.from_subunit))
        stamps = [t["seconds"] or 0.0 for t in tests]
        report = {"regex": args.regex, "db": args.db, "concurrency": args.concurrency,
                  "rbac": args.rbac,
                  "complete": not any(t["status"] in ("exists", "inprogress") for t in tests),
                  "provider": None, "commit": _commit(), "seconds": sum(stamps),
                  "summary": summarize(tests), "tests": tests}
    elif args.resume and args.merge:
        report = merge(json.loads(args.resume.read_text()), json.loads(args.merge.read_text()))
    elif args.resume:
        earlier = json.loads(args.resume.read_text())
        if args.regex == REGEX:  # else: the classes named, rerun (e.g. after a fix)
            args.regex = class_regex(unfinished(earlier["tests"]))
        report = merge(earlier, run(args, work))
    else:
        report = run(args, work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(json.dumps({"summary": {k: v for k, v in report["summary"].items()
                                  if k != "skip_reasons"}, "out": str(args.out),
                      "work": str(work) if args.keep else None}))
    if not args.keep:
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
