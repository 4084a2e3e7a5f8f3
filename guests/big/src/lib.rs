//! `big`: answers a body of N bytes of `x` (N from `?bytes=N`, default 1 MiB),
//! written in pieces, with a matching `content-length`.

use mote_guest_common::{Response, path_with_query, query_u64};
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

const CHUNK: usize = 64 * 1024;

struct Big;

impl Guest for Big {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let total = query_u64(&path_with_query(&request), "bytes", 1 << 20);
        let len = total.to_string();
        let mut response = Response::start(
            out,
            200,
            &[
                ("content-type", b"application/octet-stream"),
                ("content-length", len.as_bytes()),
            ],
        );
        let chunk = vec![b'x'; CHUNK];
        let mut left = total;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            if !response.write(&chunk[..n]) {
                return;
            }
            left -= n as u64;
        }
        response.finish();
    }
}

wasi::http::proxy::export!(Big);
