//! Outgoing HTTP through `wasi:http/outgoing-handler`: what `fetch()` and
//! service bindings use. The node decides where a request may go (service
//! bindings in-process, the `outbound` allowlist); its refusals come back as
//! `internal-error` with a message, which becomes the `TypeError`'s message.
//!
//! A call blocks the engine until the whole response is in (QuickJS runs one
//! request at a time; concurrent `fetch`es in one request run one after the
//! other).

use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

use crate::engine::{HttpRequest, HttpResponse};

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

/// Send `request` and read the whole response.
pub fn send(request: HttpRequest) -> Result<HttpResponse, String> {
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

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(describe(&request.url, code)),
        Some(Err(())) | None => return Err(format!("fetch({:?}): no response", request.url)),
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
                        Some(code) => describe(&request.url, code),
                        None => format!(
                            "fetch({:?}): reading the response body: {}",
                            request.url,
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
        return Err(describe(&request.url, code));
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
