#!/usr/bin/env python3
"""Turns the raw output of bench/js into a results file and the
BENCHMARKS.md section between the bench:js markers.

    python3 bench/jsbench/jsreport.py --raw DIR --out bench/results/TS-js.md \
        [--benchmarks BENCHMARKS.md] [--print-section] [--force]

DIR holds meta.txt (key=value lines), wrk/r<round>-<hello|cpu>-<tput|lat>-<server>.txt,
first-*.jsonl and density-*.jsonl (bench/jsbench/client.py's output).
wrk parsing and formatting come from bench/report.py (bench/run's report).
"""

import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report import appendix, fmt_rps, fmt_us, machine, med, parse_args, parse_wrk, publish, read_meta  # noqa: E402  (bench/report.py)

START = "<!-- bench:js:start -->"
END = "<!-- bench:js:end -->"
LABELS = {"mote": "Mote", "workerd": "workerd"}
TESTS = {"hello": "JS hello world", "cpu": "JS CPU-bound handler"}
TARGET_FIRST_P99_US = 1000.0
TARGET_10K_RSS_KIB = 1 << 20  # 1 GiB


def jsonl(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pct(values, p):
    """Nearest-rank percentile."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


def mib(kib):
    return "—" if kib is None else f"{kib / 1024:,.0f} MiB"


def fmt_s(s):
    if s is None:
        return "—"
    if s < 0.01:
        return f"{s * 1000:.1f} ms"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def main():
    a = parse_args()

    meta = read_meta(a.raw)
    rounds = int(meta["rounds"])
    quick = meta.get("quick") == "1"
    mach = machine()
    date = meta["timestamp"]
    date_h = re.sub(r"T(\d\d)-(\d\d)-(\d\d)Z", r" \1:\2:\3 UTC", date)
    servers = ["mote", "workerd"]

    # ---------------- load: wrk ----------------
    runs = {}
    for t in TESTS:
        for kind in ("tput", "lat"):
            for s in servers:
                lst = []
                for r in range(1, rounds + 1):
                    p = a.raw / "wrk" / f"r{r}-{t}-{kind}-{s}.txt"
                    run = parse_wrk(p) if p.exists() else {"file": p.name, "text": "", "errors": ["missing"], "rps": None}
                    run["round"] = r
                    lst.append(run)
                runs[(t, kind, s)] = lst
    rps = {(t, s): med(x["rps"] for x in runs[(t, "tput", s)]) for t in TESTS for s in servers}
    cpu_req = {(t, s): med(x.get("server_us_per_req") for x in runs[(t, "tput", s)]) for t in TESTS for s in servers}
    srv_pct = {(t, s): med(x["cpu"]["server"] for x in runs[(t, "tput", s)] if x.get("cpu")) for t in TESTS for s in servers}
    p50 = {(t, s): med(x.get("p50") for x in runs[(t, "lat", s)]) for t in TESTS for s in servers}
    p99 = {(t, s): med(x.get("p99") for x in runs[(t, "lat", s)]) for t in TESTS for s in servers}
    lat_rps = {(t, s): med(x["rps"] for x in runs[(t, "lat", s)]) for t in TESTS for s in servers}
    errors = [f"{x['file']}: {e}" for v in runs.values() for x in v for e in x["errors"]]
    ratio = {}
    for t in TESTS:
        per = [m["rps"] / w["rps"] if m["rps"] and w["rps"] else None
               for m, w in zip(runs[(t, "tput", "mote")], runs[(t, "tput", "workerd")])]
        ratio[t] = (per, med(per))
    others = [max(0, x["cpu"]["others"]) for v in runs.values() for x in v if x.get("cpu")]
    noise = statistics.median(others) if others else 0
    noisy = noise > a.max_noise

    # ---------------- first requests ----------------
    fr = jsonl(a.raw / "first-requests.jsonl")
    first = [x["us"] for x in fr if x["pass"] == 0]
    warm = [x["us"] for x in fr if x["pass"] == 1]
    first_bad = sum(1 for x in fr if not x["ok"])
    fdeploy = [x["ms"] for x in jsonl(a.raw / "first-deploy.jsonl")]
    compile_ms = [int(x) for x in (a.raw / "first-compile-ms.txt").read_text().split()] \
        if (a.raw / "first-compile-ms.txt").exists() else []

    # ---------------- density ----------------
    dep = jsonl(a.raw / "density-deploy.jsonl")
    dep_ms = [x["ms"] for x in dep]
    counts = [int(c) for c in meta.get("density_counts", "").split()]

    def kib(key):
        v = meta.get(key)
        return int(v) if v and v.isdigit() else None

    def fnum(key):
        try:
            return float(meta[key])
        except (KeyError, ValueError):
            return None

    rss_empty = kib("rss_kib_empty")
    rss_1 = kib("rss_kib_n1")
    dens = []
    for n in counts:
        lab = f"n{n}"
        req = jsonl(a.raw / f"density-requests-{n}.jsonl")
        req_us = [x["us"] for x in req]
        rss = kib(f"rss_kib_{lab}")
        rss_after = kib(f"rss_kib_{lab}_after_requests")
        dens.append({
            "n": n,
            "ready": fnum(f"ready_s_{lab}"),
            "took": fnum(f"ready_first_request_s_{lab}"),
            "started": fnum(f"started_s_{lab}"),
            "rss": rss,
            "rss_after": rss_after,
            "per_svc": (rss - rss_1) / (n - 1) if rss and rss_1 and n > 1 else None,
            "per_svc_after": (rss_after - rss_1) / (n - 1) if rss_after and rss_1 and n > 1 else None,
            "req_n": len(req_us),
            "req_bad": sum(1 for x in req if not x["ok"]),
            "req_p50": pct(req_us, 50),
            "req_p99": pct(req_us, 99),
        })
    # Deploy times, by the number of apps already deployed.
    buckets = []
    if dep_ms:
        edges = [1, 100, 500] + list(range(1000, 10001, 1000))
        edges = [e for e in edges if e < len(dep_ms)] + [len(dep_ms)]
        for lo, hi in zip(edges, edges[1:]):
            chunk = dep_ms[lo:hi]
            if chunk:
                buckets.append((lo, hi, statistics.median(chunk), pct(chunk, 99)))
    wall_ns = sorted(int(k.split("_")[-1]) for k in meta if k.startswith("deploy_wall_s_"))
    deploy_walls = {n: (fnum(f"deploy_wall_s_{n}"), fnum(f"deploy_server_cpu_s_{n}")) for n in wall_ns}
    dcompile = [int(x) for x in (a.raw / "density-compile-ms.txt").read_text().split()] \
        if (a.raw / "density-compile-ms.txt").exists() else []

    # ---------------- section ----------------
    sec = []
    if noisy:
        sec += [f"**Warning: noisy run** — other processes used a median {noise:.0f} % of the machine "
                "during the wrk runs; the load figures are not reliable.", ""]
    hl = []
    for t, label in TESTS.items():
        m = ratio[t][1]
        if m is not None:
            hl.append(f"{label} {rps[(t, 'mote')]:,.0f} req/s = {m:.2f}× workerd")
    if hl:
        sec += [f"**{date_h}: " + "; ".join(hl) + ".**", ""]

    sec.append("| Median of the rounds | " + " | ".join(
        f"{TESTS[t]}: {LABELS[s]}" for t in TESTS for s in servers) + " |")
    sec.append("|---" * (len(TESTS) * len(servers) + 1) + "|")
    cells = lambda f: " | ".join(f(t, s) for t in TESTS for s in servers)  # noqa: E731
    sec.append(f"| req/s, `wrk -t2 -c32 -d{meta['duration']}s` | " + cells(lambda t, s: fmt_rps(rps[(t, s)])) + " |")
    sec.append("| server CPU time per request, same runs | " + cells(
        lambda t, s: "—" if cpu_req[(t, s)] is None else f"{cpu_req[(t, s)]:.0f} µs") + " |")
    sec.append("| server's share of the machine, same runs | " + cells(
        lambda t, s: "—" if srv_pct[(t, s)] is None else f"{srv_pct[(t, s)]:.0f} %") + " |")
    sec.append(f"| p50 latency, `wrk -t1 -c1 -d{meta['duration']}s --latency` | " + cells(lambda t, s: fmt_us(p50[(t, s)])) + " |")
    sec.append("| p99 latency, same runs | " + cells(lambda t, s: fmt_us(p99[(t, s)])) + " |")
    sec.append("| req/s at one connection, same runs | " + cells(lambda t, s: fmt_rps(lat_rps[(t, s)])) + " |")
    sec.append("")
    sec.append("| Mote / workerd, req/s at 32 connections | Ratio per round | Median |")
    sec.append("|---|---|---|")
    for t, label in TESTS.items():
        per, m = ratio[t]
        sec.append(f"| {label} | " + ", ".join("—" if x is None else f"{x:.2f}" for x in per) +
                   f" | {'—' if m is None else f'{m:.2f}×'} |")
    sec.append("")

    sec.append(f"**First request of a never-run service** ({len(first)} distinct JS apps deployed through "
               "the admin API, then one `GET` each, one keep-alive connection, timed by the client):")
    sec.append("")
    sec.append("| | p50 | p99 | max |")
    sec.append("|---|---|---|---|")
    f99 = pct(first, 99)
    met = "—" if f99 is None else ("met" if f99 < TARGET_FIRST_P99_US else "**NOT met**")
    sec.append(f"| first request (target p99 < 1 ms: {met}) | {fmt_us(pct(first, 50))} | {fmt_us(f99)} | "
               f"{fmt_us(max(first) if first else None)} |")
    sec.append(f"| second request, same services | {fmt_us(pct(warm, 50))} | {fmt_us(pct(warm, 99))} | "
               f"{fmt_us(max(warm) if warm else None)} |")
    if fdeploy:
        sec.append(f"| deploy of each of these apps (`PUT /v1/apps/{{name}}`, incl. compile to bytecode) | "
                   f"{statistics.median(fdeploy):.1f} ms | {pct(fdeploy, 99):.1f} ms | {max(fdeploy):.1f} ms |")
    if compile_ms:
        sec.append(f"| of which JS compile (node log, ms resolution) | {statistics.median(compile_ms):.0f} ms | "
                   f"{pct(compile_ms, 99):.0f} ms | {max(compile_ms)} ms |")
    sec.append("")

    sec.append("**Density** — N distinct JS apps (one service each, its own source and route), deployed one "
               "by one through the admin API into one data directory; then the node is restarted on it:")
    sec.append("")
    sec.append("| Apps | serving after (of which its first request) | \"mote node started\" after | RSS after start | "
               "RSS per service | after one request to each | per service | those requests p50 / p99 |")
    sec.append("|---|---|---|---|---|---|---|---|")
    sec.append(f"| 0 | — | {fmt_s(fnum('started_s_empty'))} | {mib(rss_empty)} | | | | |")
    def ready(lab):
        r, t = fnum(f"ready_s_{lab}"), fnum(f"ready_first_request_s_{lab}")
        return fmt_s(r) + ("" if t is None else f" ({fmt_s(t)})")

    sec.append(f"| 1 | {ready('n1')} | {fmt_s(fnum('started_s_n1'))} | {mib(rss_1)} | | | | |")
    for d in dens:
        ps = "—" if d["per_svc"] is None else f"{d['per_svc']:.1f} KiB"
        pa = "—" if d["per_svc_after"] is None else f"{d['per_svc_after']:.1f} KiB"
        rq = f"{fmt_us(d['req_p50'])} / {fmt_us(d['req_p99'])}"
        if d["req_bad"] or d["req_n"] != d["n"]:
            rq += f" (**{d['req_n']} done, {d['req_bad']} failed**)"
        sec.append(f"| {d['n']:,} | {ready('n' + str(d['n']))} | {fmt_s(d['started'])} | {mib(d['rss'])} | {ps} | "
                   f"{mib(d['rss_after'])} | {pa} | {rq} |")
    sec.append("")
    if buckets:
        sec.append("| Deploys (n-th app) | median | p99 |")
        sec.append("|---|---|---|")
        for lo, hi, m50, m99 in buckets:
            sec.append(f"| apps {lo + 1:,}–{hi:,} | {m50:.1f} ms | {m99:.1f} ms |")
        sec.append("")
    notes = []
    big = [d for d in dens if d["n"] >= 10000]
    if big and big[0]["rss"]:
        ok = big[0]["rss"] < TARGET_10K_RSS_KIB
        notes.append(f"Target 10,000 services in under 1 GiB RSS: **{'met' if ok else 'NOT met'}** "
                     f"({mib(big[0]['rss'])} after start-up).")
    if dens and dens[-1]["n"] < 10000 and dens[-1]["per_svc"] and rss_1:
        d = dens[-1]
        est = rss_1 + d["per_svc"] * 9999
        notes.append(f"Largest node measured: {d['n']:,} apps; at {d['per_svc']:.1f} KiB per service, "
                     f"10,000 would take about {mib(est)} after start-up (extrapolated, not measured; "
                     f"target under 1 GiB).")
    if deploy_walls:
        notes.append("Deploying (one at a time, one connection): " + "; ".join(
            f"up to {n:,} apps {w:,.0f} s wall" + ("" if c is None else f", {c:,.1f} s of the node's CPU")
            for n, (w, c) in deploy_walls.items() if w is not None) +
            (f"; the JS compile step took a median {statistics.median(dcompile):.0f} ms "
             f"(p99 {pct(dcompile, 99)} ms) of each deploy (node log)" if dcompile else "") + ".")
    for k, v in meta.items():
        if k.startswith("deploy_stopped_") or k.startswith("requests_failed_"):
            notes.append(f"**{k}: {v}**")
    notes.append(f"RSS of the load-test servers after their runs: Mote {mib(kib('rss_kib_after_load_mote'))}, "
                 f"workerd {mib(kib('rss_kib_after_load_workerd'))}.")
    if others:
        notes.append(f"Noise: other processes used a median {noise:.0f} % (max {max(others)} %) of the machine "
                     f"during the wrk runs; {meta.get('cpu_busy_before_http', '?')} busy just before.")
    if errors:
        notes.append("**Runs with errors:** " + "; ".join(errors))
    if first_bad:
        notes.append(f"**{first_bad} first/second requests did not answer 200 with the expected body.**")
    bad_after = [k for k, v in meta.items() if k.startswith("after_") and v != "ok"]
    if bad_after:
        notes.append("**No longer answering correctly after the load:** " + ", ".join(bad_after))
    sec += [f"- {n}" for n in notes]
    sec.append("")
    elapsed = int(meta.get("elapsed_seconds", 0))
    sec.append("| Run | |")
    sec.append("|---|---|")
    sec.append(f"| Command | `bench/js{' --quick' if quick else ''}` |")
    sec.append(f"| Date | {date_h} |")
    sec.append(f"| Protocol | load: {rounds} round(s); per round, script and server one `-c32` and one `-c1` run of "
               f"{meta['duration']} s, servers alternated; {elapsed // 60} min {elapsed % 60} s in all |")
    sec.append(f"| Machine | {mach['nproc']} CPUs ({mach['model']}), {mach['memory']} RAM, Linux {mach['kernel']}; "
               "client and server share these CPUs |")
    sec.append(f"| Mote | `{meta['mote_rev']}` (release build) |")
    sec.append(f"| Peer | {meta['workerd_version']} |")
    sec.append(f"| Tools | {meta.get('wrk_version', 'wrk')}; {meta.get('rustc_version', '')} |")
    sec.append(f"| Every run | `bench/results/{a.out.name}` (not committed) |")
    section = "\n".join(sec)

    # ---------------- results file ----------------
    res = [f"# Mote JavaScript benchmarks — {date_h}{' (quick)' if quick else ''}", "", section, "",
           "## Every wrk run", ""]
    res.append("| Round | Script | Kind | Server | req/s | p50 | p90 | p99 | requests | loadavg before "
               "| CPU % of machine: server / wrk / others | server CPU µs/req | errors |")
    res.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in range(rounds):
        for t in TESTS:
            for kind in ("tput", "lat"):
                for s in servers:
                    x = runs[(t, kind, s)][r]
                    c = x.get("cpu") or {}
                    res.append(f"| {r + 1} | {t} | {'-t2 -c32' if kind == 'tput' else '-t1 -c1'} | {s} | "
                               f"{fmt_rps(x.get('rps'))} | {fmt_us(x.get('p50'))} | {fmt_us(x.get('p90'))} | "
                               f"{fmt_us(x.get('p99'))} | {x.get('requests') or '—'} | {x.get('loadavg', '—')} | "
                               f"{c.get('server', '—')} / {c.get('wrk', '—')} / {c.get('others', '—')} | "
                               f"{'—' if x.get('server_us_per_req') is None else round(x['server_us_per_req'], 1)} | "
                               f"{'; '.join(x['errors']) or 'none'} |")
    if dep_ms:
        res += ["", "## Density deploys, every 500th", "", "| n-th app | ms |", "|---|---|"]
        res += [f"| {i + 1} | {v:.1f} |" for i, v in enumerate(dep_ms) if i % 500 == 0 or i == len(dep_ms) - 1]
    res += appendix(meta, [x for v in runs.values() for x in v], a.raw)
    publish(a, res, section, START, END, noisy, noise, "bench/js")

    print("\n" + "; ".join(hl))
    if errors or first_bad:
        print("WARNING: runs with errors — see the results file", file=sys.stderr)
    if noisy:
        sys.exit(3)


if __name__ == "__main__":
    main()
