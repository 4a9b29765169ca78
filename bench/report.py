"""Run the benchmarks in bench/ and write docs/benchmarks.md (the machine, the commands, each
figure against its target — met or not).

    python bench/report.py                      # run every benchmark, then write the report
    python bench/report.py --from-results       # write the report from bench/results/*.json only
    python bench/report.py --run sim,engine     # run these, reuse the stored results of the rest
    python bench/report.py --run engine-graph   # one section alone, merged into its benchmark's JSON

Each benchmark's JSON goes to bench/results/<name>.json; how it was produced (command, start
time, duration, load average before and after, exit code, commit and whether the tree had
uncommitted changes) to bench/results/meta.json. A run that fails or prints no JSON leaves the
previous JSON in place: its meta keeps the previous run's under "result_from", and the report
says the rerun failed and when (and on which commit) the figures shown were measured. A
benchmark without a result is reported as "not measured". Every run is bounded by --timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
PY = ".venv/bin/python"

# name -> argv after the interpreter (run from the repository root)
BENCHES: dict[str, list[str]] = {
    "sim": ["bench/sim_bench.py", "--seconds", "3"],
    "api": ["bench/api_bench.py", "--requests", "320", "--kinds", "sqlite,postgresql"],
    "side_by_side": ["bench/octavia_side_by_side.py", "--creates", "1600", "--reads", "320",
                     "--kinds", "sqlite,postgresql", "--clients", "1,16", "--workers", "2"],
    "engine": ["bench/engine_bench.py", "--partitions", "1000", "--lbs", "10"],
    "agents": ["bench/agents_bench.py", "--skip-throughput", "--trials", "10", "--db",
               "postgresql"],
    "scaleout": ["bench/agents_bench.py", "--skip-failover", "--repeat", "2", "--db",
                 "postgresql"],
    "memory": ["bench/memory_bench.py", "--sizes", "100,300,1000", "--lbs-per-partition", "10"],
    "chaos": ["bench/chaos.py", "--minutes", "1", "--seed", "1", "--self-test"],
    "transport": ["bench/transport_bench.py", "--seconds", "2", "--rounds", "3"],
    "tls": ["bench/tls_bench.py"],
    "import": ["bench/import_bench.py", "--lbs", "1000"],
}


# name -> (the benchmark whose JSON it merges into, argv): one section of a benchmark run alone;
# its JSON keys replace the same keys of bench/results/<benchmark>.json, the rest is kept.
PARTS: dict[str, tuple[str, list[str]]] = {
    "engine-graph": ("engine", ["bench/engine_bench.py", "--graph-only"]),
}


def argv_of(name: str) -> list[str]:
    return PARTS[name][1] if name in PARTS else BENCHES[name]


def command(name: str) -> str:
    return " ".join([PY, *argv_of(name)])


# --- running ---------------------------------------------------------------------------------


def git_state() -> dict[str, Any]:
    """The commit checked out (short hash) and whether tracked files differ from it."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    if commit is None:
        return {}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def run_bench(name: str, timeout: float) -> dict[str, Any]:
    argv = [sys.executable, *argv_of(name)]
    meta: dict[str, Any] = {"command": command(name),
                            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                            "loadavg_before": [round(x, 2) for x in os.getloadavg()],
                            **git_state()}
    t0 = time.monotonic()
    print(f"report: running {name}: {meta['command']}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              check=False)
        meta["exit_code"] = proc.returncode
        out, err = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        meta["exit_code"] = None
        meta["error"] = f"timed out after {timeout:.0f}s"
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    meta["seconds"] = round(time.monotonic() - t0, 1)
    meta["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    data = None
    if "error" not in meta:  # a run that timed out printed no finished result
        try:
            data = json.loads(out)
        except json.JSONDecodeError:
            meta["error"] = "no JSON on stdout"
    if data is None:
        meta.setdefault("error", "no JSON on stdout")
        meta["stderr_tail"] = err[-2000:]
        return meta
    if name in PARTS:
        whole = load(PARTS[name][0]) or {}
        whole.update(data)
        data = whole
        meta["merged_into"] = f"bench/results/{PARTS[name][0]}.json"
    (RESULTS / f"{PARTS[name][0] if name in PARTS else name}.json").write_text(
        json.dumps(data, indent=2) + "\n")
    return meta


def failed(m: dict[str, Any] | None) -> bool:
    """The run `m` describes left no new JSON (see `run_bench`)."""
    return m is not None and "error" in m


def result_meta(m: dict[str, Any]) -> dict[str, Any]:
    """The meta of the run that produced the JSON in bench/results/, which is `m` itself unless
    `m` failed (then the earlier run it kept, or {} if none is known)."""
    if not failed(m):
        return m
    kept = m.get("result_from")
    return kept if isinstance(kept, dict) else {}


def on_commit(m: dict[str, Any]) -> str:
    """'on commit abc1234 (clean tree)', or '(commit not recorded)' for older results."""
    if not m.get("commit"):
        return "(commit not recorded)"
    dirty = m.get("dirty")
    state = (" (with uncommitted changes)" if dirty is True
             else " (clean tree)" if dirty is False else "")
    return f"on commit {m['commit']}{state}"


def failure_line(m: dict[str, Any], what: str) -> str:
    """'rerun failed' for a run `m` that left no JSON: its error, and where the figures shown
    come from instead."""
    err = m.get("error", "failed")
    tail = [ln for ln in str(m.get("stderr_tail", "")).splitlines() if ln.strip()]
    if tail:
        err += f" (last stderr line: `{tail[-1].strip()[:200]}`)"
    old = result_meta(m)
    source = (f"from {old['started']} {on_commit(old)}" if old.get("started")
              else "from an earlier run whose time is not recorded")
    return (f"**{what} rerun failed** ({m.get('started', '?')} {on_commit(m)}): {err}; "
            f"figures below are {source}.")


# --- the machine -----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    info: dict[str, str] = {"nproc": str(os.cpu_count())}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    info["os"] = f"{platform.system()} {platform.release()}"
    info["python"] = platform.python_version()
    info["sqlite"] = sqlite3.sqlite_version
    for kind in ("postgresql", "mariadb"):
        info[kind] = db_version(kind)
    return info


def db_version(kind: str) -> str:
    try:
        import sqlalchemy as sa

        sys.path.insert(0, str(ROOT))
        from tests.databases import ADMIN_URLS

        args = {"connect_timeout": 3}
        eng = sa.create_engine(ADMIN_URLS[kind], connect_args=args)
        try:
            with eng.connect() as conn:
                v = conn.exec_driver_sql("SELECT version()").scalar()
        finally:
            eng.dispose()
        return str(v).split(" on ")[0].split(",")[0]
    except Exception as e:  # the report is still written without a database server
        return f"not reachable ({type(e).__name__})"


# --- evaluating --------------------------------------------------------------------------------


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except json.JSONDecodeError:
        return None


def yes(ok: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "—"}[ok]


def rows_sim(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    summary, detail = [], ["| method | clients | requests/s | errors | server CPU µs/request "
                           "| server capacity req/s/core |", "|---|---|---|---|---|---|"]
    for r in d["results"]:
        detail.append(f"| {r['method']} | {r['clients']} | {r['rps']:,.0f} | {r['errors']} | "
                      f"{r.get('server_cpu_us_per_request', '—')} | "
                      f"{r.get('server_capacity_rps_per_core', '—')} |")
        if r["method"] == "GET" and r["clients"] == 16:
            summary.append(["simulator GET/s, 16 clients", "≥ 1,000", f"{r['rps']:,.0f}",
                            yes(r["rps"] >= 1000)])
            if r.get("server_capacity_rps_per_core"):
                summary.append(["simulator GET capacity per core from its own CPU time "
                                "(context: clients share the 2 CPUs)", "none (reported)",
                                f"{r['server_capacity_rps_per_core']:,.0f}/s", "—"])
    return summary, detail


def rows_api(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    summary, detail = [], ["| database | clients | requests | errors | p50 ms | p95 ms | "
                           "p99 ms | creates/s |", "|---|---|---|---|---|---|---|---|"]
    for r in d["results"]:
        detail.append(f"| {r['db']} | {r['clients']} | {r['requests']} | {r['errors']} | "
                      f"{r['p50_ms']} | {r.get('p95_ms', '—')} | {r['p99_ms']} | "
                      f"{r['throughput_per_s']} |")
        summary.append([f"API create LB, {r['db']}, {r['clients']} client(s)",
                        "none (reported)",
                        f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                        f"{r['throughput_per_s']}/s", "—"])
    return summary, detail


def rows_side_by_side(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """This API against Octavia: the 16-client targets (≥ 2x creates/s, ≤ ½ p99) per database,
    and every figure of both side by side."""
    rows = {(r["product"], r["db"], r.get("clients")): r for r in d["results"]}
    summary: list[list[str]] = []
    detail = ["| database | clients | product | creates/s | create p50 / p95 / p99 ms | "
              "GET p50 / p95 / p99 ms | list p50 / p95 / p99 ms | server CPU ms per request "
              "| errors |",
              "|---|---|---|---|---|---|---|---|---|"]

    def lat(r: dict[str, Any], phase: str) -> str:
        p = r[phase]
        return f"{p['p50_ms']} / {p['p95_ms']} / {p['p99_ms']}"

    for r in d["results"]:
        if "unsupported" in r:
            detail.append(f"| {r['db']} | — | {r['product']} | not run: {r['unsupported']} "
                          "| | | | | |")
            continue
        errors = sum(r[p]["errors"] for p in ("create", "get", "list"))
        threads = f", threads {r['threads']}" if "threads" in r else ""
        detail.append(f"| {r['db']} | {r['clients']} | {r['product']} (workers "
                      f"{r.get('workers', '?')}{threads}) | {r['create']['per_s']} | "
                      f"{lat(r, 'create')} | {lat(r, 'get')} | {lat(r, 'list')} | "
                      f"{r.get('server_cpu_ms_per_request', '—')} | {errors} |")
    for kind in dict.fromkeys(r["db"] for r in d["results"]):
        ours = rows.get(("bigip-lbaas", kind, 16))
        theirs = rows.get(("octavia", kind, 16))
        if ours is None or theirs is None:
            summary.append([f"API vs Octavia, {kind}, 16 clients", "≥ 2x creates/s, ≤ ½ p99",
                            "not measured (Octavia did not run)", "—"])
            continue
        ratio = ours["create"]["per_s"] / max(theirs["create"]["per_s"], 1e-9)
        summary.append([f"API vs Octavia, {kind}, 16 clients: creates/s",
                        "≥ 2x Octavia's", f"{ours['create']['per_s']} vs "
                        f"{theirs['create']['per_s']} ({ratio:.2f}x)", yes(ratio >= 2)])
        tail = ours["create"]["p99_ms"] / max(theirs["create"]["p99_ms"], 1e-9)
        summary.append([f"API vs Octavia, {kind}, 16 clients: create p99",
                        "≤ ½ Octavia's", f"{ours['create']['p99_ms']} ms vs "
                        f"{theirs['create']['p99_ms']} ms ({tail:.2f}x)", yes(tail <= 0.5)])
        if "server_cpu_ms_per_request" in ours and "server_cpu_ms_per_request" in theirs:
            summary.append([f"API vs Octavia, {kind}, 16 clients: server CPU per request",
                            "none (reported)", f"{ours['server_cpu_ms_per_request']} ms vs "
                            f"{theirs['server_cpu_ms_per_request']} ms", "—"])
        for phase, label in (("get", "GET"), ("list", "list")):
            summary.append([f"API vs Octavia, {kind}, 16 clients: {label} p50 / p99",
                            "none (reported)", f"{ours[phase]['p50_ms']} / "
                            f"{ours[phase]['p99_ms']} ms vs {theirs[phase]['p50_ms']} / "
                            f"{theirs[phase]['p99_ms']} ms", "—"])
    return summary, detail


def _by_class(att: dict[str, Any]) -> str:
    return "; ".join(f"{k} {v}" for k, v in att["by_path_class"].items()) or "none"


def _who(w: dict[str, Any]) -> str:
    t = w["attributed"]["total_by_who"]
    return (f"{w['device_requests']} = {t.get('reconcile', 0)} by the reconcile + "
            f"{t.get('login', 0)} login + {t.get('background', 0)} background")


def rows_engine(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    cached, fresh, cold = (d["graph_6_converges_cached"], d["graph_6_converges_fresh_observe"],
                           d["cold_rebuild"])
    full = cold["load_balancers"] >= 10_000
    graph = d.get("graph_real_api_agent")
    summary: list[list[str]] = []
    if graph:
        b, put, rst = graph["build"], graph["no_change_put"], graph["no_change_restart"]
        who = b["attributed"]["total_by_who"]
        n = graph["reconcile_requests_incl_login"]
        login = ("1 login" + (" (made in the window)" if graph["login_in_window"]
                              else ", made at the agent's start before the window"))
        summary += [
            ["engine, REAL: device requests to build a full graph (LB, listener, pool, 2 members, "
             "HTTP monitor) through the six API calls one after another, each waiting for ACTIVE; "
             "real API + ONE real agent, 1 simulated device: the reconciles' requests + the "
             "login (background probes not counted; shown alongside)", "≤ 40",
             f"{n} ({who.get('reconcile', 0)} by reconciles + {login}; all device requests in "
             f"the {b['seconds']} s window: {b['device_requests']}, of which "
             f"{who.get('background', 0)} background)", yes(n <= 40)],
            ["engine, REAL: writes in a no-change reconcile (a PUT of the LB's own name: cached "
             "agent path / agent restart: the new owner reads the device afresh, as anti-entropy "
             "does)", "0", f"{put['writes']} / {rst['writes']} (device requests: PUT "
             f"{_who(put)}; restart {_who(rst)})",
             yes(put["writes"] == 0 and rst["writes"] == 0)],
        ]
    ctx = "context, " if graph else ""
    summary += [
        [f"engine ({ctx}EMULATED: six `converge` calls on in-memory states, no API or agent): "
         "device requests for the same graph (incl. login), epoch cache", "≤ 40" if not graph
         else "none (context)", str(cached["build_requests_total"]),
         "—" if graph else yes(cached["build_requests_total"] <= 40)],
        [f"engine ({ctx}EMULATED): same, every converge observing afresh (13 collection GETs "
         "per converge; 18 in a partition with TLS)", "none (reported)", str(fresh["build_requests_total"]), "—"],
        [f"engine ({ctx}EMULATED): writes in a no-change converge (cached / fresh)",
         "0" if not graph else "none (context)",
         f"{cached['no_change_writes']} / {fresh['no_change_writes']}",
         "—" if graph else yes(cached["no_change_writes"] == 0
                               and fresh["no_change_writes"] == 0)],
    ]
    real = d.get("cold_rebuild_real_agents")
    if real:
        real_full = real["load_balancers"] >= 10_000
        summary.append([
            f"cold rebuild of {real['load_balancers']:,} LBs ({real['partitions']:,} partitions) "
            f"onto an empty simulated device by {real['agents']} REAL agents (processes, from "
            f"the {real['database']} database: leases, placement, status writes; status "
            "collection off)", "< 60 s",
            f"{real['seconds']} s (load avg {real['loadavg_before'][0]})",
            yes(real["met"]) if real_full else "— (smaller than the target size)"])
        summary.append([
            f"engine alone (context, not the target): converge of {cold['load_balancers']:,} "
            f"LBs by {cold['workers']} worker processes calling the engine directly (no "
            "database, leases, placement or status writes)", "none (reported)",
            f"{cold['seconds']} s", "—"])
    else:
        summary.append([
            f"engine alone: cold rebuild of {cold['load_balancers']:,} LBs "
            f"({cold['partitions']:,} partitions; engine called directly, no agents: the "
            "real-agents figure was not measured)", "< 60 s", f"{cold['seconds']} s",
            yes(cold["seconds"] < 60) if full else "— (smaller than the target size)"])
    detail = ["| measurement | value |", "|---|---|"]
    if graph:
        b, put, rst = graph["build"], graph["no_change_put"], graph["no_change_restart"]
        calls = "; ".join(f"{c['call']}: {c['requests']} ({c['by_method']}), {c['seconds']} s"
                          for c in b["per_call"])
        detail += [
            f"| REAL graph: settings | {graph['settings']} |",
            f"| REAL graph: device requests in the window by method (simulator counters) | "
            f"{b['device_requests_by_method']} (total {b['device_requests']}; proxy record "
            f"matches: {b['proxy_matches_simulator']}); writes {b['writes']}; audit entries "
            f"{b['audit_entries']} (queued transaction commands are not audited) from "
            f"{', '.join(b['audit_clients'])} |",
            f"| REAL graph: by who (login / reconcile / background) | "
            f"{b['attributed']['by_who']} |",
            f"| REAL graph: by path class | {_by_class(b['attributed'])} |",
            f"| REAL graph: per API call (requests until ACTIVE) | {calls} |",
            f"| REAL graph: wall time, first call to last ACTIVE | {b['seconds']} s "
            f"({b['agent_reconciles']} reconciles) |",
            f"| REAL graph: objects on the device afterwards | {graph['device_objects']} |",
            f"| REAL graph: before the window (agent start to idle) | "
            f"{_by_class(graph['before_window'])} |",
            f"| REAL no-change, PUT of the LB's own name | {put['device_requests']} requests, "
            f"{put['writes']} writes, {put['agent_reconciles']} reconcile(s), {put['seconds']} s |",
            f"| REAL no-change, agent restart (full re-read) | {rst['device_requests']} requests "
            f"({rst['device_requests_by_method']}), {rst['writes']} writes, audit entries "
            f"{rst['audit_entries']}: {_by_class(rst['attributed'])}; {rst['seconds']} s |",
        ]
    detail += [
        f"| EMULATED 6 converges, cached: requests by method | "
        f"{cached['build_requests_by_method']} |",
        f"| EMULATED 6 converges, fresh: requests by method | "
        f"{fresh['build_requests_by_method']} |",
        f"| EMULATED no-change converge: requests (cached / fresh) | "
        f"{cached['no_change_requests']} / "
        f"{fresh['no_change_requests']} |",
        f"| cold rebuild: workers x partitions in flight | {cold['workers']} x "
        f"{cold['partitions_in_flight_per_worker']} |",
        f"| cold rebuild: device requests | {cold['requests_total']:,} "
        f"({cold['requests_by_method']}) |",
        f"| cold rebuild: object failures | {cold['object_failures']} |",
    ]
    if real:
        cpu = ", ".join(f"{k} {v}" for k, v in real["cpu_seconds"].items())
        rec = real["reconciles"]
        detail += [
            f"| real agents: clock | {real['clock']} |",
            f"| real agents: settings | {real['agent_settings']}; {real['devices']} |",
            f"| real agents: seconds / partitions applied | {real['seconds']} / "
            f"{real['partitions_applied']:,} of {real['partitions']:,} (applied after each 5 s: "
            f"{', '.join(str(n) for _, n in real['applied_curve_every_5s'])}) |",
            f"| real agents: device requests | {real['requests_total']:,} "
            f"({real['requests_by_method']}), {real['requests_per_lb']} per LB, "
            f"{real['requests_per_second']:,}/s |",
            f"| real agents: reconciles per agent | {rec['per_agent']} (outcomes "
            f"{rec['outcomes']}; median {rec['seconds_median']} s, p90 {rec['seconds_p90']} s "
            "each) |",
            f"| real agents: partitions acquired / handed over per agent | "
            f"{real['partitions_acquired_per_agent']} / "
            f"{real['partitions_handed_over_per_agent']} |",
            f"| real agents: CPU seconds per process | {cpu} (total {real['cpu_seconds_total']}; "
            f"{real['cores_used_by_run']} cores used by the run, machine "
            f"{real['machine_busy_fraction'] * 100:.0f}% busy) |",
            f"| real agents: object failures (objects not ACTIVE) | {real['object_failures']} |",
            f"| real agents: load average before / after | {real['loadavg_before']} / "
            f"{real['loadavg_after']} |",
        ]
        if real.get("profile"):
            detail.append(f"| real agents: where the time goes (separate profiled run) | "
                          f"{real['profile']} |")
    return summary, detail


def rows_agents(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    summary, detail = [], ["| measurement | value |", "|---|---|"]
    fo = d.get("failover")
    if fo:
        few = " — fewer trials than the target's 10" if fo["trials"] < 10 else ""
        summary.append([f"agents: failover median ({fo['trials']} trials{few}, lease "
                        f"{fo['lease_seconds']:g} s, heartbeat {fo['heartbeat_seconds']:g} s)",
                        "≤ 15 s", f"{fo['seconds_median']} s", yes(fo["met"])])
        detail.append(f"| failover min / median / max | {fo['seconds_min']} / "
                      f"{fo['seconds_median']} / {fo['seconds_max']} s over {fo['trials']} "
                      f"trials, {fo['partitions']} partitions |")
    if d.get("throughput"):
        s2, d2 = rows_scaleout(d, further=False)
        summary += s2
        detail += ["", *d2]
    return summary, detail


def _cpu_cells(cpu: dict[str, Any]) -> list[str]:
    per = cpu["cpu_ms_per_graph"]
    agents = sum(v for k, v in per.items() if k.startswith("agent:"))
    db = f"{per['database']:.0f}" if "database" in per else "in-process"
    return [f"{per.get('api', 0):.0f}", f"{agents:.0f}", db, f"{per.get('simulator', 0):.0f}",
            f"{per.get('bench_clients', 0):.0f}", f"{cpu['cpu_ms_per_graph_total']:.0f}",
            f"{cpu['cores_used_by_run']:.2f}", f"{cpu['machine_busy_fraction'] * 100:.0f}%"]


def rows_scaleout(d: dict[str, Any], further: bool = True) -> tuple[list[list[str]], list[str]]:
    tp = d["throughput"]
    rates = tp.get("median_graphs_per_second", {})
    summary = [[f"agents: throughput 4 agents vs 1 at {tp['latency_ms']:g} ms device latency, "
                f"{tp.get('concurrency_per_agent', '?')} reconcile(s) at a time per agent "
                f"({d.get('database', '?')}, {tp.get('graphs', '?')} graphs)",
                "≥ 3.5x", f"{tp['scale_out_4_vs_1']}x"
                + (f" (steady state {tp['steady_scale_out_4_vs_1']}x)"
                   if tp.get("steady_scale_out_4_vs_1") else ""), yes(tp["met"])]]
    if rates:
        summary.append([f"agents: graphs/s end to end with 1 / 2 / 4 agents "
                        f"({d.get('database', '?')}, median of {tp.get('repeats', 1)})",
                        "none (reported)", " / ".join(str(v) for v in rates.values()), "—"])
    detail = scaleout_table(d)
    extra = sorted(RESULTS.glob("scaleout_*.json"))
    if extra and further:
        detail += ["", "Further runs:", ""]
        for path in extra:
            try:
                e = json.loads(path.read_text())
                et = e["throughput"]
                rates_e = " / ".join(str(v) for v in et.get("median_graphs_per_second",
                                                             {}).values())
                detail += [f"`{e['command']}` ({e['database']}): **{et['scale_out_4_vs_1']}x** "
                           f"end to end, {et.get('steady_scale_out_4_vs_1')}x steady state; "
                           f"graphs/s with 1 / 2 / 4 agents {rates_e} (median of "
                           f"{et.get('repeats', 1)})", "", *scaleout_table(e), ""]
                status = et.get("agent_settings", {}).get("status_interval", 3600.0)
                what = (f"operating status collected every {status:g} s" if status < 3600
                        else "same settings")
                summary.append([f"agents: throughput 4 agents vs 1, {what} "
                                f"({e['database']}, {et.get('graphs', '?')} graphs)", "≥ 3.5x",
                                f"{et['scale_out_4_vs_1']}x (steady state "
                                f"{et.get('steady_scale_out_4_vs_1')}x)", yes(et["met"])])
            except (KeyError, ValueError) as err:
                detail.append(f"{path.name}: unreadable ({type(err).__name__})")
    return summary, detail


def scaleout_table(d: dict[str, Any]) -> list[str]:
    rows = ["| agents | graphs | seconds | graphs/s (steady) | reconcile median s | reconciles "
            "per agent | CPU ms per graph: API | agents | database | simulator | bench clients "
            "| total | cores used | machine busy |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["throughput"]["runs"]:
        if "cpu" not in r:  # results from before CPU was recorded
            rows.append(f"| {r['agents']} | {r['graphs']} | {r['seconds']} | "
                        f"{r['graphs_per_second']} | | | | | | | | | | |")
            continue
        rec = r.get("reconciles", {})
        per_agent = "/".join(str(v) for v in rec.get("per_agent", {}).values())
        rows.append("| " + " | ".join([
            str(r["agents"]), str(r["graphs"]), str(r["seconds"]),
            f"{r['graphs_per_second']} ({r.get('steady_graphs_per_second')})",
            str(rec.get("seconds_median")), per_agent, *_cpu_cells(r["cpu"])]) + " |")
    return rows
def rows_memory(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    top = d["at_largest"]
    at_size = top.get("at_target_size", top["partitions"] >= 1000)
    summary = []
    for proc, label in (("agent", "agent"), ("api", "API process"),
                        ("simulator", "simulator")):
        summary.append([f"memory: {label} peak RSS at {top['partitions']:,} partitions / "
                        f"{top['load_balancers']:,} LBs", f"< {top[proc]['target_mb']} MB",
                        f"{top[proc]['peak_rss_mb']} MB",
                        yes(top[proc]["met"]) if at_size else "— (smaller than target size)"])
    summary.append([f"agent: cold reconcile of {top['load_balancers']:,} LBs by ONE agent "
                    "(1 device, from the database; memory run)", "none (reported; the < 60 s "
                    "target is the 2-agent figure, above)", f"{d['runs'][-1]['reconcile_seconds']} s",
                    "—"])
    for proc in ("agent", "api", "simulator"):
        g = d["growth"][proc]
        summary.append([f"memory: {proc} growth with partitions", "linear (marginal MB per "
                        "partition does not grow)", ", ".join(
                            f"{s} MB" for s in g["marginal_mb_per_partition"]) + " per partition",
                        yes(g["linear_or_better"])])
    detail = ["| partitions | LBs | agent cold reconcile s (per partition) | agent peak MB "
              "| API peak MB | simulator peak MB | simulator objects | load average |",
              "|---|---|---|---|---|---|---|---|"]
    for r in d["runs"]:
        per = r["reconcile_seconds"] / max(r["partitions"], 1)
        detail.append(f"| {r['partitions']:,} | {r['load_balancers']:,} | "
                      f"{r['reconcile_seconds']} ({per:.2f}) | {r['agent']['peak_rss_mb']} | "
                      f"{r['api']['peak_rss_mb']} | {r['simulator']['peak_rss_mb']} | "
                      f"{r.get('simulator_objects', '—')} | {r.get('loadavg', '—')} |")
    return summary, detail


def rows_chaos(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    inv, counts, pend = d["invariants"], d["counts"], d["pending_time"]
    summary = [[f"chaos ({d['minutes']:g} min, seed {d['seed']}): {name.replace('_', ' ')}",
                "pass", "pass" if v["pass"] else "FAIL", yes(v["pass"])]
               for name, v in inv.items()]
    detail = ["| count | value |", "|---|---|"]
    for k in ("changes_intended", "changes_acknowledged", "api_requests", "http_409",
              "changes_given_up_after_409s", "kills", "failovers", "lease_moves_other",
              "lease_epoch_bumps_total", "partitions", "live_objects_at_end"):
        detail.append(f"| {k.replace('_', ' ')} | {counts.get(k, 0)} |")
    detail.append(f"| max time pending per object | {pend.get('max_seconds', '—')} s "
                  f"(median {pend.get('median_seconds', '—')} s, p99 "
                  f"{pend.get('p99_seconds', '—')} s over {pend.get('objects', 0)} objects; "
                  f"sampled every {pend.get('resolution_seconds', '—')} s) |")
    detail.append(f"| storm / quiesce | {d['durations'].get('storm_seconds')} s / "
                  f"{d['durations'].get('quiesce_seconds')} s |")
    detail.append(f"| faults | {d['faults']} |")
    st = d.get("checker_self_test")
    if st:
        detail.append(f"| checker self-test (device 2 tampered after the checks: a virtual "
                      f"deleted, a monitor changed, a stray pool added; two fake overlapping "
                      f"writers) | {'all detected' if st['pass'] else st} |")
    extra = sorted(RESULTS.glob("chaos_*.json"))
    if extra:
        detail += ["", "Further runs (same invariants):", "",
                   "| command | database | faults | changes acked | 409s | kills | failovers "
                   "| max pending s | invariants |", "|---|---|---|---|---|---|---|---|---|"]
        for path in extra:
            try:
                e = json.loads(path.read_text())
                c = e["counts"]
                verdict = ", ".join(f"{k} {'pass' if v['pass'] else 'FAIL'}"
                                    for k, v in e["invariants"].items())
                cmd = e.get("settings", {}).get("command", f"{path.name} (flags not recorded)")
                f = e["faults"]
                faults = f"503 {f['errorRate']:g}, hang {f['hangRate']:g} x {f['hangSeconds']:g} s"
                detail.append(f"| `{cmd}` | {e['database']} | {faults} "
                              f"| {c.get('changes_acknowledged', 0)} | {c.get('http_409', 0)} | "
                              f"{c.get('kills', 0)} | {c.get('failovers', 0)} | "
                              f"{e['pending_time'].get('max_seconds', '—')} | {verdict} |")
            except (KeyError, ValueError) as err:
                detail.append(f"| {path.name} | unreadable ({type(err).__name__}) |")
    return summary, detail


def rows_transport(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    summary: list[list[str]] = []
    detail = ["| stack | figure | hand-written | library | cost ratio (library / hand-written) "
              "| range over rounds: hand-written; library |", "|---|---|---|---|---|---|"]
    stacks = (("device_client", "device transport (`device/transport.py`) vs httpx's default "
               "transport", "transport", "hand-written", "httpx-default"),
              ("simulator_server", "simulator HTTP server (`sim/httpserver.py`) vs uvicorn "
               "(ASGI)", "server", "hand-written", "uvicorn"))
    for key, title, by, mine, lib in stacks:
        side = d.get(key)
        if not side:
            continue
        v = side["verdict"]
        summary.append([f"{title}: worst cost of the library on the figures it was written for",
                        "> 1.2x keeps the hand-written stack", f"{v['worst_cost_ratio']}x ("
                        + ("hand-written kept" if v["keep_hand_written"] else "library wins")
                        + ")", yes(v["keep_hand_written"])])
        for f in side["figures"]:
            spread = []
            for kind in (mine, lib):
                vals = [_transport_value(r, f["figure"]) for r in side["runs"] if r[by] == kind
                        and _transport_match(r, f["figure"])]
                vals = [x for x in vals if x is not None]
                spread.append(f"{min(vals):,.0f} to {max(vals):,.0f}" if vals else "—")
            detail.append(f"| {key.replace('_', ' ')} | {f['figure']} | {f['hand_written']:,} | "
                          f"{f['library']:,} | {f['cost_ratio']} | {'; '.join(spread)} |")
    ctl = d.get("simulator_server", {}).get("run_time_listener_control")
    detail += ["", "| about the run | |", "|---|---|"]
    for key, _, _, _, _ in stacks:
        if key in d:
            detail.append(f"| {key.replace('_', ' ')}: workload | {d[key]['workload']} |")
            detail.append(f"| {key.replace('_', ' ')}: alternative | {d[key]['alternative']} |")
    if ctl:
        detail.append("| uvicorn and run-time close/reopen/reset | "
                      + ("met" if ctl["met_by_alternative"] else "not met: " + ctl["reason"])
                      + " |")
    m = d.get("machine", {})
    detail.append(f"| machine | {m.get('cpu', '?')}, {m.get('nproc', '?')} CPUs; httpx "
                  f"{m.get('httpx', '?')}, httpcore {m.get('httpcore', '?')}, h11 "
                  f"{m.get('h11', '?')}, uvicorn {m.get('uvicorn', '?')} |")
    detail.append(f"| load average before / after | {d.get('loadavg_before')} / "
                  f"{d.get('loadavg_after')} |")
    return summary, detail


def _transport_match(run: dict[str, Any], figure: str) -> bool:
    """Whether one run of bench/transport_bench.py belongs to `figure` (its label)."""
    if "concurrency" in run:
        return f", {run['concurrency']} in flight" in figure
    return figure.startswith(run["method"]) and f", {run['clients']} client" in figure


def _transport_value(run: dict[str, Any], figure: str) -> float | None:
    if "CPU" in figure:
        return run.get("client_cpu_us_per_request", run.get("server_cpu_us_per_request"))
    return run.get("rps")


def rows_import(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    summary, detail = [], ["| database | load balancers | batch size | dry run s | first import s "
                           "| per LB ms | second import s | second run says |",
                           "|---|---|---|---|---|---|---|---|"]
    for r in d["results"]:
        detail.append(f"| {r['db']} | {r['load_balancers']} | {r['batch_size']} | "
                      f"{r['dry_run_s']} | {r['first_import_s']} | {r['per_lb_ms']} | "
                      f"{r['second_import_s']} | {r['second_says']} |")
        summary.append([f"import {r['load_balancers']} LBs from neutron-lbaas, {r['db']}, "
                        f"batch size {r['batch_size']}", f"< {r['target_s']} s",
                        f"{r['first_import_s']} s", yes(r["met"])])
    return summary, detail


def rows_tls(d: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    runs = {(r["crl"], r["intermediates"]): r for r in d["runs"]}
    base = runs[(False, False)]
    create = base["create"]["requests"]
    target = d["targets"]["create_requests_max"]
    summary = [
        ["TLS: device requests to create a TERMINATED_HTTPS listener (default + 2 SNI, client "
         "authentication with a CA), uploads included", f"≤ {target}", str(create),
         yes(create <= target)],
        ["TLS: writes in a no-change reconcile (owner's memo / fresh read)", "0",
         f"{base['no_change_remembered']['writes']} / {base['no_change_full_read']['writes']}",
         yes(base["no_change_remembered"]["writes"] == 0
             and base["no_change_full_read"]["writes"] == 0)],
    ]
    detail = ["| run | create (by method) | no change: requests memo / fresh | rotation |",
              "|---|---|---|---|"]
    for r in d["runs"]:
        what = ("a CRL" if r["crl"] else "no CRL") + (
            ", an intermediate per bundle" if r["intermediates"] else "")
        detail.append(f"| {what} | {r['create']['requests']} ({r['create']['by_method']}) | "
                      f"{r['no_change_remembered']['requests']} / "
                      f"{r['no_change_full_read']['requests']} | {r['rotation']['requests']} "
                      f"({r['rotation']['by_method']}) |")
    return summary, detail


EVAL = {"sim": rows_sim, "api": rows_api, "side_by_side": rows_side_by_side,
        "engine": rows_engine, "agents": rows_agents,
        "scaleout": rows_scaleout, "memory": rows_memory, "chaos": rows_chaos,
        "transport": rows_transport, "tls": rows_tls, "import": rows_import}
TITLES = {"sim": "Simulator throughput", "api": "API create latency and throughput",
          "side_by_side": "This API and Octavia's, side by side (issue 17)",
          "engine": "Configuration engine", "agents": "Agent failover",
          "scaleout": "Agent scale-out (end-to-end throughput)",
          "memory": "Memory (peak RSS)", "chaos": "Chaos soak (issue 6, scenarios 1 + 5)",
          "transport": "Hand-written HTTP/1.1 stacks vs the libraries (issue 12)",
          "tls": "TLS listener device requests (issue 13)",
          "import": "Import from neutron-lbaas (issue 16)"}
NOTES = {
    "import": "`bigip-lbaas import neutron-lbaas` as a subprocess (interpreter start included: "
              "the time in brackets is the command's own), source and target databases of the same kind on the "
              "same server; each load balancer has a listener, a pool, 2 members and a health "
              "monitor, spread over 50 projects; the source has neutron-lbaas 14.0.1's own "
              "schema. Batch size 1 is the default (one transaction per load balancer); 50 puts "
              "fifty whole load balancers in each transaction. The second import finds "
              "everything unchanged and writes nothing. Very load-sensitive: an earlier run at "
              "load average 8-12 (other test suites on the 2 cores) measured 88 s for "
              "PostgreSQL at batch size 1 and 36 s at 50.",
    "sim": "Python HTTP clients cost more CPU per request than the server; the server's CPU "
           "per request shows what one core could serve.",
    "api": "The API is its own process (`bigip-lbaas api`, one worker); server and clients "
           "share the 2 CPUs; each client creates LBs in its own project, all on one subnet. "
           "Issue 17's fix (writers of a SQLite file take turns in arrival order instead of "
           "polling SQLite's lock from its busy handler), measured back to back on 2026-12-05 "
           "01:18 UTC with `octavia_side_by_side.py --products ours --clients 16` (320 creates), "
           "main at c22a087 then this code, twice: SQLite p99 857 → 157 ms and 841 → 76 ms, "
           "creates/s 201 → 230 and 202 → 275 (p50 rose from 12 to 56-67 ms: the waits are now "
           "shared evenly instead of a few writers waiting over a second); PostgreSQL, where "
           "nothing changed but the connection pool and the order of two statements, within "
           "the noise: p99 236 → 336 and 174 → 145 ms, creates/s 108 → 91 and 138 → 188 "
           "(load average 2.7-5.2).",
    "side_by_side": "Both products are real servers on loopback, each on a fresh database of "
                    "the same kind, driven by the same client (`bench/loadgen.py`): this API "
                    "as `bigip-lbaas api` with 2 workers (`[api_settings] workers = 2`, "
                    "`threads` at its default: 2 per worker on PostgreSQL, 4 on SQLite), noauth; Octavia 19.0.0 from PyPI in its "
                    "own virtualenv under gunicorn with 2 workers, noop provider, network, "
                    "compute and amphora drivers, noauth (`tests/openstack/octavia.py`). "
                    "Octavia's migrations run on MySQL/MariaDB only, so on SQLite and "
                    "PostgreSQL its schema is built from its models, as its own functional "
                    "tests do. Per client count: the creates (each client in its own project, "
                    "all VIPs on one subnet), then each client GETs its own load balancers one "
                    "by one, then lists its project's (`?project_id=`). The 16-client run "
                    "follows the 1-client run on the same servers. Clients, both servers and "
                    "the databases share the machine's 2 CPUs with whatever else runs; "
                    "`server CPU ms per request` is the server process tree's CPU time over a "
                    "measured run (creates, GETs and lists together) per request, which other "
                    "load distorts far less than rates and latencies. Octavia's no-op network "
                    "driver allocates no VIP address (it takes the request's as given); this "
                    "API allocates each from the subnet, without a subnet lock (docs/api.md). "
                    "A create on PostgreSQL is 9 round trips: BEGIN, 7 statements (one of them "
                    "the address probe) and COMMIT; under load no pool ping (db/session.py).",
    "engine": "The ≤ 40 requests and 0-writes targets are measured through the REAL API and "
              "ONE real agent (`graph_real_api_agent`): simulator (1 device, standalone, 0 ms), "
              "API and agent as processes on a fresh SQLite database, agent on product defaults "
              "except `status_interval = 3600`; after a network and subnet and once the agent is "
              "idle, the six API calls one after another, each waiting for the load balancer to "
              "be ACTIVE; device requests from the simulator's counters, each attributed (login "
              "/ reconcile / background) by a recording TLS pass-through in the bench that the "
              "product talks to (the simulator records no GET paths). The agent logged in at its "
              "start, before the window; the figure adds that one login. The EMULATED rows "
              "(six `converge` calls on in-memory states) are context. "
              "The < 60 s cold-rebuild target is measured with REAL agents: desired state "
              "inserted straight into a fresh SQLite database (as the memory benchmark does), "
              "one simulated device (standalone), two `bigip-lbaas agent` processes with "
              "distinct hosts on product defaults except `status_interval = 3600` (operating-"
              "status collection would compete with provisioning); the clock runs from starting "
              "the agents until every partition's applied generation equals its desired one. "
              "\"Engine alone\" is context: a simulator subprocess driven by worker processes "
              "calling the engine directly (each its own client, 8 partitions at a time), "
              "without database, leases, placement or status writes.",
    "agents": "Real processes: simulator pair, API, three agents on a fresh PostgreSQL "
              "database; default timings. The victim is killed with SIGKILL and all its "
              "partitions are changed at once.",
    "scaleout": "Real processes: simulator pair (50 ms per device request), API, 1, 2 or 4 "
                "agents, a fresh database per run. Every agent in every run reconciles one "
                "partition at a time (`max_concurrent_reconciles = 1`), so each agent is bound "
                "by device latency, not by the CPU; other settings are the product defaults "
                "(operating-status collection off, except where a run says otherwise). Each graph (LB, listener, pool, health "
                "monitor, 2 members; one fully populated create) is its own project; 8 clients "
                "submit all of them at once; the clock runs from the first API call until the "
                "last graph is ACTIVE (checked 5 times a second; every graph read back through "
                "the API afterwards). Steady state: the rate between the 25th and 75th "
                "percentile completions: it shows the agents scaling linearly; the end-to-end "
                "figure also pays the pipeline's fill (the first graph is ACTIVE after ~1 s: "
                "placement, then one reconcile) and drain (the agent with the most reconciles "
                "finishes last), a larger share of the shorter 4-agent run. CPU per graph: CPU "
                "seconds of each process over the run divided by the graphs (agents summed; "
                "idle time included); machine busy: all CPU use on the machine, this run's and "
                "anything else running on the same 2 cores.",
    "memory": "Desired state inserted directly into SQLite, then ONE agent (standalone device, "
              "status interval 20 s) reconciles everything; the API then lists all objects "
              "page by page and shows 100 status trees. VmHWM from /proc/<pid>/status.",
    "chaos": "4 agents on SQLite, simulated pair with 503s and hangs throughout; an agent is "
             "killed with SIGKILL every 3-6 s and replaced under a new host name; then "
             "quiesce and check the invariants.",
    "transport": "Each stack against its library alternative on the figures it was written "
                 "for, A and B interleaved (A, B, then B, A, ...) over 3 rounds of 2 s per "
                 "configuration; each figure is the median over the rounds. Device client: one "
                 "`BigipClient` on its own transport vs on `httpx.AsyncHTTPTransport` (same "
                 "limits, same TLS context) against a simulator subprocess over TLS; client CPU "
                 "is `time.process_time` of the benchmark process, which the simulator is not "
                 "part of. Simulator: the same `DeviceApp` served by `sim/httpserver.py` and by "
                 "uvicorn through a thin ASGI adapter (in the benchmark), each a subprocess, "
                 "driven by `sim_bench.py`'s clients; server CPU from /proc. Cost ratio: library "
                 "CPU / hand-written CPU, or hand-written requests/s / library requests/s; above "
                 "1.2 the library costs more than 20 % and the hand-written stack stays. "
                 "Requests/s are bound by the shared 2 cores; the CPU figures are the robust "
                 "ones.",
    "tls": "In-process simulator (1 device); the load balancer and a plaintext pool already on "
           "the device and the owner remembering what it holds (the agent's steady state: no "
           "observe reads); then a TERMINATED_HTTPS listener with a default and two SNI "
           "certificates and client authentication MANDATORY with a CA (and variants). Every "
           "request the device client sends is counted, uploads included. The create is 4 "
           "uploads (each certificate with its key as one PKCS12 bundle, and the CA), 3 "
           "`sys/crypto/pkcs12` `install` commands (each makes the `ssl-key` and `ssl-cert` of "
           "a pair together, before the transaction), the transaction (begin, the CA file, 3 "
           "client-ssl profiles, the virtual, commit) and one `unix-rm` (uploads must not stay "
           "on the device: a private key is among them). Without the PKCS12 install it was 21: "
           "a key and its certificate were two uploads and two queued objects.",
}


def table(rows: list[list[str]]) -> list[str]:
    out = ["| figure | target | measured | |", "|---|---|---|---|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def write(meta: dict[str, Any], info: dict[str, str]) -> str:
    lines = ["# Benchmarks", "",
             "Generated by `bench/report.py` from the JSON in `bench/results/` "
             f"({time.strftime('%Y-%m-%d')}). Regenerate with `{PY} bench/report.py` (runs "
             f"everything, ~40 min) or `{PY} bench/report.py --from-results`.", "",
             "**Read with care:** this machine has 2 cores shared with other work (test suites "
             "ran concurrently); the load average at each run is recorded. Timings are "
             "measured, never asserted in tests, and vary by tens of percent between runs.",
             "", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    summary: list[list[str]] = []
    sections: list[str] = []
    for name in BENCHES:
        d = load(name)
        m = meta.get(name, {})
        sections += ["", f"## {TITLES[name]}", "", f"    {m.get('command', command(name))}", ""]
        for part, (into, _) in PARTS.items():
            pm = meta.get(part)
            if into != name or not pm:
                continue
            if failed(pm):
                sections += [failure_line(pm, f"Part `{part}`"), "", f"    {pm['command']}", ""]
                pm = result_meta(pm)
            if pm.get("started"):
                sections += [f"Part `{part}` re-run alone on {pm['started']} {on_commit(pm)}; "
                             f"load average before {pm.get('loadavg_before', '?')}, "
                             f"{pm.get('seconds', '?')} s; merged into "
                             f"`bench/results/{name}.json` (its keys replaced, the rest kept):",
                             "", f"    {pm['command']}", ""]
        if d is None:
            why = m.get("error", "no result in bench/results/")
            sections.append(f"Not measured ({why}).")
            summary.append([TITLES[name], "", "not measured", "—"])
            continue
        if failed(m):
            sections += [failure_line(m, "This"), ""]
        rm = result_meta(m)
        try:
            s, detail = EVAL[name](d)
        except (KeyError, TypeError, ValueError) as e:
            sections.append(f"Result present but not readable ({type(e).__name__}: {e}).")
            continue
        when = rm.get("started", "earlier, outside report.py (its flags are not recorded; "
                      "the command above is the one report.py would run)")
        load_avg = rm.get("loadavg_before", d.get("loadavg_start", "not recorded"))
        took = f" Took {rm['seconds']} s." if "seconds" in rm else ""
        code = rm.get("exit_code")
        code_note = f" It exited with code {code} after printing its JSON." if code else ""
        sections += [f"Measured {when} {on_commit(rm)}; load average (1/5/15 min) before the "
                     f"run: {load_avg}.{took}{code_note}", "", NOTES[name], "", *table(s), "",
                     *detail]
        summary += s
    lines += ["", "## Summary", "", *table(summary), *sections, ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from-results", action="store_true",
                    help="run nothing; report the JSON already in bench/results/")
    ap.add_argument("--run", default=None,
                    help="comma-separated benchmarks to run (others reuse stored results): "
                         + ",".join([*BENCHES, *PARTS]))
    ap.add_argument("--timeout", type=float, default=1800.0, help="bound per benchmark (s)")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta_path = RESULTS / "meta.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if args.from_results:
        todo: list[str] = []
    elif args.run:
        todo = [n.strip() for n in args.run.split(",") if n.strip()]
        unknown = set(todo) - set(BENCHES) - set(PARTS)
        if unknown:
            ap.error(f"unknown benchmarks: {sorted(unknown)}")
    else:
        todo = list(BENCHES)
    for name in todo:
        previous = meta.get(name)
        meta[name] = run_bench(name, args.timeout)
        if failed(meta[name]) and isinstance(previous, dict):
            # The JSON in bench/results/ is still the previous run's: keep how it was made.
            kept = result_meta(previous)
            if kept:
                meta[name]["result_from"] = kept
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    DOC.write_text(write(meta, machine()))
    print(f"report: wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
