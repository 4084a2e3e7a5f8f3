//! The lifecycle of a service version's code, between its stored artifact
//! and the requests that run it:
//!
//! - **lazy loading**: a service restored at start-up costs only its stored
//!   record until its first request, which loads its compiled code from the
//!   on-disk cache ([`Loader`]);
//! - **eviction**: code idle for longer than the idle time is dropped, and
//!   when the code held by all services is over the node's memory budget the
//!   least recently used is dropped first (promoted services are demoted
//!   before anything is unloaded). A request holds the code it started
//!   with (`Arc<Ready>`), so eviction never interrupts one;
//! - **promotion**: a JavaScript service with a sustained request rate is
//!   given, in the background, its own snapshot with its module already
//!   evaluated (faster requests: no bundle to load); it is demoted when it
//!   goes cold, when the budget needs the memory, or when its environment
//!   (a secret) changes.
//!
//! One task per node runs [`Lifecycle::sweep`] every second over the live
//! services; requests only touch atomics and one short lock.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mote_manifest::Runtime;
use mote_sandbox::{Prepared, Warm};
use tokio::sync::{Notify, OwnedSemaphorePermit};

use crate::loader::{Loaded, Loader};
use crate::pool::ServiceVersion;
use crate::registry::ServiceError;

/// How often the sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A promoted service with no request for this long (or half the idle
/// time, if shorter) is demoted. Long against the seconds of CPU a
/// promotion costs: a busy service that pauses keeps its snapshot.
const DEMOTE_AFTER: Duration = Duration::from_secs(120);

/// Room a promotion is assumed to need (a per-service snapshot's compiled
/// code and memory image), checked against the budget before starting one.
const PROMOTION_ESTIMATE: u64 = 8 << 20;

/// The lifecycle settings of a node.
#[derive(Debug, Clone, Copy)]
pub struct LifecycleConfig {
    /// Code unused for this long is unloaded (default 5 minutes).
    pub idle: Duration,
    /// Most bytes of code (compiled components, JavaScript bundles and
    /// snapshots) held loaded at once (default 512 MiB).
    pub budget: u64,
    /// A JavaScript service is promoted when its request score (requests
    /// over roughly the last 8 seconds, decaying) reaches this; 0 turns
    /// promotion off (default 1000: about 125 requests a second, where the
    /// ~15 % a request saves repays the seconds of CPU a promotion costs
    /// within minutes).
    pub promote_after: u32,
    /// An instance slot unused for this long (up to twice this) gives back
    /// the pages it kept resident for the next instance
    /// ([`mote_sandbox::Sandbox::release_idle_memory`]; default 10 seconds).
    pub release_idle_memory: Duration,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        LifecycleConfig {
            idle: Duration::from_secs(300),
            budget: 512 << 20,
            promote_after: 1000,
            release_idle_memory: Duration::from_secs(10),
        }
    }
}

/// Where a service's code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Only the stored artifact: the next request loads it.
    Unloaded,
    /// Compiled code (or a JavaScript bundle on the shared engine) in memory.
    Loaded,
    /// A JavaScript service on its own snapshot, its module evaluated.
    Promoted,
}

impl State {
    /// Its name in the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unloaded => "unloaded",
            State::Loaded => "loaded",
            State::Promoted => "promoted",
        }
    }
}

/// Node-wide lifecycle counters, for the admin API.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Bytes of code held now (by services, and by requests still running
    /// on evicted code).
    pub bytes: u64,
    /// The most bytes of code held at once since start-up.
    pub peak_bytes: u64,
    /// The budget.
    pub budget: u64,
    /// Loads since start (first requests after start-up or eviction).
    pub loads: u64,
    /// Unloaded for being idle.
    pub idle_evictions: u64,
    /// Unloaded (or demoted) because the budget was exceeded.
    pub budget_evictions: u64,
    /// Promotions to a per-service snapshot.
    pub promotions: u64,
    /// Demotions back to the shared engine.
    pub demotions: u64,
    /// Promotions that failed (the service stays on the shared engine).
    pub promotion_failures: u64,
    /// Bytes that unused instance slots keep resident now.
    pub idle_slot_bytes: u64,
    /// Bytes that unused instance slots gave back since start-up.
    pub idle_slot_bytes_released: u64,
}

/// The node's lifecycle policy and its accounting.
pub struct Lifecycle {
    loader: Arc<Loader>,
    config: LifecycleConfig,
    started: Instant,
    started_unix_ms: u64,
    bytes: Arc<Meter>,
    loads: AtomicU64,
    idle_evictions: AtomicU64,
    budget_evictions: AtomicU64,
    promotions: AtomicU64,
    demotions: AtomicU64,
    promotion_failures: AtomicU64,
    /// Bytes idle instance slots gave back, and when they last did (ms).
    idle_slot_bytes_released: AtomicU64,
    last_release_ms: AtomicU64,
    promoting: AtomicBool,
    /// Wakes the sweep early (a load took the node over its budget).
    wake: Notify,
    /// Held while room is made for code and its bytes counted.
    making_room: Mutex<()>,
    /// The node's services, for making room when code is about to be
    /// loaded (set by [`Lifecycle::run`]).
    services: OnceLock<ServiceList>,
}

type ServiceList = Box<dyn Fn() -> Vec<Arc<ServiceVersion>> + Send + Sync>;

/// Bytes of code held, counted up as code (or a reused instance) is kept
/// and down as it is dropped, and their peak since start-up.
#[derive(Default)]
struct Meter {
    held: AtomicU64,
    peak: AtomicU64,
}

impl Meter {
    fn add(&self, bytes: u64) {
        let held = self.held.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(held, Ordering::Relaxed);
    }

    fn sub(&self, bytes: u64) {
        self.held.fetch_sub(bytes, Ordering::Relaxed);
    }

    fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

/// Bytes counted on a [`Meter`] from the charge's making until it is
/// dropped: one piece of memory (a service's code, a snapshot, a reused
/// instance), counted once however many [`Ready`]s share it.
struct Charge {
    bytes: u64,
    meter: Arc<Meter>,
}

impl Charge {
    fn new(bytes: u64, meter: &Arc<Meter>) -> Charge {
        meter.add(bytes);
        Charge {
            bytes,
            meter: meter.clone(),
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.meter.sub(self.bytes);
    }
}

/// An idle reused instance waits at most this long for its next request.
pub const WARM_IDLE: Duration = Duration::from_secs(10);

/// Code ready to instantiate, shared by the requests that use it. Its bytes
/// count against the budget for as long as it, or the same code with or
/// without a snapshot (promotion and demotion make a new `Ready`), exists;
/// so do the memories of the reused instances it keeps
/// (`instance = { reuse = N }`).
pub struct Ready {
    prepared: Prepared,
    input: Option<Bytes>,
    promoted: Option<Promoted>,
    base: Arc<Charge>,
    warm: Mutex<Vec<Idle>>,
}

/// A reused instance between two requests: it keeps its share of the node's
/// instance capacity, and its memory counts against the budget.
struct Idle {
    warm: Option<Warm>,
    env_key: u64,
    since: Instant,
    _charge: Charge,
    _capacity: [OwnedSemaphorePermit; 2],
}

struct Promoted {
    prepared: Prepared,
    env_key: u64,
    charge: Charge,
}

impl Ready {
    /// The same code with `promoted` as its snapshot (or none).
    fn with_promoted(&self, promoted: Option<Promoted>) -> Ready {
        Ready {
            prepared: self.prepared.clone(),
            input: self.input.clone(),
            promoted,
            base: self.base.clone(),
            warm: Mutex::default(),
        }
    }

    fn bytes(&self) -> u64 {
        self.base.bytes + self.promoted.as_ref().map_or(0, |p| p.charge.bytes)
    }

    /// What a request whose environment is `env` runs: the code it
    /// instantiates, what it reads on stdin, and an idle reused instance of
    /// that code with that environment, if one is waiting. The per-service
    /// snapshot serves only requests whose environment is the one its module
    /// was evaluated with.
    pub fn for_request(&self, env: &[(String, String)]) -> Checkout<'_> {
        let env_key = env_key(env);
        let (prepared, stdin) = match &self.promoted {
            Some(p) if p.env_key == env_key => (&p.prepared, None),
            _ => (&self.prepared, self.input.clone()),
        };
        let warm = {
            let mut idle = self.warm.lock().unwrap();
            // Instances made with another environment (a secret changed)
            // will never be taken again.
            idle.retain(|i| i.env_key == env_key);
            idle.pop().and_then(|mut i| i.warm.take())
        };
        Checkout {
            prepared,
            stdin,
            warm,
            env_key,
        }
    }

    /// Keep `warm`, made by a request with environment `env_key`, for the
    /// next request, holding `capacity`; at most `max` instances are kept.
    pub(crate) fn keep_warm(
        &self,
        warm: Warm,
        env_key: u64,
        capacity: [OwnedSemaphorePermit; 2],
        max: usize,
    ) {
        let mut idle = self.warm.lock().unwrap();
        if idle.len() >= max {
            return;
        }
        idle.push(Idle {
            _charge: Charge::new(warm.memory(), &self.base.meter),
            warm: Some(warm),
            env_key,
            since: Instant::now(),
            _capacity: capacity,
        });
    }

    /// Drop reused instances idle for longer than [`WARM_IDLE`].
    fn drop_idle_instances(&self) {
        self.warm
            .lock()
            .unwrap()
            .retain(|i| i.since.elapsed() < WARM_IDLE);
    }
}

fn env_key(env: &[(String, String)]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env.hash(&mut h);
    h.finish()
}

/// The lifecycle state of one service version's code.
pub struct Code {
    sha: String,
    runtime: Runtime,
    ready: Mutex<Option<Arc<Ready>>>,
    loading: tokio::sync::Mutex<()>,
    /// Milliseconds since the node started, at the last request's start or
    /// end; 0: never used.
    last_used: AtomicU64,
    in_flight: AtomicU32,
    /// Requests since the last sweep, and the decaying score they feed.
    window: AtomicU32,
    score: AtomicU32,
    /// A promotion failed: not tried again for this version.
    unpromotable: AtomicBool,
    lifecycle: Arc<Lifecycle>,
}

/// What [`Ready::for_request`] hands a request.
pub struct Checkout<'a> {
    /// The code to instantiate (unless `warm` is used).
    pub prepared: &'a Prepared,
    /// What the instance reads on stdin.
    pub stdin: Option<Bytes>,
    /// An instance that served earlier requests, to serve this one.
    pub warm: Option<Warm>,
    /// Identifies the request's environment (for [`Ready::keep_warm`]).
    pub env_key: u64,
}

/// A request's hold on its service's code: the code stays alive, and the
/// service counts as in use, until it is dropped.
pub struct InUse {
    ready: Arc<Ready>,
    service: Arc<ServiceVersion>,
}

impl InUse {
    /// The code the request runs.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        let code = &self.service.code;
        code.last_used
            .store(code.lifecycle.now_ms(), Ordering::Relaxed);
        code.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lifecycle {
    /// The policy `config` over code loaded by `loader`.
    pub fn new(loader: Arc<Loader>, config: LifecycleConfig) -> Arc<Self> {
        Arc::new(Lifecycle {
            loader,
            config,
            started: Instant::now(),
            started_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            bytes: Arc::default(),
            loads: AtomicU64::new(0),
            idle_evictions: AtomicU64::new(0),
            budget_evictions: AtomicU64::new(0),
            promotions: AtomicU64::new(0),
            demotions: AtomicU64::new(0),
            promotion_failures: AtomicU64::new(0),
            idle_slot_bytes_released: AtomicU64::new(0),
            last_release_ms: AtomicU64::new(0),
            promoting: AtomicBool::new(false),
            wake: Notify::new(),
            making_room: Mutex::new(()),
            services: OnceLock::new(),
        })
    }

    /// The loader.
    pub fn loader(&self) -> &Arc<Loader> {
        &self.loader
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }

    /// Node-wide counters.
    pub fn stats(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            bytes: self.bytes.held(),
            peak_bytes: self.bytes.peak(),
            budget: self.config.budget,
            loads: get(&self.loads),
            idle_evictions: get(&self.idle_evictions),
            budget_evictions: get(&self.budget_evictions),
            promotions: get(&self.promotions),
            demotions: get(&self.demotions),
            promotion_failures: get(&self.promotion_failures),
            idle_slot_bytes: self.loader.sandbox().idle_resident_bytes(),
            idle_slot_bytes_released: get(&self.idle_slot_bytes_released),
        }
    }

    /// Count `bytes` more of code, made room for first
    /// ([`Lifecycle::make_room_for`]), and the charge for them. One at a
    /// time: two loads must not both take the same room.
    fn charge(&self, bytes: u64) -> Charge {
        let _one_at_a_time = self.making_room.lock().unwrap();
        self.make_room_for(bytes);
        Charge::new(bytes, &self.bytes)
    }

    /// `loaded`, counted against the budget from now on.
    fn ready(&self, loaded: Loaded) -> Ready {
        Ready {
            base: Arc::new(self.charge(loaded.bytes)),
            prepared: loaded.prepared,
            input: loaded.input,
            promoted: None,
            warm: Mutex::default(),
        }
    }

    /// The lifecycle state of code for source `sha`; `loaded` when the code
    /// is already in memory (a deploy has just compiled it).
    pub(crate) fn code(
        self: &Arc<Self>,
        sha: String,
        runtime: Runtime,
        loaded: Option<Loaded>,
    ) -> Code {
        let ready = loaded.map(|l| Arc::new(self.ready(l)));
        if ready.is_some() {
            self.wake_if_over_budget();
        }
        Code {
            sha,
            runtime,
            ready: Mutex::new(ready),
            loading: tokio::sync::Mutex::new(()),
            last_used: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            window: AtomicU32::new(0),
            score: AtomicU32::new(0),
            unpromotable: AtomicBool::new(false),
            lifecycle: self.clone(),
        }
    }

    fn wake_if_over_budget(&self) {
        if self.over_budget() {
            self.wake.notify_one();
        }
    }

    /// Run the sweep every [`SWEEP_EVERY`] (or sooner when a load goes over
    /// the budget) over whatever `services` returns, until `stop` is true.
    /// From now on, code about to be loaded first makes room for itself
    /// among those services ([`Lifecycle::make_room_for`]).
    pub async fn run(
        self: Arc<Self>,
        services: impl Fn() -> Vec<Arc<ServiceVersion>> + Send + Sync + 'static,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let services: &ServiceList = self.services.get_or_init(|| Box::new(services));
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.wake.notified() => {}
                _ = stop.changed() => return,
            }
            self.sweep(services());
        }
    }

    /// One pass of the policy: update request scores; unload idle code;
    /// demote cold promoted services; get under the budget (least recently
    /// used first, demoting before unloading); start at most one promotion.
    pub fn sweep(self: &Arc<Self>, services: Vec<Arc<ServiceVersion>>) {
        let now = self.now_ms();
        let idle_ms = self.config.idle.as_millis() as u64;
        let demote_ms = (DEMOTE_AFTER.as_millis() as u64).min(idle_ms / 2);
        let mut loaded = Vec::new();
        for service in services {
            let code = &service.code;
            let window = code.window.swap(0, Ordering::Relaxed);
            let score = code.score.load(Ordering::Relaxed);
            let score = score - score / 8 + window;
            code.score.store(score, Ordering::Relaxed);
            let Some(ready) = code.current() else {
                continue;
            };
            ready.drop_idle_instances();
            let busy = code.in_flight.load(Ordering::Relaxed) > 0;
            let unused_for = now.saturating_sub(code.last_used.load(Ordering::Relaxed).max(1));
            if !busy && unused_for >= idle_ms {
                code.unload();
                self.idle_evictions.fetch_add(1, Ordering::Relaxed);
                tracing::info!(app = %service.app, service = %service.name, version = service.version, "unloaded: idle");
                continue;
            }
            if ready.promoted.is_some() && window == 0 && unused_for >= demote_ms {
                self.demote(&service, "cold");
            }
            loaded.push(service);
        }
        if self.over_budget() {
            self.make_room(&mut loaded, 0);
        }
        self.maybe_promote(&loaded);
        self.release_idle_memory(now);
    }

    /// Every `release_idle_memory`, give back the pages of instance slots
    /// unused since the previous time: they stay with the process after a
    /// burst otherwise (measured after 2,000 connections to 1,000 JavaScript
    /// services: 1.1 GiB of RSS, ~870 MiB of it in unused slots).
    fn release_idle_memory(&self, now: u64) {
        let every = self.config.release_idle_memory.as_millis() as u64;
        if now.saturating_sub(self.last_release_ms.load(Ordering::Relaxed)) < every {
            return;
        }
        self.last_release_ms.store(now, Ordering::Relaxed);
        let started = Instant::now();
        let released = self.loader.sandbox().release_idle_memory();
        if released > 0 {
            self.idle_slot_bytes_released
                .fetch_add(released, Ordering::Relaxed);
            tracing::info!(
                mib = format_args!("{:.1}", released as f64 / (1 << 20) as f64),
                ms = started.elapsed().as_millis() as u64,
                "gave back the memory of idle instance slots"
            );
        }
    }

    fn over_budget(&self) -> bool {
        self.over_budget_with(0)
    }

    /// Whether the code held, plus `need` bytes, is over the budget.
    fn over_budget_with(&self, need: u64) -> bool {
        self.bytes.held() + need > self.config.budget
    }

    /// Before `need` bytes of code are held: if they would take the node
    /// over its budget, unload (or demote) the least recently used code now,
    /// rather than in the sweep the load would wake (until which the node
    /// would be over). Code that requests hold stays, and so counts: the
    /// budget can be exceeded only by code in use.
    fn make_room_for(&self, need: u64) {
        if !self.over_budget_with(need) {
            return;
        }
        let Some(services) = self.services.get() else {
            return;
        };
        let mut loaded: Vec<_> = services()
            .into_iter()
            .filter(|s| s.code.current().is_some())
            .collect();
        self.make_room(&mut loaded, need);
    }

    /// Demote, then unload, the least recently used of `loaded` until the
    /// code held plus `need` bytes fits the budget.
    fn make_room(&self, loaded: &mut [Arc<ServiceVersion>], need: u64) {
        loaded.sort_by_key(|s| s.code.last_used.load(Ordering::Relaxed));
        for service in loaded.iter() {
            if !self.over_budget_with(need) {
                return;
            }
            if service.code.current().is_some_and(|r| r.promoted.is_some()) {
                self.demote(service, "memory budget");
                self.budget_evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        for service in loaded.iter() {
            if !self.over_budget_with(need) {
                return;
            }
            let code = &service.code;
            if code.in_flight.load(Ordering::Relaxed) == 0 && code.current().is_some() {
                code.unload();
                self.budget_evictions.fetch_add(1, Ordering::Relaxed);
                tracing::info!(app = %service.app, service = %service.name, version = service.version, "unloaded: memory budget");
            }
        }
    }

    /// Back to the shared engine (the bundle is still held).
    fn demote(&self, service: &ServiceVersion, why: &str) {
        let code = &service.code;
        let mut slot = code.ready.lock().unwrap();
        let Some(current) = slot.as_ref() else {
            return;
        };
        if current.promoted.is_none() {
            return;
        }
        *slot = Some(Arc::new(current.with_promoted(None)));
        drop(slot);
        self.demotions.fetch_add(1, Ordering::Relaxed);
        tracing::info!(app = %service.app, service = %service.name, version = service.version, "demoted: {why}");
    }

    fn maybe_promote(self: &Arc<Self>, loaded: &[Arc<ServiceVersion>]) {
        let threshold = self.config.promote_after;
        if threshold == 0 || self.promoting.load(Ordering::Relaxed) {
            return;
        }
        if self.over_budget_with(PROMOTION_ESTIMATE) {
            return;
        }
        // Only a service in use now (a request within the last two sweeps):
        // the score decays slowly, and a service demoted for being cold must
        // not be promoted again at once. Nor one whose requests crowded the
        // other apps in that time (`Capacity::crowding`): a promotion takes
        // seconds of CPU from the request threads, which the others would
        // pay (an attacker's promotion held a neighbour's request for half a
        // second under bench/hostile's slow-wide), and such requests run on
        // the low-priority threads anyway.
        let now = self.now_ms();
        let recent = 2 * SWEEP_EVERY;
        let candidate = loaded
            .iter()
            .filter(|s| {
                let c = &s.code;
                c.runtime == Runtime::JavaScript
                    && now.saturating_sub(c.last_used.load(Ordering::Relaxed))
                        < recent.as_millis() as u64
                    && !c.unpromotable.load(Ordering::Relaxed)
                    && c.score.load(Ordering::Relaxed) >= threshold
                    && c.current().is_some_and(|r| r.promoted.is_none())
                    && !s.crowded_within(recent)
            })
            .max_by_key(|s| s.code.score.load(Ordering::Relaxed));
        let Some(service) = candidate.cloned() else {
            return;
        };
        self.promoting.store(true, Ordering::Relaxed);
        let this = self.clone();
        tokio::spawn(async move {
            this.promote(&service).await;
            this.promoting.store(false, Ordering::Relaxed);
        });
    }

    async fn promote(&self, service: &ServiceVersion) {
        let code = &service.code;
        let Some(bundle) = code.current().and_then(|r| r.input.clone()) else {
            return;
        };
        let env = service.environment();
        let started = Instant::now();
        match self.loader.promote(bundle, env.clone()).await {
            Ok(loaded) => {
                let charge = self.charge(loaded.bytes);
                let mut slot = code.ready.lock().unwrap();
                // Install only over the code it was made from (not over an
                // eviction or another version).
                let Some(current) = slot.as_ref().filter(|r| r.promoted.is_none()) else {
                    return;
                };
                *slot = Some(Arc::new(current.with_promoted(Some(Promoted {
                    prepared: loaded.prepared,
                    env_key: env_key(&env),
                    charge,
                }))));
                drop(slot);
                self.promotions.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    app = %service.app,
                    service = %service.name,
                    version = service.version,
                    ms = started.elapsed().as_millis() as u64,
                    bytes = loaded.bytes,
                    "promoted to its own snapshot"
                );
                self.wake_if_over_budget();
            }
            Err(e) => {
                code.unpromotable.store(true, Ordering::Relaxed);
                self.promotion_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(app = %service.app, service = %service.name, version = service.version, error = %e, "promotion failed; the service stays on the shared engine");
            }
        }
    }
}

impl Code {
    fn current(&self) -> Option<Arc<Ready>> {
        self.ready.lock().unwrap().clone()
    }

    fn unload(&self) {
        self.ready.lock().unwrap().take();
    }

    /// Where the code is now.
    pub fn state(&self) -> State {
        match self.current() {
            None => State::Unloaded,
            Some(r) if r.promoted.is_some() => State::Promoted,
            Some(_) => State::Loaded,
        }
    }

    /// Bytes of code held for this service.
    pub fn bytes(&self) -> u64 {
        self.current().map_or(0, |r| r.bytes())
    }

    /// Requests running now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// When the service last started or finished a request (Unix ms).
    pub fn last_used_unix_ms(&self) -> Option<u64> {
        match self.last_used.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(self.lifecycle.started_unix_ms + ms - 1),
        }
    }

    /// Take hold of the code for one request of `service` (whose `code`
    /// this is), loading it first if it is not in memory.
    pub(crate) async fn enter(&self, service: &Arc<ServiceVersion>) -> Result<InUse, ServiceError> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.window.fetch_add(1, Ordering::Relaxed);
        self.last_used
            .store(self.lifecycle.now_ms(), Ordering::Relaxed);
        // From here the count is given back by `InUse`'s drop, or below.
        let ready = match self.current() {
            Some(r) => Ok(r),
            None => self.load().await,
        };
        match ready {
            Ok(ready) => Ok(InUse {
                ready,
                service: service.clone(),
            }),
            Err(e) => {
                self.in_flight.fetch_sub(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    async fn load(&self) -> Result<Arc<Ready>, ServiceError> {
        let _one_at_a_time = self.loading.lock().await;
        if let Some(r) = self.current() {
            return Ok(r);
        }
        let lifecycle = &self.lifecycle;
        let loaded = lifecycle.loader.load(&self.sha, None, self.runtime).await?;
        let ready = Arc::new(lifecycle.ready(loaded));
        *self.ready.lock().unwrap() = Some(ready.clone());
        lifecycle.loads.fetch_add(1, Ordering::Relaxed);
        lifecycle.wake_if_over_budget();
        Ok(ready)
    }
}
