//! The lanes' guard against starvation.
//!
//! The lanes run at `SCHED_IDLE`: while normal threads keep every CPU busy,
//! the kernel gives a lane thread about 3/1,024 of a CPU. That is the point
//! when the busy threads are a neighbour's requests and the lane runs an
//! attacker; but when the node's own request threads are saturated by a
//! legitimate load, a guest that ran past 2 ms of CPU (a JavaScript service
//! before its promotion, say) waited 0.5-2.2 s on the lanes for its last
//! millisecond of CPU (`wrk -c32` on a service chain).
//!
//! A watchdog thread ([`start`]) looks at the lane threads every
//! [`PERIOD`]. When one of them was runnable at two looks in a row (the
//! lanes have work waiting) and all of them together got less than
//! [`FAIR_SHARE`] of the CPUs meanwhile, the lanes are starved, and the
//! request threads that are saturated give them a share: each that has been
//! busy without a break for [`PAUSE_EVERY`]`[level]` pauses for [`PAUSE`]
//! before a guest's turn ([`pace`]); a thread that runs out of work leaves
//! its CPU to the lanes by itself and never pauses. On a thread that moves
//! a large body, the body's task pauses instead of the thread
//! ([`bulk_pause`]): the guest whose turn came next there would mostly be a
//! neighbour paying for the body's sender. The level rises each period the
//! lanes stay starved, from about a tenth of the request threads' time to a
//! third, and falls each period no lane thread waits. A backlog of
//! legitimate work on the lanes (a JavaScript service's runs before its
//! promotion, under a load that keeps the request threads busy) gets
//! through; an attacker whose guests run there gains at most that third,
//! and only while its neighbours' requests saturate the node.
//!
//! The request threads give the CPU away rather than the lanes taking it:
//! raising a `SCHED_IDLE` thread back to normal priority needs
//! `CAP_SYS_NICE` (or an `RLIMIT_NICE` that allows nice 0), which a node in a
//! container usually lacks. When another process, not the node, keeps the
//! CPUs busy, the pauses give its CPU to that process as much as to the
//! lanes: the node gives up at most a third of its request threads' time
//! for it.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{clock_ns, cpus};

/// How often the watchdog looks at the lane threads (while a guest is on
/// them; otherwise it only checks that none is).
const PERIOD: Duration = Duration::from_millis(20);
/// Below this share of all CPUs over a period, lanes with work waiting are
/// starved (per mille).
const FAIR_SHARE: u64 = 250;
/// A guest's turn does not pause a request thread on which a large body
/// took a turn this recently: the body pauses instead ([`bulk_pause`]).
const BULK_PAYS_WITHIN: Duration = PAUSE_EVERY[0];
/// How long a request thread pauses for the lanes.
const PAUSE: Duration = Duration::from_millis(1);
/// A request thread pauses at most once in this time, by level (1 to 4):
/// about 9 %, 17 %, 25 % and 33 % of its time.
const PAUSE_EVERY: [Duration; 4] = [
    Duration::from_millis(10),
    Duration::from_millis(5),
    Duration::from_millis(3),
    Duration::from_millis(2),
];

/// How much the request threads pause for the lanes now: 0 (not at all)
/// or an index + 1 into [`PAUSE_EVERY`]. Set by the watchdog.
static LEVEL: AtomicU8 = AtomicU8::new(0);
/// Pauses the request threads made for the lanes, for tests and logs.
static PAUSES: AtomicU64 = AtomicU64::new(0);

/// A lane thread: its id (for its state in `/proc`) and its CPU clock.
#[derive(Clone, Copy)]
struct LaneThread {
    tid: libc::pid_t,
    clock: libc::clockid_t,
}

static THREADS: Mutex<Vec<LaneThread>> = Mutex::new(Vec::new());

thread_local! {
    static ON_LANE: Cell<bool> = const { Cell::new(false) };
    /// When a request thread last looked whether to pause (or paused), and
    /// its runtime's park count then.
    static LOOKED: Cell<Option<(Instant, u64)>> = const { Cell::new(None) };
    /// When a task that moves a large body last took a turn on this thread.
    static BULK_TURN: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Called by each lane thread when it starts.
pub(super) fn lane_thread_started() {
    ON_LANE.set(true);
    let mut clock: libc::clockid_t = 0;
    // SAFETY: asks for the calling thread's CPU clock id, written to `clock`.
    if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } != 0 {
        return;
    }
    // SAFETY: plain syscall.
    let tid = unsafe { libc::gettid() };
    lock_threads().push(LaneThread { tid, clock });
}

/// Called by each lane thread when it stops (tokio ends idle blocking
/// threads).
pub(super) fn lane_thread_stopped() {
    // SAFETY: plain syscall.
    let tid = unsafe { libc::gettid() };
    lock_threads().retain(|t| t.tid != tid);
}

fn lock_threads() -> std::sync::MutexGuard<'static, Vec<LaneThread>> {
    THREADS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Before a guest's turn: while the lanes are starved, pause the thread
/// for them if it is a request thread that has been busy without a break
/// for the current level's [`PAUSE_EVERY`], unless a large body on it pays
/// instead ([`bulk_pause`]).
pub(super) fn pace() {
    if let Some(every) = pause_every()
        && guest_owes_a_pause(every)
    {
        std::thread::sleep(PAUSE);
        // The window of looks starts again after the pause.
        LOOKED.set(LOOKED.get().map(|(_, parks)| (Instant::now(), parks)));
    }
}

/// Between two turns of a task that moves a large body: the pause it owes
/// the lanes, if any. The task sleeps rather than the thread, so the
/// thread's other connections go on, and when it has nothing else to do it
/// parks, leaving its CPU to the lanes.
///
/// Under bench/hostile's 1 GiB response attack, writing the attacker's body
/// kept its data-plane thread from ever running out of work, and the
/// guests' turns that paid for it were the neighbour's: in a trace of
/// scheduler events, 40 of the 52 neighbour requests over 1.2 ms in 4 s
/// had waited for such a pause. So on a thread where a large body took a
/// turn in the last [`BULK_PAYS_WITHIN`], the body pays, and guests' turns
/// do not. The price: on a thread that guests keep busy too, the body's
/// pauses leave the CPU to the lanes only when nothing else is ready there,
/// so while a large body moves, the lanes get less from that thread.
pub(super) fn bulk_pause() -> Option<Duration> {
    bulk_owes_a_pause(pause_every()).then_some(PAUSE)
}

/// Whether a large body's turn is to pause now, at `every` (`None` while
/// the lanes are fine). Notes the turn even then: the level may rise before
/// the body's next turn, and a guest's turn must not pay meanwhile.
fn bulk_owes_a_pause(every: Option<Duration>) -> bool {
    BULK_TURN.set(Some(Instant::now()));
    every.is_some_and(saturated)
}

/// How often a saturated request thread pauses at the current level; `None`
/// while the lanes are fine or on a lane thread.
fn pause_every() -> Option<Duration> {
    let level = LEVEL.load(Ordering::Relaxed);
    (level != 0 && !ON_LANE.get()).then(|| PAUSE_EVERY[usize::from(level) - 1])
}

/// Whether a guest's turn is to pause the calling thread now: no large body
/// took a turn on it lately, and it is [`saturated`].
fn guest_owes_a_pause(every: Duration) -> bool {
    let bulk = BULK_TURN
        .get()
        .is_some_and(|at| at.elapsed() < BULK_PAYS_WITHIN);
    !bulk && saturated(every)
}

/// Whether the calling thread's runtime has not parked (run out of work)
/// since this thread last looked, at least `every` ago; if so, a pause is
/// counted and the window of looks starts again.
///
/// A thread that runs out of work leaves its CPU to the lanes anyway, and
/// its requests would only wait for a pause: a neighbour's single
/// connection, answered as fast as it asks, never pauses, even while
/// something else (the release of a memory bomb's pages, another process)
/// starves the lanes. Only request threads count: threads of a runtime with
/// one worker (the data plane's); others never pause.
fn saturated(every: Duration) -> bool {
    let Some(parks) = park_count() else {
        return false;
    };
    let now = Instant::now();
    let Some((since, _)) = LOOKED.get().filter(|&(_, then)| then == parks) else {
        // First look, or the thread parked since the last: a new window.
        LOOKED.set(Some((now, parks)));
        return false;
    };
    if now - since < every {
        return false;
    }
    LOOKED.set(Some((now, parks)));
    PAUSES.fetch_add(1, Ordering::Relaxed);
    true
}

/// How many times the calling thread's runtime has parked, if it is a
/// runtime of one worker.
fn park_count() -> Option<u64> {
    let handle = tokio::runtime::Handle::try_current().ok()?;
    let metrics = handle.metrics();
    (metrics.num_workers() == 1).then(|| metrics.worker_park_count(0))
}

/// Start the watchdog. `busy` tells whether any guest is on the lanes (it
/// looks at the threads only then).
pub(super) fn start(busy: impl Fn() -> bool + Send + 'static) {
    let cpus = cpus() as u64;
    // If it cannot be started, the lanes run without the guard, as before.
    let _ = std::thread::Builder::new()
        .name("mote-lanewatch".into())
        .spawn(move || watch(cpus, busy));
}

/// What the watchdog saw of a lane thread at its last look.
#[derive(Clone, Copy)]
struct Look {
    cpu_ns: u64,
    runnable: bool,
}

fn watch(cpus: u64, busy: impl Fn() -> bool) {
    let mut last: HashMap<libc::pid_t, Look> = HashMap::new();
    let budget_ns = PERIOD.as_nanos() as u64 * cpus;
    loop {
        std::thread::sleep(PERIOD);
        if !busy() {
            last.clear();
            set_level(0);
            continue;
        }
        let threads = lock_threads().clone();
        let mut lane_cpu_ns = 0;
        let mut waiting = false;
        let mut now = HashMap::with_capacity(threads.len());
        for thread in threads {
            let (Some(cpu_ns), Some(runnable)) = (clock_ns(thread.clock), runnable(thread.tid))
            else {
                continue;
            };
            if let Some(before) = last.get(&thread.tid) {
                lane_cpu_ns += cpu_ns.saturating_sub(before.cpu_ns);
                waiting |= runnable && before.runnable;
            }
            now.insert(thread.tid, Look { cpu_ns, runnable });
        }
        last = now;
        let share = lane_cpu_ns * 1000 / budget_ns;
        let level = LEVEL.load(Ordering::Relaxed);
        set_level(if !waiting {
            level.saturating_sub(1)
        } else if share < FAIR_SHARE {
            (level + 1).min(PAUSE_EVERY.len() as u8)
        } else {
            level
        });
    }
}

fn set_level(level: u8) {
    if LEVEL.swap(level, Ordering::Relaxed) != level {
        tracing::debug!(
            level,
            pauses = PAUSES.load(Ordering::Relaxed),
            "the low-priority lanes' starvation guard"
        );
    }
}

/// Whether a thread of this process is runnable (running or waiting for a
/// CPU): its state in `/proc/self/task/TID/stat`, the field after the
/// parenthesised name.
fn runnable(tid: libc::pid_t) -> Option<bool> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    let state = stat[stat.rfind(')')? + 1..].trim_start().chars().next()?;
    Some(state == 'R')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use crate::offload::{LANES, thread_cpu_ns};

    /// Run `cpu` of CPU time in turns of 1 ms, yielding between them as a
    /// guest does at its epoch checks.
    async fn guest_turns(cpu: Duration) {
        let start = thread_cpu_ns();
        while thread_cpu_ns() - start < cpu.as_nanos() as u64 {
            let turn = thread_cpu_ns();
            while thread_cpu_ns() - turn < 1_000_000 {}
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn request_threads_that_keep_every_cpu_busy_give_the_starved_lanes_a_share() {
        // Every CPU this process may run on (not `available_parallelism`,
        // which a CPU quota lowers: the lanes would then find a CPU free).
        // SAFETY: `set` is a plain bit mask the call fills in.
        let cpus = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set);
            libc::CPU_COUNT(&set).max(1) as usize
        };
        let done = Arc::new(AtomicBool::new(false));
        // One busy thread per CPU at normal priority, as saturated request
        // threads: each, on a runtime of its own that never runs out of
        // work, runs a guest's turn at a time, calling `pace` before it as
        // `Metered` does. They stop when the lane's guest is done, or after a
        // deadline no run with the guard comes near.
        let deadline = Instant::now() + Duration::from_secs(15);
        let busy: Vec<_> = (0..cpus)
            .map(|_| {
                let done = done.clone();
                std::thread::spawn(move || {
                    current_thread().block_on(async {
                        while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                            pace();
                            let turn = thread_cpu_ns();
                            while thread_cpu_ns() - turn < 200_000 {}
                        }
                    })
                })
            })
            .collect();
        let pauses_before = PAUSES.load(Ordering::Relaxed);
        // 50 ms of CPU on a lane: at a SCHED_IDLE thread's 3/1,027 of a CPU,
        // some 17 s; with the guard's share, well under a second.
        let guest = LANES.long.spawn(guest_turns(Duration::from_millis(50)));
        let finished = current_thread().block_on(async {
            tokio::time::timeout_at(deadline.into(), guest)
                .await
                .is_ok()
        });
        done.store(true, Ordering::Relaxed);
        busy.into_iter().for_each(|t| t.join().unwrap());
        assert!(
            finished,
            "the lane's guest got its 50 ms of CPU before the busy threads stopped"
        );
        assert!(
            PAUSES.load(Ordering::Relaxed) > pauses_before,
            "the busy threads paused for the lanes"
        );
    }

    #[test]
    fn a_request_thread_pauses_only_when_it_has_had_no_break() {
        current_thread().block_on(async {
            // Waiting for work between turns (a neighbour's one connection):
            // its runtime parks each time, and it never pauses.
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(1)).await;
                assert!(!saturated(Duration::ZERO));
            }
            // Busy without a break: after the first look, it pauses.
            saturated(Duration::ZERO);
            assert!(saturated(Duration::ZERO));
        });
        // Not on a request thread's runtime: never.
        assert!(!saturated(Duration::ZERO));
        assert!(!saturated(Duration::ZERO));
    }

    #[test]
    fn on_a_thread_busy_with_a_large_body_the_body_pauses_and_guests_do_not() {
        current_thread().block_on(async {
            // Without a body, a guest's turn on a thread that had no break
            // pauses it.
            assert!(!guest_owes_a_pause(Duration::ZERO), "first look");
            tokio::task::yield_now().await;
            assert!(guest_owes_a_pause(Duration::ZERO));
            // A large body's turns, yielding between them: the thread has
            // no break, but a guest's turn does not pay for it; the body
            // does.
            assert!(!bulk_owes_a_pause(None), "the lanes are fine");
            tokio::task::yield_now().await;
            assert!(!guest_owes_a_pause(Duration::ZERO));
            assert!(bulk_owes_a_pause(Some(Duration::ZERO)));
            // It sleeps (`between_bulk_turns`), and the thread, with
            // nothing else to do, parks: a break, so nobody owes a pause.
            tokio::time::sleep(PAUSE).await;
            assert!(!bulk_owes_a_pause(Some(Duration::ZERO)));
            // Once no body has taken a turn for a while (the thread kept
            // busy meanwhile), guests' turns pay again.
            let quiet = Instant::now();
            while quiet.elapsed() <= BULK_PAYS_WITHIN {}
            assert!(guest_owes_a_pause(Duration::ZERO));
        });
    }

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }
}
