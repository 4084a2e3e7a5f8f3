//! The Mote node: the composition root.
//!
//! It wires the request path together — [`dataplane`] (hyper) -> router
//! ([`mote_router`]) -> [`pool`] (per service version: admission, and its
//! code, loaded, evicted and promoted by the [`lifecycle`] through the
//! [`loader`]) -> sandbox ([`mote_sandbox`]) — and the control plane beside it:
//! the [`registry`] of live deployments backed by the durable store
//! ([`mote_store`]), and the [`admin`] API. Each module owns one concern;
//! none of them is a god object.

pub mod admin;
pub mod bindings;
pub mod bundle;
mod config;
mod corked;
pub mod dataplane;
pub mod errors;
pub mod lifecycle;
mod limited;
pub mod loader;
pub mod pool;
pub mod registry;
mod token;

pub use config::NodeConfig;
pub use mote_sandbox::SandboxConfig;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::registry::Registry;

/// A running node: its bound addresses and a way to stop it.
pub struct Node {
    data_addr: SocketAddr,
    admin_addr: SocketAddr,
    registry: Arc<Registry>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Node {
    /// Open the data directory, restore every deployed app, deploy the
    /// `--app` folders, and start both listeners.
    pub async fn start(config: NodeConfig) -> anyhow::Result<Node> {
        let capabilities = bindings::Capabilities::new(&config)?;
        let registry = Arc::new(Registry::open(&config, capabilities.clone()).await?);
        capabilities.attach(&registry);
        for dir in &config.apps {
            let bundle = bundle::Bundle::from_dir(dir)?;
            let (app, changed) = registry
                .deploy_if_changed(bundle)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!(
                app = %app.name(),
                version = app.version(),
                changed,
                "app from {} is live",
                dir.display()
            );
        }
        let token = token::load_or_create(&config.data_dir)?;

        let threads = config.threads.max(1);
        let data = dataplane::bind(config.listen, threads)
            .with_context(|| format!("cannot listen on {} (data plane)", config.listen))?;
        let admin = TcpListener::bind(config.admin)
            .await
            .with_context(|| format!("cannot listen on {} (admin API)", config.admin))?;
        let data_addr = data[0].local_addr()?;
        let admin_addr = admin.local_addr()?;
        let (shutdown, rx) = watch::channel(false);

        let dp = dataplane::DataPlane::new(registry.clone(), &config);
        let mut tasks = dp.clone().spawn_threads(data, rx.clone(), config.drain)?;
        tasks.push(tokio::spawn({
            // Weak: the lifecycle keeps this for the registry's lifetime.
            let weak = Arc::downgrade(&registry);
            let services = move || weak.upgrade().map_or_else(Vec::new, |r| r.services());
            registry.lifecycle().clone().run(services, rx.clone())
        }));
        tasks.push(tokio::spawn(admin::serve(
            admin,
            admin::AdminState::new(registry.clone(), dp, token, &config),
            rx,
        )));
        tracing::info!(%data_addr, %admin_addr, threads, data_dir = %config.data_dir.display(), allocator = ?registry.sandbox().allocator(), "mote node started");
        Ok(Node {
            data_addr,
            admin_addr,
            registry,
            shutdown,
            tasks,
        })
    }

    /// Where the data plane listens.
    pub fn data_addr(&self) -> SocketAddr {
        self.data_addr
    }

    /// Where the admin API listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The live deployments.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Stop accepting connections, let in-flight requests finish (up to the
    /// drain deadline), then return.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Run a node until SIGINT or SIGTERM, then drain and return.
pub async fn run(config: NodeConfig) -> anyhow::Result<()> {
    let node = Node::start(config).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down: draining in-flight requests");
    node.shutdown().await;
    Ok(())
}
