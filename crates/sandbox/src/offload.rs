//! Long-running guests leave the request threads.
//!
//! A guest runs on the data-plane thread that accepted its request: most
//! finish within a fraction of a millisecond, and nothing is handed between
//! threads. A guest that has used 2 ms of CPU time (two ticks) is moved,
//! at its next yield, to the sandbox's own threads
//! ([`Lanes`]), which run at the lowest scheduling priority (`SCHED_IDLE`).
//! There it keeps its limits and its wall-clock deadline, but the kernel
//! gives the request threads the CPU first, so an infinite loop, a memory
//! bomb or a log flood in one service costs the others little latency:
//! without this, each such guest took a slice of its thread per turn, and a
//! neighbour's request waited behind all of them at every step of its own
//! (and its I/O was only looked at between slices).
//!
//! There are two such lanes, both at that priority: one for guests that
//! were moved mid-run while their service's recent runs were all short (a
//! neighbour's request that happened to run long once), one for everything
//! else that runs long. Each lane runs its guests a tick at a time, first in
//! first out; in a single lane, a neighbour's request moved there once waited
//! 645 ms behind an attacker's hundreds of queued calls. In its own lane it
//! waits behind its own kind, and the kernel shares the CPU between the two
//! lanes' threads.
//!
//! A service whose recent runs often went long ([`LongRuns`]) starts its
//! next runs on those threads directly: a tenant whose every request burns a
//! few milliseconds (deep recursion, say) would otherwise take its first
//! ticks of every request on a request thread. So does a service-binding
//! call whose chain of calls ([`Chain`](crate::Chain)) has already used
//! those two ticks: a tree of calls that are each short (a service calling
//! itself twice per request) is not short, and ran on the request threads.
//!
//! A guest's CPU time is the time it ran during its turns ([`Turn`]): a
//! guest that waits (for a timer, a body, a service it called, or its turn
//! on a busy thread) is not charged for it, nor, past its first tick, for
//! time its thread was preempted; so a request that awaits I/O many times is
//! neither stopped by its CPU limit nor moved for it, and a long guest on a
//! busy machine is charged what it ran, not what it waited for the CPU.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::grants::Chain;

mod guard;

/// CPU ticks after which a guest is moved off the request thread. Two
/// (2 ms by default): a service's first request, which also loads its code,
/// stays under it.
pub(crate) const OFFLOAD_AFTER_TICKS: u64 = 2;

/// Niceness of the sandbox's threads (the request threads keep 0), should
/// the kernel refuse them `SCHED_IDLE`. Under `SCHED_IDLE` a thread runs
/// only when no normal thread wants the CPU, and a waking request thread
/// takes the CPU from it at once; at nice 19 alone the kernel let a
/// low-priority thread finish its time slice first (partial bench/hostile,
/// same code otherwise: the neighbour's p99 under the loop, memory,
/// recursion and 1 GiB response attacks 0.8-2.2 ms with `SCHED_IDLE`,
/// against 1.2-4.5 ms at nice 19).
const NICE: i32 = 19;

/// What a guest's CPU meter (in its store) and its [`Offload`] share: the
/// CPU time the guest has used, measured around each of its turns (each poll
/// of its future), and whether it has run long. Time the thread spent
/// waiting between turns is not the guest's, nor, once the turn has been
/// checked by the meter, time the kernel gave the thread's CPU to another.
///
/// A turn is timed by the monotonic clock until the meter first looks at it
/// (at the first epoch tick the guest reaches), and from there by the
/// thread's own CPU clock. The thread's CPU clock is a system call (read
/// around every turn, three per request: about 7 % of a hello request's
/// CPU); the monotonic clock is read without one. Most turns end before a
/// tick and are charged their wall time, which is their CPU time unless the
/// kernel preempted the thread meanwhile: so that part of a turn is charged
/// at most one tick (a short request whose
/// thread was preempted for a few milliseconds would otherwise look long
/// and be moved to the low-priority threads). Turns on the sandbox's own
/// threads, which the kernel preempts often, use the CPU clock from their
/// start.
pub(crate) struct Turn {
    /// Monotonic time when the current turn began (ns since [`BASE`]), or
    /// [`BETWEEN_TURNS`].
    began: AtomicU64,
    /// The thread's CPU time when the meter switched the current turn to
    /// it, or [`UNTIMED`].
    cpu_from: AtomicU64,
    /// What the current turn is charged for its part before `cpu_from`.
    charged_before: AtomicU64,
    /// CPU time of the turns that ended (ns).
    used: AtomicU64,
    /// The most a turn is charged for its part before `cpu_from` (ns): a tick.
    untimed_at_most: u64,
    long: AtomicBool,
    moved: AtomicBool,
    /// The request's chain of calls, charged each turn's time too.
    chain: Chain,
}

/// `Turn::cpu_from` before the meter has looked at the turn.
const UNTIMED: u64 = u64::MAX;

/// `Turn::began` while the guest is not running.
const BETWEEN_TURNS: u64 = u64::MAX;

/// The origin of [`Turn`]'s monotonic timestamps.
static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);

fn monotonic_ns() -> u64 {
    BASE.elapsed().as_nanos() as u64
}

/// The calling thread's CPU time (ns).
fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID).unwrap_or(0)
}

/// A clock's time (ns); `None` if it cannot be read (a CPU clock of a thread
/// that has ended).
fn clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes the clock's time into `ts`.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(
        (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64),
    )
}

impl Turn {
    /// A meter for a guest whose CPU is checked every `tick`.
    pub(crate) fn new(tick: Duration, chain: Chain) -> Self {
        Turn {
            began: AtomicU64::new(BETWEEN_TURNS),
            cpu_from: AtomicU64::new(UNTIMED),
            charged_before: AtomicU64::new(0),
            used: AtomicU64::new(0),
            untimed_at_most: tick.as_nanos() as u64,
            long: AtomicBool::new(false),
            moved: AtomicBool::new(false),
            chain,
        }
    }

    /// The guest is about to run on this thread.
    fn begin(&self) {
        self.began.store(monotonic_ns(), Ordering::Relaxed);
        self.charged_before.store(0, Ordering::Relaxed);
        let cpu_from = if self.moved() {
            thread_cpu_ns()
        } else {
            UNTIMED
        };
        self.cpu_from.store(cpu_from, Ordering::Relaxed);
    }

    /// The current turn's wall time so far, at most a tick.
    fn untimed(&self) -> u64 {
        let wall = monotonic_ns().saturating_sub(self.began.load(Ordering::Relaxed));
        wall.min(self.untimed_at_most)
    }

    /// What the current turn has used so far (0 between turns).
    fn this_turn(&self) -> u64 {
        if self.began.load(Ordering::Relaxed) == BETWEEN_TURNS {
            return 0;
        }
        match self.cpu_from.load(Ordering::Relaxed) {
            UNTIMED => self.untimed(),
            from => {
                self.charged_before.load(Ordering::Relaxed) + thread_cpu_ns().saturating_sub(from)
            }
        }
    }

    /// The guest's turn on this thread has ended.
    fn end(&self) {
        let ns = self.this_turn();
        self.used.fetch_add(ns, Ordering::Relaxed);
        self.began.store(BETWEEN_TURNS, Ordering::Relaxed);
        self.chain.charge(ns);
    }

    /// CPU time the guest has used so far, the current turn included.
    pub(crate) fn cpu(&self) -> Duration {
        Duration::from_nanos(self.used.load(Ordering::Relaxed) + self.this_turn())
    }

    /// [`Turn::cpu`] for the guest's CPU meter, which also switches the
    /// current turn to the thread's CPU clock from here on.
    pub(crate) fn meter(&self) -> Duration {
        if self.cpu_from.load(Ordering::Relaxed) != UNTIMED
            || self.began.load(Ordering::Relaxed) == BETWEEN_TURNS
        {
            return self.cpu();
        }
        let before = self.untimed();
        self.charged_before.store(before, Ordering::Relaxed);
        self.cpu_from.store(thread_cpu_ns(), Ordering::Relaxed);
        Duration::from_nanos(self.used.load(Ordering::Relaxed) + before)
    }

    /// The guest has run long enough to leave the request thread.
    pub(crate) fn set_long(&self) {
        self.long.store(true, Ordering::Relaxed);
    }

    fn is_long(&self) -> bool {
        self.long.load(Ordering::Relaxed)
    }

    /// Whether the guest ran, at least in part, on the sandbox's threads.
    pub(crate) fn moved(&self) -> bool {
        self.moved.load(Ordering::Relaxed)
    }
}

/// How a service's recent runs went: each run that went long raises it by
/// [`LongRuns::LONG_WEIGHS`], each short one lowers it by one (within
/// 0..=[`LongRuns::MAX`]). While it is at least
/// [`LongRuns::START_THERE_AT`], the service's runs start on the sandbox's
/// threads; a few short runs in a row bring it back.
///
/// A long run weighs more than a short one because the two mistakes cost
/// differently: a long run started on a request thread holds it, and every
/// request queued there, for two ticks; a short run started on the lanes
/// only waits for its own CPU there, and only while the CPUs are busy. With
/// even weights, a service whose runs alternate between short and long
/// (bench/hostile's recursion attacker: a deep recursion stopped in under
/// a tick, `JSON.parse` of nested arrays for 17 ms) started about half of
/// its runs on the request threads, and its long ones took their first two
/// ticks there.
#[derive(Debug, Default)]
pub(crate) struct LongRuns(AtomicU8);

impl LongRuns {
    const MAX: u8 = 4;
    const START_THERE_AT: u8 = 2;
    const LONG_WEIGHS: u8 = 2;

    pub(crate) fn record(&self, long: bool) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(if long {
                    (n + Self::LONG_WEIGHS).min(Self::MAX)
                } else {
                    n.saturating_sub(1)
                })
            });
    }

    pub(crate) fn start_there(&self) -> bool {
        self.0.load(Ordering::Relaxed) >= Self::START_THERE_AT
    }

    /// None of the service's recent runs went long (or as many short runs
    /// followed them).
    pub(crate) fn all_short(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 0
    }
}

/// The sandbox's own threads for long-running guests: two lanes
/// ([`Lane`]) of one thread per CPU each, at the lowest priority; and one
/// thread at normal priority for work that holds the kernel's memory-map
/// lock (see [`at_normal_priority`]); and a watchdog that has the request
/// threads pause for the lanes while they starve ([`guard`]). All are
/// started with the node's sandbox ([`start`]), on a thread of normal
/// priority: a thread inherits its creator's niceness, and only a
/// privileged process may lower it again.
struct Lanes {
    long: tokio::runtime::Runtime,
    brief: tokio::runtime::Runtime,
    normal: std::sync::mpsc::Sender<Job>,
}

/// Which of the low-priority lanes a guest goes to, should it leave the
/// request thread.
#[derive(Debug, Clone, Copy)]
enum Lane {
    /// Guests that start there, and guests of services that ran long
    /// recently.
    Long,
    /// Guests moved mid-run whose service's recent runs were all short.
    Brief,
}

/// A multi-threaded runtime of one thread per CPU at the lowest priority.
fn low_priority_runtime(thread_name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cpus())
        .thread_name(thread_name)
        .on_thread_start(lower_this_thread)
        .on_thread_stop(guard::lane_thread_stopped)
        .enable_all()
        .build()
        .expect("the sandbox's runtime for long-running guests")
}

/// The CPUs the node may use (its CPU quota counted): one lane thread, and
/// one background thread, per CPU.
fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Lower the calling thread, a new thread of the lanes or of the
/// [`BACKGROUND`] pool, to the lowest priority, under the starvation guard.
fn lower_this_thread() {
    // SAFETY: plain syscall on the calling thread (who = 0: on Linux,
    // PRIO_PROCESS with 0 is the calling thread).
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: plain syscall on the calling thread (pid 0); lowering one's
    // own priority needs no privilege.
    let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    guard::lane_thread_started();
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads for CPU-heavy work that no request waits for (a promotion's
/// snapshot and compilation, seconds of CPU), at the lanes' priority and
/// under their starvation guard ([`in_background`]). A rayon pool, because
/// Wasmtime compiles on rayon: work a job spreads with it stays on these
/// threads rather than going to the global pool's, which run at normal
/// priority.
static BACKGROUND: LazyLock<rayon::ThreadPool> = LazyLock::new(|| {
    rayon::ThreadPoolBuilder::new()
        .num_threads(cpus())
        .thread_name(|i| format!("mote-background-{i}"))
        .start_handler(|_| lower_this_thread())
        .exit_handler(|_| guard::lane_thread_stopped())
        .build()
        .expect("the sandbox's background threads")
});

/// Jobs given to [`in_background`] and not yet done.
static BACKGROUND_JOBS: AtomicUsize = AtomicUsize::new(0);

/// Run `job` on the [`BACKGROUND`] threads and wait for it. Such a job takes
/// the CPU only when the request threads leave it (or, while they keep
/// every CPU busy, when the starvation guard gives it a share): a promotion
/// run at normal priority took a CPU from the node's request threads for
/// seconds, and requests waited behind it (a neighbour's for half a second
/// under bench/hostile's `slow-wide`; on a fresh node under `wrk -c32`,
/// p99 619-752 ms in the first 10 s against 64-102 ms here).
pub async fn in_background<R: Send + 'static>(job: impl FnOnce() -> R + Send + 'static) -> R {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    BACKGROUND_JOBS.fetch_add(1, Ordering::Relaxed);
    BACKGROUND.spawn(move || {
        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        BACKGROUND_JOBS.fetch_sub(1, Ordering::Relaxed);
        let _ = done_tx.send(done);
    });
    match done_rx.await {
        Ok(Ok(output)) => output,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("a background job was dropped before it ran"),
    }
}

/// What a task that moves a large body awaits between its turns on a
/// request thread: a yield, so the requests that arrived meanwhile are read
/// first; or, while the lanes are starved and the thread has had no break,
/// a pause of this task alone (see `guard::bulk_pause`).
pub async fn between_bulk_turns() {
    match guard::bulk_pause() {
        Some(pause) => tokio::time::sleep(pause).await,
        None => tokio::task::yield_now().await,
    }
}

static LANES: LazyLock<Lanes> = LazyLock::new(|| {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    // If it cannot be started, `at_normal_priority` runs jobs in place.
    let _ = std::thread::Builder::new()
        .name("mote-release".into())
        .spawn(move || rx.into_iter().for_each(|job| job()));
    let long = low_priority_runtime("mote-long");
    let brief = low_priority_runtime("mote-brief");
    let handles = [long.handle().clone(), brief.handle().clone()];
    guard::start(move || {
        BACKGROUND_JOBS.load(Ordering::Relaxed) > 0
            || handles.iter().any(|h| h.metrics().num_alive_tasks() > 0)
    });
    Lanes {
        long,
        brief,
        normal: tx,
    }
});

/// Make the sandbox's threads now (rather than when the first guest moves,
/// which would pay for it).
pub(crate) fn start() {
    LazyLock::force(&LANES);
}

/// Run `job` on a thread at normal priority and wait for it. For returning
/// a large instance's memory: that holds the kernel's memory-map lock of
/// the whole node for milliseconds, and on a low-priority thread the kernel
/// would let it hold the lock while request threads, which need it too for
/// their own instances, ran first (they would wait for the lock: a priority
/// inversion measured at hundreds of milliseconds for a neighbour under a
/// memory bomb).
pub(crate) async fn at_normal_priority(job: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        job();
        let _ = done_tx.send(());
    });
    match LANES.normal.send(job) {
        Ok(()) => {
            let _ = done_rx.await;
        }
        Err(std::sync::mpsc::SendError(job)) => job(),
    }
}

/// A guest's future, measured turn by turn for its CPU meter. Every future
/// that runs a guest must be driven through one: the meter reads only the
/// turns it measured.
pub(crate) struct Metered<F> {
    guest: Pin<Box<F>>,
    turn: Arc<Turn>,
}

impl<F> Metered<F> {
    pub(crate) fn new(guest: F, turn: Arc<Turn>) -> Self {
        Metered {
            guest: Box::pin(guest),
            turn,
        }
    }
}

impl<F: Future> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        guard::pace();
        self.turn.begin();
        let poll = self.guest.as_mut().poll(cx);
        self.turn.end();
        if self.turn.moved() {
            // On a low-priority thread, give the CPU to any normal thread
            // waiting for it, at every turn of the guest (a turn ends at the
            // guest's next epoch check, every tick). A thread woken while a
            // low-priority one ran was seen waiting up to the scheduler's
            // next tick (4 ms here) under a memory bomb, although the kernel
            // should have preempted at once; with this yield, the
            // neighbour's p99 under the bomb went from 1.0-1.5 ms to
            // 0.56-0.82 ms in alternated runs.
            // SAFETY: plain syscall.
            unsafe { libc::sched_yield() };
        }
        poll
    }
}

/// A guest's future that moves itself to one of the [`Lanes`] once its
/// [`Turn`] is long (set by the guest's CPU meter, or up front for a service
/// whose runs go long) and the guest yields. Dropping it cancels the guest
/// wherever it runs.
pub(crate) struct Offload<F: Future> {
    state: State<F>,
    lane: Lane,
}

enum State<F: Future> {
    Here(Metered<F>),
    There(JoinHandle<F::Output>),
    Moving,
}

impl<F> Offload<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// `start_there`: move before the guest first runs (to [`Lane::Long`]).
    /// `all_short`: none of the service's recent runs went long; a guest
    /// moved mid-run goes to [`Lane::Brief`] then.
    pub(crate) fn new(guest: F, turn: Arc<Turn>, start_there: bool, all_short: bool) -> Self {
        let lane = if start_there {
            turn.set_long();
            Lane::Long
        } else if all_short {
            Lane::Brief
        } else {
            Lane::Long
        };
        Offload {
            state: State::Here(Metered::new(guest, turn)),
            lane,
        }
    }
}

impl<F> Future for Offload<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        loop {
            match &mut self.state {
                State::Here(guest) => {
                    if !guest.turn.is_long() {
                        let poll = Pin::new(&mut *guest).poll(cx);
                        if poll.is_ready() || !guest.turn.is_long() {
                            return poll;
                        }
                    }
                    let State::Here(guest) = std::mem::replace(&mut self.state, State::Moving)
                    else {
                        unreachable!("matched above");
                    };
                    guest.turn.moved.store(true, Ordering::Relaxed);
                    let lane = match self.lane {
                        Lane::Long => &LANES.long,
                        Lane::Brief => &LANES.brief,
                    };
                    self.state = State::There(lane.spawn(guest));
                }
                State::There(handle) => {
                    return Pin::new(handle).poll(cx).map(|done| match done {
                        Ok(output) => output,
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Err(e) => panic!("a long-running guest's task ended: {e}"),
                    });
                }
                State::Moving => unreachable!("never observed between polls"),
            }
        }
    }
}

impl<F: Future> Drop for Offload<F> {
    fn drop(&mut self) {
        if let State::There(handle) = &self.state {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(1);

    fn spin(d: Duration) {
        let start = thread_cpu_ns();
        while thread_cpu_ns() - start < d.as_nanos() as u64 {}
    }

    #[test]
    fn the_sandbox_threads_run_at_the_lowest_priority() {
        for lane in [&LANES.long, &LANES.brief] {
            let (policy, nice) = lane.block_on(async {
                lane.spawn(async {
                    // SAFETY: plain syscalls about the calling thread.
                    unsafe {
                        (
                            libc::sched_getscheduler(0),
                            libc::getpriority(libc::PRIO_PROCESS, 0),
                        )
                    }
                })
                .await
                .unwrap()
            });
            assert_eq!(policy, libc::SCHED_IDLE);
            assert_eq!(nice, NICE);
        }
    }

    #[tokio::test]
    async fn background_jobs_and_the_work_they_spread_run_at_the_lowest_priority() {
        let (policy, threads) = in_background(|| {
            use rayon::prelude::*;
            // SAFETY: plain syscall about the calling thread.
            let policy = unsafe { libc::sched_getscheduler(0) };
            // As Wasmtime's parallel compilation spreads its functions.
            let threads: Vec<String> = (0..64)
                .into_par_iter()
                .map(|_| {
                    spin(Duration::from_micros(200));
                    std::thread::current().name().unwrap_or("").to_owned()
                })
                .collect();
            (policy, threads)
        })
        .await;
        assert_eq!(policy, libc::SCHED_IDLE);
        assert!(
            threads.iter().all(|t| t.starts_with("mote-background-")),
            "{threads:?}"
        );
    }

    /// The names of the threads a guest ran on: at its first turn, and at its
    /// second, after its meter found it long (as at its second tick).
    async fn threads_of_a_guest_that_runs_long(start_there: bool, all_short: bool) -> [String; 2] {
        let turn = Arc::new(Turn::new(TICK, Chain::default()));
        let meter = turn.clone();
        let thread = || std::thread::current().name().unwrap_or("").to_owned();
        let guest = async move {
            let first = thread();
            meter.set_long();
            tokio::task::yield_now().await;
            [first, thread()]
        };
        Offload::new(guest, turn, start_there, all_short).await
    }

    #[tokio::test]
    async fn a_guest_moved_while_its_service_ran_short_does_not_queue_behind_long_runners() {
        let here = std::thread::current().name().unwrap_or("").to_owned();
        assert_eq!(
            threads_of_a_guest_that_runs_long(false, true).await,
            [here.clone(), "mote-brief".to_owned()],
        );
        // Its service ran long recently: with the others that run long.
        assert_eq!(
            threads_of_a_guest_that_runs_long(false, false).await,
            [here, "mote-long".to_owned()],
        );
        // Asked to start there: never on the request thread, and in the long
        // lane whatever its service's history.
        assert_eq!(
            threads_of_a_guest_that_runs_long(true, true).await,
            ["mote-long".to_owned(), "mote-long".to_owned()],
        );
    }

    #[test]
    fn a_turn_is_charged_what_it_ran_not_the_time_its_thread_was_off_the_cpu() {
        // A sleep stands for a preemption: time passes, the thread does not run.
        let turn = Turn::new(TICK, Chain::default());
        turn.begin();
        std::thread::sleep(Duration::from_millis(20));
        turn.end();
        let first = turn.cpu();
        assert!(
            first <= TICK,
            "before the meter looks, at most a tick: {first:?}"
        );

        // Once the meter has looked, the thread's CPU clock counts.
        turn.begin();
        spin(Duration::from_millis(3));
        let at_meter = turn.meter();
        std::thread::sleep(Duration::from_millis(20));
        spin(Duration::from_millis(2));
        turn.end();
        let second = turn.cpu() - first;
        assert!(at_meter >= first + TICK, "{at_meter:?}");
        assert!(
            second >= Duration::from_millis(2) + TICK && second < Duration::from_millis(10),
            "a tick before the meter looked, then 2 ms of CPU, not the 20 ms asleep: {second:?}"
        );

        // On the sandbox's threads, the CPU clock from the start.
        turn.moved.store(true, Ordering::Relaxed);
        let before = turn.cpu();
        turn.begin();
        std::thread::sleep(Duration::from_millis(20));
        spin(Duration::from_millis(3));
        turn.end();
        let third = turn.cpu() - before;
        assert!(
            third >= Duration::from_millis(3) && third < Duration::from_millis(10),
            "{third:?}"
        );
    }
}
