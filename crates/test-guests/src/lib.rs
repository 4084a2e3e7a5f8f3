//! Mote's test guests, built and ready to load.
//!
//! The build script of this crate builds the guests workspace (`<repo>/guests`,
//! WebAssembly components implementing `wasi:http/incoming-handler`) for
//! `wasm32-wasip2` and exposes the absolute path of each component as a
//! constant named after the guest's package: [`HELLO`], [`ECHO`],
//! [`COUNTER`], [`SPIN`], [`HOG`], [`TRAP`], [`LOGS`], [`BIG`], [`SLOW`],
//! [`VERSION2`], [`FETCH`], [`KV`]. What each guest does is described in its
//! `guests/<name>/src/lib.rs`.
//!
//! ```no_run
//! let component: Vec<u8> = std::fs::read(mote_test_guests::HELLO).unwrap();
//! ```
//!
//! Building this crate needs the `wasm32-wasip2` target
//! (`rustup target add wasm32-wasip2`).

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// Every guest as `(package name, component path)`, sorted by name.
pub fn all() -> &'static [(&'static str, &'static str)] {
    ALL
}

/// The component path of the guest named `name` (its package name).
pub fn get(name: &str) -> Option<&'static str> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, path)| *path)
}
