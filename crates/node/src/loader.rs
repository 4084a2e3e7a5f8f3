//! Turning stored sources into code ready to instantiate: compile (or find
//! in the on-disk compiled-code cache) a component, or a JavaScript
//! service's bundle; link; and, for hot JavaScript services, make a
//! per-service snapshot. The registry uses it at deploy time; the
//! [`lifecycle`](crate::lifecycle) uses it to load a service at its first
//! request after a start or an eviction, and to promote it.

use std::sync::Arc;

use bytes::Bytes;
use mote_js::{JsEngine, Sources};
use mote_manifest::Runtime;
use mote_sandbox::{LoadError, Prepared, Sandbox};
use mote_store::Store;
use wasmtime::component::Component;

use crate::registry::ServiceError;

/// A service made ready: what its requests instantiate, what they read on
/// stdin (a JavaScript service's compiled bundle), and about how much memory
/// that holds (compiled code and bundle).
pub(crate) struct Loaded {
    pub(crate) prepared: Prepared,
    pub(crate) input: Option<Bytes>,
    pub(crate) bytes: u64,
}

/// What a loaded JavaScript service costs beyond its bundle: bookkeeping,
/// an estimate.
const JS_OVERHEAD: u64 = 1 << 10;

/// Compiles, caches and links services for one node.
pub struct Loader {
    sandbox: Sandbox,
    store: Arc<Store>,
    /// The JavaScript engine, made ready when the first JavaScript service
    /// is loaded (nodes serving only components never pay for it).
    js: tokio::sync::OnceCell<JsEngine>,
}

impl Loader {
    pub(crate) fn new(sandbox: Sandbox, store: Arc<Store>) -> Self {
        Loader {
            sandbox,
            store,
            js: tokio::sync::OnceCell::new(),
        }
    }

    /// The engine.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Make one service ready: compile (or find in the on-disk cache) its
    /// component, or its JavaScript bundle; then link. `source` is read only
    /// on a cache miss (a deploy passes what it has; a lazy load reads the
    /// stored blob).
    pub(crate) async fn load(
        &self,
        sha: &str,
        source: Option<&[u8]>,
        runtime: Runtime,
    ) -> Result<Loaded, ServiceError> {
        let source = |store: &Store| -> Result<Vec<u8>, ServiceError> {
            match source {
                Some(bytes) => Ok(bytes.to_vec()),
                None => store
                    .blob(sha)
                    .map_err(|e| ServiceError::Sources(e.to_string())),
            }
        };
        match runtime {
            Runtime::Wasm => {
                let (component, bytes) = self
                    .cached_component(sha, async {
                        source(&self.store).map_err(|e| LoadError::Invalid(e.to_string()))
                    })
                    .await?;
                Ok(Loaded {
                    prepared: self.sandbox.prepare(&component)?,
                    input: None,
                    bytes,
                })
            }
            Runtime::JavaScript => {
                let engine = self.js_engine().await?;
                let key = format!("js-{}", mote_js::engine_id());
                let cached = self.read_cache(sha, &key).await;
                let bundle = match cached {
                    Some(bundle) => Bytes::from(bundle),
                    None => {
                        let sources = Sources::decode(&source(&self.store)?)
                            .map_err(ServiceError::Sources)?;
                        let started = std::time::Instant::now();
                        let bundle = engine.compile(&sources).await?;
                        tracing::info!(%sha, ms = started.elapsed().as_millis() as u64, "JavaScript service compiled");
                        if let Err(e) = self.store.put_compiled(sha, &key, &bundle) {
                            tracing::warn!(%sha, error = %e, "cannot write the compiled-code cache");
                        }
                        bundle
                    }
                };
                Ok(Loaded {
                    prepared: engine.prepared().for_another_service(),
                    bytes: bundle.len() as u64 + JS_OVERHEAD,
                    input: Some(bundle),
                })
            }
        }
    }

    /// A per-service snapshot of a JavaScript service: the engine with the
    /// service's module already evaluated (with `env` as its environment),
    /// compiled and linked. CPU-heavy (a few seconds) and awaited by no
    /// request, so it runs on the sandbox's background threads, at the
    /// lowest priority. It is kept in memory only, never in the on-disk
    /// cache: the snapshot holds what the module computed from its
    /// environment, secrets included.
    pub(crate) async fn promote(
        &self,
        bundle: Bytes,
        env: Vec<(String, String)>,
    ) -> Result<Loaded, ServiceError> {
        let sandbox = self.sandbox.clone();
        let handle = tokio::runtime::Handle::current();
        let component = mote_sandbox::in_background(move || {
            let wasm = handle.block_on(JsEngine::snapshot_service(&sandbox, bundle, env))?;
            sandbox.compile(&wasm)
        })
        .await?;
        let image = component.image_range();
        Ok(Loaded {
            prepared: self.sandbox.prepare(&component)?,
            input: None,
            bytes: (image.end as usize - image.start as usize) as u64,
        })
    }

    /// The JavaScript engine: its snapshot is made and compiled once per
    /// node build and data directory (then loaded from the cache).
    async fn js_engine(&self) -> Result<&JsEngine, LoadError> {
        self.js
            .get_or_try_init(|| async {
                let started = std::time::Instant::now();
                let id = format!("js-engine-{}", mote_js::engine_id());
                let sandbox = self.sandbox.clone();
                let (component, _) = self
                    .cached_component(&id, async move {
                        // Snapshotting compiles the engine: CPU-heavy, so off
                        // the request threads.
                        let handle = tokio::runtime::Handle::current();
                        tokio::task::spawn_blocking(move || {
                            handle.block_on(JsEngine::snapshot(&sandbox))
                        })
                        .await
                        .map_err(|e| LoadError::Invalid(format!("snapshot task failed: {e}")))?
                    })
                    .await?;
                let engine = JsEngine::new(&self.sandbox, component)?;
                tracing::info!(
                    engine = mote_js::engine_id(),
                    ms = started.elapsed().as_millis() as u64,
                    "JavaScript engine ready"
                );
                Ok(engine)
            })
            .await
    }

    /// The compiled-code cache's entry for `id` under `key`, read on a
    /// blocking thread: loads happen on the request threads, and a read
    /// that waits for the disk must not hold up their other requests.
    async fn read_cache(&self, id: &str, key: &str) -> Option<Vec<u8>> {
        let store = self.store.clone();
        let (id, key) = (id.to_owned(), key.to_owned());
        tokio::task::spawn_blocking(move || store.compiled(&id, &key))
            .await
            .ok()
            .flatten()
    }

    /// The compiled component named `id` (a source's SHA-256, or a
    /// JavaScript snapshot) and the size of its compiled code, from the
    /// on-disk cache; or, on a miss, `wasm` compiled on a blocking thread
    /// (CPU-heavy) and cached.
    async fn cached_component(
        &self,
        id: &str,
        wasm: impl Future<Output = Result<Vec<u8>, LoadError>>,
    ) -> Result<(Component, u64), LoadError> {
        let key = self.sandbox.compatibility_key();
        if let Some(code) = self.read_cache(id, &key).await {
            // SAFETY: the cache is written only by this node, from
            // `Sandbox::precompile` of an engine with the same key.
            match unsafe { self.sandbox.load_precompiled(&code) } {
                Ok(c) => {
                    tracing::info!(%id, "component loaded from the compiled-code cache");
                    return Ok((c, code.len() as u64));
                }
                Err(e) => {
                    tracing::warn!(%id, error = %e, "compiled-code cache entry unusable; recompiling")
                }
            }
        }
        let wasm = wasm.await?;
        let sandbox = self.sandbox.clone();
        let started = std::time::Instant::now();
        let code = tokio::task::spawn_blocking(move || sandbox.precompile(&wasm))
            .await
            .map_err(|e| LoadError::Invalid(format!("compiler task failed: {e}")))??;
        tracing::info!(%id, ms = started.elapsed().as_millis() as u64, "component compiled");
        if let Err(e) = self.store.put_compiled(id, &key, &code) {
            tracing::warn!(%id, error = %e, "cannot write the compiled-code cache");
        }
        // SAFETY: produced just now by this engine.
        let component = unsafe { self.sandbox.load_precompiled(&code) }?;
        Ok((component, code.len() as u64))
    }
}
