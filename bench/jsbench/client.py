#!/usr/bin/env python3
"""bench/js helper: deploys many distinct JavaScript apps to a Mote node
through its admin API and times requests to them, on 127.0.0.1 only.

    client.py deploy  --admin PORT --token-file F --prefix P --first K --count N --out F.jsonl [--deadline S]
    client.py request --data PORT --prefix P --first K --count N --out F.jsonl [--repeat R] [--deadline S]
    client.py ready   --data PORT --path /x --since-file F --polling F --deadline S

Every app P-<k> (k = K .. K+N-1) has one service whose source is distinct
(it embeds k) and one route /P-<k>. `deploy` PUTs each app's tar archive
(mote.toml + index.js, as `mote deploy` bundles it) on one keep-alive
connection, one after another, and writes one JSON line per deploy (ms).
`request` sends GET /P-<k> once per app (R passes), on one keep-alive
connection, and writes one JSON line per request (µs, client-side, from
sending the request to having read the whole response). `ready` polls until
the path answers 200 and prints the seconds since the node's launch (read
from the --since-file) and the seconds that first successful request took.
"""

import argparse
import http.client
import io
import json
import socket
import sys
import tarfile
import time

MANIFEST = """name = "{name}"

[services.main]
source = "index.js"
routes = ["/{name}"]
"""

# Distinct per app (the number is part of the source, so each app's bundle,
# its SHA-256 and its compiled bytecode are its own).
SOURCE = """// bench/js density service {k}
const ID = {k};
export default {{
  fetch(request) {{
    return new Response("service " + ID + "\\n");
  }},
}};
"""


def app_name(prefix, k):
    return f"{prefix}-{k:05d}"


def tar_of(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def connect(port, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def cmd_deploy(a):
    token = open(a.token_file).read().strip()
    conn = connect(a.admin, timeout=120)
    end = time.monotonic() + a.deadline
    done = 0
    with open(a.out, "a") as out:
        for k in range(a.first, a.first + a.count):
            if time.monotonic() > end:
                print(f"deploy: deadline of {a.deadline}s reached after {done} deploys", file=sys.stderr)
                return 4
            name = app_name(a.prefix, k)
            body = tar_of({"mote.toml": MANIFEST.format(name=name), "index.js": SOURCE.format(k=k)})
            t0 = time.perf_counter()
            conn.request("PUT", f"/v1/apps/{name}", body=body,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-tar"})
            resp = conn.getresponse()
            text = resp.read()
            ms = (time.perf_counter() - t0) * 1e3
            if resp.status != 201:
                print(f"deploy {name}: HTTP {resp.status}: {text[:300]!r}", file=sys.stderr)
                return 1
            out.write(json.dumps({"k": k, "ms": round(ms, 3)}) + "\n")
            done += 1
    return 0


def cmd_request(a):
    conn = connect(a.data)
    end = time.monotonic() + a.deadline
    bad = 0
    with open(a.out, "a") as out:
        for rep in range(a.repeat):
            for k in range(a.first, a.first + a.count):
                if time.monotonic() > end:
                    print(f"request: deadline of {a.deadline}s reached", file=sys.stderr)
                    return 4
                path = "/" + app_name(a.prefix, k)
                t0 = time.perf_counter()
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                us = (time.perf_counter() - t0) * 1e6
                ok = resp.status == 200 and body == f"service {k}\n".encode()
                if not ok:
                    bad += 1
                    if bad <= 3:
                        print(f"GET {path}: HTTP {resp.status} {body[:200]!r}", file=sys.stderr)
                out.write(json.dumps({"pass": rep, "k": k, "us": round(us, 1), "ok": ok}) + "\n")
    return 1 if bad else 0


def cmd_ready(a):
    # Started before the node (Python's own start-up is not counted): says it
    # is polling by creating --polling, then reads the node's launch time
    # (epoch seconds) from --since-file once the path answers.
    open(a.polling, "w").close()
    end = time.time() + a.deadline
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", a.data, timeout=a.deadline)
            c.connect()
            t0 = time.perf_counter()
            c.request("GET", a.path)
            r = c.getresponse()
            r.read()
            took = time.perf_counter() - t0
            c.close()
            if r.status == 200:
                # seconds since launch, and how long that first request took
                now = time.time()
                since = float(open(a.since_file).read())
                print(f"{now - since:.4f} {took:.4f}")
                return 0
        except OSError:
            pass
        time.sleep(0.002)
    print(f"ready: {a.path} did not answer 200 within {a.deadline}s", file=sys.stderr)
    return 4


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("deploy")
    d.add_argument("--admin", type=int, required=True)
    d.add_argument("--token-file", required=True)
    r = sub.add_parser("request")
    r.add_argument("--data", type=int, required=True)
    r.add_argument("--repeat", type=int, default=1)
    for p in (d, r):
        p.add_argument("--prefix", required=True)
        p.add_argument("--first", type=int, default=0)
        p.add_argument("--count", type=int, required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--deadline", type=float, default=600)
    w = sub.add_parser("ready")
    w.add_argument("--data", type=int, required=True)
    w.add_argument("--path", required=True)
    w.add_argument("--since-file", required=True)
    w.add_argument("--polling", required=True)
    w.add_argument("--deadline", type=float, default=300)
    a = ap.parse_args()
    return {"deploy": cmd_deploy, "request": cmd_request, "ready": cmd_ready}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
