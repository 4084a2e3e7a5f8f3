//! `slow`: waits N milliseconds (N from `?ms=N`, default 1000) on the
//! `wasi:clocks` monotonic clock, `?times=K` times over (default once), then
//! answers 200 "done". The guest is idle (blocked in the host) while it
//! waits: it uses wall-clock time, not CPU.

use mote_guest_common::{path_with_query, query_u64, respond_text};
use wasi::clocks::monotonic_clock::subscribe_duration;
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct Slow;

impl Guest for Slow {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let query = path_with_query(&request);
        let ms = query_u64(&query, "ms", 1000);
        for _ in 0..query_u64(&query, "times", 1) {
            subscribe_duration(ms.saturating_mul(1_000_000)).block();
        }
        respond_text(out, 200, "done");
    }
}

wasi::http::proxy::export!(Slow);
