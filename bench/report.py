#!/usr/bin/env python3
"""Turns the raw output of bench/run into a results file and the
BENCHMARKS.md section between the bench:hello markers.

    python3 bench/report.py --raw DIR --out bench/results/TS.md \
        [--benchmarks BENCHMARKS.md] [--print-section]

DIR holds meta.txt (key=value lines), wrk/r<round>-<tput|lat>-<server>.txt
(wrk's output, '#' lines are ours), criterion.txt and
criterion-estimates.txt ("<bench id> <path of estimates.json>" lines).
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys
from pathlib import Path

START = "<!-- bench:hello:start -->"
END = "<!-- bench:hello:end -->"

LABELS = {
    "mote": "Mote",
    "workerd": "workerd",
    "wasmtime": "wasmtime serve",
    "mote-info": "Mote, info logs",
}
TARGET_WORKERD = 2.0  # Mote req/s >= 2x workerd
TARGET_WASMTIME = 1.0  # Mote req/s >= wasmtime serve

UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def duration_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"unparsable wrk duration {text!r}")
    return float(m.group(1)) * UNITS_US[m.group(2)]


def parse_wrk(path):
    """Numbers from one wrk run; errors collects anything suspicious."""
    text = path.read_text(errors="replace")
    run = {"file": path.name, "text": text, "errors": []}
    for line in text.splitlines():
        if line.startswith("# loadavg-before:"):
            run["loadavg"] = line.split(":", 1)[1].split()[0]
        elif line.startswith("# cpu-pct-of-machine:"):
            nums = re.findall(r"(\w+) (-?\d+)", line.split(":", 1)[1])
            run["cpu"] = {k: int(v) for k, v in nums}
        elif line.startswith("# cpu-ticks:"):
            nums = re.findall(r"(\w+) (-?\d+)", line.split(":", 1)[1])
            run["ticks"] = {k: int(v) for k, v in nums}
        elif line.startswith("# rc:"):
            rc = int(line.split(":", 1)[1])
            if rc != 0:
                run["errors"].append(f"wrk exit status {rc}")
    m = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    run["rps"] = float(m.group(1)) if m else None
    m = re.search(r"^\s*(\d+) requests in ([\d.]+\w+),", text, re.M)
    run["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s*{pct}%\s+([\d.]+\w+)\s*$", text, re.M)
        run[f"p{pct}"] = duration_us(m.group(1)) if m else None
    # The slowest request (wrk's "Thread Stats" line).
    m = re.search(r"^\s*Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+\w+)", text, re.M)
    run["max"] = duration_us(m.group(1)) if m else None
    t = run.get("ticks")
    if t and run["requests"]:
        run["server_us_per_req"] = t["server"] / t["hz"] * 1e6 / run["requests"]
        run["wrk_us_per_req"] = t["wrk"] / t["hz"] * 1e6 / run["requests"]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    run["socket_errors"] = 0
    if m:
        c, r, w, t = map(int, m.groups())
        run["socket_errors"] = c + r + w + t
        if c + r + w + t:
            run["errors"].append(f"socket errors: connect {c}, read {r}, write {w}, timeout {t}")
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    run["non2xx"] = int(m.group(1)) if m else 0
    if m and int(m.group(1)):
        run["errors"].append(f"{m.group(1)} non-2xx/3xx responses")
    if run["rps"] is None:
        run["errors"].append("no Requests/sec line")
    if run["requests"] == 0:
        run["errors"].append("no request completed")
    return run


def read_meta(raw):
    meta = {}
    for line in (raw / "meta.txt").read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            meta[k.strip()] = v.strip()
    return meta


def machine():
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "model": model,
        "memory": mem,
        "kernel": platform.release(),
    }


def criterion(raw):
    """[(bench id, median ns, mean ns, printed time line)]."""
    out = []
    est = raw / "criterion-estimates.txt"
    if not est.exists():
        return out
    printed = (raw / "criterion.txt").read_text(errors="replace") if (raw / "criterion.txt").exists() else ""
    for line in est.read_text().splitlines():
        if not line.strip():
            continue
        bench_id, path = line.split(" ", 1)
        data = json.loads((raw / path).read_text())  # relative to the raw dir
        median = data["median"]["point_estimate"]
        mean = data["mean"]["point_estimate"]
        lo = data["median"]["confidence_interval"]["lower_bound"]
        hi = data["median"]["confidence_interval"]["upper_bound"]
        m = re.search(r"^\s*time:\s*\[(.*?)\]", printed, re.M)
        out.append((bench_id, median, mean, (lo, hi), m.group(0).strip() if m else ""))
    return out


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def fmt_us(us):
    if us is None:
        return "—"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} µs"


def fmt_rps(x):
    return "—" if x is None else f"{x:,.0f}"


def cpu_s(run):
    c = run.get("cpu")
    if not c:
        return "—"
    return f"{c.get('server', 0)} / {c.get('wrk', 0)} / {c.get('others', 0)}"


def fmt_cpu_req(run):
    v = run.get("server_us_per_req")
    return "—" if v is None else f"{v:.1f}"


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def parse_args():
    """The command line every report script takes (bench/run's, bench/js's,
    bench/bindings', bench/hostile's)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--benchmarks", type=Path, help="BENCHMARKS.md to update")
    ap.add_argument("--print-section", action="store_true")
    ap.add_argument("--force", action="store_true",
                    help="update BENCHMARKS.md even if other processes used the CPU during the runs")
    ap.add_argument("--max-noise", type=float, default=10.0,
                    help="median %% of the machine used by other processes above which the run is "
                         "considered too noisy to publish (default 10)")
    return ap.parse_args()


def main():
    a = parse_args()

    meta = read_meta(a.raw)
    servers = meta["servers"].split()
    rounds = int(meta["rounds"])
    mach = machine()

    runs = {}  # (kind, server) -> [run per round]
    for kind in ("tput", "lat"):
        for s in servers:
            runs[(kind, s)] = []
            for r in range(1, rounds + 1):
                p = a.raw / "wrk" / f"r{r}-{kind}-{s}.txt"
                run = parse_wrk(p) if p.exists() else {"file": p.name, "text": "", "errors": ["missing"], "rps": None}
                run["round"] = r
                runs[(kind, s)].append(run)

    rps = {s: med(x["rps"] for x in runs[("tput", s)]) for s in servers}
    lat_rps = {s: med(x["rps"] for x in runs[("lat", s)]) for s in servers}
    p50 = {s: med(x.get("p50") for x in runs[("lat", s)]) for s in servers}
    p99 = {s: med(x.get("p99") for x in runs[("lat", s)]) for s in servers}
    errors = {s: [f"{x['file']}: {e}" for k in ("tput", "lat") for x in runs[(k, s)] for e in x["errors"]]
              for s in servers}

    def ratios(num, den):
        per_round = []
        for rn, rd in zip(runs[("tput", num)], runs[("tput", den)]):
            per_round.append(rn["rps"] / rd["rps"] if rn["rps"] and rd["rps"] else None)
        return per_round, med(per_round)

    ratio_rows = []
    for num in [s for s in ("mote", "mote-info") if s in servers]:
        for den, target in (("workerd", TARGET_WORKERD), ("wasmtime", TARGET_WASMTIME)):
            if den in servers:
                per, m = ratios(num, den)
                ratio_rows.append((num, den, target, per, m))

    crit = criterion(a.raw)
    any_errors = any(errors.values())
    quick = meta.get("quick") == "1"
    date = meta["timestamp"]
    date_h = re.sub(r"T(\d\d)-(\d\d)-(\d\d)Z", r" \1:\2:\3 UTC", date)

    # ---------------- the BENCHMARKS.md section ----------------
    cpu_req = {s: med(x.get("server_us_per_req") for x in runs[("tput", s)]) for s in servers}
    # CPU used by other processes; small negative values are accounting granularity.
    others = [max(0, x["cpu"]["others"]) for k in ("tput", "lat") for srv in servers
              for x in runs[(k, srv)] if x.get("cpu")]
    noisy = bool(others) and statistics.median(others) > a.max_noise
    elapsed = int(meta.get("elapsed_seconds", 0))

    sec = []
    if noisy:
        sec += [f"**Warning: noisy run** — other processes used a median {statistics.median(others):.0f} % "
                "of the machine during the wrk runs; the figures are not reliable.", ""]
    head = []
    for num, den, target, per, m in ratio_rows:
        if num == "mote" and m is not None:
            head.append(f"{m:.2f}× {LABELS[den]} (target {target:g}×: {'met' if m >= target else 'NOT met'})")
    if rps.get("mote"):
        sec += [f"**{date_h}: Mote serves {rps['mote']:,.0f} req/s = " + ", ".join(head) + ".**", ""]

    sec.append("| Median of the rounds | " + " | ".join(LABELS.get(s, s) for s in servers) + " |")
    sec.append("|---" * (len(servers) + 1) + "|")
    sec.append(f"| req/s, `wrk -t2 -c32 -d{meta['duration']}s` | " + " | ".join(fmt_rps(rps[s]) for s in servers) + " |")
    sec.append("| server CPU time per request, same runs | " + " | ".join(
        "—" if cpu_req[s] is None else f"{cpu_req[s]:.0f} µs" for s in servers) + " |")
    sec.append(f"| p50 latency, `wrk -t1 -c1 -d{meta['duration']}s --latency` | " + " | ".join(fmt_us(p50[s]) for s in servers) + " |")
    sec.append("| p99 latency, same runs | " + " | ".join(fmt_us(p99[s]) for s in servers) + " |")
    sec.append("| req/s at one connection, same runs | " + " | ".join(fmt_rps(lat_rps[s]) for s in servers) + " |")
    sec.append("| runs with non-2xx responses or socket errors | " + " | ".join(
        f"**{len(errors[s])}**" if errors[s] else "0" for s in servers) + " |")
    sec.append("")
    sec.append("| Target (req/s) | Ratio per round | Median ratio | Met? |")
    sec.append("|---|---|---|---|")
    for num, den, target, per, m in ratio_rows:
        what = f"{LABELS[num]} ≥ {target:g}× {LABELS[den]}"
        if num != "mote":
            what += " (for information)"
        per_s = ", ".join("—" if x is None else f"{x:.2f}" for x in per)
        met = "—" if m is None else ("yes" if m >= target else "**NO**")
        sec.append(f"| {what} | {per_s} | {'—' if m is None else f'{m:.2f}×'} | {met} |")
    sec.append("")

    notes = []
    notes.append("\"Mote\" runs with `RUST_LOG=warn` (the headline, on which the targets are judged); "
                 "\"Mote, info logs\" is the same binary with its default `info` logging, one line per request "
                 "written to a file.")
    srv_cpu = {srv: med(x["cpu"]["server"] for x in runs[("tput", srv)] if x.get("cpu")) for srv in servers}
    if all(v is not None for v in srv_cpu.values()):
        notes.append("Share of the machine's CPU the server used during the `-c32` runs: " +
                     ", ".join(f"{LABELS.get(srv, srv)} {srv_cpu[srv]:.0f} %" for srv in servers) +
                     " (wrk used most of the rest; 50 % is one whole core).")
    if crit:
        for bench_id, median, mean, (lo, hi), _ in crit:
            notes.append(f"Criterion (`cargo bench -p mote-sandbox --bench instantiate`, `{bench_id}`): "
                         f"median **{fmt_ns(median)}** per iteration (95 % CI {fmt_ns(lo)} – {fmt_ns(hi)}; "
                         f"mean {fmt_ns(mean)}): a fresh instance and one handler call, without HTTP.")
    else:
        notes.append("Criterion bench: not run.")
    if others:
        notes.append(f"Noise: other processes used a median {statistics.median(others):.0f} % (max {max(others)} %) "
                     f"of the machine during the wrk runs; {meta.get('cpu_busy_before_http', '?')} busy just before.")
    if any_errors:
        notes.append("**Runs with errors:** " + "; ".join(e for s in servers for e in errors[s]))
    bad_after = [s for s in servers if meta.get(f"after_{s}", "ok") != "ok"]
    if bad_after:
        notes.append("**No longer answering correctly after the load:** " + ", ".join(bad_after))
    sec += [f"- {n}" for n in notes]
    sec.append("")
    sec.append("| Run | |")
    sec.append("|---|---|")
    sec.append(f"| Command | `bench/run{' --quick' if quick else ''}` |")
    sec.append(f"| Date | {date_h} |")
    sec.append(f"| Protocol | {rounds} round(s); per round and server, one `-c32` and one `-c1` run of "
               f"{meta['duration']} s, servers alternated; {elapsed // 60} min {elapsed % 60} s in all |")
    sec.append(f"| Machine | {mach['nproc']} CPUs ({mach['model']}), {mach['memory']} RAM, Linux {mach['kernel']}; "
               "wrk and the server share these CPUs |")
    sec.append(f"| Mote | `{meta['mote_rev']}` (release build) |")
    sec.append(f"| Peers | {meta['wasmtime_version']} (wasmtime-cli); {meta['workerd_version']} |")
    sec.append(f"| Tools | {meta.get('wrk_version', 'wrk')}; {meta.get('rustc_version', '')} |")
    sec.append(f"| Every run | `bench/results/{a.out.name}` (not committed) |")
    section = "\n".join(sec)

    # ---------------- the results file ----------------
    res = [f"# Mote hello benchmark — {date_h}{' (quick)' if quick else ''}", "", section, "", "## Every run", ""]
    res.append("| Round | Kind | Server | req/s | p50 | p75 | p90 | p99 | requests | loadavg before "
               "| CPU % of machine: server / wrk / others | server CPU µs/req | errors |")
    res.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in range(1, rounds + 1):
        for kind in ("tput", "lat"):
            for s in servers:
                x = runs[(kind, s)][r - 1]
                res.append(f"| {r} | {'-t2 -c32' if kind == 'tput' else '-t1 -c1'} | {LABELS.get(s, s)} | "
                           f"{fmt_rps(x.get('rps'))} | {fmt_us(x.get('p50'))} | {fmt_us(x.get('p75'))} | "
                           f"{fmt_us(x.get('p90'))} | {fmt_us(x.get('p99'))} | {x.get('requests') or '—'} | "
                           f"{x.get('loadavg', '—')} | {cpu_s(x)} | "
                           f"{fmt_cpu_req(x)} | {'; '.join(x['errors']) or 'none'} |")
    res += appendix(meta, [runs[(kind, s)][r - 1] for r in range(1, rounds + 1)
                           for kind in ("tput", "lat") for s in servers], a.raw)
    if (a.raw / "criterion.txt").exists():
        res += ["## Criterion output", "", "```", (a.raw / "criterion.txt").read_text(errors="replace").rstrip(), "```", ""]
    publish(a, res, section, START, END, noisy, statistics.median(others) if others else 0.0, "bench/run")

    # Summary on stdout for the terminal.
    print("\nreq/s medians: " + ", ".join(f"{LABELS.get(s, s)} {fmt_rps(rps[s])}" for s in servers))
    for num, den, target, per, m in ratio_rows:
        print(f"{LABELS[num]}/{LABELS[den]}: {'—' if m is None else f'{m:.2f}'} (target {target:g})")
    if any_errors:
        print("WARNING: wrk runs with errors — see the results file", file=sys.stderr)
    if noisy:
        sys.exit(3)


def appendix(meta, runs, raw):
    """The end of a results file: the metadata, every wrk run's raw output
    (`runs`: wrk runs in order) and the servers' last log lines."""
    out = ["", "## Metadata", "", "```"] + [f"{k}={v}" for k, v in meta.items()] + ["```", ""]
    out += ["## Raw wrk output", ""]
    for x in runs:
        out += [f"### {x['file']}", "", "```", x["text"].rstrip(), "```", ""]
    for f in sorted(raw.glob("server-*.log")):
        out += [f"## {f.name} (last lines)", "", "```", f.read_text(errors="replace").rstrip(), "```", ""]
    return out


def publish(a, res, section, start, end, noisy, noise, command):
    """Write the results file; print the section if asked; warn about noise;
    replace the section between `start` and `end` in BENCHMARKS.md unless the
    run was noisy (and not forced). Shared by bench/run and bench/js."""
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(res))
    print(f"wrote {a.out}", file=sys.stderr)
    if a.print_section:
        print(section)
    if noisy:
        print(f"WARNING: other processes used a median {noise:.0f} % of the machine "
              f"during the wrk runs (limit {a.max_noise:g} %): the figures are not reliable.", file=sys.stderr)
    if a.benchmarks and noisy and not a.force:
        print(f"NOT updating {a.benchmarks} with a noisy run (rerun {command} on a quiet machine, "
              "or pass --force).", file=sys.stderr)
    elif a.benchmarks:
        text = a.benchmarks.read_text() if a.benchmarks.exists() else "# Benchmarks\n"
        block = f"{start}\n{section}\n\n{end}"
        if start in text and end in text:
            pre, rest = text.split(start, 1)
            _, post = rest.split(end, 1)
            text = pre + block + post
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        a.benchmarks.write_text(text)
        print(f"updated {a.benchmarks}", file=sys.stderr)


if __name__ == "__main__":
    main()
