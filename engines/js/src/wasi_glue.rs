//! The component's exports: `wizer-initialize`, `wizer-preload`, `compile` and
//! `wasi:http/incoming-handler`, wired to [`crate::engine::Engine`].

use std::cell::RefCell;

use wasi::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
    Scheme,
};
use wasi::io::streams::StreamError;

use crate::engine::{BindingKind, Engine, Host, HttpRequest, HttpResponse, KvOp, KvReply};
use crate::outgoing;

wit_bindgen::generate!({
    path: "../../wit",
    generate_all,
    inline: "
        package mote:js-engine;
        world engine {
            import mote:host/kv@0.1.0;
            import mote:host/bindings@0.1.0;
            export wizer-initialize: func();
            export wizer-preload: func();
            export compile: func(entry: string, files: list<tuple<string, list<u8>>>) -> result<list<u8>, string>;
        }
    ",
});

/// The WASI host. Every method calls WASI at call time: nothing is
/// captured into the snapshot (no std::env, no libc stdio).
struct Wasi;

impl Host for Wasi {
    fn print(&self, stderr: bool, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let stream = if stderr {
            wasi::cli::stderr::get_stderr()
        } else {
            wasi::cli::stdout::get_stdout()
        };
        let _ = write_all(&stream, &bytes);
    }
    fn random(&self, buf: &mut [u8]) {
        let bytes = wasi::random::random::get_random_bytes(buf.len() as u64);
        buf.copy_from_slice(&bytes[..buf.len()]);
    }
    fn now_ms(&self) -> f64 {
        wasi::clocks::monotonic_clock::now() as f64 / 1e6
    }
    fn sleep_ms(&self, ms: f64) {
        let ns = (ms * 1e6).ceil().max(0.0) as u64;
        wasi::clocks::monotonic_clock::subscribe_duration(ns).block();
    }
    fn env(&self) -> Vec<(String, String)> {
        wasi::cli::environment::get_environment()
    }
    fn bindings(&self) -> Vec<(String, BindingKind)> {
        use mote::host::bindings::{Kind, list};
        list()
            .into_iter()
            .map(|b| {
                let kind = match b.kind {
                    Kind::Kv => BindingKind::Kv,
                    Kind::Service => BindingKind::Service,
                };
                (b.name, kind)
            })
            .collect()
    }
    fn fetch_start(&self, request: HttpRequest) -> Result<u32, String> {
        outgoing::start(request)
    }
    fn fetch_wait(&self, ids: &[u32], timeout_ms: Option<f64>) -> Vec<u32> {
        outgoing::wait(ids, timeout_ms)
    }
    fn fetch_finish(&self, id: u32) -> Result<HttpResponse, String> {
        outgoing::finish(id)
    }
    fn kv(&self, binding: &str, op: KvOp) -> Result<KvReply, String> {
        use mote::host::kv;
        Ok(match op {
            KvOp::Get { key } => {
                KvReply::Entry(kv::get(binding, &key)?.map(|e| (e.value, e.metadata, e.expiration)))
            }
            KvOp::Put {
                key,
                value,
                expiration,
                expiration_ttl,
                metadata,
            } => {
                let options = kv::PutOptions {
                    expiration,
                    expiration_ttl,
                    metadata,
                };
                kv::put(binding, &key, &value, &options)?;
                KvReply::Done
            }
            KvOp::Delete { key } => {
                kv::delete(binding, &key)?;
                KvReply::Done
            }
            KvOp::List {
                prefix,
                limit,
                cursor,
            } => {
                let page = kv::list(binding, &prefix, limit, cursor.as_deref())?;
                let keys = page
                    .keys
                    .into_iter()
                    .map(|k| (k.name, k.expiration, k.metadata))
                    .collect();
                KvReply::Keys(keys, page.cursor)
            }
        })
    }
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Everything on stdin (the node writes the service's bundle there). Read
/// through `wasi` directly, not libc, so the snapshot holds no stdio state.
fn read_stdin() -> Vec<u8> {
    let stdin = wasi::cli::stdin::get_stdin();
    let mut buf = Vec::new();
    while let Ok(chunk) = stdin.blocking_read(1 << 20) {
        buf.extend_from_slice(&chunk);
    }
    buf
}

struct Component;

impl Guest for Component {
    fn wizer_initialize() {
        ENGINE.with(|e| {
            let mut e = e.borrow_mut();
            if e.is_none() {
                *e = Some(Engine::new(Wasi));
            }
        });
    }

    fn wizer_preload() {
        ENGINE.with(|e| {
            let mut e = e.borrow_mut();
            let engine = e.get_or_insert_with(|| Engine::new(Wasi));
            if engine.is_loaded() {
                return;
            }
            if let Err(message) = engine.load(read_stdin()) {
                Wasi.print(true, &format!("Uncaught {message}"));
                // A trap: the node keeps the service on the shared engine.
                panic!("the service's module did not load");
            }
        });
    }

    fn compile(entry: String, files: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>, String> {
        ENGINE.with(|e| {
            let mut e = e.borrow_mut();
            e.get_or_insert_with(|| Engine::new(Wasi))
                .compile(&entry, &files)
        })
    }
}

export!(Component);

fn method_str(m: Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(s) => s,
    }
}

/// The request, its body read whole; `Err` when the body broke off before
/// its end (the client went away mid-body, or sent less than it announced):
/// the handler must not see a truncated body as if it were complete.
fn read_request(request: &IncomingRequest) -> Result<HttpRequest, String> {
    let scheme = match request.scheme() {
        Some(Scheme::Https) => "https",
        _ => "http",
    };
    let authority = request.authority().unwrap_or_else(|| "localhost".into());
    let path = request.path_with_query().unwrap_or_else(|| "/".into());
    let headers = request.headers().entries().into_iter().collect();
    let mut body = Vec::new();
    if let Ok(incoming) = request.consume()
        && let Ok(stream) = incoming.stream()
    {
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => body.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(format!(
                        "the request body ended before it was complete ({}); the handler was not called",
                        e.to_debug_string()
                    ));
                }
            }
        }
    }
    Ok(HttpRequest {
        method: method_str(request.method()),
        url: format!("{scheme}://{authority}{path}"),
        headers,
        body,
    })
}

fn respond(out: ResponseOutparam, response: HttpResponse) {
    let fields = Fields::new();
    for (k, v) in &response.headers {
        let _ = fields.append(k, v);
    }
    // The body is whole here: announce its length, so the node can refuse a
    // body over the service's limit before sending anything, and clients
    // need no chunked encoding. (Not for statuses that have no body.)
    let bodiless = matches!(response.status, 100..=199 | 204 | 304);
    if !bodiless
        && !response
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        let _ = fields.append("content-length", response.body.len().to_string().as_bytes());
    }
    let resp = OutgoingResponse::new(fields);
    let _ = resp.set_status_code(response.status);
    let body = resp.body().expect("response body");
    ResponseOutparam::set(out, Ok(resp));
    {
        let stream = body.write().expect("response stream");
        if write_all(&stream, &response.body).is_err() {
            return;
        }
    }
    let _ = OutgoingBody::finish(body, None);
}

/// Write `data` in pieces as large as the host takes at once (up to a MiB,
/// where `blocking-write-and-flush` takes at most 4 KiB: a big body is a few
/// hundred host calls and chunks, not hundreds of thousands), then flush.
fn write_all(stream: &wasi::io::streams::OutputStream, mut data: &[u8]) -> Result<(), StreamError> {
    while !data.is_empty() {
        let room = match stream.check_write()? {
            0 => {
                stream.subscribe().block();
                continue;
            }
            n => usize::try_from(n).unwrap_or(usize::MAX).min(data.len()),
        };
        stream.write(&data[..room])?;
        data = &data[room..];
    }
    stream.blocking_flush()
}

struct Http;

impl wasi::exports::http::incoming_handler::Guest for Http {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        ENGINE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let engine = slot.get_or_insert_with(|| Engine::new(Wasi));
            let result = if engine.is_loaded() {
                Ok(())
            } else {
                engine.load(read_stdin())
            };
            let request = match read_request(&request) {
                Ok(request) => request,
                Err(message) => {
                    Wasi.print(true, &message);
                    ResponseOutparam::set(out, Err(ErrorCode::InternalError(Some(message))));
                    return;
                }
            };
            let result = result.and_then(|()| engine.handle(request));
            match result {
                Ok(response) => respond(out, response),
                Err(message) => {
                    // The exception and its stack go to the log, not the client.
                    Wasi.print(true, &format!("Uncaught {message}"));
                    ResponseOutparam::set(
                        out,
                        Err(ErrorCode::InternalError(Some(
                            "uncaught exception (details are in the node's log)".into(),
                        ))),
                    );
                }
            }
            // After the response: ctx.waitUntil work.
            engine.finish();
        });
    }
}

wasi::http::proxy::export!(Http);
