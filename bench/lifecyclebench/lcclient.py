#!/usr/bin/env python3
"""bench/lifecycle helper: traffic across many deployed JavaScript apps, the
node's lifecycle figures sampled meanwhile, and latency runs; on 127.0.0.1
only, every command bounded in requests and time.

The apps are bench/js's (bench/jsbench/client.py, imported): app P-<k> has one
service with its own source and route /P-<k>, answering "service <k>\\n".

    lcclient.py mix      --data PORT --admin PORT --token-file F --pid PID --prefix P --count N
                         --profile rotate|budget --requests R --rate RPS --clients C
                         --tail S --seed X --out DIR
    lcclient.py cold     --data PORT --admin PORT --token-file F --pid PID --prefix P --first K --count S
                         --run R --out F.jsonl
    lcclient.py repeat   --data PORT --admin PORT --token-file F --pid PID --app NAME --k K
                         --count M --warmup W --kind KIND --run R --out F.jsonl
    lcclient.py promote  --data PORT --admin PORT --token-file F --app NAME --k K --deadline S --out F.json
    lcclient.py deploy-reuse --admin PORT --token-file F --app NAME --k K --reuse N

`mix` sends R requests, in a random order fixed by the seed, from C threads
each with its own keep-alive connection, paced at RPS in all (a request late
on its schedule is sent at once). `--profile rotate`: every service once, a
few hot services (a different group in each half of the run) get half of the
requests, 200 warm ones a fifth, the rest are spread over all. `--profile
budget`: first a narrow start (hot and warm services only, so the node has
room to promote), then a wide rest of 1.5 N requests (every service once, a
third still to the hot ones), so that the loaded code outgrows a small budget. Every
answer must be 200 with the service's body; anything else is counted. A
sampler reads the node's RSS from /proc twice a second and GET /v1/health
(and the hot services' state) every second, during the run and for --tail
seconds after it. Output in DIR: requests.jsonl, samples.jsonl, summary.json.

`cold` sends one GET to each of S services (never requested since the node
started: each is a load from the compiled-code cache), `repeat` M GETs to one
service after W unmeasured ones; both on one keep-alive connection, timed by
the client (from sending the request to having read the whole response), and
append one JSON line per run with every latency (µs), the node's lifecycle
counters before and after, and the CPU used by the node, the client and
everything else meanwhile. `promote` sends requests to one service on one
connection until GET /v1/apps/NAME reports it promoted.
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "jsbench"))
import client as jc  # noqa: E402  (bench/jsbench/client.py: app names, sources, tar, connections)

HZ = os.sysconf("SC_CLK_TCK")


def body_of(k):
    return f"service {k}\n".encode()


# ---------------------------------------------------------------- /proc ----
def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_ticks(pid=None):
    """(machine busy, machine total) ticks, or a process's utime+stime
    (all its threads) when pid is given ("self" for this process)."""
    if pid is None:
        with open("/proc/stat") as f:
            c = [int(x) for x in f.readline().split()[1:9]]
        busy = c[0] + c[1] + c[2] + c[5] + c[6] + c[7]
        return busy, busy + c[3] + c[4]
    try:
        with open(f"/proc/{pid}/stat") as f:
            p = f.read().rsplit(")", 1)[1].split()
        return int(p[11]) + int(p[12])
    except OSError:
        return 0


class CpuMeter:
    """CPU of the node, of this client and of everything else between two
    points, in % of the machine."""

    def __init__(self, node_pid):
        self.node_pid = node_pid
        self.a = self.snap()

    def snap(self):
        busy, total = cpu_ticks()
        return busy, total, cpu_ticks(self.node_pid), cpu_ticks("self")

    def read(self):
        b = self.snap()
        busy, total, node, me = (y - x for x, y in zip(self.a, b))
        total = max(total, 1)
        return {
            "busy": round(100 * busy / total, 1),
            "node": round(100 * node / total, 1),
            "client": round(100 * me / total, 1),
            "others": round(100 * max(0, busy - node - me) / total, 1),
            "node_cpu_s": round(node / HZ, 2),
            "seconds": round(total / HZ / (os.cpu_count() or 1), 2),
        }


# ------------------------------------------------------------- admin API ----
class Admin:
    def __init__(self, port, token_file):
        self.port = port
        self.token = open(token_file).read().strip()
        self.conn = None
        self.lock = threading.Lock()  # the sampler thread and the main thread share it

    def get(self, path):
        with self.lock:
            return self._get(path)

    def _get(self, path):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = jc.connect(self.port, timeout=10)
                self.conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
                r = self.conn.getresponse()
                data = r.read()
                if r.status != 200:
                    raise RuntimeError(f"GET {path}: HTTP {r.status}: {data[:200]!r}")
                return json.loads(data)
            except (OSError, http.client.HTTPException):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise
        return None

    def lifecycle(self):
        return self.get("/v1/health")["lifecycle"]

    def state(self, app):
        svc = self.get(f"/v1/apps/{app}")["services"][0]
        return {k: svc.get(k) for k in ("state", "instances", "memory_bytes", "requests")}


# ------------------------------------------------------------------ mix ----
def build_sequence(a):
    """The service numbers to request, in order, and the hot groups."""
    rnd = random.Random(a.seed)
    ks = list(range(a.first, a.first + a.count))
    picked = rnd.sample(ks, min(len(ks), 2 * a.hot + a.warm))
    hot_groups = [picked[:a.hot], picked[a.hot:2 * a.hot]]
    warm = picked[2 * a.hot:]
    seq, windows = [], []

    def spread(n, group):
        return [group[i % len(group)] for i in range(n)] if group and n > 0 else []

    if a.profile == "rotate":
        # Two halves; every service once over the run (half in each half).
        cover = ks[:]
        rnd.shuffle(cover)
        for w in range(2):
            length = a.requests // 2 if w == 0 else a.requests - a.requests // 2
            part = cover[w * len(cover) // 2:(w + 1) * len(cover) // 2]
            hot = spread(round(length * 0.5), hot_groups[w])
            wrm = [rnd.choice(warm) for _ in range(round(length * 0.2))] if warm else []
            rest = length - len(hot) - len(wrm) - len(part)
            if rest < 0:
                sys.exit(f"mix: {a.requests} requests are too few for profile rotate over {a.count} services")
            window = hot + wrm + part + [rnd.choice(ks) for _ in range(rest)]
            rnd.shuffle(window)
            windows.append({"start": len(seq), "hot": hot_groups[w]})
            seq += window
    elif a.profile == "budget":
        # A narrow start (hot and warm only), then a wide rest: every
        # service once, and the hot ones a third of it.
        wide = a.count + a.count // 2
        narrow = a.requests - wide
        if narrow <= 0:
            sys.exit(f"mix: {a.requests} requests are too few for profile budget over {a.count} services")
        hot = spread(round(narrow * 0.7), hot_groups[0])
        window = hot + [rnd.choice(warm) for _ in range(narrow - len(hot))]
        rnd.shuffle(window)
        windows.append({"start": 0, "hot": hot_groups[0]})
        seq += window
        cover = ks[:]
        window = spread(wide - len(cover), hot_groups[0]) + cover
        rnd.shuffle(window)
        windows.append({"start": len(seq), "hot": hot_groups[0]})
        seq += window
    else:
        sys.exit(f"mix: unknown profile {a.profile}")
    return seq, windows, sorted({k for w in windows for k in w["hot"]})


def cmd_mix(a):
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    seq, windows, hot_all = build_sequence(a)
    admin = Admin(a.admin, a.token_file)
    results = [None] * len(seq)
    lock = threading.Lock()
    state = {"next": 0, "done": False, "deadline_hit": False}
    samples = []
    t0 = time.monotonic()
    end = t0 + a.deadline
    wall0 = time.time()

    def worker():
        conn = None
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= len(seq):
                break
            now = time.monotonic()
            if now > end:
                state["deadline_hit"] = True
                break
            due = t0 + i / a.rate
            if due > now:
                time.sleep(due - now)
            k = seq[i]
            path = "/" + jc.app_name(a.prefix, k)
            sent = time.monotonic()
            rec = {"i": i, "k": k, "t": round(sent - t0, 4), "late": round(max(0.0, sent - due), 4)}
            try:
                if conn is None:
                    conn = jc.connect(a.data, timeout=a.timeout)
                s = time.perf_counter()
                conn.request("GET", path)
                r = conn.getresponse()
                data = r.read()
                rec["us"] = round((time.perf_counter() - s) * 1e6, 1)
                rec["status"] = r.status
                rec["ok"] = r.status == 200 and data == body_of(k)
                if not rec["ok"]:
                    rec["error"] = r.getheader("x-mote-error") or ("body" if r.status == 200 else "status")
                    rec["body"] = data[:200].decode(errors="replace")
                if r.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                rec["us"] = round((time.monotonic() - sent) * 1e6, 1)
                rec["status"] = None
                rec["ok"] = False
                rec["error"] = type(e).__name__
                rec["body"] = str(e)[:200]
                if conn is not None:
                    conn.close()
                conn = None
            results[i] = rec
        if conn is not None:
            conn.close()

    def sample(phase, with_admin):
        s = {"t": round(time.monotonic() - t0, 3), "phase": phase, "rss_kib": rss_kib(a.pid),
             "sent": min(state["next"], len(seq))}
        if with_admin:
            try:
                s["lifecycle"] = admin.lifecycle()
            except Exception as e:  # the node not answering is itself a finding
                s["admin_error"] = f"{type(e).__name__}: {e}"[:200]
        return s

    def sampler():
        n = 0
        hot_every = max(1, round(2 / 0.5))
        while not state["done"]:
            with_admin = n % 2 == 0
            s = sample("run" if state["next"] < len(seq) else "tail", with_admin)
            if n % hot_every == 0:
                try:
                    s["hot"] = {jc.app_name(a.prefix, k): admin.state(jc.app_name(a.prefix, k))["state"]
                                for k in hot_all}
                except Exception as e:
                    s["admin_error"] = f"{type(e).__name__}: {e}"[:200]
            samples.append(s)
            n += 1
            time.sleep(0.5)

    cpu = CpuMeter(a.pid)
    before = sample("before", True)
    samples.append(before)
    st = threading.Thread(target=sampler, daemon=True)
    st.start()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, end - time.monotonic() + a.timeout + 5))
    run_s = time.monotonic() - t0
    cpu_run = cpu.read()
    samples.append(sample("end", True))
    tail_end = time.monotonic() + a.tail
    while time.monotonic() < tail_end:
        time.sleep(0.2)
    state["done"] = True
    st.join(timeout=15)
    final = sample("after-tail", True)
    try:
        final["hot"] = {jc.app_name(a.prefix, k): admin.state(jc.app_name(a.prefix, k))["state"] for k in hot_all}
    except Exception as e:
        final["admin_error"] = f"{type(e).__name__}: {e}"[:200]
    samples.append(final)

    done = [r for r in results if r is not None]
    bad = [r for r in done if not r["ok"]]
    kinds = {}
    for r in bad:
        key = f"{r['status']} {r.get('error')}"
        kinds[key] = kinds.get(key, 0) + 1
    with open(out / "requests.jsonl", "w") as f:
        for r in done:
            f.write(json.dumps(r) + "\n")
    with open(out / "samples.jsonl", "w") as f:
        for s in samples:
            f.write(json.dumps(s) + "\n")
    per_k = {}
    for k in seq:
        per_k[k] = per_k.get(k, 0) + 1
    counts = sorted(per_k.values())
    summary = {
        "profile": a.profile, "services": a.count, "planned": len(seq), "sent": len(done),
        "errors": len(bad), "error_kinds": kinds, "deadline_hit": state["deadline_hit"],
        "seconds": round(run_s, 2), "rate": a.rate, "clients": a.clients, "tail": a.tail,
        "start_unix": wall0, "windows": windows,
        "hot": [jc.app_name(a.prefix, k) for k in hot_all],
        "hot_requests": {jc.app_name(a.prefix, k): per_k.get(k, 0) for k in hot_all},
        "distinct": len(per_k),
        "per_service": {"median": counts[len(counts) // 2], "max": counts[-1],
                        "once": sum(1 for c in counts if c == 1), "le3": sum(1 for c in counts if c <= 3)},
        "cpu": cpu_run,
        "first_errors": bad[:10],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"mix {a.profile}: {len(done)}/{len(seq)} requests in {run_s:.1f}s, {len(bad)} errors {kinds}; "
          f"others used {cpu_run['others']}% of the machine", file=sys.stderr)
    for r in bad[:5]:
        print(f"  {r}", file=sys.stderr)
    return 1 if bad or len(done) != len(seq) else 0


# -------------------------------------------------------- latency runs ----
def timed_get(conn, path):
    s = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    data = r.read()
    return (time.perf_counter() - s) * 1e6, r.status, data


def write_run(a, rec):
    with open(a.out, "a") as f:
        f.write(json.dumps(rec) + "\n")


def cmd_cold(a):
    admin = Admin(a.admin, a.token_file)
    conn = jc.connect(a.data, timeout=30)
    before = admin.lifecycle()
    cpu = CpuMeter(a.pid)
    us, bad = [], []
    for k in range(a.first, a.first + a.count):
        t, status, data = timed_get(conn, "/" + jc.app_name(a.prefix, k))
        us.append(round(t, 1))
        if status != 200 or data != body_of(k):
            bad.append({"k": k, "status": status, "body": data[:200].decode(errors="replace")})
    c = cpu.read()
    after = admin.lifecycle()
    write_run(a, {"kind": "cold", "run": a.run, "us": us, "bad": bad, "cpu": c,
                  "loads": after["loads"] - before["loads"], "before": before, "after": after})
    return 1 if bad else 0


def cmd_repeat(a):
    admin = Admin(a.admin, a.token_file)
    conn = jc.connect(a.data, timeout=30)
    path, want = "/" + a.app, body_of(a.k)
    for _ in range(a.warmup):
        timed_get(conn, path)
    st_before = admin.state(a.app)
    cpu = CpuMeter(a.pid)
    us, bad = [], []
    for _ in range(a.count):
        t, status, data = timed_get(conn, path)
        us.append(round(t, 1))
        if status != 200 or data != want:
            bad.append({"status": status, "body": data[:200].decode(errors="replace")})
    c = cpu.read()
    st_after = admin.state(a.app)
    write_run(a, {"kind": a.kind, "run": a.run, "app": a.app, "us": us, "bad": bad[:10], "n_bad": len(bad),
                  "cpu": c, "state_before": st_before, "state_after": st_after})
    return 1 if bad else 0


def cmd_promote(a):
    admin = Admin(a.admin, a.token_file)
    conn = jc.connect(a.data, timeout=30)
    path, want = "/" + a.app, body_of(a.k)
    t0 = time.monotonic()
    sent, bad, polls = 0, 0, []
    next_poll = t0
    state = admin.state(a.app)["state"]
    while time.monotonic() - t0 < a.deadline:
        _, status, data = timed_get(conn, path)
        sent += 1
        bad += status != 200 or data != want
        if time.monotonic() >= next_poll:
            state = admin.state(a.app)["state"]
            polls.append((round(time.monotonic() - t0, 2), sent, state))
            if state == "promoted":
                break
            next_poll += 0.2
        # About 250 requests a second: above the default threshold
        # (200 in ~8 s) without hogging the machine the snapshot is made on.
        time.sleep(0.004)
    rec = {"app": a.app, "promoted": state == "promoted", "seconds": round(time.monotonic() - t0, 2),
           "requests": sent, "bad": bad, "polls": polls[-5:], "lifecycle": admin.lifecycle()}
    Path(a.out).write_text(json.dumps(rec) + "\n")
    print(f"promote {a.app}: {'promoted' if rec['promoted'] else 'NOT promoted'} after {rec['seconds']}s, "
          f"{sent} requests", file=sys.stderr)
    return 0 if rec["promoted"] and not bad else 1


def cmd_deploy_reuse(a):
    token = open(a.token_file).read().strip()
    manifest = jc.MANIFEST.format(name=a.app) + f"instance = {{ reuse = {a.reuse} }}\n"
    body = jc.tar_of({"mote.toml": manifest, "index.js": jc.SOURCE.format(k=a.k)})
    conn = jc.connect(a.admin, timeout=120)
    conn.request("PUT", f"/v1/apps/{a.app}", body=body,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-tar"})
    r = conn.getresponse()
    text = r.read()
    if r.status != 201:
        print(f"deploy {a.app}: HTTP {r.status}: {text[:300]!r}", file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mix")
    m.add_argument("--profile", choices=["rotate", "budget"], required=True)
    m.add_argument("--first", type=int, default=0)
    m.add_argument("--count", type=int, required=True)
    m.add_argument("--requests", type=int, required=True)
    m.add_argument("--rate", type=float, required=True)
    m.add_argument("--clients", type=int, default=4)
    m.add_argument("--hot", type=int, default=4, help="hot services per group")
    m.add_argument("--warm", type=int, default=200)
    m.add_argument("--tail", type=float, default=0)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--timeout", type=float, default=30)
    m.add_argument("--deadline", type=float, default=600)
    m.add_argument("--out", required=True)
    c = sub.add_parser("cold")
    c.add_argument("--first", type=int, required=True)
    c.add_argument("--count", type=int, required=True)
    r = sub.add_parser("repeat")
    r.add_argument("--app", required=True)
    r.add_argument("--k", type=int, required=True)
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--warmup", type=int, default=200)
    r.add_argument("--kind", required=True)
    for p in (c, r):
        p.add_argument("--run", type=int, required=True)
        p.add_argument("--out", required=True)
    p = sub.add_parser("promote")
    p.add_argument("--app", required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--deadline", type=float, default=90)
    p.add_argument("--out", required=True)
    for q in (m, c, r, p):
        q.add_argument("--data", type=int, required=True)
    for q in (m, c):
        q.add_argument("--prefix", required=True)
    for q in (m, c, r):
        q.add_argument("--pid", type=int, required=True)
    d = sub.add_parser("deploy-reuse")
    d.add_argument("--app", required=True)
    d.add_argument("--k", type=int, required=True)
    d.add_argument("--reuse", type=int, default=100)
    for q in (m, c, r, p, d):
        q.add_argument("--admin", type=int, required=True)
        q.add_argument("--token-file", required=True)
    a = ap.parse_args()
    return {"mix": cmd_mix, "cold": cmd_cold, "repeat": cmd_repeat, "promote": cmd_promote,
            "deploy-reuse": cmd_deploy_reuse}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
