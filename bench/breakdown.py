#!/usr/bin/env python3
"""Attributes the samples of a `perf record --call-graph dwarf` profile of
`mote serve` to the stages of a request.

    perf script -i FILE -F comm,tid,ip,sym | python3 bench/breakdown.py [REQS_PER_S CPU_US_PER_REQ]

(REQS_PER_S is informational.)

Each sample goes to the first category (in the order below) with a frame
matching one of its patterns, anywhere in the sample's stack: categories are
inclusive of what they call (kernel time included), and earlier ones win, so
e.g. the socket write done while a guest runs counts as socket write. Stacks
the unwinder could not walk fully may land in "other" or in an outer stage. With the request
rate and the CPU per request (from perf stat) it also prints µs per request.
"""

import collections
import re
import sys

# (category, patterns). Order matters: the first match wins.
CATEGORIES = [
    ("socket write (loopback TCP send + waking wrk; the node's response writer)",
     [r"\bwritev\b", r"__GI___writev", r"do_writev", r"sendto", r"mote_node::corked::"]),
    ("socket read (recvfrom)", [r"recvfrom"]),
    ("epoll / idle wait", [r"epoll_wait"]),
    ("thread park / wake (futex)", [r"futex"]),
    ("wasmtime: Store drop (instance deallocation, pool slot reset)", [
        r"drop_in_place wasmtime::runtime::store::Store", r"StoreOpaque as core::ops::drop::Drop",
        r"drop_fibers_and_futures", r"PoolingInstanceAllocator.*deallocate", r"pagemap", r"\bioctl\b"]),
    ("wasmtime: instantiate", [r"Instantiator::", r"allocate_instance", r"vm::instance::Instance::new",
                               r"InstancePre::_?instantiate", r"instantiate_async", r"MemoryImageSlot"]),
    ("wasmtime: guest handler call (guest code, wasi/wasi-http host functions, fibers)", [
        r"call_async_concurrent", r"prepare_call", r"poll_until", r"cabi_entrypoint", r"TypedFunc::",
        r"component::concurrent::", r"wasmtime_internal_fiber", r"make_fiber", r"call_handle",
        r"HostFn::", r"HostFunc::", r"\[JIT\]", r"wasmtime::runtime::vm::"]),
    ("wasi-http request/response conversion and body streaming", [r"wasmtime_wasi_http::", r"wasmtime_wasi::",
                                                                  r"wasmtime_wasi_io::"]),
    ("sandbox: other per-request work (Store::new, WasiCtx, completion)", [r"mote_sandbox::"]),
    ("HTTP connection task: hyper parse/encode + mote dispatch (routing, limits, logging)",
     [r"mote_node::", r"mote_router::", r"tracing", r"hyper::", r"hyper_util::"]),
    ("tokio scheduler (task spawn/wake/poll)", [r"tokio::"]),
    ("epoch ticker thread", [r"mote-epoch", r"increment_epoch"]),
]


def simplify(frame):
    """A frame's name without generic arguments (which name unrelated types
    and would match the patterns): `Foo<Bar>::f` -> `Foo::f`. Qualified paths
    keep their content (`<A as B>::f` -> `A as B::f`) and `drop_in_place<T>`
    keeps T's path (`drop_in_place T`)."""
    frame = re.sub(r"^\s*[0-9a-f]+\s+", "", frame).strip()
    frame = re.sub(r"\s*\(inlined\)$", "", frame)
    m = re.match(r"^(?:core::ptr::)?drop_in_place<(.*)>$", frame)
    if m:
        return "drop_in_place " + simplify(m.group(1))
    out, depth_stack = [], []  # stack of bools: True = generic args (drop content)
    for i, ch in enumerate(frame):
        dropping = any(depth_stack)
        if ch == "<":
            prev = frame[i - 1] if i else " "
            depth_stack.append(prev.isalnum() or prev in "_}")
            continue
        if ch == ">" and depth_stack and frame[i - 1] != "-":
            depth_stack.pop()
            continue
        if not dropping:
            out.append(ch)
    return "".join(out)


def samples(stream):
    block = []
    for line in stream:
        if line.strip() == "":
            if block:
                yield block
            block = []
        else:
            block.append(line.rstrip("\n"))
    if block:
        yield block


def main():
    cpu_per_req = float(sys.argv[2]) if len(sys.argv) > 2 else None
    compiled = [(name, [re.compile(p) for p in pats]) for name, pats in CATEGORIES]
    counts = collections.Counter()
    total = 0
    leaf_other = collections.Counter()
    for block in samples(sys.stdin):
        total += 1
        head = block[0]
        frames = [simplify(f) for f in block[1:]]
        text = "\n".join([head] + frames)
        for name, pats in compiled:
            if any(p.search(text) for p in pats):
                counts[name] += 1
                break
        else:
            counts["other"] += 1
            leaf_other[frames[0][:100] if frames else "?"] += 1
    if not total:
        print("no samples")
        return
    print(f"{total} samples")
    print(f"{'category':70} {'share':>6}" + (f" {'µs/req':>7}" if cpu_per_req else ""))
    for name, _ in compiled + [("other", None)]:
        n = counts.get(name, 0)
        line = f"{name:70} {100 * n / total:5.1f}%"
        if cpu_per_req:
            line += f" {cpu_per_req * n / total:7.1f}"
        print(line)
    print("\ntop leaf frames of 'other':")
    for k, v in leaf_other.most_common(12):
        print(f"  {100 * v / total:5.1f}%  {k}")


if __name__ == "__main__":
    main()
