//! `mote serve`: runs a node.

use std::io::IsTerminal;

use anyhow::{Context, Result};
use mote_node::NodeConfig;
use mote_node::SandboxConfig;
use mote_node::lifecycle::LifecycleConfig;
use tracing_subscriber::EnvFilter;

use crate::cli::{KvBackend, LogFormat, ServeArgs};

pub fn run(args: ServeArgs, quiet: bool) -> Result<()> {
    // Wasmtime builds an error value while tearing down every instance; with
    // RUST_BACKTRACE set, each would capture a backtrace (~20-30 % of
    // throughput). Library backtraces stay off unless asked for explicitly.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called before the runtime or any other thread starts.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => crate::default_data_dir()
            .context("no data directory: HOME is not set; pass --data-dir")?,
    };
    let _flush_logs_on_exit = init_tracing(args.log_format, quiet);
    let config = NodeConfig {
        listen: args.listen,
        admin: args.admin,
        data_dir,
        apps: args.apps,
        kv: match args.kv {
            KvBackend::Embedded => None,
            KvBackend::Redis(url) => Some(url),
        },
        sandbox: SandboxConfig {
            max_instances: args.max_instances,
            ..SandboxConfig::default()
        },
        max_limits: {
            let mut max = mote_manifest::Limits::node_maximum();
            for (key, value) in &args.limit_max {
                max.set(key, value).map_err(anyhow::Error::msg)?;
            }
            max
        },
        lifecycle: LifecycleConfig {
            idle: args.idle_timeout,
            budget: args.memory_budget,
            promote_after: args.promote_after,
            release_idle_memory: args.release_idle_memory_after,
        },
        ..NodeConfig::default()
    };
    let config = match args.threads {
        Some(n) => NodeConfig {
            threads: n.into(),
            ..config
        },
        None => config,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(mote_node::run(config))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`, or `warn` with
/// `--quiet`). Lines are written by a dedicated thread through a buffer that
/// is flushed whenever the queue runs empty, so request threads never wait
/// on the terminal or a pipe; nothing is dropped (a full queue applies
/// back-pressure instead). The returned guard flushes what is left on exit.
fn init_tracing(format: LogFormat, quiet: bool) -> tracing_appender::non_blocking::WorkerGuard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(if quiet { "warn" } else { "info" }));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("mote-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().init(),
    }
    guard
}
