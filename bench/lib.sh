# Shared by the benchmark scripts (bench/run, bench/js, bench/bindings,
# bench/hostile): sourced, not run.
#
#   NAME=bench/xyz; source bench/lib.sh
#
# Expects the caller to have `cd`ed to the repository root and set ROOT. Sets
# CACHE, START_EPOCH, TS, WORK (a temporary directory removed on exit, or kept
# and named on stderr with BENCH_KEEP_WORK=1: the servers' logs), PIDS
# (servers stopped on exit), takes the one-benchmark-at-a-time lock, and
# installs the clean-up traps. WORKERD_VERSION is the version bench/run pins.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mote-target}"
CACHE=$ROOT/bench/.cache
mkdir -p "$CACHE" "$ROOT/bench/results"
WORKERD_VERSION=$(sed -n 's/^WORKERD_VERSION=//p' "$ROOT/bench/run")

# One benchmark at a time on this machine (bench/run, bench/profile, bench/js,
# bench/bindings, bench/hostile): two at once would measure each other.
exec 9>"$CACHE/bench.lock"
if ! flock -n 9; then
    echo "another benchmark is running; waiting for it (up to 30 min)" >&2
    flock -w 1800 9 || { echo "gave up waiting for the other benchmark" >&2; exit 1; }
fi
START_EPOCH=$(date +%s)
TS=$(date -u +%Y-%m-%dT%H-%M-%SZ)
log() { printf '[%s %4ss] %s\n' "$NAME" "$(($(date +%s) - START_EPOCH))" "$*" >&2; }

# --- clean-up: stop every server we started, whatever happens -------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mote-bench.XXXXXX")
PIDS=()
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
stop_servers() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    PIDS=()
}
forget_pid() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_servers
    if ((rc == 3)); then
        log "measured, but too noisy to publish (exit 3): BENCHMARKS.md unchanged"
    elif ((rc != 0)); then
        log "FAILED (exit $rc); server logs:"
        for f in "$WORK"/*.log; do
            [ -f "$f" ] || continue
            echo "--- $f (last 20 lines)" >&2; tail -n 20 "$f" >&2
        done
    fi
    [ -n "${BENCH_KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools ----------------------------------------------------------------
ensure_wrk() {
    command -v wrk >/dev/null && return 0
    log "installing wrk (apt-get)"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
}
WORKERD_DIR=$CACHE/workerd
workerd_bin() {
    local b
    for b in "$WORKERD_DIR"/node_modules/@cloudflare/workerd-linux-*/bin/workerd \
             "$WORKERD_DIR/node_modules/.bin/workerd"; do
        [ -x "$b" ] && { echo "$b"; return 0; }
    done
    return 1
}
ensure_workerd() {  # sets WORKERD
    local installed
    installed=$(node -p "require('$WORKERD_DIR/node_modules/workerd/package.json').version" 2>/dev/null || true)
    if [ "$installed" != "$WORKERD_VERSION" ] || ! workerd_bin >/dev/null; then
        log "installing workerd@$WORKERD_VERSION (npm)"
        timeout --foreground 10m npm install --prefix "$WORKERD_DIR" --no-audit --no-fund --loglevel=error \
            "workerd@$WORKERD_VERSION"
    fi
    WORKERD=$(workerd_bin)
}
free_ports() {  # n -> n distinct free loopback ports
    python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}
# The raw results of a run: $RAW/meta.txt holds key=value lines.
meta() { echo "$1=$2" >>"$RAW/meta.txt"; }
meta_common() {  # the revision and tool versions, into meta.txt
    local rev
    rev=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    [ -n "$(git status --porcelain --untracked-files=no -- . ':!bench' ':!BENCHMARKS.md' 2>/dev/null)" ] \
        && rev="$rev (+ uncommitted changes)"
    meta timestamp "$TS"
    meta mote_rev "$rev"
    [ -n "${WORKERD:-}" ] && meta workerd_version "$("$WORKERD" --version) (npm workerd@$WORKERD_VERSION)"
    meta wrk_version "$(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}')"
    meta rustc_version "$(rustc --version)"
}

# --- CPU accounting and the idle wait ---------------------------------------
cpu_snapshot() {  # server pid -> "busy total server children"
    local c p self
    c=($(head -n1 /proc/stat))
    p=($(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null || echo))
    self=($(sed 's/^.*) //' /proc/$$/stat))
    echo "$((c[1] + c[2] + c[3] + c[6] + c[7] + c[8])) $((c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7] + c[8])) $((${p[11]:-0} + ${p[12]:-0})) $((self[13] + self[14]))"
}
cpu_busy_pct() {
    local a b
    a=($(head -n1 /proc/stat)); sleep 2; b=($(head -n1 /proc/stat))
    local total=0 idle i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    idle=$((b[4] - a[4] + b[5] - a[5]))
    echo $(((total - idle) * 100 / (total > 0 ? total : 1)))
}
IDLE_WAIT=${BENCH_IDLE_WAIT:-600}
wait_for_idle() {  # sets IDLE_NOTE
    local waited=0 busy
    busy=$(cpu_busy_pct)
    while ((busy > 15 && waited < IDLE_WAIT)); do
        ((waited == 0)) && log "machine busy (${busy}% CPU used by others); waiting up to ${IDLE_WAIT}s for it to calm down"
        sleep 8; waited=$((waited + 10))
        busy=$(cpu_busy_pct)
    done
    ((busy > 15)) && log "WARNING: still ${busy}% busy after ${waited}s; measuring anyway (noisy)"
    IDLE_NOTE="${busy}% (after waiting ${waited}s)"
}
# One wrk run, with the machine's, the server's and wrk's CPU use around it.
# SPID maps a server name to its pid; DUR is the run's length in seconds.
run_wrk() {  # server name, output file, wrk args...
    local name=$1 out=$2; shift 2
    { echo "# cmd: wrk $*"; echo "# loadavg-before: $(cat /proc/loadavg)"; } >"$out"
    local rc=0 a b
    a=($(cpu_snapshot "${SPID[$name]}"))
    timeout --foreground $((DUR + 60)) wrk "$@" >>"$out" 2>&1 || rc=$?
    b=($(cpu_snapshot "${SPID[$name]}"))
    local total=$((b[1] - a[1])) busy=$((b[0] - a[0])) server=$((b[2] - a[2])) client=$((b[3] - a[3]))
    ((total > 0)) || total=1
    echo "# cpu-pct-of-machine: busy $((busy * 100 / total)) server $((server * 100 / total)) wrk $((client * 100 / total)) others $(((busy - server - client) * 100 / total))" >>"$out"
    echo "# cpu-ticks: total $total busy $busy server $server wrk $client hz $(getconf CLK_TCK)" >>"$out"
    echo "# rc: $rc" >>"$out"
    ((rc == 0)) || log "wrk exited with $rc (see raw results)"
}
fetch() { curl -sS --max-time 5 -o "$2" -w '%{http_code}' "$1"; }  # url, body file -> status
wait_for_200() {  # url, body file [, curl args...]: up to 60 s
    local i
    for i in $(seq 600); do
        [ "$(curl -sS --max-time 5 -o "$2" -w '%{http_code}' "${@:3}" "$1" 2>/dev/null)" = 200 ] && return 0
        sleep 0.1
    done
    log "$1 does not answer 200"; return 1
}
