//! `spin`: burns CPU and never answers; with `?ms=N` it burns CPU for N
//! milliseconds of wall time and then answers "spun". The host's CPU
//! deadline (epoch interruption) must stop the first kind.

use mote_guest_common::{path_with_query, query_u64, respond_text};
use wasi::clocks::monotonic_clock::now;
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct Spin;

impl Guest for Spin {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let ms = query_u64(&path_with_query(&request), "ms", u64::MAX);
        let until = now().saturating_add(ms.saturating_mul(1_000_000));
        let mut x = 0u64;
        while now() < until {
            for _ in 0..1000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        respond_text(out, 200, "spun");
    }
}

wasi::http::proxy::export!(Spin);
