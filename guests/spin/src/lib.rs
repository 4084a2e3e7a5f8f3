//! `spin`: burns CPU forever and never answers. The host's CPU deadline
//! (epoch interruption) must stop it.

use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct Spin;

impl Guest for Spin {
    fn handle(_request: IncomingRequest, _out: ResponseOutparam) {
        let mut x = 0u64;
        loop {
            // `black_box` keeps the loop (and its work) from being optimised away.
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

wasi::http::proxy::export!(Spin);
