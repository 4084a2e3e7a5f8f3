//! Mote's sandbox: where a request meets WebAssembly.
//!
//! One [`Sandbox`] owns one Wasmtime [`wasmtime::Engine`] for the whole node:
//! the pooling instance allocator (falling back to on-demand allocation when
//! the address space is too small for the pool), copy-on-write memory images,
//! an epoch ticker that enforces CPU deadlines, and per-store memory limits.
//!
//! A service version is compiled once ([`Sandbox::compile`] or, from the
//! on-disk cache, [`Sandbox::load_precompiled`]) and prepared once
//! ([`Sandbox::prepare`], an `InstancePre`). Every request then gets a
//! **fresh instance** in a fresh `Store` ([`Prepared::handle`]), so nothing a
//! guest leaves in memory is visible to the next request.
//!
//! The sandbox knows no manifest: it is given limits, environment variables
//! and [`Grants`] (KV namespaces by binding name, and an [`OutgoingHttp`]
//! hook the node implements) and runs a `wasi:http/incoming-handler`
//! component. It links `wasi:keyvalue` and `mote:host` (`wit/host.wit`) for
//! every component; with no grants, every call to them is refused.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mote_sandbox::{Sandbox, SandboxConfig, Invocation, InstanceLimits};
//! let sandbox = Sandbox::new(&SandboxConfig::default())?;
//! let wasm = std::fs::read("hello.wasm")?;
//! let component = sandbox.compile(&wasm)?;
//! let prepared = sandbox.prepare(&component)?;
//! let request = http::Request::get("http://localhost/hello")
//!     .body(mote_sandbox::empty_body())?;
//! let (response, completion) = prepared
//!     .handle(request, Invocation::new(InstanceLimits::default()))
//!     .await;
//! println!("{:?}", response?.status());
//! println!("{:?}", completion.wait().await.outcome);
//! # Ok(()) }
//! ```

mod calls;
mod engine;
mod exec;
mod grants;
mod host;
mod logs;
mod offload;

pub use engine::{AllocatorKind, Sandbox, SandboxConfig};
pub use exec::{Completion, CompletionHandle, Invocation, Outcome, Prepared, Warm};
pub use grants::{Chain, Grants, OutgoingHttp};
pub use host::InstanceLimits;
pub use logs::CapturedLogs;
pub use offload::{between_bulk_turns, in_background};

use bytes::Bytes;
use http_body_util::BodyExt;

/// The body type the sandbox consumes and produces (Wasmtime's `wasi:http` body).
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// The error type carried by request and response bodies.
pub use wasmtime_wasi_http::Error as BodyError;

/// An empty [`Body`].
pub fn empty_body() -> Body {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A [`Body`] holding `bytes`.
pub fn full_body(bytes: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Why a component could not be compiled or prepared.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a valid WebAssembly component (a core module, a
    /// truncated file, or a component this engine cannot compile).
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// The component does not fit the `wasi:http` proxy world: it does not
    /// export `wasi:http/incoming-handler` or imports something Mote does not
    /// provide.
    #[error("component does not implement wasi:http/incoming-handler: {0}")]
    NotAProxy(String),
}

/// Why a request did not produce a response from the guest.
///
/// The node maps each variant to an HTTP status in one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// The guest used more CPU time than its limit.
    #[error("CPU time limit of {0:?} exceeded")]
    CpuLimit(std::time::Duration),
    /// The request took longer than its wall-clock limit.
    #[error("wall-clock limit of {0:?} exceeded")]
    Timeout(std::time::Duration),
    /// The guest tried to grow its memory beyond its limit and crashed.
    #[error("memory limit of {} MiB exceeded", .0 / (1024 * 1024))]
    MemoryLimit(u64),
    /// The guest trapped (a panic, `unreachable`, an out-of-bounds access).
    #[error("the service crashed: {0}")]
    Trap(String),
    /// The guest returned without setting a response.
    #[error("the service returned no response")]
    NoResponse,
    /// The guest answered with an HTTP error code instead of a response.
    #[error("the service answered with an error: {0}")]
    Guest(String),
    /// The guest reported an internal error instead of a response
    /// (`wasi:http` `internal-error`; the JavaScript tier's uncaught
    /// exceptions). The text is the guest's own.
    #[error("the service failed: {0}")]
    Internal(String),
    /// The node could not create an instance (for example the instance pool
    /// is exhausted).
    #[error("no sandbox capacity: {0}")]
    Capacity(String),
}
