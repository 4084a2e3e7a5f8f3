//! `echo`: reflects the request back.
//!
//! - By default the response body is exactly the request body (read to the
//!   end, then written back in pieces, so bodies of many MiB work), with the
//!   request's `content-type`, and the request reflected in headers:
//!   `x-echo-method`, `x-echo-path` (path with query) and, for every request
//!   header `h`, `x-echo-h-<h>` with the same value(s).
//! - On a path ending in `/json` (for example `/echo/json?x=1`) it answers a
//!   JSON object instead:
//!   `{"method": "POST", "path": "/echo/json?x=1", "headers": {"name": "v1, v2"}, "body_len": 3}`
//!   with header names lowercased and repeated values joined with ", ".

use std::collections::BTreeMap;

use mote_guest_common::{
    Response, json_string, method_str, path_of, path_with_query, read_body, respond,
};
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{Fields, IncomingRequest, ResponseOutparam};

struct Echo;

impl Guest for Echo {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let method = method_str(&request.method());
        let path = path_with_query(&request);
        let headers = request.headers().entries();
        let body = read_body(&request);

        if path_of(&path).ends_with("/json") {
            let json = describe(&method, &path, &headers, body.len());
            respond(
                out,
                200,
                &[("content-type", b"application/json")],
                json.as_bytes(),
            );
            return;
        }

        let fields = Fields::new();
        for (name, value) in &headers {
            if name.eq_ignore_ascii_case("content-type") {
                let _ = fields.append("content-type", value);
            }
        }
        let _ = fields.append("content-length", body.len().to_string().as_bytes());
        let _ = fields.append("x-echo-method", method.as_bytes());
        let _ = fields.append("x-echo-path", path.as_bytes());
        for (name, value) in &headers {
            let name = format!("x-echo-h-{}", name.to_ascii_lowercase());
            // A header the host refuses to pass on is skipped, not fatal.
            let _ = fields.append(&name, value);
        }
        let mut response = Response::start_with_fields(out, 200, fields);
        response.write(&body);
        response.finish();
    }
}

/// The JSON description of a request.
fn describe(method: &str, path: &str, headers: &[(String, Vec<u8>)], body_len: usize) -> String {
    let mut joined: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value);
        joined
            .entry(name.to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }

    let mut json = String::from("{\"method\": ");
    json_string(&mut json, method);
    json.push_str(", \"path\": ");
    json_string(&mut json, path);
    json.push_str(", \"headers\": {");
    for (i, (name, value)) in joined.iter().enumerate() {
        if i > 0 {
            json.push_str(", ");
        }
        json_string(&mut json, name);
        json.push_str(": ");
        json_string(&mut json, value);
    }
    json.push_str(&format!("}}, \"body_len\": {body_len}}}"));
    json
}

wasi::http::proxy::export!(Echo);
