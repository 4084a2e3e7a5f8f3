//! The pool: one entry per live service version — its prepared component,
//! its limits and its admission control. Every request still gets a fresh
//! instance; what is pooled is the compiled, linked code.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use mote_manifest::{Binding, Limits, Service};
use mote_sandbox::{Grants, InstanceLimits, Invocation, Prepared};
use mote_store::Secrets;

use crate::registry::Loaded;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    prepared: Prepared,
    /// What each request reads on stdin (a JavaScript service's bundle).
    input: Option<Bytes>,
    admission: Arc<Semaphore>,
    requests: AtomicU64,
    env: Vec<(String, String)>,
    /// Secret bindings: (variable name, secret name), read at each request.
    secrets: Vec<(String, String)>,
    secret_store: Arc<Secrets>,
    grants: Arc<Grants>,
}

impl ServiceVersion {
    pub(crate) fn new(
        app: &str,
        version: u64,
        sha256: String,
        spec: Service,
        loaded: Loaded,
        grants: Grants,
        secret_store: Arc<Secrets>,
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
            spec,
            prepared: loaded.prepared,
            input: loaded.input,
            requests: AtomicU64::new(0),
            env,
            secrets,
            secret_store,
            grants: Arc::new(grants),
        }
    }

    /// The service's limits.
    pub fn limits(&self) -> &Limits {
        &self.spec.limits
    }

    /// Requests admitted since this version went live.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Take a concurrency slot, or `None` when the service is at its limit.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.admission.clone().try_acquire_owned().ok()?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        Some(permit)
    }

    /// The prepared component.
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// What one request of this service runs with, `depth` calls deep in a
    /// chain of service bindings. Secrets are read now, so a `mote secret
    /// set` takes effect at the next request; an unset secret is absent.
    pub fn invocation(&self, log_capacity: usize, depth: u32) -> Invocation {
        let l = &self.spec.limits;
        let mut env = self.env.clone();
        for (name, secret) in &self.secrets {
            if let Some(value) = self.secret_store.get(&self.app, secret) {
                env.push((name.clone(), value));
            }
        }
        Invocation {
            limits: InstanceLimits {
                memory: l.memory,
                cpu: l.cpu,
                timeout: l.timeout,
            },
            env,
            log_capacity,
            stdin: self.input.clone(),
            grants: self.grants.clone(),
            depth,
        }
    }
}
