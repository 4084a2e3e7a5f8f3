//! End-to-end tests: the real `mote` binary, real HTTP over 127.0.0.1, real
//! WebAssembly guests built from `guests/`.

mod harness;

mod admin;
mod bindings;
mod deploy;
mod hostile;
mod javascript;
mod lifecycle;
mod limits;
mod secrets;
mod serving;
