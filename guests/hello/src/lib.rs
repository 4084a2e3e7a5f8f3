//! `hello`: answers every request with `200 text/plain` "Hello from Mote!\n".

use mote_guest_common::respond_text;
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct Hello;

impl Guest for Hello {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        respond_text(out, 200, "Hello from Mote!\n");
    }
}

wasi::http::proxy::export!(Hello);
