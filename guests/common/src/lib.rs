//! Helpers shared by Mote's test guests.
//!
//! Every guest is a `wasi:http/proxy` component: it implements
//! [`wasi::exports::http::incoming_handler::Guest`] and calls
//! `wasi::http::proxy::export!`. This crate holds the plumbing they would
//! otherwise repeat: reading a request body to the end, writing a response
//! (status, headers, body) while respecting the output stream's write budget,
//! and picking apart the request's path and query.

use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasi::io::streams::{InputStream, OutputStream, StreamError};

/// How many bytes to ask for per `blocking-read` of a request body.
const READ_CHUNK: u64 = 64 * 1024;

/// The most bytes handed to one `write` call, even if `check-write` allows more.
const MAX_WRITE: usize = 64 * 1024;

/// The request method as its HTTP token (`GET`, `POST`, ..., or the extension method).
pub fn method_str(method: &Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other.clone(),
    }
}

/// The request's path with its query (`/echo?x=1`), or `/` if the host gave none.
pub fn path_with_query(request: &IncomingRequest) -> String {
    request.path_with_query().unwrap_or_else(|| "/".into())
}

/// The path part of a path-with-query: everything before the first `?`.
pub fn path_of(path_with_query: &str) -> &str {
    match path_with_query.split_once('?') {
        Some((path, _)) => path,
        None => path_with_query,
    }
}

/// The raw (not percent-decoded) value of query parameter `name`, if present.
/// A parameter without `=` has the empty value.
pub fn query_param<'a>(path_with_query: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = path_with_query.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// Query parameter `name` parsed as a number, or `default` if absent or unparsable.
pub fn query_u64(path_with_query: &str, name: &str, default: u64) -> u64 {
    query_param(path_with_query, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Streams the request body to `f`, chunk by chunk, until the body is closed.
/// Returns the total number of bytes read. A request without a body (or whose
/// body was already consumed) reads as empty.
pub fn for_each_body_chunk(request: &IncomingRequest, mut f: impl FnMut(&[u8])) -> u64 {
    let Ok(body) = request.consume() else {
        return 0;
    };
    let mut total = 0;
    {
        // The stream is a child resource of the body: it must be dropped
        // before the body is finished.
        let Ok(stream) = body.stream() else {
            return 0;
        };
        while let Some(chunk) = read_chunk(&stream) {
            total += chunk.len() as u64;
            f(&chunk);
        }
    }
    drop(IncomingBody::finish(body));
    total
}

/// Reads the whole request body into memory.
///
/// If the request has a `content-length`, the buffer is allocated at that size
/// up front (when memory allows), so a body of N bytes costs N bytes, not the
/// up to 3N of growing a buffer by doubling.
pub fn read_body(request: &IncomingRequest) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(len) = content_length(request) {
        let _ = buf.try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX));
    }
    for_each_body_chunk(request, |chunk| buf.extend_from_slice(chunk));
    buf
}

/// The request's `content-length`, if it has one that parses.
pub fn content_length(request: &IncomingRequest) -> Option<u64> {
    let values = request.headers().get("content-length");
    let value = std::str::from_utf8(values.first()?).ok()?;
    value.trim().parse().ok()
}

/// One `blocking-read`, or `None` once the stream is closed (or failed).
fn read_chunk(stream: &InputStream) -> Option<Vec<u8>> {
    loop {
        match stream.blocking_read(READ_CHUNK) {
            // A zero-length read is allowed and means "nothing yet"; read again.
            Ok(chunk) if chunk.is_empty() => continue,
            Ok(chunk) => return Some(chunk),
            Err(StreamError::Closed) => return None,
            Err(StreamError::LastOperationFailed(_)) => return None,
        }
    }
}

/// A response whose head has been sent and whose body is being written.
///
/// Writes go through `check-write`/`write`, never more than the stream allows
/// at once, so bodies of any size can be produced in pieces. A failed write
/// (the client went away) makes all later writes no-ops; [`Response::write`]
/// reports it by returning `false`.
pub struct Response {
    // Declared before `body`: the stream is the body's child and must be
    // dropped first.
    stream: Option<OutputStream>,
    body: Option<OutgoingBody>,
}

impl Response {
    /// Sends the response head (`status` and `headers`) and opens its body.
    ///
    /// Panics (traps) if the host rejects the status or a header, which for the
    /// fixed headers these guests send means a bug in the guest.
    pub fn start(out: ResponseOutparam, status: u16, headers: &[(&str, &[u8])]) -> Response {
        let fields = Fields::new();
        for (name, value) in headers {
            fields
                .append(name, value)
                .unwrap_or_else(|e| panic!("invalid response header {name:?}: {e:?}"));
        }
        Response::start_with_fields(out, status, fields)
    }

    /// Like [`Response::start`] with a prepared header map.
    pub fn start_with_fields(out: ResponseOutparam, status: u16, headers: Fields) -> Response {
        let response = OutgoingResponse::new(headers);
        response
            .set_status_code(status)
            .unwrap_or_else(|()| panic!("invalid status code {status}"));
        let body = response.body().expect("outgoing response body taken twice");
        ResponseOutparam::set(out, Ok(response));
        let stream = body.write().ok();
        Response {
            stream,
            body: Some(body),
        }
    }

    /// Writes `data` to the body, waiting for the stream to accept it.
    /// Returns `false` (and gives up) if the stream is closed or failed.
    pub fn write(&mut self, mut data: &[u8]) -> bool {
        let Some(stream) = &self.stream else {
            return false;
        };
        while !data.is_empty() {
            let permit = match stream.check_write() {
                Ok(0) => {
                    stream.subscribe().block();
                    continue;
                }
                Ok(n) => usize::try_from(n).unwrap_or(usize::MAX).min(MAX_WRITE),
                Err(_) => {
                    self.stream = None;
                    return false;
                }
            };
            let n = permit.min(data.len());
            if stream.write(&data[..n]).is_err() {
                self.stream = None;
                return false;
            }
            data = &data[n..];
        }
        true
    }

    /// Flushes and finishes the body. Dropping a `Response` without calling
    /// this also finishes it.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = stream.blocking_flush();
        }
        if let Some(body) = self.body.take() {
            let _ = OutgoingBody::finish(body, None);
        }
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        self.close();
    }
}

/// Sends a complete response with `status`, `headers` and `body`.
pub fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &[u8])], body: &[u8]) {
    let mut response = Response::start(out, status, headers);
    response.write(body);
    response.finish();
}

/// Sends a complete `text/plain; charset=utf-8` response.
pub fn respond_text(out: ResponseOutparam, status: u16, body: &str) {
    respond(
        out,
        status,
        &[("content-type", b"text/plain; charset=utf-8")],
        body.as_bytes(),
    );
}

/// Appends `s` to `out` as a JSON string literal (quotes included).
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query() {
        assert_eq!(query_param("/a?n=3&b", "n"), Some("3"));
        assert_eq!(query_param("/a?n=3&b", "b"), Some(""));
        assert_eq!(query_param("/a?n=3&b", "c"), None);
        assert_eq!(query_param("/a", "n"), None);
        assert_eq!(query_u64("/a?n=x", "n", 7), 7);
        assert_eq!(path_of("/a/b?x=1"), "/a/b");
    }

    #[test]
    fn json() {
        let mut s = String::new();
        json_string(&mut s, "a\"b\\c\n\u{1}é");
        assert_eq!(s, r#""a\"b\\c\n\u0001é""#);
    }
}
