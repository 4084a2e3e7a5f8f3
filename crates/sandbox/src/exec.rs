//! Per-request execution: a fresh `Store` and instance for every request.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};

use crate::grants::{Chain, Grants, Outgoing};
use crate::host::{Host, InstanceLimits, MemoryLimiter};
use crate::logs::{CapturedLogs, LogPipe};
use crate::offload::{LongRuns, OFFLOAD_AFTER_TICKS, Offload, Turn, at_normal_priority};
use crate::{Body, SandboxError};

/// A component linked and ready to instantiate (one per service version).
#[derive(Clone)]
pub struct Prepared {
    pre: ProxyPre<Host>,
    tick: Duration,
    /// Whether this service's runs go long (shared by its clones, not by
    /// [`Prepared::for_another_service`]).
    long_runs: Arc<LongRuns>,
}

/// What one request runs with.
#[derive(Debug)]
pub struct Invocation {
    /// Memory, CPU and wall-clock limits.
    pub limits: InstanceLimits,
    /// Environment variables the guest sees.
    pub env: Vec<(String, String)>,
    /// Bytes of stdout and of stderr kept for the request's log line.
    pub log_capacity: usize,
    /// What the guest reads from stdin (the JavaScript tier passes the
    /// service's compiled bundle here); empty when `None`.
    pub stdin: Option<Bytes>,
    /// What the guest may reach beyond its sandbox (nothing by default).
    pub grants: Arc<Grants>,
    /// The chain of service-binding calls this request belongs to (a
    /// client's request starts its own). This is why an `Invocation` is not
    /// `Clone`: a copy reused for another request would stay in the same
    /// chain, and their CPU time would add up until every run started on
    /// the low-priority threads.
    pub chain: Chain,
    /// Run on the sandbox's low-priority threads from the start (a request
    /// of a tenant that crowds the others); otherwise a run moves there
    /// only once it runs long, or starts there if its service's runs do.
    pub low_priority: bool,
    /// How many requests one instance may serve (1: a fresh instance per
    /// request). Above 1, a run that finishes normally hands its instance
    /// back in [`Completion::instance`] while it has requests left.
    pub reuse: u32,
}

impl Invocation {
    /// An invocation with the given limits, no environment and a 16 KiB log capture.
    pub fn new(limits: InstanceLimits) -> Self {
        Invocation {
            limits,
            env: Vec::new(),
            log_capacity: 16 << 10,
            stdin: None,
            grants: Arc::default(),
            chain: Chain::default(),
            low_priority: false,
            reuse: 1,
        }
    }
}

/// How the guest's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned normally.
    Finished,
    /// The handler was stopped or failed.
    Failed(SandboxError),
}

/// An instance that served a request and may serve more of the same
/// service (warm reuse): its store, with whatever the guest left in memory.
pub struct Warm {
    store: Store<Host>,
    proxy: Proxy,
    served: u32,
}

impl Warm {
    /// Linear memory it holds, in bytes.
    pub fn memory(&self) -> u64 {
        self.store.data().limiter.used
    }
}

impl std::fmt::Debug for Warm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warm")
            .field("served", &self.served)
            .field("memory", &self.memory())
            .finish()
    }
}

/// Everything known once the guest has finished (after the response body).
#[derive(Debug)]
pub struct Completion {
    /// How the run ended.
    pub outcome: Outcome,
    /// What the guest printed.
    pub logs: CapturedLogs,
    /// Whether the guest was refused memory (it may have recovered).
    pub memory_refused: bool,
    /// Wall time from instantiation to the end of the handler.
    pub elapsed: Duration,
    /// CPU time the guest used: its thread's CPU time while it ran (the
    /// limit is checked against it at every tick).
    pub cpu: Duration,
    /// Whether the guest ran, at least in part, on the sandbox's
    /// low-priority threads for long-running guests.
    pub offloaded: bool,
    /// The instance, for the next request, when reuse was asked for, the run
    /// finished normally, and it has requests left.
    pub instance: Option<Warm>,
}

impl Completion {
    /// A guest that did not run (or whose run was lost) for `err`.
    fn not_run(err: SandboxError) -> Completion {
        Completion {
            outcome: Outcome::Failed(err),
            logs: CapturedLogs::default(),
            memory_refused: false,
            elapsed: Duration::ZERO,
            cpu: Duration::ZERO,
            offloaded: false,
            instance: None,
        }
    }
}

/// Resolves to the [`Completion`] once the guest has ended.
pub struct CompletionHandle(Pending);

enum Pending {
    Ready(Box<Completion>),
    Later(oneshot::Receiver<Completion>),
}

impl CompletionHandle {
    /// The completion, if the guest has already finished.
    pub fn ready(self) -> Result<Completion, CompletionHandle> {
        match self.0 {
            Pending::Ready(c) => Ok(*c),
            later => Err(CompletionHandle(later)),
        }
    }

    /// Wait for the guest to finish (including streaming its response body).
    pub async fn wait(self) -> Completion {
        let rx = match self.0 {
            Pending::Ready(c) => return *c,
            Pending::Later(rx) => rx,
        };
        rx.await.unwrap_or_else(|_| {
            Completion::not_run(SandboxError::Trap("the sandbox task was cancelled".into()))
        })
    }
}

impl Prepared {
    pub(crate) fn new(pre: ProxyPre<Host>, tick: Duration) -> Self {
        Prepared {
            pre,
            tick,
            long_runs: Arc::default(),
        }
    }

    /// The same component for another service (the JavaScript engine
    /// serves every unpromoted JavaScript service): clones share how the
    /// service's runs went, and one service's short runs must not hide
    /// another's long ones (the long ones would then start on the request
    /// threads, and their first turn, before any tick, can be hundreds of
    /// milliseconds of one instruction, like a `memory.fill` of 512 MiB).
    pub fn for_another_service(&self) -> Prepared {
        Prepared::new(self.pre.clone(), self.tick)
    }

    /// The names of the interfaces and functions the component imports,
    /// like `wasi:keyvalue/store@0.2.0-draft`.
    pub fn imports(&self) -> Vec<String> {
        let engine = self.pre.engine();
        self.pre
            .instance_pre()
            .component()
            .component_type()
            .imports(engine)
            .map(|(name, _)| name.to_owned())
            .collect()
    }

    /// Handle one request in a fresh instance.
    ///
    /// Returns the response head (with a streaming body) as soon as the guest
    /// sets it, or the reason it did not; and a handle that resolves when the
    /// guest has finished, with its logs and outcome. The guest runs in its
    /// own task, bounded by `inv.limits.timeout` as a whole.
    pub async fn handle(
        &self,
        req: http::Request<Body>,
        inv: Invocation,
    ) -> (Result<http::Response<Body>, SandboxError>, CompletionHandle) {
        self.handle_in(req, inv, None).await
    }

    /// [`Prepared::handle`], in `warm` (an instance of this same code that
    /// served earlier requests, with the same environment) if given, else in
    /// a fresh instance. The per-request state is reset: CPU meter, grants'
    /// use, `wasi:http` context, log capture; the guest's memory is not.
    pub async fn handle_in(
        &self,
        req: http::Request<Body>,
        inv: Invocation,
        warm: Option<Warm>,
    ) -> (Result<http::Response<Body>, SandboxError>, CompletionHandle) {
        let limits = inv.limits;
        let reuse = inv.reuse;
        let start_there = inv.low_priority
            || self.long_runs.start_there()
            || inv.chain.cpu() >= self.tick * OFFLOAD_AFTER_TICKS as u32;
        let (mut store, proxy, served) = match warm {
            Some(w) => {
                let mut store = w.store;
                reset_store(&mut store, &inv, self.tick);
                (store, Some(w.proxy), w.served)
            }
            None => (new_store(self.pre.engine(), &inv, self.tick), None, 0),
        };

        let (resp_tx, resp_rx) = oneshot::channel();
        let setup = (|| {
            let req = store
                .data_mut()
                .http()
                .new_incoming_request(Scheme::Http, req)?;
            let out = store.data_mut().http().new_response_outparam(resp_tx)?;
            Ok::<_, wasmtime::Error>((req, out))
        })();
        let (req, out) = match setup {
            Ok(v) => v,
            Err(e) => {
                let err = SandboxError::Guest(format!("bad request: {e}"));
                let never_ran = Completion::not_run(err.clone());
                return (
                    Err(err),
                    CompletionHandle(Pending::Ready(Box::new(never_ran))),
                );
            }
        };

        let memory_denied = store.data().limiter.denied.clone();
        let turn = store.data().turn.clone();
        let pre = self.pre.clone();
        let long_runs = self.long_runs.clone();
        let guest = async move {
            let start = Instant::now();
            let run = async {
                let proxy = match proxy {
                    Some(p) => p,
                    None => pre
                        .instantiate_async(&mut store)
                        .await
                        .map_err(|e| (e, true))?,
                };
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, req, out)
                    .await
                    .map_err(|e| (e, false))?;
                Ok(proxy)
            };
            let result = tokio::time::timeout(limits.timeout, run).await;
            let host = store.data();
            let (outcome, proxy) = match result {
                Err(_elapsed) => (Outcome::Failed(SandboxError::Timeout(limits.timeout)), None),
                Ok(Ok(proxy)) => (Outcome::Finished, Some(proxy)),
                Ok(Err((e, instantiating))) => (
                    Outcome::Failed(failure(host, &limits, &e, instantiating)),
                    None,
                ),
            };
            let mut completion = Completion {
                outcome,
                logs: CapturedLogs::collect(&host.stdout, &host.stderr),
                memory_refused: host.limiter.was_denied(),
                elapsed: start.elapsed(),
                cpu: host.turn.cpu(),
                offloaded: host.turn.moved(),
                instance: None,
            };
            long_runs.record(host.cpu_ticks >= OFFLOAD_AFTER_TICKS);
            // Kept only after a clean run, with requests left, and not
            // refused memory (an engine that caught its own out-of-memory
            // may be in a bad state).
            let served = served + 1;
            match proxy {
                Some(proxy) if served < reuse && !completion.memory_refused => {
                    completion.instance = Some(Warm {
                        store,
                        proxy,
                        served,
                    });
                }
                // Dropping the store ends any response body still streaming.
                _ => release(store).await,
            }
            completion
        };

        // Drive the guest right here until it either finishes or sets its
        // response. Most handlers finish together with their response: then
        // no task is spawned and no other thread is woken. A guest still
        // running once its response head is out (streaming a body) goes on
        // in its own task. A guest that runs long moves to the sandbox's
        // low-priority threads (`offload`); a run of a service whose runs go
        // long, or one asked to (`inv.low_priority`), starts there.
        let mut guest = Offload::new(guest, turn, start_there, self.long_runs.all_short());
        let mut resp_rx = resp_rx;
        let (response, completion) = tokio::select! {
            biased;
            completion = &mut guest => {
                (resp_rx.try_recv().ok(), CompletionHandle(Pending::Ready(Box::new(completion))))
            }
            response = &mut resp_rx => {
                let (tx, rx) = oneshot::channel();
                tokio::spawn(async move {
                    let _ = tx.send(guest.await);
                });
                (response.ok(), CompletionHandle(Pending::Later(rx)))
            }
        };
        // Read now, not from the completion: the guest may still be running
        // (waitUntil work) when its error answer arrives.
        let memory_refused = memory_denied.load(Ordering::Relaxed);
        match response {
            Some(Ok(resp)) => (Ok(resp), completion),
            // An error answer from a guest that was refused memory (an
            // engine that caught its own out-of-memory) is the memory limit.
            Some(Err(_)) if memory_refused => {
                (Err(SandboxError::MemoryLimit(limits.memory)), completion)
            }
            Some(Err(ErrorCode::InternalError(message))) => (
                Err(SandboxError::Internal(
                    message.unwrap_or_else(|| "internal error".into()),
                )),
                completion,
            ),
            Some(Err(code)) => (Err(SandboxError::Guest(format!("{code:?}"))), completion),
            // The guest ended without setting a response: its outcome says why.
            None => {
                let completion = completion.wait().await;
                let err = match &completion.outcome {
                    Outcome::Failed(e) => e.clone(),
                    Outcome::Finished => SandboxError::NoResponse,
                };
                (
                    Err(err),
                    CompletionHandle(Pending::Ready(Box::new(completion))),
                )
            }
        }
    }
}

/// Linear memory above which a finished instance is dropped on a blocking
/// thread rather than on the thread that ran it.
const RELEASE_ELSEWHERE_ABOVE: u64 = 64 << 20;

/// Drop an instance that will not be reused. Returning its memory slot to
/// the image means decommitting every page the guest touched: for a guest
/// that grew to hundreds of MiB that takes milliseconds, which must not
/// stall the data-plane thread and every connection it serves, nor run on
/// the low-priority threads (`offload::at_normal_priority`). The caller
/// still waits for it, so the slot is free before the request's capacity
/// is given back.
async fn release(store: Store<Host>) {
    if store.data().limiter.used <= RELEASE_ELSEWHERE_ABOVE {
        return drop(store);
    }
    at_normal_priority(move || drop(store)).await;
}

/// A fresh store for one run: WASI context (environment, stdin, bounded
/// stdout/stderr), the memory limiter and the CPU meter, all from `inv`.
pub(crate) fn new_store(engine: &Engine, inv: &Invocation, tick: Duration) -> Store<Host> {
    let limits = inv.limits;
    let stdout = LogPipe::new(inv.log_capacity);
    let stderr = LogPipe::new(inv.log_capacity);
    let mut wasi = WasiCtxBuilder::new();
    wasi.envs(&inv.env)
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    if let Some(stdin) = &inv.stdin {
        wasi.stdin(MemoryInputPipe::new(stdin.clone()));
    }
    let host = Host {
        wasi: wasi.build(),
        http: wasmtime_wasi_http::WasiHttpCtx::new(),
        outgoing: Outgoing::new(inv.grants.clone(), inv.chain.clone()),
        table: wasmtime::component::ResourceTable::new(),
        limiter: MemoryLimiter::new(limits.memory),
        cpu_ticks: 0,
        cpu_exceeded: false,
        turn: Arc::new(Turn::new(tick, inv.chain.clone())),
        stdout,
        stderr,
    };
    let mut store = Store::new(engine, host);
    store.limiter(|h| &mut h.limiter);
    let tick_ns = tick.as_nanos().max(1);
    let max_ticks = (limits.cpu.as_nanos() / tick_ns).max(1) as u64;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut ctx| {
        let host = ctx.data_mut();
        let ticks = (host.turn.meter().as_nanos() / tick_ns) as u64;
        if ticks <= host.cpu_ticks {
            // Less than a tick of CPU since the last one: the guest waited
            // (for I/O, a timer or its turn) or its thread was preempted.
            return Ok(UpdateDeadline::Continue(1));
        }
        host.cpu_ticks = ticks;
        if host.cpu_ticks >= OFFLOAD_AFTER_TICKS {
            host.turn.set_long();
        }
        if host.cpu_ticks >= max_ticks {
            host.cpu_exceeded = true;
            return Err(wasmtime::format_err!("CPU time limit exceeded"));
        }
        // Yield so other requests on this worker thread get their turn.
        Ok(UpdateDeadline::Yield(1))
    });
    store
}

/// Make a store that served a request ready for the next one: the per-request
/// state starts afresh (CPU meter and deadline, the grants' use, the
/// `wasi:http` context); the limits and environment are the service's own
/// and unchanged; what the guest keeps in memory stays.
fn reset_store(store: &mut Store<Host>, inv: &Invocation, tick: Duration) {
    let host = store.data_mut();
    host.http = wasmtime_wasi_http::WasiHttpCtx::new();
    host.outgoing = Outgoing::new(inv.grants.clone(), inv.chain.clone());
    host.limiter.denied.store(false, Ordering::Relaxed);
    host.cpu_ticks = 0;
    host.cpu_exceeded = false;
    host.turn = Arc::new(Turn::new(tick, inv.chain.clone()));
    store.set_epoch_deadline(1);
}

/// Why a run that did not finish normally failed: the limits the store's
/// host recorded first, then the error itself.
pub(crate) fn failure(
    host: &Host,
    limits: &InstanceLimits,
    e: &wasmtime::Error,
    instantiating: bool,
) -> SandboxError {
    if host.cpu_exceeded {
        SandboxError::CpuLimit(limits.cpu)
    } else if host.limiter.was_denied() {
        SandboxError::MemoryLimit(limits.memory)
    } else if instantiating {
        instantiate_error(e)
    } else {
        SandboxError::Trap(trap_reason(e))
    }
}

fn instantiate_error(e: &wasmtime::Error) -> SandboxError {
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        SandboxError::Capacity(first_line(&format!("{e}")))
    } else {
        SandboxError::Trap(first_line(&format!("{e}")))
    }
}

/// A short reason for a trap, without host internals: the trap code if any.
fn trap_reason(e: &wasmtime::Error) -> String {
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        // Its display reads "wasm trap: <what happened>".
        return trap.to_string();
    }
    first_line(&format!("{e}"))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
