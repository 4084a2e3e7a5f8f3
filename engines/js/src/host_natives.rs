//! Natives that reach beyond the engine through [`Host`]: outgoing HTTP
//! (`fetch`, service bindings: started here, completed by the event loop)
//! and KV namespaces. The JavaScript side is
//! `js/fetch.js` and `js/bindings.js`.

use std::rc::Rc;

use rquickjs::function::Opt;
use rquickjs::{Array, Ctx, Exception, Function, Object, Result, TypedArray, Value};

use crate::engine::{BindingKind, Host, HttpRequest, KvOp, KvReply};
use crate::native::bytes;

/// Header values as JavaScript strings: UTF-8 when valid, otherwise bytes as
/// code points U+0000..U+00FF (a ByteString).
pub fn header_text(value: Vec<u8>) -> String {
    String::from_utf8(value).unwrap_or_else(|e| e.into_bytes().iter().map(|&b| b as char).collect())
}

/// Header values out of JavaScript: code points up to U+00FF are bytes
/// (ByteString); anything beyond is sent as UTF-8.
pub fn header_bytes(s: &str) -> Vec<u8> {
    if s.chars().all(|c| (c as u32) < 256) {
        s.chars().map(|c| c as u8).collect()
    } else {
        s.as_bytes().to_vec()
    }
}

fn optional_seconds(v: Opt<Value<'_>>) -> Option<u64> {
    v.0.and_then(|v| v.as_number()).map(|n| n.max(0.0) as u64)
}

fn optional_string(v: Opt<Value<'_>>) -> Option<String> {
    v.0.and_then(|v| v.as_string().and_then(|s| s.to_string().ok()))
}

/// Install `bindings`, `fetchStart`, `fetchFinish`, `kvGet`, `kvPut`, `kvDelete` and `kvList` on
/// `native`.
pub fn install<'js>(ctx: &Ctx<'js>, native: &Object<'js>, host: Rc<dyn Host>) -> Result<()> {
    macro_rules! def {
        ($name:expr, $f:expr) => {
            native.set($name, Function::new(ctx.clone(), $f)?.with_name($name)?)?;
        };
    }
    let h = host.clone();
    def!("bindings", move || {
        h.bindings()
            .into_iter()
            .flat_map(|(name, kind)| {
                let kind = match kind {
                    BindingKind::Kv => "kv",
                    BindingKind::Service => "service",
                };
                [name, kind.to_owned()]
            })
            .collect::<Vec<String>>()
    });

    let h = host.clone();
    def!("fetchStart", move |ctx: Ctx<'js>,
                             method: String,
                             url: String,
                             flat: Vec<String>,
                             body: TypedArray<'js, u8>|
          -> Result<u32> {
        let headers = flat
            .chunks(2)
            .map(|kv| (kv[0].clone(), header_bytes(&kv[1])))
            .collect();
        let request = HttpRequest {
            method,
            url,
            headers,
            body: bytes(&body),
        };
        h.fetch_start(request)
            .map_err(|message| Exception::throw_type(&ctx, &message))
    });

    let h = host.clone();
    def!("fetchFinish", move |ctx: Ctx<'js>,
                              id: u32|
          -> Result<Array<'js>> {
        let response = h
            .fetch_finish(id)
            .map_err(|message| Exception::throw_type(&ctx, &message))?;
        let out = Array::new(ctx.clone())?;
        out.set(0, response.status)?;
        let flat: Vec<String> = response
            .headers
            .into_iter()
            .flat_map(|(k, v)| [k, header_text(v)])
            .collect();
        out.set(1, flat)?;
        out.set(2, TypedArray::new(ctx.clone(), response.body)?)?;
        Ok(out)
    });

    let h = host.clone();
    def!("kvGet", move |ctx: Ctx<'js>,
                        binding: String,
                        key: String|
          -> Result<Option<Array<'js>>> {
        let reply = h
            .kv(&binding, KvOp::Get { key })
            .map_err(|m| Exception::throw_message(&ctx, &m))?;
        let KvReply::Entry(entry) = reply else {
            return Err(Exception::throw_internal(&ctx, "unexpected KV reply"));
        };
        let Some((value, metadata, expiration)) = entry else {
            return Ok(None);
        };
        let out = Array::new(ctx.clone())?;
        out.set(0, TypedArray::new(ctx.clone(), value)?)?;
        out.set(1, metadata)?;
        out.set(2, expiration.map(|e| e as f64))?;
        Ok(Some(out))
    });

    let h = host.clone();
    def!("kvPut", move |ctx: Ctx<'js>,
                        binding: String,
                        key: String,
                        value: TypedArray<'js, u8>,
                        expiration: Opt<Value<'js>>,
                        expiration_ttl: Opt<Value<'js>>,
                        metadata: Opt<Value<'js>>|
          -> Result<()> {
        let op = KvOp::Put {
            key,
            value: bytes(&value),
            expiration: optional_seconds(expiration),
            expiration_ttl: optional_seconds(expiration_ttl),
            metadata: optional_string(metadata),
        };
        h.kv(&binding, op)
            .map(drop)
            .map_err(|m| Exception::throw_message(&ctx, &m))
    });

    let h = host.clone();
    def!("kvDelete", move |ctx: Ctx<'js>,
                           binding: String,
                           key: String|
          -> Result<()> {
        h.kv(&binding, KvOp::Delete { key })
            .map(drop)
            .map_err(|m| Exception::throw_message(&ctx, &m))
    });

    let h = host;
    def!("kvList", move |ctx: Ctx<'js>,
                         binding: String,
                         prefix: String,
                         limit: u32,
                         cursor: Opt<Value<'js>>|
          -> Result<Array<'js>> {
        let op = KvOp::List {
            prefix,
            limit,
            cursor: optional_string(cursor),
        };
        let reply = h
            .kv(&binding, op)
            .map_err(|m| Exception::throw_message(&ctx, &m))?;
        let KvReply::Keys(keys, cursor) = reply else {
            return Err(Exception::throw_internal(&ctx, "unexpected KV reply"));
        };
        let out = Array::new(ctx.clone())?;
        let (mut names, mut expirations, mut metadata) = (Vec::new(), Vec::new(), Vec::new());
        for (name, expiration, meta) in keys {
            names.push(name);
            expirations.push(expiration.map(|e| e as f64));
            metadata.push(meta);
        }
        out.set(0, names)?;
        out.set(1, expirations)?;
        out.set(2, metadata)?;
        out.set(3, cursor)?;
        Ok(out)
    });
    Ok(())
}
