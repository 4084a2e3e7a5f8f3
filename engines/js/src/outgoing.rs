//! Outgoing HTTP through `wasi:http/outgoing-handler`: what `fetch()` and
//! service bindings use. The node decides where a request may go (service
//! bindings in-process, the `outbound` allowlist); its refusals come back as
//! `internal-error` with a message, which becomes the `TypeError`'s message.
//!
//! A request is started at once ([`start`]: head and body sent); the engine's
//! event loop waits on every request in flight and the next timer together
//! ([`wait`]), so concurrent `fetch`es overlap; a request whose response
//! head is in is read to its end by [`finish`].

use std::cell::RefCell;
use std::collections::HashMap;

use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, Method, OutgoingBody, OutgoingRequest, Scheme,
};

use crate::engine::{HttpRequest, HttpResponse};

/// A request in flight: its response to come, and its URL for errors.
struct InFlight {
    future: FutureIncomingResponse,
    url: String,
}

thread_local! {
    /// The requests in flight, by id (the instance lives for one request:
    /// nothing outlives it).
    static IN_FLIGHT: RefCell<(u32, HashMap<u32, InFlight>)> = RefCell::new((0, HashMap::new()));
}

fn method(name: &str) -> Method {
    match name {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_owned()),
    }
}

fn describe(url: &str, code: ErrorCode) -> String {
    match code {
        ErrorCode::InternalError(Some(message)) => format!("fetch({url:?}): {message}"),
        other => format!("fetch({url:?}) failed: {other:?}"),
    }
}

/// Send `request` (head and body); its id.
pub fn start(request: HttpRequest) -> Result<u32, String> {
    let url =
        url::Url::parse(&request.url).map_err(|e| format!("Invalid URL {:?}: {e}", request.url))?;
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => {
            return Err(format!(
                "fetch({:?}): the scheme {other:?} is not supported (http and https are)",
                request.url
            ));
        }
    };
    let authority = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return Err(format!("fetch({:?}): the URL has no host", request.url)),
    };
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }

    let fields = Fields::new();
    for (name, value) in &request.headers {
        fields
            .append(name, value)
            .map_err(|e| format!("fetch({:?}): header {name:?}: {e:?}", request.url))?;
    }
    let outgoing = OutgoingRequest::new(fields);
    let _ = outgoing.set_method(&method(&request.method));
    let _ = outgoing.set_scheme(Some(&scheme));
    let _ = outgoing.set_authority(Some(&authority));
    let _ = outgoing.set_path_with_query(Some(&path));
    let body = outgoing
        .body()
        .map_err(|()| "request body already taken".to_owned())?;

    let future = outgoing_handler::handle(outgoing, None).map_err(|e| describe(&request.url, e))?;
    {
        let stream = body
            .write()
            .map_err(|()| "request body stream unavailable".to_owned())?;
        for chunk in request.body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("fetch({:?}): sending the body: {e:?}", request.url))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| describe(&request.url, e))?;
    Ok(IN_FLIGHT.with(|t| {
        let (next, table) = &mut *t.borrow_mut();
        *next += 1;
        table.insert(
            *next,
            InFlight {
                future,
                url: request.url,
            },
        );
        *next
    }))
}

/// Wait until one of `ids` has its response head (or failed), or
/// `timeout_ms` passed; the ids that are ready (ids not in flight count as
/// ready: `finish` reports them).
pub fn wait(ids: &[u32], timeout_ms: Option<f64>) -> Vec<u32> {
    IN_FLIGHT.with(|t| {
        let (_, table) = &*t.borrow();
        let mut waiting = Vec::with_capacity(ids.len());
        let mut pollables = Vec::with_capacity(ids.len() + 1);
        for id in ids {
            match table.get(id) {
                Some(f) => {
                    waiting.push(*id);
                    pollables.push(f.future.subscribe());
                }
                None => return vec![*id],
            }
        }
        if let Some(ms) = timeout_ms {
            let ns = (ms * 1e6).ceil().max(0.0) as u64;
            pollables.push(wasi::clocks::monotonic_clock::subscribe_duration(ns));
        }
        let refs: Vec<_> = pollables.iter().collect();
        wasi::io::poll::poll(&refs)
            .into_iter()
            .filter_map(|i| waiting.get(i as usize).copied())
            .collect()
    })
}

/// The whole response of request `id`.
pub fn finish(id: u32) -> Result<HttpResponse, String> {
    let InFlight { future, url } = IN_FLIGHT
        .with(|t| t.borrow_mut().1.remove(&id))
        .ok_or_else(|| format!("no request {id} in flight"))?;
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(describe(&url, code)),
        Some(Err(())) | None => return Err(format!("fetch({url:?}): no response")),
    };
    let status = response.status();
    let headers = response.headers().entries();
    let mut body = Vec::new();
    let incoming = response
        .consume()
        .map_err(|()| "response body already taken".to_owned())?;
    {
        let stream = incoming
            .stream()
            .map_err(|()| "response body stream unavailable".to_owned())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(wasi::io::streams::StreamError::Closed) => break,
                Err(wasi::io::streams::StreamError::LastOperationFailed(e)) => {
                    return Err(match wasi::http::types::http_error_code(&e) {
                        Some(code) => describe(&url, code),
                        None => format!(
                            "fetch({:?}): reading the response body: {}",
                            url,
                            e.to_debug_string()
                        ),
                    });
                }
            }
        }
    }
    let trailers = wasi::http::types::IncomingBody::finish(incoming);
    trailers.subscribe().block();
    if let Some(Ok(Err(code))) = trailers.get() {
        return Err(describe(&url, code));
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
