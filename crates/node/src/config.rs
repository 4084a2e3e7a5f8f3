//! Node settings and their defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mote_manifest::Limits;
use mote_sandbox::SandboxConfig;

use crate::lifecycle::LifecycleConfig;

/// Settings of one node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Data-plane listener (default 127.0.0.1:8080).
    pub listen: SocketAddr,
    /// Admin API listener (default 127.0.0.1:8081).
    pub admin: SocketAddr,
    /// Data directory: deployment store, compiled-code cache, admin token.
    pub data_dir: PathBuf,
    /// App folders to deploy at start-up (`mote serve --app DIR`).
    pub apps: Vec<PathBuf>,
    /// Engine and instance-pool settings.
    pub sandbox: SandboxConfig,
    /// Largest deploy archive the admin API accepts (default 256 MiB).
    pub max_upload: u64,
    /// When services' code is loaded, evicted and promoted.
    pub lifecycle: LifecycleConfig,
    /// The most each service's limits may be set to (a deploy above them is
    /// refused); memory is further capped by the sandbox's slot size.
    pub max_limits: Limits,
    /// How long shutdown waits for in-flight requests (default 30 s).
    pub drain: Duration,
    /// How long a client may take to send request headers (default 10 s).
    pub header_timeout: Duration,
    /// Data-plane threads, each with its own runtime and listening socket
    /// (default: one per CPU).
    pub threads: usize,
    /// KV storage: `None` for the embedded store in the data directory
    /// (`kv.redb`, the default), or a `redis://` URL.
    pub kv: Option<String>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            listen: ([127, 0, 0, 1], 8080).into(),
            admin: ([127, 0, 0, 1], 8081).into(),
            data_dir: PathBuf::from(".mote"),
            apps: Vec::new(),
            sandbox: SandboxConfig::default(),
            max_upload: 256 << 20,
            lifecycle: LifecycleConfig::default(),
            max_limits: Limits::node_maximum(),
            drain: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            kv: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}
