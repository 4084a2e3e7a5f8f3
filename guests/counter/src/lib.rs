//! `counter`: increments a counter kept in the guest's own linear memory and
//! answers its new value as text. Each request runs in a fresh instance, so
//! the answer is always "1"; anything else means an instance was reused.

use std::sync::atomic::{AtomicU32, Ordering};

use mote_guest_common::respond_text;
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

static COUNTER: AtomicU32 = AtomicU32::new(0);

struct Counter;

impl Guest for Counter {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        respond_text(out, 200, &n.to_string());
    }
}

wasi::http::proxy::export!(Counter);
