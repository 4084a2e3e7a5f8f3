#!/usr/bin/env python3
"""Turns the raw output of bench/hostile into a results file and the
BENCHMARKS.md section between the bench:hostile markers.

    python3 bench/hostilebench/report.py --raw DIR --out bench/results/TS-hostile.md \
        [--benchmarks BENCHMARKS.md] [--print-section] [--force]

DIR holds meta.txt, wrk/r<round>-<phase>.txt (the neighbour's wrk run, with
our '#' lines), attack/r<round>-<attack>.json (attack.py's summary) and
log/r<round>-<phase>.json (logstats.py: what the node logged meanwhile). wrk
parsing, formatting and publishing come from bench/report.py.
"""

import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report import appendix, fmt_us, machine, med, parse_args, parse_wrk, publish, read_meta  # noqa: E402

START = "<!-- bench:hostile:start -->"
END = "<!-- bench:hostile:end -->"
TARGET_RATIO = 3.0  # neighbour p99 under attack <= 3x its idle p99

# What each attacker does, and the limits its mote.toml sets.
ATTACKS = {
    "loop": ("Infinite loop", "`for (;;)` until its CPU limit (`cpu = \"1s\"`)"),
    "memory": ("Memory bomb", "keeps allocating and filling 16 MiB arrays (`memory = \"1GiB\"`, the node's largest)"),
    "recursion": ("Deep recursion", "unbounded JS recursion, and `JSON.parse` of 10⁶ nested arrays, uncaught"),
    "huge": ("1 GiB response", "`new Response(new Uint8Array(1 GiB))`, halving until it fits (`memory`, `response_body = \"1GiB\"`)"),
    "logs": ("Log flood", "1 KiB lines to stdout and stderr until its CPU limit"),
    "selfcall": ("Calls itself", "calls itself twice per request through a service binding to itself"),
    "slow": ("2,000 requests to a slow service", "sleeps 2 s per request, default concurrency (64)"),
    "slow-wide": ("2,000 requests to a slow service, concurrency 2,000", "the same, `concurrency = 2000`"),
    "slowloris": ("Slow headers", "headers sent a byte per second, never finished"),
    "body": ("Bodies that never end", "chunked POSTs, 4 KiB every 100 ms, to a service reading its body"),
}
CLIENT = {"requests": "keep-alive connections, request after request", "slowloris": "connections",
          "body": "connections"}


def load_json(p):
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def hash_lines(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"# ([\w-]+): (.*)$", line)
        if m:
            out[m.group(1)] = dict((k, int(v)) for k, v in re.findall(r"([\w-]+) (-?\d+)", m.group(2))) \
                if not m.group(2).strip().isdigit() else int(m.group(2))
    return out


def fmt_s(s):
    if s is None:
        return "—"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    return f"{s:.1f} s"


def fmt_ms(ms):
    """A duration from the node's log (milliseconds, µs resolution)."""
    return "—" if ms is None else fmt_us(ms * 1000)


def fmt_mib(kib):
    return "—" if not kib else f"{kib / 1024:,.0f} MiB"


def outcomes_text(summaries, limit=4):
    """'count× outcome (p50 time)' over every round's attack summary."""
    total = {}
    for s in summaries:
        for k, v in (s or {}).get("outcomes", {}).items():
            t = total.setdefault(k, {"count": 0, "p50": [], "max": 0})
            t["count"] += v["count"]
            t["p50"].append(v["p50_s"])
            t["max"] = max(t["max"], v["max_s"])
    errs = {}
    for s in summaries:
        for k, v in (s or {}).get("connect_errors", {}).items():
            errs[k] = errs.get(k, 0) + v
    items = sorted(total.items(), key=lambda kv: -kv[1]["count"])
    parts = [f"{v['count']:,}× {k} ({fmt_s(statistics.median(v['p50']))})" for k, v in items[:limit]]
    if len(items) > limit:
        parts.append(f"{sum(v['count'] for _, v in items[limit:]):,} other")
    if errs:
        parts.append("connect errors: " + ", ".join(f"{v:,}× {k}" for k, v in errs.items()))
    return "; ".join(parts) or "—"


def main():
    a = parse_args()
    meta = read_meta(a.raw)
    rounds = int(meta["rounds"])
    attacks = meta["attacks"].split()
    quick = meta.get("quick") == "1"
    partial = meta.get("partial") == "1"
    date_h = re.sub(r"T(\d\d)-(\d\d)-(\d\d)Z", r" \1:\2:\3 UTC", meta["timestamp"])
    phases = ["idle-start", "idle-end"] + attacks

    runs, extra, atk, logs = {}, {}, {}, {}
    for p in phases:
        runs[p], extra[p], atk[p], logs[p] = [], [], [], []
        for r in range(1, rounds + 1):
            f = a.raw / "wrk" / f"r{r}-{p}.txt"
            run = parse_wrk(f) if f.exists() else {"file": f.name, "text": "", "errors": ["missing"], "rps": None}
            runs[p].append(run)
            extra[p].append(hash_lines(run["text"]))
            atk[p].append(load_json(a.raw / "attack" / f"r{r}-{p}.json"))
            logs[p].append(load_json(a.raw / "log" / f"r{r}-{p}.json"))

    # The idle reference: the median of all the run's idle runs (two per
    # round, before and after the attacks). Not each round's own two: a burst
    # of other work during one idle run inflates that round's reference, and
    # with it made every attack of the round look harmless (2026-11-28: one
    # round's idle p99 of 7.3 ms against 0.5 ms in the others).
    idle_runs = runs["idle-start"] + runs["idle-end"]
    idle = {k: med(x.get(k) for x in idle_runs) for k in ("p50", "p99", "max", "rps")}

    def cpu_pct(p, key):
        vals = []
        for x, e in zip(runs[p], extra[p]):
            if key == "attacker":
                t = e.get("attacker-cpu-ticks")
                if isinstance(t, dict) and t.get("total"):
                    vals.append(t["attacker"] * 100 / t["total"])
            elif x.get("cpu"):
                vals.append(x["cpu"].get(key))
        return med(vals)

    def others_pct(x, e):
        if not x.get("cpu"):
            return None
        att = 0
        t = e.get("attacker-cpu-ticks")
        if isinstance(t, dict) and t.get("total"):
            att = t["attacker"] * 100 / t["total"]
        return max(0.0, x["cpu"]["others"] - att)

    rows = []
    for p in attacks:
        ratios = []
        for x in runs[p]:
            ratios.append(x["p99"] / idle["p99"] if x.get("p99") and idle["p99"] else None)
        ratio = med(ratios)
        nerr = sum(x.get("non2xx", 0) for x in runs[p])
        serr = sum(x.get("socket_errors", 0) for x in runs[p])
        missing = any(x.get("p99") is None for x in runs[p])
        if ratio is None or missing:
            met = "—"
        elif nerr or serr:
            met = "**NO** (errors)"
        else:
            met = "yes" if ratio <= TARGET_RATIO else "**NO**"
        rss = max((s or {}).get("node_rss_max_kib", 0) for s in atk[p]) if atk[p] else 0
        settle = [float(meta.get(f"settle_r{r}-{p}", 0)) for r in range(1, rounds + 1)]
        nb = [lg["apps"]["neighbour"] for lg in logs[p] if lg and "neighbour" in lg.get("apps", {})]
        rows.append({
            "inside": (med(x["duration_ms_p50"] for x in nb), max((x["duration_ms_max"] for x in nb), default=None)),
            "p": p, "ratio": ratio, "ratios": ratios, "met": met, "nerr": nerr, "serr": serr,
            "p50": med(x.get("p50") for x in runs[p]), "p99": med(x.get("p99") for x in runs[p]),
            "max": max((x.get("max") or 0 for x in runs[p]), default=None),
            "rps": med(x.get("rps") for x in runs[p]),
            "node_cpu": cpu_pct(p, "server"), "attacker_cpu": cpu_pct(p, "attacker"), "rss": rss,
            "settle": max(settle) if settle else 0,
        })

    others = [o for p in phases for x, e in zip(runs[p], extra[p]) if (o := others_pct(x, e)) is not None]
    # The noise gate looks at the idle runs: during an attack, "others" also
    # holds kernel threads working for the node (writeback of its log, memory
    # reclaim), which are part of the attack's cost, not noise.
    idle_others = [o for p in ("idle-start", "idle-end") for x, e in zip(runs[p], extra[p])
                   if (o := others_pct(x, e)) is not None]
    noise = statistics.median(idle_others) if idle_others else 0.0
    noisy = noise > a.max_noise
    n_met = sum(1 for row in rows if row["met"] == "yes")
    crashes = {k: v for k, v in meta.items() if k.startswith("crash_")}
    after = {k: v for k, v in meta.items() if k.startswith("after_")}
    m = machine()
    mach = f"{m['nproc']} CPUs ({m['model']}), {m['memory']} RAM, Linux {m['kernel']}"
    cmd = "bench/hostile" + (" --quick" if quick else "")
    if partial:
        cmd = f"BENCH_HOSTILE_ATTACKS=\"{' '.join(attacks)}\" {cmd}"
    elapsed = int(meta.get("elapsed_seconds", 0))

    sec = []
    if noisy:
        sec += [f"**Warning: noisy run** — other processes used a median {noise:.0f} % of the machine "
                "during the idle runs; the figures are not reliable.", ""]
    sec += [f"**{date_h}: the neighbour's p99 stayed within {TARGET_RATIO:g}× its idle p99 under "
            f"{n_met} of {len(rows)} attacks"
            + (f"; the node died {len(crashes)} time(s)" if crashes else "; the node never went down")
            + ".**", ""]
    sec.append("| Neighbour (`GET /neighbour`, `wrk -t1 -c1 --latency`) during | p50 | p99 | max | req/s "
               "| p99 / idle p99 (per round) | within 3×? | neighbour errors "
               "| the node's own time for them (its log): p50 / max | node CPU | node RSS peak |")
    sec.append("|---|---|---|---|---|---|---|---|---|---|---|")
    nb_idle = [lg["apps"]["neighbour"] for p in ("idle-start", "idle-end") for lg in logs[p]
               if lg and "neighbour" in lg.get("apps", {})]
    sec.append(f"| idle, before and after the attacks ({len(idle_runs)} runs) | {fmt_us(idle['p50'])} | "
               f"{fmt_us(idle['p99'])} | {fmt_us(idle['max'])} | {idle['rps']:,.0f} | 1 | | "
               f"{sum(x.get('non2xx', 0) + x.get('socket_errors', 0) for x in idle_runs)} | "
               f"{fmt_ms(med(x['duration_ms_p50'] for x in nb_idle))} / "
               f"{fmt_ms(max((x['duration_ms_max'] for x in nb_idle), default=None))} | "
               f"{cpu_pct('idle-start', 'server') or 0:.0f} % | |")
    for row in rows:
        per = ", ".join("—" if v is None else f"{v:.1f}" for v in row["ratios"])
        ratio = "—" if row["ratio"] is None else f"**{row['ratio']:.1f}×** ({per})"
        errs = []
        if row["nerr"]:
            errs.append(f"{row['nerr']:,} non-2xx")
        if row["serr"]:
            errs.append(f"{row['serr']:,} socket errors")
        sec.append(f"| {ATTACKS.get(row['p'], (row['p'],))[0]} | {fmt_us(row['p50'])} | {fmt_us(row['p99'])} | "
                   f"{fmt_us(row['max'])} | {row['rps'] or 0:,.0f} | {ratio} | {row['met']} | "
                   f"{', '.join(errs) or '0'} | {fmt_ms(row['inside'][0])} / {fmt_ms(row['inside'][1])} | "
                   f"{row['node_cpu'] or 0:.0f} % | {fmt_mib(row['rss'])} |")
    sec.append("")
    sec.append("| Attack (name in the notes) | what the attacker does (its limits) | attack client | how its requests or connections "
               "ended, all rounds (median time each took) | node's log of the attacker's requests: "
               "wall time p50 / max, CPU charged p50 / max, share run on the low-priority threads |")
    sec.append("|---|---|---|---|---|")
    for p in attacks:
        title, what = ATTACKS.get(p, (p, ""))
        conns = meta.get(f"attack_{p}", "").split()
        client = f"{int(conns[1]):,} {CLIENT.get(conns[0], conns[0])}" if len(conns) > 1 else "—"
        per_app = {}
        for lg in logs[p]:
            for app, s in (lg or {}).get("apps", {}).items():
                if app.startswith("hostile-"):
                    per_app.setdefault(app, []).append(s)
        logtxt = []
        for app, ss in per_app.items():
            n = sum(s["requests"] for s in ss)
            logtxt.append(f"{n:,} requests: {fmt_s(med(s['duration_ms_p50'] for s in ss) / 1000)} / "
                          f"{fmt_s(max(s['duration_ms_max'] for s in ss) / 1000)}, "
                          f"{med(s['cpu_ms_p50'] for s in ss):.1f} ms / {max(s['cpu_ms_max'] for s in ss):.0f} ms, "
                          f"{100 * sum(s.get('offloaded', 0) for s in ss) / max(n, 1):.0f} %")
        sec.append(f"| {title} (`{p}`) | {what} | {client} | {outcomes_text(atk[p])} | {'; '.join(logtxt) or '—'} |")
    sec.append("")

    notes = [
        "Ratios are per round (the attack's p99 over the median p99 of all idle runs), then their median; "
        f"the target is the median ≤ {TARGET_RATIO:g}× with no neighbour errors. \"The node's own time\" is the "
        "`duration_ms` of the node's log lines for the neighbour's requests (from routing to the end of its "
        "sandbox): what the client saw beyond it was spent before the node read the request or after it answered.",
        "CPU shares are of the whole machine (50 % is one core) during the neighbour's measurement; the attack "
        "clients run under `SCHED_IDLE` and used a median " +
        ", ".join(f"{r['p']} {r['attacker_cpu'] or 0:.0f} %" for r in rows) + ".",
    ]
    slow_settle = [f"{r['p']} {r['settle']:.1f} s" for r in rows if r["settle"] > 2]
    if slow_settle:
        notes.append("The node went on working after the attack clients stopped (time until it used < 5 % of a "
                     "CPU, longest round): " + ", ".join(slow_settle) + ".")
    notes.append(f"Node RSS: {fmt_mib(int(meta.get('rss_kib_start', 0)))} before the attacks, "
                 f"{fmt_mib(int(meta.get('rss_kib_end', 0)))} after them; its log grew to "
                 f"{int(meta.get('node_log_bytes', 0)) / 2**20:,.0f} MiB.")
    warn = int(meta.get("warn_or_error_lines", 0))
    panics = int(meta.get("panics", 0))
    notes.append(f"Node log: {warn:,} WARN/ERROR lines, {panics} panics" +
                 (" (first lines in the results file)." if warn or panics else "."))
    if crashes:
        notes.append("**The node died:** " + "; ".join(f"{k[6:]}: {v}" for k, v in crashes.items()) +
                     " (it was restarted to go on).")
    if after:
        notes.append("**The neighbour did not answer correctly right after:** " +
                     "; ".join(f"{k[6:]}: {v}" for k, v in after.items()) + ".")
    # The neighbour's failed requests, as the node logged them.
    nfail = []
    for p in attacks:
        st, oc = {}, {}
        for lg in logs[p]:
            nb = (lg or {}).get("apps", {}).get("neighbour")
            if not nb:
                continue
            for k, v in nb["statuses"].items():
                if k != "200":
                    st[k] = st.get(k, 0) + v
            for k, v in nb["outcomes"].items():
                if k != "ok":
                    oc[k] = oc.get(k, 0) + v
        if st:
            nfail.append(f"{p}: " + ", ".join(f"{v}× {k}" for k, v in st.items()) +
                         (" (" + ", ".join(f"{k}: {v}" for k, v in oc.items()) + ")" if oc else ""))
    if nfail:
        notes.append("**The neighbour's failed requests** (statuses in the node's log): " + "; ".join(nfail) + ".")
    slow_start = [k[11:] for k in meta if k.startswith("slow_start_")]
    if slow_start:
        notes.append("Attacks whose connections were not all open in time: " + ", ".join(slow_start) + ".")
    notes.append(f"Noise: other processes used a median {noise:.0f} % (max {max(idle_others, default=0):.0f} %) of the "
                 f"machine during the idle runs, {statistics.median(others) if others else 0:.0f} % during all runs "
                 f"(kernel work for the node included); {meta.get('cpu_busy_before', '?')} busy just before.")
    sec += [f"- {n}" for n in notes]
    sec.append("")
    sec.append("| Run | |")
    sec.append("|---|---|")
    sec.append(f"| Command | `{cmd}` |")
    sec.append(f"| Date | {date_h} |")
    sec.append(f"| Protocol | {rounds} round(s) of: idle, each attack in turn (order reversed every other round), "
               f"idle; each a {meta['duration']} s `wrk -t1 -c1 --latency --timeout 30s` run, started "
               f"{meta.get('ramp', '?')} s after the attack; {elapsed // 60} min {elapsed % 60} s in all |")
    sec.append(f"| Machine | {mach}; the node, wrk and the attack clients share these CPUs |")
    sec.append(f"| Mote | `{meta.get('mote_rev')}` (release build), default settings and `info` logging to a file |")
    sec.append(f"| Tools | {meta.get('wrk_version', 'wrk')}; {meta.get('rustc_version', '')} |")
    sec.append(f"| Every run | `bench/results/{a.out.name}` (not committed) |")
    section = "\n".join(sec)

    # ---------------- the results file ----------------
    res = [f"# bench/hostile {meta['timestamp']}{' (quick)' if quick else ''}", "", section, "", "## Every run", "",
           "| round | phase | p50 | p99 | max | req/s | neighbour errors | CPU % node / wrk / attacker / others "
           "| node RSS after, settled | settle | attack: connects, received |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in range(1, rounds + 1):
        order = meta.get(f"order_r{r}", " ".join(phases)).split()
        for p in order:
            if p not in runs:
                continue
            x, e, s = runs[p][r - 1], extra[p][r - 1], atk[p][r - 1]
            c = x.get("cpu") or {}
            t = e.get("attacker-cpu-ticks")
            att = t["attacker"] * 100 / t["total"] if isinstance(t, dict) and t.get("total") else 0
            res.append(f"| {r} | {p} | {fmt_us(x.get('p50'))} | {fmt_us(x.get('p99'))} | {fmt_us(x.get('max'))} | "
                       f"{x.get('rps') or 0:,.0f} | {'; '.join(x['errors']) or '0'} | "
                       f"{c.get('server', '—')} / {c.get('wrk', '—')} / {att:.0f} / {others_pct(x, e) or 0:.0f} | "
                       f"{fmt_mib(e.get('node-rss-kib-after'))}, {fmt_mib(e.get('node-rss-kib-settled'))} | "
                       f"{meta.get(f'settle_r{r}-{p}', '—')} s | "
                       + (f"{s['connects']:,}, {s['bytes_received'] / 2**20:,.1f} MiB" if s else "—") + " |")
    res += ["", "## Attack clients, per round", ""]
    for p in attacks:
        for r in range(1, rounds + 1):
            res += [f"### r{r}-{p}", "", "```json", json.dumps(atk[p][r - 1], indent=1), "```", ""]
    res += ["## What the node logged, per phase", ""]
    for p in phases:
        for r in range(1, rounds + 1):
            res += [f"### r{r}-{p}", "", "```json", json.dumps(logs[p][r - 1], indent=1), "```", ""]
    wfile = a.raw / "node-warnings.txt"
    if wfile.exists() and wfile.read_text().strip():
        res += ["## Node WARN/ERROR lines (first 50)", "", "```", wfile.read_text().rstrip(), "```", ""]
    res += appendix(meta, [runs[p][r] for r in range(rounds) for p in phases], a.raw)
    publish(a, res, section, START, END, noisy, noise, "bench/hostile")

    print(f"within {TARGET_RATIO:g}x idle p99: {n_met}/{len(rows)}; idle p50 {fmt_us(idle['p50'])} p99 {fmt_us(idle['p99'])}")
    for row in rows:
        ratio = "—" if row["ratio"] is None else f"{row['ratio']:.1f}"
        print(f"  {row['p']:10} p50 {fmt_us(row['p50']):>9} p99 {fmt_us(row['p99']):>9} ratio {ratio} {row['met']}")
    if noisy and not a.force:
        sys.exit(3)  # measured, not published


if __name__ == "__main__":
    main()
