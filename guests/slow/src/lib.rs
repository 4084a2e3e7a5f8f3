//! `slow`: waits N milliseconds (N from `?ms=N`, default 1000) on the
//! `wasi:clocks` monotonic clock, then answers 200 "done". The guest is idle
//! (blocked in the host) while it waits: it uses wall-clock time, not CPU.

use mote_guest_common::{path_with_query, query_u64, respond_text};
use wasi::clocks::monotonic_clock::subscribe_duration;
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct Slow;

impl Guest for Slow {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let ms = query_u64(&path_with_query(&request), "ms", 1000);
        subscribe_duration(ms.saturating_mul(1_000_000)).block();
        respond_text(out, 200, "done");
    }
}

wasi::http::proxy::export!(Slow);
