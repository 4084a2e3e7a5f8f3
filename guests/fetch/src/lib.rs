//! `fetch`: tries an outgoing HTTP request to the URL in `?url=` (default
//! `http://127.0.0.1:9/`) and answers 200 with what happened: `denied: <error>`
//! when the host refuses it, or `status <N>: <body>` when it was sent. Mote
//! grants no outbound access unless the manifest lists the origin (or, for
//! `http://<binding>.internal/`, binds the service).

use mote_guest_common::{path_with_query, query_param, respond_text};
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, IncomingRequest, OutgoingRequest, ResponseOutparam, Scheme};

struct Fetch;

/// The whole of a response body, as text.
fn read_all(body: wasi::http::types::IncomingBody) -> String {
    let mut bytes = Vec::new();
    if let Ok(stream) = body.stream() {
        while let Ok(chunk) = stream.blocking_read(64 * 1024) {
            bytes.extend_from_slice(&chunk);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn attempt(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some(("https", r)) => (Scheme::Https, r),
        Some((_, r)) => (Scheme::Http, r),
        None => (Scheme::Http, url),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let req = OutgoingRequest::new(Fields::new());
    let _ = req.set_scheme(Some(&scheme));
    let _ = req.set_authority(Some(authority));
    let _ = req.set_path_with_query(Some(path));
    match outgoing_handler::handle(req, None) {
        Err(e) => format!("denied: {e:?}"),
        Ok(future) => {
            future.subscribe().block();
            match future.get() {
                Some(Ok(Ok(resp))) => {
                    let status = resp.status();
                    let body = resp.consume().map(read_all).unwrap_or_default();
                    format!("status {status}: {body}")
                }
                Some(Ok(Err(e))) => format!("denied: {e:?}"),
                other => format!("failed: {other:?}"),
            }
        }
    }
}

impl Guest for Fetch {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let pq = path_with_query(&request);
        let url = query_param(&pq, "url").unwrap_or("http://127.0.0.1:9/");
        respond_text(out, 200, &attempt(url));
    }
}

wasi::http::proxy::export!(Fetch);
