#!/usr/bin/env python3
"""bench/hostile attack client: hostile traffic to one Mote node on 127.0.0.1,
for a bounded time, counting how each request or connection ended.

    attack.py --port P --mode requests|slowloris|body --conns N --duration S
              [--path /x ...] [--ready FILE] [--out FILE.json] [--node-pid PID]

Modes (raw sockets, HTTP/1.1, asyncio; every connection loops until the end):

  requests   N keep-alive connections, each sending GET <path> (the --path
             values in turn) and reading the whole answer, again and again; a
             connection the node closes is reopened.
  slowloris  N connections that send a request line and then header bytes, one
             per second, never ending the headers.
  body       N connections that POST to <path> with a chunked body that never
             ends: 4 KiB every 100 ms.

It stops by itself after --duration seconds (or on SIGTERM/SIGINT), then
writes a JSON summary (outcome -> count, and the time each outcome took) to
--out. --ready is created once every connection has been opened (or tried).
--node-pid samples the node's RSS and open file descriptors meanwhile.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import time

HOST = "127.0.0.1"
CHUNK = 4096
CHUNK_INTERVAL = 0.1


class Stats:
    def __init__(self):
        self.outcomes = {}  # outcome -> [durations in seconds]
        self.connects = 0
        self.connect_errors = {}
        self.bytes_received = 0
        self.bytes_sent = 0
        self.in_flight = {}  # task id -> start of what it is waiting for
        self.rss_max_kib = 0
        self.fds_max = 0

    def record(self, outcome, seconds):
        self.outcomes.setdefault(outcome, []).append(seconds)


async def read_head(r):
    head = await r.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return parts[0], status, headers


async def read_response(r, st):
    """-> (status, x-mote-error, keep-alive). Reads and discards the body."""
    version, status, headers = await read_head(r)
    if "content-length" in headers:
        left = int(headers["content-length"])
        while left:
            data = await r.read(min(left, 1 << 20))
            if not data:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(data)
            st.bytes_received += len(data)
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            line = await r.readuntil(b"\r\n")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await r.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            left = size + 2
            while left:
                data = await r.read(min(left, 1 << 20))
                if not data:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(data)
                st.bytes_received += len(data)
    elif status not in (204, 304):
        while True:  # until the connection closes
            data = await r.read(1 << 20)
            if not data:
                break
            st.bytes_received += len(data)
        return status, headers.get("x-mote-error", ""), False
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return status, headers.get("x-mote-error", ""), keep


def outcome_name(status, kind):
    return f"{status} {kind}".strip()


class Attack:
    def __init__(self, args):
        self.a = args
        self.st = Stats()
        self.stop = asyncio.Event()
        self.opened = 0  # connections opened or tried at least once
        self.connect_gate = asyncio.Semaphore(200)
        self.deadline = time.monotonic() + args.duration

    def mark_opened(self):
        self.opened += 1
        if self.opened == self.a.conns and self.a.ready:
            with open(self.a.ready, "w") as f:
                f.write(f"{time.time()}\n")

    async def connect(self, first):
        async with self.connect_gate:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(HOST, self.a.port), 10)
                self.st.connects += 1
                return r, w
            except (OSError, asyncio.TimeoutError) as e:
                name = type(e).__name__ if not isinstance(e, OSError) or not e.errno else os.strerror(e.errno)
                self.st.connect_errors[name] = self.st.connect_errors.get(name, 0) + 1
                return None
            finally:
                if first:
                    self.mark_opened()

    async def conn_requests(self, i):
        k = i
        first = True
        while not self.stop.is_set():
            c = await self.connect(first)
            first = False
            if c is None:
                await asyncio.sleep(0.2)
                continue
            r, w = c
            t0 = time.monotonic()
            try:
                while not self.stop.is_set():
                    path = self.a.path[k % len(self.a.path)]
                    k += 1
                    t0 = time.monotonic()
                    self.st.in_flight[i] = t0
                    req = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{self.a.port}\r\n\r\n".encode()
                    w.write(req)
                    self.st.bytes_sent += len(req)
                    status, kind, keep = await read_response(r, self.st)
                    del self.st.in_flight[i]
                    self.st.record(outcome_name(status, kind), time.monotonic() - t0)
                    if not keep:
                        break
            except asyncio.IncompleteReadError as e:
                self.st.in_flight.pop(i, None)
                self.st.record("connection closed before the whole answer", time.monotonic() - t0)
            except (ConnectionError, OSError) as e:
                self.st.in_flight.pop(i, None)
                self.st.record(f"connection error ({type(e).__name__})", time.monotonic() - t0)
            finally:
                w.close()

    async def conn_trickle(self, i, body):
        """slowloris (headers never end) or body (a body that never ends)."""
        first = True
        if body:
            head = (f"POST {self.a.path[0]} HTTP/1.1\r\nHost: {HOST}:{self.a.port}\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n").encode()
            step = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
            interval = CHUNK_INTERVAL
        else:
            head = f"GET {self.a.path[0]} HTTP/1.1\r\nHost: {HOST}:{self.a.port}\r\nX-Slow: ".encode()
            step = b"a"
            interval = 1.0
        while not self.stop.is_set():
            c = await self.connect(first)
            first = False
            if c is None:
                await asyncio.sleep(0.2)
                continue
            r, w = c
            t0 = time.monotonic()
            self.st.in_flight[i] = t0
            outcome = None
            try:
                w.write(head)
                self.st.bytes_sent += len(head)
                while outcome is None and not self.stop.is_set():
                    try:
                        data = await asyncio.wait_for(r.read(65536), interval)
                    except asyncio.TimeoutError:
                        w.write(step)
                        self.st.bytes_sent += len(step)
                        await asyncio.wait_for(w.drain(), max(0.1, self.deadline - time.monotonic()))
                        continue
                    if not data:
                        outcome = "closed by the node without an answer"
                    else:
                        self.st.bytes_received += len(data)
                        try:
                            status = int(data.split(b" ", 2)[1])
                            kind = ""
                            for line in data.split(b"\r\n"):
                                if line.lower().startswith(b"x-mote-error:"):
                                    kind = line.split(b":", 1)[1].strip().decode()
                            outcome = outcome_name(status, kind)
                        except (IndexError, ValueError):
                            outcome = "unparsable answer"
            except asyncio.TimeoutError:
                outcome = "the node stopped reading"
            except (ConnectionError, OSError) as e:
                outcome = f"connection error ({type(e).__name__})"
            finally:
                w.close()
            if outcome is not None:
                self.st.in_flight.pop(i, None)
                self.st.record(outcome, time.monotonic() - t0)

    async def sample_node(self):
        pid = self.a.node_pid
        while pid and not self.stop.is_set():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.st.rss_max_kib = max(self.st.rss_max_kib, int(line.split()[1]))
                self.st.fds_max = max(self.st.fds_max, len(os.listdir(f"/proc/{pid}/fd")))
            except OSError:
                pass
            try:
                await asyncio.wait_for(self.stop.wait(), 0.25)
            except asyncio.TimeoutError:
                pass

    async def run(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        if self.a.mode == "requests":
            tasks = [asyncio.create_task(self.conn_requests(i)) for i in range(self.a.conns)]
        else:
            tasks = [asyncio.create_task(self.conn_trickle(i, self.a.mode == "body")) for i in range(self.a.conns)]
        sampler = asyncio.create_task(self.sample_node())
        start = time.monotonic()
        try:
            await asyncio.wait_for(self.stop.wait(), self.a.duration)
        except asyncio.TimeoutError:
            pass
        self.stop.set()
        end = time.monotonic()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, sampler, return_exceptions=True)
        for t0 in self.st.in_flight.values():
            self.st.record("still waiting when the attack stopped", end - t0)
        return end - start


def summary(st, elapsed, a):
    out = {"mode": a.mode, "conns": a.conns, "paths": a.path, "seconds": round(elapsed, 3),
           "connects": st.connects, "connect_errors": st.connect_errors,
           "bytes_received": st.bytes_received, "bytes_sent": st.bytes_sent,
           "node_rss_max_kib": st.rss_max_kib, "node_fds_max": st.fds_max, "outcomes": {}}
    for k, v in sorted(st.outcomes.items(), key=lambda kv: -len(kv[1])):
        v.sort()
        out["outcomes"][k] = {"count": len(v), "p50_s": round(statistics.median(v), 4),
                              "max_s": round(v[-1], 4)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=("requests", "slowloris", "body"), required=True)
    ap.add_argument("--path", action="append", required=True)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--ready")
    ap.add_argument("--out")
    ap.add_argument("--node-pid", type=int)
    a = ap.parse_args()
    attack = Attack(a)
    elapsed = asyncio.run(attack.run())
    text = json.dumps(summary(attack.st, elapsed, a), indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    sys.exit(main())
