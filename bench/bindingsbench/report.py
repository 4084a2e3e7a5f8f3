#!/usr/bin/env python3
"""Turns the raw output of bench/bindings into a results file and the
BENCHMARKS.md section between the bench:bindings markers.

    python3 bench/bindingsbench/report.py --raw DIR --out bench/results/TS-bindings.md \
        [--benchmarks BENCHMARKS.md] [--print-section] [--force]

DIR holds meta.txt and wrk/r<round>-<test>-<tput|lat>-<server>.txt. wrk parsing,
formatting and publishing come from bench/report.py.
"""

import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report import appendix, fmt_rps, fmt_us, machine, med, parse_args, parse_wrk, publish, read_meta  # noqa: E402

START = "<!-- bench:bindings:start -->"
END = "<!-- bench:bindings:end -->"
TARGET_CHAIN_RATIO = 2.0
TARGET_HOP_US = 50.0
# (test, kind, servers)
RUNS = [("chain", "tput", ["mote", "workerd"]), ("chain", "lat", ["mote", "workerd"]),
        ("auth", "lat", ["mote", "workerd"]), ("wcall", "lat", ["mote"]), ("wnone", "lat", ["mote"])] + \
       [(f"kv{t}", "lat", ["mote", "mote-redis"]) for t in ("none", "get", "put")]


def main():
    a = parse_args()

    meta = read_meta(a.raw)
    rounds = int(meta["rounds"])
    date_h = re.sub(r"T(\d\d)-(\d\d)-(\d\d)Z", r" \1:\2:\3 UTC", meta["timestamp"])
    runs = {}
    for test, kind, servers in RUNS:
        for s in servers:
            lst = []
            for r in range(1, rounds + 1):
                p = a.raw / "wrk" / f"r{r}-{test}-{kind}-{s}.txt"
                run = parse_wrk(p) if p.exists() else {"file": p.name, "text": "", "errors": ["missing"], "rps": None}
                lst.append(run)
            runs[(test, kind, s)] = lst

    def per_round(f, *keys):
        """f over the runs of each round, for the given (test, kind, server) keys."""
        out = []
        for r in range(rounds):
            xs = [runs[k][r] for k in keys]
            try:
                out.append(f(*xs))
            except (TypeError, ZeroDivisionError):
                out.append(None)
        return out

    def p50(test, s):
        return med(x.get("p50") for x in runs[(test, "lat", s)])

    chain_rps = {s: med(x["rps"] for x in runs[("chain", "tput", s)]) for s in ("mote", "workerd")}
    ratio_rounds = per_round(lambda m, w: m["rps"] / w["rps"], ("chain", "tput", "mote"), ("chain", "tput", "workerd"))
    ratio = med(ratio_rounds)
    hop = {s: med(per_round(lambda c, d: c["p50"] - d["p50"], ("chain", "lat", s), ("auth", "lat", s)))
           for s in ("mote", "workerd")}
    whop = med(per_round(lambda c, n: c["p50"] - n["p50"], ("wcall", "lat", "mote"), ("wnone", "lat", "mote")))
    kv = {(t, s): med(per_round(lambda x, n: x["p50"] - n["p50"], (f"kv{t}", "lat", s), ("kvnone", "lat", s)))
          for t in ("get", "put") for s in ("mote", "mote-redis")}
    cpu_req = {s: med(x.get("server_us_per_req") for x in runs[("chain", "tput", s)]) for s in ("mote", "workerd")}
    errors = [f"{x['file']}: {e}" for v in runs.values() for x in v for e in x["errors"]]
    others = [max(0, x["cpu"]["others"]) for v in runs.values() for x in v if x.get("cpu")]
    noise = statistics.median(others) if others else 0
    noisy = noise > a.max_noise

    def ok(v, good):
        return "—" if v is None else ("met" if good(v) else "**not met**")

    m = machine()
    mach = f"{m['nproc']} CPUs ({m['model']}), {m['memory']} RAM, Linux {m['kernel']}"
    section = "\n".join([
        "## Bindings: service-binding chain, one hop, KV (`bench/bindings`)",
        "",
        f"Measured {date_h} on {mach} with `bench/bindings{' --quick' if meta.get('quick') == '1' else ''}` "
        f"(Mote {meta.get('mote_rev')}, {meta.get('workerd_version', 'workerd ?')}, Redis {meta.get('redis_version')}); "
        f"medians of {rounds} round(s) of {meta.get('duration')} s wrk runs, servers alternating; "
        f"other processes used a median {noise:.0f} % of the machine during the runs"
        f"{' (**noisy**: figures unreliable)' if noisy else ''}.",
        "",
        "The chain is `bench/bindingsbench/gateway.js` calling `auth.js` through a service binding "
        "(`env.AUTH.fetch`), the same scripts on both; Mote runs each in a fresh sandbox per request, "
        "workerd reuses one isolate each.",
        "",
        "| | Mote | workerd | Mote / workerd | target |",
        "|---|---|---|---|---|",
        f"| chain req/s (`wrk -t2 -c32`) | {fmt_rps(chain_rps['mote'])} | {fmt_rps(chain_rps['workerd'])} | "
        f"{'—' if ratio is None else f'{ratio:.2f}'} | ≥ {TARGET_CHAIN_RATIO:g}× workerd: {ok(ratio, lambda v: v >= TARGET_CHAIN_RATIO)} |",
        f"| chain p50 at one connection | {fmt_us(p50('chain', 'mote'))} | {fmt_us(p50('chain', 'workerd'))} | | |",
        f"| auth alone, p50 at one connection | {fmt_us(p50('auth', 'mote'))} | {fmt_us(p50('auth', 'workerd'))} | | |",
        f"| chain − auth alone, p50 (the gateway's own run + the hop) | {fmt_us(hop['mote'])} | "
        f"{fmt_us(hop['workerd'])} | | |",
        f"| added by one in-process hop between components (the `fetch` guest calling `hello` "
        f"through a binding − the same guest refused at once; p50, callee included) | {fmt_us(whop)} | | | "
        f"< {TARGET_HOP_US:g} µs: {ok(whop, lambda v: v < TARGET_HOP_US)} |",
        f"| server CPU per chain request | {fmt_us(cpu_req['mote'])} | {fmt_us(cpu_req['workerd'])} | | |",
        "",
        "KV latency: p50 of a request making one KV call minus p50 of the same request making none "
        "(one connection; the embedded `put` includes its fsync).",
        "",
        "| | embedded (redb) | Redis |",
        "|---|---|---|",
        f"| `get` | {fmt_us(kv[('get', 'mote')])} | {fmt_us(kv[('get', 'mote-redis')])} |",
        f"| `put` | {fmt_us(kv[('put', 'mote')])} | {fmt_us(kv[('put', 'mote-redis')])} |",
        f"| request without KV, p50 | {fmt_us(p50('kvnone', 'mote'))} | {fmt_us(p50('kvnone', 'mote-redis'))} |",
    ] + ([""] + [f"Errors: {e}" for e in errors] if errors else []))

    res = [f"# bench/bindings {meta['timestamp']}", "", section, "", "## Every run", "",
           "| round | test | server | req/s | p50 | p99 | errors |", "|---|---|---|---|---|---|---|"]
    for (test, kind, s), lst in runs.items():
        for r, x in enumerate(lst):
            res.append(f"| {r + 1} | {test} {kind} | {s} | {fmt_rps(x.get('rps'))} | {fmt_us(x.get('p50'))} | "
                       f"{fmt_us(x.get('p99'))} | {'; '.join(x['errors']) or 'none'} |")
    res += appendix(meta, [x for v in runs.values() for x in v], a.raw)
    publish(a, res, section, START, END, noisy, noise, "bench/bindings")
    print(f"chain Mote/workerd {ratio}; hop Mote {hop['mote']} µs, workerd {hop['workerd']} µs, "
          f"components {whop} µs; kv {kv}")
    if errors:
        print("WARNING: runs with errors — see the results file", file=sys.stderr)
    if noisy:
        sys.exit(3)


if __name__ == "__main__":
    main()
