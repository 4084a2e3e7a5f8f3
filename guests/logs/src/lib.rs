//! `logs`: prints `stdout line {i}` for i in 0..N (N from `?n=N`, default 3)
//! to stdout and `stderr line` to stderr, then answers 200 "logged".

use mote_guest_common::{path_with_query, query_u64, respond_text};
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

struct Logs;

impl Guest for Logs {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let n = query_u64(&path_with_query(&request), "n", 3);
        for i in 0..n {
            println!("stdout line {i}");
        }
        eprintln!("stderr line");
        respond_text(out, 200, "logged");
    }
}

wasi::http::proxy::export!(Logs);
