//! `version2`: like `hello` but answers "Hello v2\n"; the second version of a
//! service in redeploy tests.

use mote_guest_common::respond_text;
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct Version2;

impl Guest for Version2 {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        respond_text(out, 200, "Hello v2\n");
    }
}

wasi::http::proxy::export!(Version2);
