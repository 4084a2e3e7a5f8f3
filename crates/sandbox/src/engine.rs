//! Engine set-up: pooling allocator with an on-demand fallback, copy-on-write
//! memory images, and the epoch ticker behind CPU deadlines.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::LoadError;
use crate::exec::Prepared;
use crate::host::Host;

/// Node-wide sandbox settings.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// How many instances may exist at once (sizes the pooling allocator).
    pub max_instances: u32,
    /// The largest memory any one instance may be given (the pool's slot size).
    pub max_memory: u64,
    /// Epoch tick: how often a running guest's CPU time is checked against
    /// its limit, and how often it yields its thread.
    pub tick: Duration,
    /// Use the pooling allocator when it can be set up (`false` forces on-demand).
    pub pooling: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            max_instances: 1000,
            max_memory: 1 << 30,
            tick: Duration::from_millis(1),
            pooling: true,
        }
    }
}

/// Which instance allocator the engine ended up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocatorKind {
    /// Pre-reserved slots, reused across requests (fast instantiation).
    Pooling,
    /// mmap per instance: the fallback where the pool's address space cannot be reserved.
    OnDemand,
}

struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The node's one Wasmtime engine, its linker and its epoch ticker.
/// Cloning is cheap and shares all three.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<Host>,
    allocator: AllocatorKind,
    pub(crate) tick: Duration,
    max_memory: u64,
    _ticker: Arc<Ticker>,
}

/// The native stack a guest may use (Wasmtime's default is 512 KiB).
pub const MAX_WASM_STACK: usize = 8 << 20;

fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.memory_init_cow(true);
    // Guests are `wasi:http` p2 components, called one export at a time:
    // none of the component-model-async machinery is needed, and without it
    // every call skips the concurrent-call bookkeeping (and every Store its
    // set-up).
    config.concurrency_support(false);
    // Room for deep native recursion (QuickJS's parser and JSON run C code
    // recursively): the JavaScript engine's own stack limit then trips
    // first, as a catchable RangeError, instead of a trap. Only the pages a
    // request touches are used. See engines/js/README.md, "Deep recursion".
    config.max_wasm_stack(MAX_WASM_STACK);
    config.async_stack_size(MAX_WASM_STACK + (1 << 20));
    // `MOTE_PERFMAP=1` names guest functions for `perf` (/tmp/perf-PID.map);
    // bench/profile sets it.
    if std::env::var_os("MOTE_PERFMAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

fn pooling_config(cfg: &SandboxConfig) -> PoolingAllocationConfig {
    let n = cfg.max_instances;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(8))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(4))
        .total_stacks(n)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_core_instances_per_component(16)
        .max_memory_size(cfg.max_memory as usize)
        // Keep the first pages of each slot resident between instances so
        // that re-initialising a slot is a memset, not page faults.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto);
    pool
}

impl Sandbox {
    /// Build the engine. With `cfg.pooling` the pooling allocator is tried
    /// first and, if its address space cannot be reserved here, the engine
    /// falls back to on-demand allocation (logged, and reported by
    /// [`Sandbox::allocator`]).
    pub fn new(cfg: &SandboxConfig) -> Result<Self, wasmtime::Error> {
        let mut engine = None;
        if cfg.pooling {
            let mut config = base_config();
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(cfg)));
            match Engine::new(&config) {
                Ok(e) => engine = Some((e, AllocatorKind::Pooling)),
                Err(err) => tracing::warn!(
                    error = %err,
                    "pooling allocator unavailable; falling back to on-demand allocation"
                ),
            }
        }
        let (engine, allocator) = match engine {
            Some(e) => e,
            None => (Engine::new(&base_config())?, AllocatorKind::OnDemand),
        };

        crate::offload::start();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::grants::add_to_linker(&mut linker)?;

        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let engine = engine.clone();
            let stop = stop.clone();
            let tick = cfg.tick;
            std::thread::Builder::new()
                .name("mote-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        engine.increment_epoch();
                    }
                })
                .map_err(wasmtime::Error::from)?
        };

        Ok(Sandbox {
            engine,
            linker,
            allocator,
            tick: cfg.tick,
            max_memory: cfg.max_memory,
            _ticker: Arc::new(Ticker {
                stop,
                thread: Some(thread),
            }),
        })
    }

    /// The Wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Which allocator is in use.
    pub fn allocator(&self) -> AllocatorKind {
        self.allocator
    }

    /// Give back the pages that unused instance slots keep resident, for the
    /// slots that were already unused at the previous call: a linear memory's
    /// slot keeps up to 1 MiB (so that the next instance starts without page
    /// faults), a stack whatever its deepest use touched (stacks are not
    /// zeroed between instances). A burst of instances leaves that memory
    /// behind otherwise. Returns the bytes the memory slots released (what a
    /// stack held is not known); 0 with the on-demand allocator, which keeps
    /// nothing. Called periodically by the node
    /// (`--release-idle-memory-after`).
    pub fn release_idle_memory(&self) -> u64 {
        self.engine.trim_idle_pool_slots() as u64
    }

    /// Bytes that unused instance slots keep resident now.
    pub fn idle_resident_bytes(&self) -> u64 {
        self.engine
            .pooling_allocator_metrics()
            .map_or(0, |m| m.unused_memory_bytes_resident() as u64)
    }

    /// The largest memory limit an instance may be given.
    pub fn max_memory(&self) -> u64 {
        self.max_memory
    }

    /// A key that changes whenever compiled code from an earlier engine can no
    /// longer be loaded (Wasmtime version, settings, CPU features). Use it to
    /// name on-disk compiled artifacts.
    pub fn compatibility_key(&self) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut h);
        format!("{:016x}", h.finish())
    }

    /// Compile a component from its `.wasm` bytes.
    pub fn compile(&self, wasm: &[u8]) -> Result<Component, LoadError> {
        if is_core_module(wasm) {
            return Err(core_module_error());
        }
        Component::new(&self.engine, wasm).map_err(|e| LoadError::Invalid(first_line(&e)))
    }

    /// Compile to the engine's native format, for the on-disk cache.
    pub fn precompile(&self, wasm: &[u8]) -> Result<Vec<u8>, LoadError> {
        if is_core_module(wasm) {
            return Err(core_module_error());
        }
        self.engine
            .precompile_component(wasm)
            .map_err(|e| LoadError::Invalid(first_line(&e)))
    }

    /// Load code produced by [`Sandbox::precompile`].
    ///
    /// # Safety
    /// `bytes` must come from [`Sandbox::precompile`] of an engine with the
    /// same [`Sandbox::compatibility_key`], stored where only the node writes
    /// (Wasmtime trusts precompiled code: it is machine code).
    pub unsafe fn load_precompiled(&self, bytes: &[u8]) -> Result<Component, LoadError> {
        unsafe { Component::deserialize(&self.engine, bytes) }
            .map_err(|e| LoadError::Invalid(first_line(&e)))
    }

    /// Link a compiled component against the proxy world once, so each request
    /// only instantiates.
    pub fn prepare(&self, component: &Component) -> Result<Prepared, LoadError> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(|e| LoadError::NotAProxy(first_line(&e)))?;
        let pre = ProxyPre::new(pre).map_err(|e| LoadError::NotAProxy(first_line(&e)))?;
        Ok(Prepared::new(pre, self.tick))
    }
}

fn core_module_error() -> LoadError {
    LoadError::Invalid(
        "this is a core WebAssembly module, not a component; build for wasm32-wasip2 \
         or wrap it with `wasm-tools component new`"
            .into(),
    )
}

fn is_core_module(wasm: &[u8]) -> bool {
    wasm.len() >= 8 && &wasm[0..4] == b"\0asm" && wasm[4..8] == [1, 0, 0, 0]
}

fn first_line(e: &wasmtime::Error) -> String {
    let mut msg = format!("{e:#}");
    if let Some(i) = msg.find('\n') {
        msg.truncate(i);
    }
    msg
}
