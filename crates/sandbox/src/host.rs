//! The per-request state a `Store` carries: WASI context, `wasi:http`
//! context, the resource table, the memory limiter and the CPU meter.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::grants::Outgoing;
use crate::logs::LogPipe;
use crate::offload::Turn;

/// Limits that apply to one instance handling one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceLimits {
    /// Maximum linear memory (bytes), all memories of the instance together.
    pub memory: u64,
    /// CPU time the guest may spend executing WebAssembly.
    pub cpu: Duration,
    /// Wall-clock time for the whole request, response body included.
    pub timeout: Duration,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        InstanceLimits {
            memory: 64 << 20,
            cpu: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Enforces the memory limit and remembers that it was hit, so that the
/// trap which usually follows (an allocator abort) is reported as what it is.
pub(crate) struct MemoryLimiter {
    pub(crate) limit: u64,
    pub(crate) used: u64,
    /// Set when a growth was refused; shared, so that whoever waits for the
    /// response can read it while the guest is still running.
    pub(crate) denied: Arc<AtomicBool>,
}

impl MemoryLimiter {
    pub(crate) fn new(limit: u64) -> Self {
        MemoryLimiter {
            limit,
            used: 0,
            denied: Arc::default(),
        }
    }

    /// Whether a growth was refused.
    pub(crate) fn was_denied(&self) -> bool {
        self.denied.load(Ordering::Relaxed)
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = (desired - current) as u64;
        if self.used + growth > self.limit {
            self.denied.store(true, Ordering::Relaxed);
            return Ok(false);
        }
        self.used += growth;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The `T` of every `Store<T>`.
pub(crate) struct Host {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    /// The service's grants and this request's use of them.
    pub(crate) outgoing: Outgoing,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) cpu_ticks: u64,
    pub(crate) cpu_exceeded: bool,
    /// The CPU time the guest has used, and whether it has run long enough
    /// to leave the request thread (see `offload`).
    pub(crate) turn: Arc<Turn>,
    pub(crate) stdout: LogPipe,
    pub(crate) stderr: LogPipe,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outgoing,
        }
    }
}
