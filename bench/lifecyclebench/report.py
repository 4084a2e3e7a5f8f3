#!/usr/bin/env python3
"""Turns the raw output of bench/lifecycle into a results file and the
BENCHMARKS.md section between the bench:lifecycle markers.

    python3 bench/lifecyclebench/report.py --raw DIR --out bench/results/TS-lifecycle.md \
        [--benchmarks BENCHMARKS.md] [--print-section] [--force]

DIR holds meta.txt (key=value lines), deploy.jsonl (bench/jsbench/client.py's
output), mix/ and small/ (lcclient.py mix: requests.jsonl, samples.jsonl,
summary.json), latency.jsonl and promote.json (lcclient.py cold / repeat /
promote), health-*.json and node-<phase>.log. The command line, the machine
description and publishing come from bench/report.py, percentiles and
formatting from bench/jsbench/jsreport.py.
"""

import bisect
import datetime
import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "jsbench"))
from report import fmt_us as fmt_us_, machine, med, parse_args, publish, read_meta  # noqa: E402  (bench/report.py)
from jsreport import fmt_s, jsonl, pct  # noqa: E402  (bench/jsbench/jsreport.py)

START = "<!-- bench:lifecycle:start -->"
END = "<!-- bench:lifecycle:end -->"
TARGET_COLD_P99_US = 1000.0
COUNTERS = ["loads", "idle_evictions", "budget_evictions", "promotions", "demotions", "promotion_failures"]
KINDS = {
    "cold": "cold: first request of a service never requested since the node started (a load from the compiled-code cache)",
    "warm": "warm: loaded, on the shared engine (`--promote-after 0`)",
    "reuse": "warm, `instance = { reuse = 100 }` (same node)",
    "promoted": "promoted: the same kind of service on its own snapshot (default node)",
}
LOG_EVENTS = {
    "promoted": "promoted to its own snapshot",
    "promotion_failed": "promotion failed",
    "demoted_cold": "demoted: cold",
    "demoted_budget": "demoted: memory budget",
    "unloaded_idle": "unloaded: idle",
    "unloaded_budget": "unloaded: memory budget",
}


def fmt_us(us):
    return f"{us / 1e6:.2f} s" if us is not None and us >= 1e6 else fmt_us_(us)


def mib(b):
    if b is None:
        return "—"
    return f"{b >> 20:,} MiB" if b % (1 << 20) == 0 else f"{b / (1 << 20):,.1f} MiB"


def kib_mib(k):
    return "—" if k is None else f"{k / 1024:,.0f} MiB"


def read_json(p):
    return json.loads(p.read_text()) if p.exists() else None


def log_stats(path):
    """Counts of the node's lifecycle log lines, the promotions' time and
    size, and its warnings and errors."""
    out = {k: 0 for k in LOG_EVENTS}
    out["promote_ms"], out["promote_bytes"], out["warnings"] = [], [], []
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        for k, text in LOG_EVENTS.items():
            if text in line:
                out[k] += 1
        if LOG_EVENTS["promoted"] in line:
            m = re.search(r"\bms=(\d+)", line)
            b = re.search(r"\bbytes=(\d+)", line)
            if m:
                out["promote_ms"].append(int(m.group(1)))
            if b:
                out["promote_bytes"].append(int(b.group(1)))
        if re.search(r"\s(WARN|ERROR)\s", line):
            out["warnings"].append(line)
    return out


def node_requests(path):
    """The node's own request log: {path: [(unix time logged, duration ms)]}."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        ts = datetime.datetime.fromisoformat(parts[0].replace("Z", "+00:00")).timestamp()
        out.setdefault(parts[1], []).append((ts, float(parts[3])))
    for v in out.values():
        v.sort()
    return out


def where_slow(reqs, nodelog, start_unix, slow_us=100_000):
    """For each request the client saw take over slow_us: the node's own
    duration of it (its log line for that path logged while the client
    waited, the latest one). Returns (inside, outside, unmatched): the node
    spent at least half of the time in its handling, less, or no line."""
    inside = outside = unmatched = 0
    for r in reqs:
        if r.get("us") is None or r["us"] <= slow_us:
            continue
        lines = nodelog.get("/l-%05d" % r["k"], [])
        t_send = start_unix + r["t"]
        t_end = t_send + r["us"] / 1e6
        i = bisect.bisect_right(lines, (t_end + 0.05, float("inf")))
        cand = [d for ts, d in lines[max(0, i - 3):i] if t_send - 0.05 <= ts]
        if not cand:
            unmatched += 1
        elif cand[-1] * 1000 >= r["us"] / 2:
            inside += 1
        else:
            outside += 1
    return inside, outside, unmatched


def phase(raw, name):
    d = raw / name
    summary = read_json(d / "summary.json")
    if summary is None:
        return None
    reqs = jsonl(d / "requests.jsonl")
    samples = jsonl(d / "samples.jsonl")
    us = [r["us"] for r in reqs if r.get("us") is not None]
    life = [s["lifecycle"] for s in samples if "lifecycle" in s]
    by = {s["phase"]: s for s in samples if s["phase"] in ("before", "end", "after-tail")}
    rss = [s["rss_kib"] for s in samples if s.get("rss_kib")]
    rss_run = [s["rss_kib"] for s in samples if s.get("rss_kib") and s["phase"] in ("before", "run", "end")]
    promoted_seen = set()
    for s in samples:
        for app, st in (s.get("hot") or {}).items():
            if st == "promoted":
                promoted_seen.add(app)
    # Requests per second of the run, to see stalls.
    per_s = {}
    for r in reqs:
        per_s[int(r["t"])] = per_s.get(int(r["t"]), 0) + 1
    nodelog = node_requests(raw / f"node-{name}-requests.txt")
    node_ms = [d for v in nodelog.values() for _, d in v]
    node_first = [v[0][1] for v in nodelog.values() if v]  # each service's first request: a load
    node_again = [d for v in nodelog.values() for _, d in v[1:]]
    # The node's own peak (since its start) catches what one-second samples miss.
    held = [x.get("code_bytes_peak", x["code_bytes"]) for x in life]
    over = [h - x["budget_bytes"] for h, x in zip(held, life) if h > x["budget_bytes"]]
    return {
        "over": over,
        "node_first": (pct(node_first, 50), pct(node_first, 99), max(node_first) if node_first else None,
                       sum(1 for d in node_first if d > 50)),
        "node_again": (pct(node_again, 50), pct(node_again, 99), max(node_again) if node_again else None,
                       sum(1 for d in node_again if d > 50)),
        "node_n": len(node_ms),
        "node_p50": pct(node_ms, 50), "node_p99": pct(node_ms, 99), "node_max": max(node_ms) if node_ms else None,
        "node_slow": sum(1 for d in node_ms if d > 100),
        "slow_where": where_slow(reqs, nodelog, summary["start_unix"]) if nodelog else None,
        "summary": summary,
        "n": len(reqs),
        "errors": sum(1 for r in reqs if not r["ok"]),
        "p50": pct(us, 50), "p99": pct(us, 99), "p999": pct(us, 99.9), "max": max(us) if us else None,
        "slow": sum(1 for x in us if x > 100_000),
        "late_max": max((r["late"] for r in reqs), default=None),
        "rss_max": max(rss_run) if rss_run else None,
        "rss_max_all": max(rss) if rss else None,
        "rss_before": by.get("before", {}).get("rss_kib"),
        "rss_end": by.get("end", {}).get("rss_kib"),
        "rss_tail": by.get("after-tail", {}).get("rss_kib"),
        "code_max": max(held, default=None),
        "budget": life[0]["budget_bytes"] if life else None,
        "loaded_max": max((x["loaded"] for x in life), default=None),
        "promoted_max": max((x["promoted"] for x in life), default=None),
        "end": by.get("end", {}).get("lifecycle"),
        "tail": by.get("after-tail", {}).get("lifecycle"),
        "before": by.get("before", {}).get("lifecycle"),
        "hot_promoted": sorted(promoted_seen),
        "admin_errors": [s["admin_error"] for s in samples if "admin_error" in s],
        "samples": samples,
        "per_s_min": min((per_s.get(t, 0) for t in range(1, int(summary["seconds"]))), default=None),
    }


def main():
    a = parse_args()
    raw = a.raw
    meta = read_meta(raw)
    quick = meta.get("quick") == "1"
    mach = machine()
    date_h = re.sub(r"T(\d\d)-(\d\d)-(\d\d)Z", r" \1:\2:\3 UTC", meta["timestamp"])
    n_apps = int(meta["apps"])

    def fnum(key):
        try:
            return float(meta[key])
        except (KeyError, ValueError):
            return None

    def inum(key):
        v = meta.get(key)
        return int(v) if v and v.isdigit() else None

    # ---------------- deploy and start-up ----------------
    dep_ms = [x["ms"] for x in jsonl(raw / "deploy.jsonl")][1:]  # the first (engine snapshot) is not timed
    deploy_wall = fnum("deploy_wall_s")
    deploy_cpu = fnum("deploy_server_cpu_s")

    # ---------------- traffic phases ----------------
    phases = {"mix": phase(raw, "mix"), "small": phase(raw, "small")}
    logs = {p: log_stats(raw / f"node-{p}.log") for p in ("deploy", "mix", "small", "warm", "promoted")}

    # ---------------- latency ----------------
    lat = jsonl(raw / "latency.jsonl")
    runs = {}
    for x in lat:
        runs.setdefault(x["kind"], []).append(x)
    latency = {}
    for kind, lst in runs.items():
        lst.sort(key=lambda x: x["run"])
        per = [(pct(x["us"], 50), pct(x["us"], 99)) for x in lst]
        latency[kind] = {
            "runs": lst,
            "per": per,
            "p50": med(p[0] for p in per),
            "p99": med(p[1] for p in per),
            "max": max((max(x["us"]) for x in lst if x["us"]), default=None),
            "n": sum(len(x["us"]) for x in lst),
            "bad": sum(x.get("n_bad", len(x.get("bad", []))) for x in lst),
            "others": [x["cpu"]["others"] for x in lst],
        }
    cold_loads_ok = all(x["loads"] == len(x["us"]) for x in runs.get("cold", []))
    states_ok = {
        kind: all(x["state_before"]["state"] == want and x["state_after"]["state"] == want for x in runs.get(kind, []))
        for kind, want in (("warm", "loaded"), ("reuse", "loaded"), ("promoted", "promoted"))
    }
    promote = read_json(raw / "promote.json")

    # ---------------- noise ----------------
    others = [o for v in latency.values() for o in v["others"]]
    others += [p["summary"]["cpu"]["others"] for p in phases.values() if p]
    noise = statistics.median(others) if others else 0
    noisy = noise > a.max_noise

    # ---------------- targets ----------------
    mix, small = phases["mix"], phases["small"]
    total_errors = sum(p["errors"] + (p["summary"]["planned"] - p["n"]) for p in phases.values() if p) + \
        sum(v["bad"] for v in latency.values())
    failures = [f"{k}={v}" for k, v in meta.items()
                if k.startswith(("latency_failed_", "promote_failed", "mix_rc", "small_rc", "mix_node_died",
                                 "small_node_died"))]
    t_errors = total_errors == 0 and not failures
    within = {k: (p["code_max"] is not None and p["budget"] is not None and p["code_max"] <= p["budget"])
              for k, p in phases.items() if p}
    rss_in_budget = mix and mix["rss_max_all"] is not None and mix["budget"] and \
        mix["rss_max_all"] * 1024 <= mix["budget"]
    end = lambda p, c: (p["tail"] or p["end"] or {}).get(c, 0) if p else 0  # noqa: E731
    visible = {
        "idle evictions": end(mix, "idle_evictions") > 0,
        "promotions": end(mix, "promotions") > 0,
        "demotions": end(mix, "demotions") + end(small, "demotions") > 0,
        "budget evictions": end(small, "budget_evictions") > 0,
    }
    cold99 = latency.get("cold", {}).get("p99")
    yes = lambda b: "met" if b else "**NOT met**"  # noqa: E731

    # ---------------- section ----------------
    sec = []
    if noisy:
        sec += [f"**Warning: noisy run** — other processes used a median {noise:.0f} % of the machine "
                "during the measurements; the latencies are not reliable.", ""]
    head = []
    if mix:
        head.append(f"{n_apps:,} JS services, {mix['n']:,} requests, {total_errors} errors, "
                    f"RSS at most {kib_mib(mix['rss_max_all'])} with a {mib(mix['budget'])} budget")
    if cold99 is not None:
        head.append(f"cold p99 {fmt_us(cold99)} (target < 1 ms: {yes(cold99 < TARGET_COLD_P99_US)})")
    if head:
        sec += [f"**{date_h}: " + "; ".join(head) + ".**", ""]

    sec.append("| Targets | Met? |")
    sec.append("|---|---|")
    sec.append(f"| no errors: every answer 200 with the service's body ({total_errors} otherwise"
               + (f"; {', '.join(failures)}" if failures else "") + f") | {yes(t_errors)} |")
    if mix:
        overs = [f"{k}: over the budget by at most {max(p['over']):,} bytes"
                 for k, p in phases.items() if p and p["over"]]
        sec.append(f"| within the budget: code held at most {mib(mix['code_max'])} of {mib(mix['budget'])}"
                   + (f", and {mib(small['code_max'])} of {mib(small['budget'])} in the small-budget phase" if small else "")
                   + " (`code_bytes_peak`: the most held at once since the node started)"
                   + (f" — {'; '.join(overs)} (code that running requests held)" if overs else "")
                   + f" | {yes(all(within.values()))} |")
        sec.append(f"| RSS (the whole process, {kib_mib(mix['rss_max_all'])} at most) within the "
                   f"{mib(mix['budget'])} budget | {yes(rss_in_budget)} |")
    sec.append("| evictions and promotions visible in `GET /v1/health`: "
               + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in visible.items()) + f" | {yes(all(visible.values()))} |")
    if cold99 is not None:
        sec.append(f"| p99 of a first request under 1 ms (cold p99 {fmt_us(cold99)}, median of the runs) | "
                   f"{yes(cold99 < TARGET_COLD_P99_US)} |")
    sec.append("")

    # Deploy and start.
    sec.append(f"**{n_apps:,} distinct JS apps in one data directory** (one service each: its own source, route "
               "and answer):")
    sec.append("")
    sec.append("| | |")
    sec.append("|---|---|")
    if dep_ms:
        sec.append(f"| deploy, one by one through the admin API (one connection) | {fmt_s(deploy_wall)} wall for "
                   f"{len(dep_ms) + 1:,} apps ({deploy_cpu or 0:,.0f} s of the node's CPU); per deploy median "
                   f"{statistics.median(dep_ms):.1f} ms, p99 {pct(dep_ms, 99):.1f} ms, max {max(dep_ms):,.0f} ms"
                   + (f"; the first 1,000 median {statistics.median(dep_ms[:1000]):.1f} ms, the last 1,000 median "
                      f"{statistics.median(dep_ms[-1000:]):.1f} ms" if len(dep_ms) >= 4000 else "") + " |")
    if inum("data_dir_mib"):
        sec.append(f"| data directory | {inum('data_dir_mib'):,} MiB |")
    sec.append(f"| restart: serving (first request to a service answered) after | {fmt_s(fnum('ready_s_mix'))} "
               f"(\"mote node started\" logged after {fmt_s(fnum('started_s_mix'))}) |")
    sec.append(f"| RSS after the restart (nothing loaded but the service that answered) | "
               f"{kib_mib(inum('rss_kib_mix'))} |")
    sec.append("")

    # Traffic phases.
    cols = [(k, p) for k, p in phases.items() if p]
    if cols:
        title = {"mix": f"`--memory-budget {meta['budget']}`", "small": f"`--memory-budget {meta['small_budget']}`"}
        sec.append(f"**Traffic across the {n_apps:,} services** (node restarted on the data directory with "
                   f"`--idle-timeout {meta['idle_timeout']}`, {meta['mix_clients']} keep-alive clients, paced "
                   f"at ~{meta['mix_rate']} requests/s in all; then {meta['mix_tail']} s / {meta['small_tail']} s "
                   "without traffic):")
        sec.append("")
        sec.append("| | " + " | ".join(title[k] for k, _ in cols) + " |")
        sec.append("|---" * (len(cols) + 1) + "|")

        def row(label, f):
            sec.append(f"| {label} | " + " | ".join(f(k, p) for k, p in cols) + " |")

        def shape(k, p):
            s = p["summary"]
            if s["profile"] == "rotate":
                return (f"every service once, {len(s['hot'])} hot services (4 in each half of the run) "
                        f"{sum(s['hot_requests'].values()):,} requests, 200 warm ones ~20 %, the rest spread; "
                        f"{s['per_service']['le3']:,} services got at most 3")
            return (f"a narrow start ({len(s['hot'])} hot and 200 warm services, {s['windows'][1]['start']:,} "
                    f"requests), then every service once with a third of the requests still to the hot ones")

        row("requests", lambda k, p: f"{p['n']:,} of {p['summary']['planned']:,} in {p['summary']['seconds']:.0f} s")
        row("traffic", shape)
        row("errors (not 200 + the right body)", lambda k, p: (f"**{p['errors']}**: " + ", ".join(
            f"{v} × {e}" for e, v in p["summary"]["error_kinds"].items())) if p["errors"] else "0")
        row("latency p50 / p99 / max (client)", lambda k, p: f"{fmt_us(p['p50'])} / {fmt_us(p['p99'])} / {fmt_us(p['max'])}")
        row("requests over 100 ms", lambda k, p: f"{p['slow']}")
        row("the same, by the node's request log: p50 / p99 / max, over 100 ms",
            lambda k, p: (f"{fmt_us(p['node_p50'] * 1000)} / {fmt_us(p['node_p99'] * 1000)} / "
                          f"{fmt_us(p['node_max'] * 1000)}, {p['node_slow']}") if p["node_n"] else "—")
        row("the node's duration of each service's first request (a load) / of the others: p50 / p99 / max, "
            "over 50 ms",
            lambda k, p: " — ".join(f"{fmt_us(a_ * 1000)} / {fmt_us(b_ * 1000)} / {fmt_us(c_ * 1000)}, {d_}"
                                    for a_, b_, c_, d_ in (p["node_first"], p["node_again"])) if p["node_n"] else "—")
        row("requests over 100 ms at the client: the node's handling took most of it / little of it / not found",
            lambda k, p: " / ".join(map(str, p["slow_where"])) if p["slow_where"] else "—")
        row("CPU, share of the machine: node / client / other processes",
            lambda k, p: f"{p['summary']['cpu']['node']:.0f} % / {p['summary']['cpu']['client']:.0f} % / "
                         f"{p['summary']['cpu']['others']:.0f} %")
        row("RSS: after start / max during the run / at its end / after the idle time",
            lambda k, p: f"{kib_mib(p['rss_before'])} / {kib_mib(p['rss_max'])} / {kib_mib(p['rss_end'])} / "
                         f"{kib_mib(p['rss_tail'])}")
        row("code held at most (`code_bytes_peak`) / budget", lambda k, p: f"{mib(p['code_max'])} / {mib(p['budget'])}")
        row("services loaded at once, max (of which promoted)",
            lambda k, p: f"{p['loaded_max']:,} ({p['promoted_max']})" if p["loaded_max"] is not None else "—")
        for c in COUNTERS:
            row(f"`{c}` at the end of the run → after the idle time",
                lambda k, p, c=c: f"{(p['end'] or {}).get(c, '—'):,} → {(p['tail'] or {}).get(c, '—'):,}")
        row("hot services seen promoted (polled every 2 s)",
            lambda k, p: f"{len(p['hot_promoted'])} of {len(p['summary']['hot'])}")
        row("promotions in the log: median time, snapshot size",
            lambda k, p: (f"{statistics.median(logs[k]['promote_ms']):,.0f} ms, "
                          f"{mib(statistics.median(logs[k]['promote_bytes']))}") if logs[k]["promote_ms"] else "—")
        row("node warnings/errors logged", lambda k, p: str(len(logs[k]["warnings"])))
        sec.append("")

    # Latency.
    if latency:
        r = int(meta["runs"])
        sec.append(f"**Latency of a hello service** (each JS app answers `service <k>`; one keep-alive connection, "
                   f"timed by the client in Python — which adds some tens of µs; {r} runs, medians of the runs' "
                   f"p50 and p99; cold: {meta['cold']} services per run, each requested once; the others: "
                   f"{meta['repeat']} requests per run after {meta['warmup']} unmeasured):")
        sec.append("")
        sec.append("| | p50 | p99 | max | node CPU per request | p50 / p99 per run |")
        sec.append("|---|---|---|---|---|---|")
        for kind in ("cold", "warm", "reuse", "promoted"):
            v = latency.get(kind)
            if not v:
                continue
            label = KINDS[kind]
            if kind == "cold":
                label += f" (target p99 < 1 ms: {yes(v['p99'] < TARGET_COLD_P99_US)})"
            if v["bad"]:
                label += f" (**{v['bad']} errors**)"
            cpu_req = med(x["cpu"]["node_cpu_s"] * 1e6 / len(x["us"]) for x in v["runs"] if x["us"])
            sec.append(f"| {label} | {fmt_us(v['p50'])} | {fmt_us(v['p99'])} | {fmt_us(v['max'])} | "
                       f"{fmt_us(cpu_req)} | " + ", ".join(f"{fmt_us(a_)} / {fmt_us(b_)}" for a_, b_ in v["per"]) + " |")
        sec.append("")

    notes = []
    if promote:
        notes.append(f"The promoted service got its snapshot {promote['seconds']:.1f} s after its first request "
                     f"(~250 requests/s on one connection, {promote['requests']:,} requests; state polled every 0.2 s)."
                     if promote["promoted"] else
                     f"**The service was not promoted within {promote['seconds']:.0f} s ({promote['requests']:,} requests).**")
    if latency.get("warm") and latency.get("promoted"):
        notes.append("Warm and promoted are measured on two nodes, one after the other (the warm service must never "
                     "be promoted, the promoted one needs the default `--promote-after`); node CPU per request is "
                     "the node's CPU time during each run (from `/proc`, 10 ms ticks) over its requests, median of "
                     "the runs.")
    if runs.get("cold") and not cold_loads_ok:
        notes.append("**The cold runs did not cause exactly one load per request** (`loads` counter); see the results.")
    for kind, ok in states_ok.items():
        if runs.get(kind) and not ok:
            notes.append(f"**The {kind} service was not in the expected state around every run**; see the results.")
    for k, p in cols:
        if p["admin_errors"]:
            notes.append(f"**{k}: the admin API failed {len(p['admin_errors'])} time(s) while sampled:** "
                         f"{p['admin_errors'][0]}")
        if p["summary"].get("deadline_hit"):
            notes.append(f"**{k}: the run hit its deadline.**")
    if others:
        notes.append(f"Noise: other processes used a median {noise:.0f} % (max {max(others):.0f} %) of the machine "
                     f"during the measurements; {meta.get('cpu_busy_before_mix', '?')} busy before the traffic, "
                     f"{meta.get('cpu_busy_before_latency', '?')} before the latency runs.")
    sec += [f"- {x}" for x in notes]
    sec.append("")
    elapsed = int(meta.get("elapsed_seconds", 0))
    sec.append("| Run | |")
    sec.append("|---|---|")
    sec.append(f"| Command | `bench/lifecycle{' --quick' if quick else ''}` |")
    sec.append(f"| Date | {date_h} |")
    sec.append(f"| Protocol | deploy, restart, traffic at {meta['budget']}, traffic at {meta['small_budget']}, "
               f"{meta['runs']} latency runs; {elapsed // 60} min {elapsed % 60} s in all |")
    sec.append(f"| Machine | {mach['nproc']} CPUs ({mach['model']}), {mach['memory']} RAM, Linux {mach['kernel']}; "
               "client and node share these CPUs |")
    sec.append(f"| Mote | `{meta['mote_rev']}` (release build) |")
    sec.append(f"| Tools | {meta.get('rustc_version', '')}; Python {sys.version.split()[0]} |")
    sec.append(f"| Every run | `bench/results/{a.out.name}` (not committed) |")
    section = "\n".join(sec)

    # ---------------- results file ----------------
    res = [f"# Mote lifecycle benchmark — {date_h}{' (quick)' if quick else ''}", "", section, ""]
    for k, p in cols:
        res += [f"## {k}: every 5 s", "",
                "| t (s) | requests sent | RSS | code held | loaded | promoted | " + " | ".join(COUNTERS) + " |",
                "|---" * (6 + len(COUNTERS)) + "|"]
        last = -99.0
        for s in p["samples"]:
            if "lifecycle" not in s:
                continue
            if s["phase"] in ("run", "tail") and s["t"] - last < 5:
                continue
            last = s["t"]
            lc = s["lifecycle"]
            res.append(f"| {s['t']:.1f} {s['phase']} | {s['sent']:,} | {kib_mib(s.get('rss_kib'))} | "
                       f"{mib(lc['code_bytes'])} | {lc['loaded']:,} | {lc['promoted']} | "
                       + " | ".join(f"{lc[c]:,}" for c in COUNTERS) + " |")
        res.append("")
        states = [(s["t"], s["hot"]) for s in p["samples"] if s.get("hot")]
        if states:
            res += [f"### {k}: the hot services' state", "", "| t (s) | " + " | ".join(states[0][1]) + " |",
                    "|---" * (len(states[0][1]) + 1) + "|"]
            res += [f"| {t:.1f} | " + " | ".join(h.get(x, "?") for x in states[0][1]) + " |" for t, h in states]
            res.append("")
        res += [f"### {k}: summary", "", "```", json.dumps(p["summary"], indent=1), "```", ""]
    if dep_ms:
        res += ["## Deploys, every 500th", "", "| n-th app | ms |", "|---|---|"]
        res += [f"| {i + 2} | {v:.1f} |" for i, v in enumerate(dep_ms) if i % 500 == 0 or i == len(dep_ms) - 1]
        res.append("")
    res += ["## Node log: lifecycle events", "", "| phase | " + " | ".join(LOG_EVENTS) + " | warnings/errors |",
            "|---" * (len(LOG_EVENTS) + 2) + "|"]
    for p, s in logs.items():
        res.append(f"| {p} | " + " | ".join(str(s[k]) for k in LOG_EVENTS) + f" | {len(s['warnings'])} |")
    res.append("")
    for p, s in logs.items():
        if s["warnings"]:
            res += [f"### {p}: warnings and errors (first 20)", "", "```"] + s["warnings"][:20] + ["```", ""]
    res += ["## Latency runs", "", "| kind | run | n | p50 | p99 | max | others' CPU % | state before → after |",
            "|---|---|---|---|---|---|---|---|"]
    for kind, v in latency.items():
        for x in v["runs"]:
            st = ""
            if "state_before" in x:
                st = f"{x['state_before']['state']} → {x['state_after']['state']}"
            elif "loads" in x:
                st = f"{x['loads']} loads"
            res.append(f"| {kind} | {x['run']} | {len(x['us'])} | {fmt_us(pct(x['us'], 50))} | {fmt_us(pct(x['us'], 99))} | "
                       f"{fmt_us(max(x['us']) if x['us'] else None)} | {x['cpu']['others']} | {st} |")
    res.append("")
    if promote:
        res += ["## Promotion", "", "```", json.dumps(promote, indent=1), "```", ""]
    res += ["## Metadata", "", "```"] + [f"{k}={v}" for k, v in meta.items()] + ["```", ""]
    publish(a, res, section, START, END, noisy, noise, "bench/lifecycle")
    if not t_errors:
        print("WARNING: errors — see the results file", file=sys.stderr)
    if noisy:
        sys.exit(3)


if __name__ == "__main__":
    main()
