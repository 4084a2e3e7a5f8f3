//! The pool: one entry per live service version — its code (loaded lazily,
//! evicted and promoted by the [`lifecycle`](crate::lifecycle)), its limits
//! and its admission control. Every request still gets a fresh instance;
//! what is pooled is the compiled, linked code.
//!
//! Admission, in order: the service's concurrency (up to `limits.queue`
//! requests wait for a slot, at most [`QUEUE_WAIT`]); then the node's
//! instance capacity ([`Capacity`], sized to the sandbox's instance pool, so
//! that a burst is answered 503 instead of failing to instantiate; no app may
//! take more than seven eighths of it); then the code (loaded if it is not
//! in memory).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use mote_manifest::{Binding, Instance, Limits, Service};
use mote_sandbox::{Chain, Grants, InstanceLimits, Invocation, Warm};
use mote_store::Secrets;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::dataplane::LogGate;
use crate::errors::RequestError;
use crate::lifecycle::{Code, InUse, Ready};

/// The longest a request waits in a service's queue, or for node capacity.
pub const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// Most idle reused instances a service keeps (`instance = { reuse = N }`;
/// also at most its concurrency).
pub const MAX_IDLE_INSTANCES: u32 = 8;

/// Requests in flight above which an app that holds most of the node's
/// requests runs its further requests at low priority (see
/// [`Capacity::crowding`]).
const CROWDING_ABOVE: u32 = 8;

/// How many times the other apps' requests in flight an app must hold to
/// crowd them.
const CROWDING_RATIO: u32 = 4;

/// Another app served within this long counts as present, even with no
/// request in flight at the moment (see [`Capacity::crowding`]).
const OTHERS_RECENT: Duration = Duration::from_secs(1);

/// The node's instance capacity: one permit per instance a request may
/// hold; and each app's share of it, so that no one app can take all of it
/// (an eighth, at least one instance, is always left to the others).
pub struct Capacity {
    permits: Arc<Semaphore>,
    size: u32,
    per_app: u32,
    apps: Mutex<HashMap<String, Weak<Semaphore>>>,
    born: Instant,
    /// The last app admitted with few requests in flight (its share's
    /// address), and when (ms since `born`): see [`Capacity::crowding`].
    quiet_app: AtomicUsize,
    quiet_at: AtomicU64,
}

/// Take a permit of `permits` at once, or within [`QUEUE_WAIT`].
async fn acquire(permits: &Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
    if let Ok(p) = permits.clone().try_acquire_owned() {
        return Some(p);
    }
    tokio::time::timeout(QUEUE_WAIT, permits.clone().acquire_owned())
        .await
        .ok()?
        .ok()
}

impl Capacity {
    /// Room for `size` instances at once.
    pub fn new(size: u32) -> Arc<Self> {
        Arc::new(Capacity {
            permits: Arc::new(Semaphore::new(size as usize)),
            size,
            per_app: size.saturating_sub((size / 8).max(1)).max(1),
            apps: Mutex::default(),
            born: Instant::now(),
            quiet_app: AtomicUsize::new(0),
            quiet_at: AtomicU64::new(0),
        })
    }

    /// The share of app `app`, shared by all its service versions.
    pub(crate) fn app_share(&self, app: &str) -> Arc<Semaphore> {
        let mut apps = self.apps.lock().unwrap();
        if let Some(share) = apps.get(app).and_then(Weak::upgrade) {
            return share;
        }
        apps.retain(|_, share| share.strong_count() > 0);
        let share = Arc::new(Semaphore::new(self.per_app as usize));
        apps.insert(app.to_owned(), Arc::downgrade(&share));
        share
    }

    /// Whether an app holding `app_share` crowds the others: it has more
    /// than [`CROWDING_ABOVE`] requests in flight, and at least
    /// [`CROWDING_RATIO`] times as many as all other apps together, which
    /// have at least one, or were served within [`OTHERS_RECENT`] (a
    /// neighbour with a request every few hundred microseconds has none in
    /// flight most of the time). Such an app's next request runs on the
    /// sandbox's low-priority threads, so that a tenant's flood of cheap
    /// requests (each short, so none of them would be moved for running
    /// long) takes the CPU the other tenants leave, instead of queueing them
    /// behind it on the request threads. Alone on the node, an app keeps the
    /// request threads however busy it is.
    ///
    /// Called at each admission: an app with few requests in flight is
    /// noted as served now.
    pub(crate) fn crowding(&self, app_share: &Arc<Semaphore>) -> bool {
        self.crowding_at(app_share, self.born.elapsed())
    }

    /// Milliseconds since the capacity was made.
    fn now_ms(&self) -> u64 {
        self.born.elapsed().as_millis() as u64
    }

    fn crowding_at(&self, app_share: &Arc<Semaphore>, now: Duration) -> bool {
        let now = now.as_millis() as u64;
        let id = Arc::as_ptr(app_share) as usize;
        let app = self
            .per_app
            .saturating_sub(app_share.available_permits() as u32);
        if app <= CROWDING_ABOVE {
            // Skip the stores when already noted this millisecond.
            if self.quiet_at.load(Ordering::Relaxed) != now
                || self.quiet_app.load(Ordering::Relaxed) != id
            {
                self.quiet_app.store(id, Ordering::Relaxed);
                self.quiet_at.store(now, Ordering::Relaxed);
            }
            return false;
        }
        let node = self
            .size
            .saturating_sub(self.permits.available_permits() as u32);
        let others = node.saturating_sub(app);
        let quiet_app = self.quiet_app.load(Ordering::Relaxed);
        let others_recent = quiet_app != 0
            && quiet_app != id
            && now.saturating_sub(self.quiet_at.load(Ordering::Relaxed))
                < OTHERS_RECENT.as_millis() as u64;
        (others > 0 || others_recent) && app >= others.saturating_mul(CROWDING_RATIO)
    }

    async fn acquire(
        &self,
        app_share: &Arc<Semaphore>,
    ) -> Result<[OwnedSemaphorePermit; 2], RequestError> {
        let app = acquire(app_share)
            .await
            .ok_or(RequestError::AppAtCapacity(self.per_app))?;
        let node = acquire(&self.permits)
            .await
            .ok_or(RequestError::NodeAtCapacity(self.size))?;
        Ok([app, node])
    }
}

/// What the service versions of a node share.
pub(crate) struct Shared {
    pub(crate) secrets: Arc<Secrets>,
    pub(crate) capacity: Arc<Capacity>,
}

/// A service of one deployed app version, ready to serve.
pub struct ServiceVersion {
    /// App name.
    pub app: String,
    /// Service name.
    pub name: String,
    /// App version this service belongs to.
    pub version: u64,
    /// SHA-256 of the source.
    pub sha256: String,
    /// The manifest's description of the service.
    pub spec: Service,
    /// Its code and where that is in its lifecycle.
    pub code: Code,
    admission: Arc<Semaphore>,
    queued: AtomicU32,
    /// Its app's share of the node's capacity.
    app_share: Arc<Semaphore>,
    requests: AtomicU64,
    /// When a request of it last crowded the other apps
    /// ([`Capacity::now_ms`]; `u64::MAX`: never).
    crowded_at: AtomicU64,
    /// Log lines of requests refused before they ran, a few a second.
    pub(crate) rejections_logged: LogGate,
    env: Vec<(String, String)>,
    /// Secret bindings: (variable name, secret name), read at each request.
    secrets: Vec<(String, String)>,
    shared: Arc<Shared>,
    grants: Arc<Grants>,
}

/// A request's admission: its concurrency slot, its share of the node's
/// capacity and its hold on the code, released together when dropped (after
/// the response body).
pub struct Slot {
    in_use: InUse,
    /// The app's share and the node's capacity.
    node: [OwnedSemaphorePermit; 2],
    _service: OwnedSemaphorePermit,
    /// Idle reused instances the service may keep.
    keep: usize,
    /// Whether the app crowded the others when this request was admitted
    /// ([`Capacity::crowding`]).
    pub crowding: bool,
}

impl Slot {
    /// The code the request runs.
    pub fn ready(&self) -> &Ready {
        self.in_use.ready()
    }

    /// The request is over. `instance`: the instance it ran in, handed back
    /// for reuse (`instance = { reuse = N }`) when it finished cleanly; it
    /// is kept, with this request's share of the node's capacity, for the
    /// next request with the same environment (`env_key`).
    pub fn release(self, instance: Option<Warm>, env_key: u64) {
        if let Some(warm) = instance {
            self.in_use
                .ready()
                .keep_warm(warm, env_key, self.node, self.keep);
        }
    }
}

impl ServiceVersion {
    pub(crate) fn new(
        app: &str,
        version: u64,
        sha256: String,
        spec: Service,
        code: Code,
        grants: Grants,
        shared: Arc<Shared>,
    ) -> Self {
        let env = spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let secrets = spec
            .bindings
            .iter()
            .filter_map(|(name, binding)| match binding {
                Binding::Secret(secret) => Some((name.clone(), secret.clone())),
                _ => None,
            })
            .collect();
        ServiceVersion {
            app: app.to_string(),
            name: spec.name.clone(),
            version,
            sha256,
            admission: Arc::new(Semaphore::new(spec.limits.concurrency as usize)),
            queued: AtomicU32::new(0),
            app_share: shared.capacity.app_share(app),
            spec,
            code,
            requests: AtomicU64::new(0),
            crowded_at: AtomicU64::new(u64::MAX),
            rejections_logged: LogGate::default(),
            env,
            secrets,
            shared,
            grants: Arc::new(grants),
        }
    }

    /// Whether a request of it crowded the other apps
    /// ([`Capacity::crowding`]) within the last `within`.
    pub(crate) fn crowded_within(&self, within: Duration) -> bool {
        let at = self.crowded_at.load(Ordering::Relaxed);
        let now = self.shared.capacity.now_ms();
        now.checked_sub(at)
            .is_some_and(|ago| ago < within.as_millis() as u64)
    }

    /// The service's limits.
    pub fn limits(&self) -> &Limits {
        &self.spec.limits
    }

    /// Requests admitted since this version went live.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Admit one request: a concurrency slot (waiting in the queue if
    /// there is room), node capacity, and the code, loaded if need be.
    pub async fn admit(self: &Arc<Self>) -> Result<Slot, RequestError> {
        let limits = self.limits();
        let service = match self.admission.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let overloaded = || RequestError::Overloaded(limits.concurrency);
                if self.queued.fetch_add(1, Ordering::Relaxed) >= limits.queue {
                    self.queued.fetch_sub(1, Ordering::Relaxed);
                    return Err(overloaded());
                }
                let waited = acquire(&self.admission).await;
                self.queued.fetch_sub(1, Ordering::Relaxed);
                waited.ok_or_else(overloaded)?
            }
        };
        let node = self.shared.capacity.acquire(&self.app_share).await?;
        let crowding = self.shared.capacity.crowding(&self.app_share);
        if crowding {
            let now = self.shared.capacity.now_ms();
            self.crowded_at.store(now, Ordering::Relaxed);
        }
        let in_use = self
            .code
            .enter(self)
            .await
            .map_err(|e| RequestError::Unloadable(e.to_string()))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            in_use,
            node,
            _service: service,
            keep: limits.concurrency.min(MAX_IDLE_INSTANCES) as usize,
            crowding,
        })
    }

    /// The environment a request sees: the service's variables, then its
    /// secrets as they are now (a `mote secret set` takes effect at the next
    /// request; an unset secret is absent).
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        for (name, secret) in &self.secrets {
            if let Some(value) = self.shared.secrets.get(&self.app, secret) {
                env.push((name.clone(), value));
            }
        }
        env
    }

    /// What one request of this service runs with, in `chain` (of service
    /// bindings), in the environment `env`.
    pub fn invocation(&self, env: Vec<(String, String)>, chain: Chain) -> Invocation {
        let l = &self.spec.limits;
        Invocation {
            limits: InstanceLimits {
                memory: l.memory,
                cpu: l.cpu,
                timeout: l.timeout,
            },
            env,
            log_capacity: l.log as usize,
            stdin: None,
            grants: self.grants.clone(),
            chain,
            low_priority: false,
            reuse: match self.spec.instance {
                Instance::PerRequest => 1,
                Instance::Reuse(n) => n,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_app_crowds_the_others_only_while_it_holds_most_of_the_requests() {
        let capacity = Capacity::new(100);
        let (a, b) = (capacity.app_share("a"), capacity.app_share("b"));
        let at = Duration::from_secs;
        let mut held = Vec::new();
        for _ in 0..=CROWDING_ABOVE {
            held.push(capacity.acquire(&a).await.unwrap());
            assert!(!capacity.crowding_at(&a, at(10)), "ramping up");
        }
        assert!(!capacity.crowding_at(&a, at(10)), "alone on the node");
        let mut other = vec![capacity.acquire(&b).await.unwrap()];
        assert!(!capacity.crowding_at(&b, at(10)));
        assert!(capacity.crowding_at(&a, at(10)));
        other.push(capacity.acquire(&b).await.unwrap());
        other.push(capacity.acquire(&b).await.unwrap());
        assert!(
            !capacity.crowding_at(&a, at(10)),
            "not four times the others' requests"
        );
        drop(other);
        assert!(
            capacity.crowding_at(&a, at(10)),
            "the other app was served a moment ago"
        );
        assert!(
            !capacity.crowding_at(&a, at(10) + OTHERS_RECENT),
            "the other app is gone"
        );
        assert!(capacity.acquire(&b).await.is_ok());
        assert!(!capacity.crowding_at(&b, at(20)));
        held.pop();
        assert!(!capacity.crowding_at(&a, at(20)), "not above the threshold");
    }
}
