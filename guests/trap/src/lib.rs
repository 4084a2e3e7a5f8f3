//! `trap`: writes a line to stderr, then panics with "boom". Guests are built
//! with `panic = "abort"`, so the panic becomes a wasm trap.

use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct Trap;

impl Guest for Trap {
    fn handle(_request: IncomingRequest, _out: ResponseOutparam) {
        eprintln!("about to panic");
        panic!("boom");
    }
}

wasi::http::proxy::export!(Trap);
