//! `kv`: `wasi:keyvalue` from a component. `GET /...?op=OP&store=NAME&key=K`
//! with OP one of `set` (the value is `&value=V`), `get`, `delete`, `exists`,
//! `incr` (by `&by=N`, default 1) and `list` (every key, following cursors);
//! `store` is the KV binding's name (default `CACHE`). Answers 200 with the
//! result as text (`get` of a missing key: `(none)`), or 500 with
//! `error: ...` when the host refuses.

use mote_guest_common::{path_with_query, query_param, query_u64, respond_text};
use wasi::exports::http::incoming_handler::Guest;
use wasi::http::types::{IncomingRequest, ResponseOutparam};

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "wasi:keyvalue/imports@0.2.0-draft",
        generate_all,
    });
}

use bindings::wasi::keyvalue::{atomics, store};

struct Kv;

fn run(pq: &str) -> Result<String, store::Error> {
    let name = query_param(pq, "store").unwrap_or("CACHE");
    let key = query_param(pq, "key").unwrap_or("key");
    let bucket = store::open(name)?;
    Ok(match query_param(pq, "op").unwrap_or("get") {
        "set" => {
            let value = query_param(pq, "value").unwrap_or("");
            bucket.set(key, value.as_bytes())?;
            "ok".to_owned()
        }
        "get" => match bucket.get(key)? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => "(none)".to_owned(),
        },
        "delete" => {
            bucket.delete(key)?;
            "ok".to_owned()
        }
        "exists" => bucket.exists(key)?.to_string(),
        "incr" => atomics::increment(&bucket, key, query_u64(pq, "by", 1))?.to_string(),
        "list" => {
            let mut keys = Vec::new();
            let mut cursor = None;
            loop {
                let page = bucket.list_keys(cursor)?;
                keys.extend(page.keys);
                match page.cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            keys.sort();
            keys.join(",")
        }
        other => format!("unknown op {other:?}"),
    })
}

impl Guest for Kv {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let pq = path_with_query(&request);
        match run(&pq) {
            Ok(text) => respond_text(out, 200, &text),
            Err(e) => respond_text(out, 500, &format!("error: {e:?}")),
        }
    }
}

wasi::http::proxy::export!(Kv);
