//! Mote's JavaScript engine: QuickJS (through rquickjs) as a `wasi:http`
//! component.
//!
//! The node uses the component in three ways (see docs/ARCHITECTURE.md):
//!
//! * `wizer-initialize`: run once by the node under `wasmtime-wizer`; builds
//!   the QuickJS runtime and context and evaluates the platform's built-in
//!   APIs. The memory snapshot taken afterwards is what every request starts
//!   from. A second call is a no-op (the export stays in the snapshot).
//! * `wizer-preload`: the same, then loads the bundle on stdin (the
//!   service's module is evaluated): the node snapshots this for a hot
//!   service ("promotion"), so its requests skip loading. Its requests then
//!   find the engine loaded and read nothing from stdin.
//! * `compile(entry, files)`: run at deploy time; resolves the service's
//!   module graph from `entry` among the app's `files` and returns an opaque
//!   bundle (QuickJS bytecode). Errors read `file:line:column: message`.
//! * `wasi:http/incoming-handler.handle`: per request, in a fresh instance of
//!   the snapshot; reads the bundle from stdin, loads it, reseeds what the
//!   snapshot froze, and calls the service's `fetch` handler.
//!
//! Everything except the WASI glue (`wasi_glue`) is target independent, so
//! the engine's JavaScript behaviour can be tested natively with `cargo test`.

pub mod bundle;
pub mod compile;
pub mod engine;
mod host_natives;
mod lexer;
mod native;

pub use engine::{BindingKind, Engine, Host, HttpRequest, HttpResponse, KvOp, KvReply};

#[cfg(target_arch = "wasm32")]
mod outgoing;
#[cfg(target_arch = "wasm32")]
mod wasi_glue;
