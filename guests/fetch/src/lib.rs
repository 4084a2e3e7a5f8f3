//! `fetch`: tries an outgoing HTTP request to the URL in `?url=` (default
//! `http://127.0.0.1:9/`) and answers 200 with what happened: `denied: <error>`
//! when the host refuses it, or `status <N>` when it was sent. Mote grants no
//! outbound access unless configured, so the expected answer is `denied`.

use mote_guest_common::{path_with_query, query_param, respond_text};
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::outgoing_handler;
use wasi::http::types::{Fields, IncomingRequest, OutgoingRequest, ResponseOutparam, Scheme};

struct Fetch;

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
                Some(Ok(Ok(resp))) => format!("status {}", resp.status()),
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
