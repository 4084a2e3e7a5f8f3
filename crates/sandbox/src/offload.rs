//! Long-running guests leave the request threads.
//!
//! A guest runs on the data-plane thread that accepted its request: most
//! finish within a fraction of a millisecond, and nothing is handed between
//! threads. A guest still running after two CPU ticks (at least one whole
//! tick, 5 ms, of WebAssembly) is moved, at its next yield, to the sandbox's
//! own threads ([`runtime`]), which run at a lower scheduling priority (nice
//! 10). There it keeps its limits and its wall-clock deadline, but the
//! kernel gives the request threads the CPU first, so an infinite loop, a
//! memory bomb or a log flood in one service costs the others little
//! latency: without this, each such guest took a 5 ms slice of its thread
//! per turn, and a neighbour's request waited behind all of them at every
//! step of its own (and its I/O was only looked at between slices).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

/// CPU ticks after which a guest is moved off the request thread.
pub(crate) const OFFLOAD_AFTER_TICKS: u64 = 2;

/// Niceness of the sandbox's threads (the request threads keep 0).
const NICE: i32 = 10;

/// The sandbox's own threads for long-running guests: one per CPU, at a
/// lower priority.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
            .thread_name("mote-long")
            .on_thread_start(|| {
                // SAFETY: plain syscall on the calling thread (who = 0: on
                // Linux, PRIO_PROCESS with 0 is the calling thread).
                let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
            })
            .enable_all()
            .build()
            .expect("the sandbox's runtime for long-running guests")
    });
    &RUNTIME
}

/// A guest's future that moves itself to [`runtime`] once `long` is set
/// (by the guest's CPU meter) and the guest yields. Dropping it cancels the
/// guest wherever it runs.
pub(crate) struct Offload<F: Future> {
    state: State<F>,
}

enum State<F: Future> {
    Here(Pin<Box<F>>, Arc<AtomicBool>),
    There(JoinHandle<F::Output>),
    Moving,
}

impl<F> Offload<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    pub(crate) fn new(guest: F, long: Arc<AtomicBool>) -> Self {
        Offload {
            state: State::Here(Box::pin(guest), long),
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
                State::Here(guest, long) => {
                    let poll = guest.as_mut().poll(cx);
                    if poll.is_ready() || !long.load(Ordering::Relaxed) {
                        return poll;
                    }
                    let State::Here(guest, _) = std::mem::replace(&mut self.state, State::Moving)
                    else {
                        unreachable!("matched above");
                    };
                    self.state = State::There(runtime().spawn(guest));
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
