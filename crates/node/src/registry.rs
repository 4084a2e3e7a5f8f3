//! The registry of live deployments.
//!
//! It owns the durable store and the in-memory view the data plane reads:
//! a route table of [`ServiceVersion`]s behind one `Arc` that a deploy,
//! rollback or delete replaces in a single swap. A request takes the `Arc`
//! it finds and keeps its service version until it has finished, so
//! in-flight requests finish on the old version while new requests see the
//! new one. Control operations are serialised by one lock.
//!
//! The order of a deploy is: parse and validate -> check routes against the
//! other apps -> compile and prepare every service -> store durably (fsync)
//! -> swap. Anything failing before the store leaves the old version
//! serving and nothing written.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use mote_js::CompileError;
use mote_manifest::{App, Binding, Limits, Runtime, Service};
use mote_router::{Pattern, RouteTable};
use mote_sandbox::{LoadError, Prepared, Sandbox};
use mote_store::{Deployment, Secrets, Store, StoreError};

use crate::NodeConfig;
use crate::bindings::Capabilities;
use crate::bundle::{Bundle, BundleError};
use crate::lifecycle::Lifecycle;
use crate::loader::{Loaded, Loader};
use crate::pool::{Capacity, ServiceVersion, Shared};

/// Why a control operation failed. Each variant maps to one admin status.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The bundle or its manifest is invalid (400).
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The URL names a different app than the manifest (400).
    #[error("the manifest deploys app \"{manifest}\" but the request is for app \"{url}\"")]
    NameMismatch {
        /// Name in the manifest.
        manifest: String,
        /// Name in the URL.
        url: String,
    },
    /// A limit is above what this node allows (400).
    #[error("{0}")]
    AboveNodeLimit(String),
    /// A route is served by another app (409).
    #[error("{0}")]
    RouteConflict(String),
    /// A service could not be compiled or linked (422).
    #[error("service \"{service}\" ({source_path}): {error}")]
    Load {
        /// The service.
        service: String,
        /// Its source path.
        source_path: String,
        /// What went wrong.
        error: ServiceError,
    },
    /// No such app, or no earlier version (404 / 409).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one service could not be made ready to serve.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The component could not be compiled or linked (or the JavaScript
    /// engine could not be prepared).
    #[error(transparent)]
    Component(#[from] LoadError),
    /// The JavaScript sources do not compile (the message starts with
    /// `file:line:column:`).
    #[error(transparent)]
    Script(#[from] CompileError),
    /// A stored JavaScript service's sources cannot be read back.
    #[error("{0}")]
    Sources(String),
    /// The component imports an interface the manifest grants it no
    /// binding for.
    #[error("{0}")]
    Ungranted(String),
}

/// A JavaScript service's compiled bundle is read into the instance's
/// memory and loaded there at every request: refuse one that leaves too
/// little room for that within the service's memory limit (half of it).
fn check_fits(service: &Service, loaded: &Loaded) -> Result<(), ServiceError> {
    let Some(bundle) = &loaded.input else {
        return Ok(());
    };
    let needs = bundle.len() as u64 * 2;
    if needs > service.limits.memory {
        return Err(ServiceError::Script(CompileError::Script(format!(
            "the compiled service is {:.1} MiB: too large to load within services.{}.limits.memory = {} \
             (it needs about twice its size); raise the limit or make the service smaller",
            bundle.len() as f64 / (1 << 20) as f64,
            service.name,
            mote_manifest::format_size(service.limits.memory)
        ))));
    }
    Ok(())
}

/// A component may import `wasi:keyvalue` only with a KV binding (the
/// JavaScript engine, shared by every JavaScript service, is exempt: its
/// `env` simply lacks what is not bound).
fn check_grants(service: &Service, prepared: &Prepared) -> Result<(), ServiceError> {
    if service.runtime() != Runtime::Wasm {
        return Ok(());
    }
    let has_kv = service
        .bindings
        .values()
        .any(|b| matches!(b, Binding::Kv(_)));
    if let Some(import) = prepared
        .imports()
        .into_iter()
        .find(|i| i.starts_with("wasi:keyvalue/"))
        && !has_kv
    {
        return Err(ServiceError::Ungranted(format!(
            "the component imports {import} but the service has no KV binding: \
             add `bindings.NAME = {{ kv = \"NAMESPACE\" }}` to services.{} in mote.toml",
            service.name
        )));
    }
    Ok(())
}

/// One live app version.
pub struct AppVersion {
    /// The stored deployment record.
    pub deployment: Deployment,
    /// Its manifest.
    pub app: App,
    /// Its services by name.
    pub services: BTreeMap<String, Arc<ServiceVersion>>,
}

impl AppVersion {
    /// App name.
    pub fn name(&self) -> &str {
        &self.deployment.app
    }
    /// Version number.
    pub fn version(&self) -> u64 {
        self.deployment.version
    }

    /// The service that serves `path` among this app's own routes, hosts
    /// ignored (`mote invoke`). The table is built for the call: an app has
    /// a handful of routes, and keeping one per app cost ~5 KiB of memory
    /// each (the route table's persistent maps allocate whole nodes).
    pub fn route(&self, path: &str) -> Option<Arc<ServiceVersion>> {
        let mut routes = RouteTable::new();
        for (svc, r) in self.routes() {
            // Two routes differing only by host: the first is kept.
            let _ = routes.insert(route_pattern(r, true), svc.clone());
        }
        routes.lookup("", path).cloned()
    }

    /// Every route of every service, with its service.
    fn routes(&self) -> impl Iterator<Item = (&Arc<ServiceVersion>, &mote_manifest::Route)> {
        self.services
            .values()
            .flat_map(|svc| svc.spec.routes.iter().map(move |r| (svc, r)))
    }
}

/// What the data plane reads: every live app and the node-wide route table.
/// Both are persistent maps: the next view is derived from this one by
/// changing one app, at a cost that does not grow with the number of apps.
#[derive(Default, Clone)]
pub struct Live {
    /// Live apps by name.
    pub apps: imbl::OrdMap<String, Arc<AppVersion>>,
    /// host + path -> service version.
    pub routes: RouteTable<Arc<ServiceVersion>>,
}

impl Live {
    /// This view with `app` live in place of its previous version, if any.
    /// Its routes must have passed [`Registry::check_routes`] against this
    /// view.
    fn with_app(&self, app: Arc<AppVersion>) -> Live {
        let mut next = self.clone();
        next.put_app(app);
        next
    }

    /// This view without the app `name`.
    fn without_app(&self, name: &str) -> Live {
        let mut next = self.clone();
        next.remove_app(name);
        next
    }

    /// [`Live::with_app`] in place (a view nothing else shares is changed
    /// without copying).
    fn put_app(&mut self, app: Arc<AppVersion>) {
        self.remove_app(app.name());
        for (svc, r) in app.routes() {
            if let Err(c) = self.routes.insert(route_pattern(r, false), svc.clone()) {
                panic!("route {} was checked before the swap", c.pattern);
            }
        }
        self.apps.insert(app.name().to_string(), app);
    }

    fn remove_app(&mut self, name: &str) {
        if let Some(old) = self.apps.remove(name) {
            for (_, r) in old.routes() {
                self.routes.remove(&route_pattern(r, false));
            }
        }
    }
}

/// Live deployments plus the store behind them.
pub struct Registry {
    store: Arc<Store>,
    /// Loading, eviction and promotion of the services' code.
    lifecycle: Arc<Lifecycle>,
    /// The node's secrets and instance capacity, shared with every service.
    shared: Arc<Shared>,
    /// KV storage, outbound HTTP and service calls, for the services' grants.
    capabilities: Arc<Capabilities>,
    live: RwLock<Arc<Live>>,
    control: tokio::sync::Mutex<()>,
    /// The most a service's limits may be.
    max_limits: Limits,
}

fn route_pattern(r: &mote_manifest::Route, ignore_host: bool) -> Pattern {
    let host = if ignore_host { None } else { r.host.as_deref() };
    // `/*` is path "/" with a wildcard; the router reads it as the catch-all.
    Pattern::new(host, &r.path, r.wildcard).expect("manifest validated the route")
}

impl Registry {
    /// Open the store in the data directory and bring back every app's live
    /// version. An app that cannot be restored is logged and skipped; it
    /// never stops the node.
    pub async fn open(
        config: &NodeConfig,
        capabilities: Arc<Capabilities>,
    ) -> anyhow::Result<Registry> {
        let store = Arc::new(Store::open(&config.data_dir)?);
        let secrets = Arc::new(Secrets::open(&config.data_dir)?);
        let sandbox = Sandbox::new(&config.sandbox).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let loader = Arc::new(Loader::new(sandbox, store.clone()));
        let registry = Registry {
            store,
            lifecycle: Lifecycle::new(loader, config.lifecycle),
            shared: Arc::new(Shared {
                secrets,
                capacity: Capacity::new(request_capacity(config.sandbox.max_instances)),
            }),
            capabilities,
            live: RwLock::default(),
            control: tokio::sync::Mutex::new(()),
            max_limits: Limits {
                memory: config.max_limits.memory.min(config.sandbox.max_memory),
                ..config.max_limits
            },
        };
        let mut live = Live::default();
        for deployment in registry.store.current_all()? {
            let name = deployment.app.clone();
            // Lazily: each service is loaded at its first request.
            let restored = registry.restore(deployment, false).await.and_then(|app| {
                Self::check_routes(&live, &app.app)?;
                Ok(app)
            });
            match restored {
                Ok(app) => live.put_app(Arc::new(app)),
                Err(e) => {
                    tracing::error!(app = %name, error = %e, "cannot restore app; skipping it")
                }
            }
        }
        tracing::info!(apps = live.apps.len(), "restored deployments");
        *registry.live.write().unwrap() = Arc::new(live);
        Ok(registry)
    }

    /// The engine.
    pub fn sandbox(&self) -> &Sandbox {
        self.lifecycle.loader().sandbox()
    }

    /// The node's secrets.
    pub fn secrets(&self) -> &Arc<Secrets> {
        &self.shared.secrets
    }

    /// The lifecycle policy and its counters.
    pub fn lifecycle(&self) -> &Arc<Lifecycle> {
        &self.lifecycle
    }

    /// Every live service version.
    pub fn services(&self) -> Vec<Arc<ServiceVersion>> {
        self.live()
            .apps
            .values()
            .flat_map(|a| a.services.values().cloned())
            .collect()
    }

    /// Log each secret binding whose secret is not set on this node (the
    /// deploy goes ahead: the variable is absent until it is set).
    fn warn_unset_secrets(&self, app: &App) {
        for service in app.services.values() {
            for (name, binding) in &service.bindings {
                if let Binding::Secret(secret) = binding
                    && self.secrets().get(&app.name, secret).is_none()
                {
                    tracing::warn!(
                        app = %app.name,
                        service = %service.name,
                        binding = %name,
                        "secret {secret:?} is not set on this node; set it with `mote secret set {} {secret}`",
                        app.name
                    );
                }
            }
        }
    }

    /// The current live view (cheap: one `Arc` clone).
    pub fn live(&self) -> Arc<Live> {
        self.live.read().unwrap().clone()
    }

    /// Every kept version of an app and the live version number.
    pub fn versions(&self, app: &str) -> Result<(Vec<Deployment>, u64), DeployError> {
        Ok(self.store.versions(app)?)
    }

    /// Deploy a bundle, unless it is identical to the live version. Returns
    /// the live app and whether a new version was made.
    pub async fn deploy_if_changed(
        &self,
        bundle: Bundle,
    ) -> Result<(Arc<AppVersion>, bool), DeployError> {
        let (app, sources) = bundle.parse()?;
        if let Some(live) = self.live().apps.get(&app.name) {
            let same_sources = sources.len() == live.deployment.sources.len()
                && sources.iter().all(|(svc, bytes)| {
                    live.deployment.sources.get(svc) == Some(&mote_store::sha256_hex(bytes))
                });
            if same_sources && live.app == app {
                return Ok((live.clone(), false));
            }
        }
        Ok((self.deploy_parsed(app, sources).await?, true))
    }

    /// Deploy a bundle for the app named `name` (as in the admin URL).
    pub async fn deploy(&self, name: &str, bundle: Bundle) -> Result<Arc<AppVersion>, DeployError> {
        let (app, sources) = bundle.parse()?;
        if app.name != name {
            return Err(DeployError::NameMismatch {
                manifest: app.name,
                url: name.to_string(),
            });
        }
        self.deploy_parsed(app, sources).await
    }

    async fn deploy_parsed(
        &self,
        app: App,
        sources: BTreeMap<String, Vec<u8>>,
    ) -> Result<Arc<AppVersion>, DeployError> {
        for svc in app.services.values() {
            svc.limits
                .check_within(&self.max_limits)
                .map_err(|e| DeployError::AboveNodeLimit(format!("services.{}.{e}", svc.name)))?;
        }
        let _guard = self.control.lock().await;
        let current = self.live();
        // Routes first: cheap, and a conflict should not cost a compile.
        Self::check_routes(&current, &app)?;

        let mut prepared = BTreeMap::new();
        for (name, bytes) in &sources {
            let sha = mote_store::sha256_hex(bytes);
            let p = self
                .lifecycle
                .loader()
                .load(&sha, Some(bytes), app.services[name].runtime())
                .await
                .and_then(|p| {
                    check_grants(&app.services[name], &p.prepared)?;
                    check_fits(&app.services[name], &p)?;
                    Ok(p)
                })
                .map_err(|error| DeployError::Load {
                    service: name.clone(),
                    source_path: app.services[name].source.display().to_string(),
                    error,
                })?;
            prepared.insert(name.clone(), p);
        }
        self.warn_unset_secrets(&app);
        let manifest = serde_json::to_value(&app).expect("manifest serialises");
        let deployment = self.store.deploy(&app.name, manifest, &sources)?;
        let version = Arc::new(self.assemble(deployment, app, prepared));
        self.swap(current.with_app(version.clone()));
        Ok(version)
    }

    /// Make the previous version live again.
    pub async fn rollback(&self, name: &str) -> Result<Arc<AppVersion>, DeployError> {
        let _guard = self.control.lock().await;
        let (versions, current) = self.store.versions(name)?;
        let target = versions
            .into_iter()
            .rfind(|d| d.version < current)
            .ok_or_else(|| StoreError::NoEarlierVersion(name.to_string()))?;
        // Prepare before touching the store, so a failure changes nothing.
        let current = self.live();
        // Loaded now, so that a rollback that cannot load changes nothing.
        let restored = self.restore(target, true).await?;
        Self::check_routes(&current, &restored.app)?;
        let deployment = self.store.rollback(name)?;
        debug_assert_eq!(deployment.version, restored.version());
        let restored = Arc::new(restored);
        self.swap(current.with_app(restored.clone()));
        Ok(restored)
    }

    /// Stop serving an app and delete it from the store.
    pub async fn delete(&self, name: &str) -> Result<(), DeployError> {
        let _guard = self.control.lock().await;
        self.store.delete(name)?;
        self.swap(self.live().without_app(name));
        Ok(())
    }

    fn swap(&self, live: Live) {
        *self.live.write().unwrap() = Arc::new(live);
    }

    /// Whether `app`'s routes are free in `live`: taken by no other app
    /// (the app's own previous version gives its routes up).
    fn check_routes(live: &Live, app: &App) -> Result<(), DeployError> {
        for (svc, r) in app.routes() {
            if let Some(existing) = live.routes.get(&route_pattern(r, false))
                && existing.app != app.name
            {
                return Err(DeployError::RouteConflict(format!(
                    "route \"{r}\" of service \"{}\" is already served by service \"{}\" of app \"{}\"",
                    svc.name, existing.name, existing.app
                )));
            }
        }
        Ok(())
    }

    fn assemble(
        &self,
        deployment: Deployment,
        app: App,
        mut loaded: BTreeMap<String, Loaded>,
    ) -> AppVersion {
        let mut services = BTreeMap::new();
        for (name, spec) in &app.services {
            let sha = deployment.sources[name].clone();
            let code = self
                .lifecycle
                .code(sha.clone(), spec.runtime(), loaded.remove(name));
            let grants = self.capabilities.grants(&app.name, spec);
            let svc = Arc::new(ServiceVersion::new(
                &app.name,
                deployment.version,
                sha,
                spec.clone(),
                code,
                grants,
                self.shared.clone(),
            ));
            services.insert(name.clone(), svc);
        }
        AppVersion {
            deployment,
            app,
            services,
        }
    }

    /// Rebuild a stored deployment: at start-up lazily (each service is
    /// loaded at its first request), for a rollback with every service
    /// loaded now (`eager`).
    async fn restore(
        &self,
        deployment: Deployment,
        eager: bool,
    ) -> Result<AppVersion, DeployError> {
        let app: App = serde_json::from_value(deployment.manifest.clone())
            .map_err(|e| StoreError::Db(format!("stored manifest of {}: {e}", deployment.app)))?;
        let mut loaded = BTreeMap::new();
        for (name, sha) in &deployment.sources {
            let service = app.services.get(name).ok_or_else(|| {
                StoreError::Db(format!(
                    "stored manifest of {} lacks service {name}",
                    deployment.app
                ))
            })?;
            if !eager {
                continue;
            }
            let p = self
                .lifecycle
                .loader()
                .load(sha, None, service.runtime())
                .await
                .map_err(|error| DeployError::Load {
                    service: name.clone(),
                    source_path: service.source.display().to_string(),
                    error,
                })?;
            loaded.insert(name.clone(), p);
        }
        Ok(self.assemble(deployment, app, loaded))
    }
}

/// Instances requests may hold at once: the sandbox's pool, less a few
/// (up to 8, a quarter of a small pool) for the node's own work: JavaScript
/// compiles and snapshots.
fn request_capacity(max_instances: u32) -> u32 {
    max_instances
        .saturating_sub((max_instances / 4).min(8))
        .max(1)
}
