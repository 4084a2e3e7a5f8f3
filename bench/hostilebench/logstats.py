#!/usr/bin/env python3
"""bench/hostile helper: what the node logged between two byte offsets of its
log (one phase of the benchmark), as JSON on stdout.

    logstats.py LOG START END

Per app: the requests' statuses, their wall-clock duration and charged CPU
time (`duration_ms`, `cpu_ms` of the node's per-request lines), how many
ran on the sandbox's low-priority threads (`offloaded`) and the outcomes;
plus every line at WARN or ERROR level (counted, a few kept), any panic, and
the node's own INFO lines (the first few).
"""

import json
import re
import statistics
import sys

REQ = re.compile(r' INFO mote::request: app=(\S+) service=(\S+) .*? status=(\d+) duration_ms="([\d.]+)" '
                 r'cpu_ms="([\d.]+)" offloaded=(true|false) outcome=(.*?) stdout=')
LEVEL = re.compile(r"^\S+\s+(WARN|ERROR)\s+(.*)$")


def main():
    path, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    apps = {}
    warnings = {"count": 0, "first": []}
    events = []  # the node's own lines (code loaded, promoted, ...), not per request
    panics = []
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(max(0, end - start))
    for raw in data.split(b"\n"):
        line = raw.decode("utf-8", "replace")
        m = REQ.search(line)
        if m:
            app, service, status, dur, cpu, offloaded, outcome = m.groups()
            a = apps.setdefault(app, {"statuses": {}, "duration_ms": [], "cpu_ms": [], "outcomes": {},
                                      "offloaded": 0})
            a["offloaded"] += offloaded == "true"
            a["statuses"][status] = a["statuses"].get(status, 0) + 1
            a["duration_ms"].append(float(dur))
            a["cpu_ms"].append(float(cpu))
            o = outcome[:80]
            a["outcomes"][o] = a["outcomes"].get(o, 0) + 1
            continue
        m = LEVEL.match(line)
        if m:
            warnings["count"] += 1
            if len(warnings["first"]) < 5:
                warnings["first"].append(line[:300])
        elif " INFO mote_node" in line and len(events) < 10:
            events.append(line[:200])
        if "panicked" in line:
            panics.append(line[:300])
    out = {"bytes": len(data), "apps": {}, "warnings": warnings, "panics": panics[:5], "node_events": events}
    for app, a in apps.items():
        d, c = sorted(a["duration_ms"]), sorted(a["cpu_ms"])
        out["apps"][app] = {
            "requests": len(d),
            "statuses": a["statuses"],
            "duration_ms_p50": statistics.median(d),
            "duration_ms_max": d[-1],
            "cpu_ms_p50": statistics.median(c),
            "cpu_ms_max": c[-1],
            "offloaded": a["offloaded"],
            "outcomes": dict(sorted(a["outcomes"].items(), key=lambda kv: -kv[1])[:5]),
        }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
