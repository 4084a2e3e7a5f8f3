//! Primitives the JavaScript prelude builds on, implemented in Rust: UTF-8,
//! base64, WHATWG URL parsing (the `url` crate), hashing and HMAC
//! (RustCrypto), randomness and the clock (through [`crate::engine::Host`]).

use std::cell::Cell;
use std::rc::Rc;

use hmac::{Hmac, Mac};
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Object, Result, TypedArray, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::engine::Host;

pub fn bytes(a: &TypedArray<'_, u8>) -> Vec<u8> {
    // SAFETY: copied out at once, before any JS can run and detach it.
    unsafe { a.as_bytes() }
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

fn u8array<'js>(ctx: &Ctx<'js>, v: Vec<u8>) -> Result<TypedArray<'js, u8>> {
    TypedArray::new(ctx.clone(), v)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn b64_encode(data: &[u8], url: bool) -> String {
    let table = if url { B64URL } else { B64 };
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(table[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else if !url {
                out.push('=');
            }
        }
    }
    out
}

/// Decode base64. `strict` follows the WHATWG forgiving-base64 algorithm
/// (atob): ASCII whitespace is skipped, anything else invalid fails.
/// Otherwise (Node's Buffer) both alphabets are accepted and invalid
/// characters are skipped.
pub fn b64_decode(s: &str, strict: bool) -> Option<Vec<u8>> {
    let mut vals = Vec::with_capacity(s.len());
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'-' | b'_' if !strict => {
                if c == b'-' {
                    62
                } else {
                    63
                }
            }
            b' ' | b'\t' | b'\n' | b'\x0c' | b'\r' => continue,
            b'=' => {
                vals.push(64);
                continue;
            }
            _ if strict => return None,
            _ => continue,
        };
        vals.push(v);
    }
    if strict {
        // Padding only at the end, and only to a multiple of 4.
        if let Some(p) = vals.iter().position(|&v| v == 64) {
            if vals[p..].iter().any(|&v| v != 64) || vals.len() % 4 != 0 || vals.len() - p > 2 {
                return None;
            }
            vals.truncate(p);
        }
        if vals.len() % 4 == 1 {
            return None;
        }
    } else if let Some(p) = vals.iter().position(|&v| v == 64) {
        vals.truncate(p);
    }
    let mut out = Vec::with_capacity(vals.len() * 3 / 4);
    for chunk in vals.chunks(4) {
        let mut n = 0u32;
        for (i, v) in chunk.iter().enumerate() {
            n |= (*v as u32) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..take]);
    }
    Some(out)
}

fn url_parts(u: &url::Url) -> Vec<String> {
    use url::quirks as q;
    vec![
        q::href(u).to_string(),
        q::origin(u),
        q::protocol(u).to_string(),
        q::username(u).to_string(),
        q::password(u).to_string(),
        q::host(u).to_string(),
        q::hostname(u).to_string(),
        q::port(u).to_string(),
        q::pathname(u).to_string(),
        q::search(u).to_string(),
        q::hash(u).to_string(),
    ]
}

fn digest(alg: &str, data: &[u8]) -> Option<Vec<u8>> {
    Some(match alg {
        "sha1" => Sha1::digest(data).to_vec(),
        "sha256" => Sha256::digest(data).to_vec(),
        "sha384" => Sha384::digest(data).to_vec(),
        "sha512" => Sha512::digest(data).to_vec(),
        "md5" => md5::Md5::digest(data).to_vec(),
        _ => return None,
    })
}

fn hmac(alg: &str, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    macro_rules! mac {
        ($t:ty) => {{
            let mut m = <Hmac<$t>>::new_from_slice(key).ok()?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }};
    }
    Some(match alg {
        "sha1" => mac!(Sha1),
        "sha256" => mac!(Sha256),
        "sha384" => mac!(Sha384),
        "sha512" => mac!(Sha512),
        "md5" => mac!(md5::Md5),
        _ => return None,
    })
}

/// A xorshift128+ generator for `Math.random` (QuickJS's own state is
/// seeded once, at snapshot time; this one is reseeded per request).
pub struct Rng(pub Cell<(u64, u64)>);

impl Rng {
    pub fn next_f64(&self) -> f64 {
        let (mut s1, s0) = self.0.get();
        s1 ^= s1 << 23;
        s1 ^= s1 >> 17;
        s1 ^= s0;
        s1 ^= s0 >> 26;
        self.0.set((s0, s1));
        (s0.wrapping_add(s1) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Install the native functions on `native`.
pub fn install<'js>(
    ctx: &Ctx<'js>,
    native: &Object<'js>,
    host: Rc<dyn Host>,
    rng: Rc<Rng>,
) -> Result<()> {
    macro_rules! def {
        ($name:expr, $f:expr) => {
            native.set($name, Function::new(ctx.clone(), $f)?.with_name($name)?)?;
        };
    }
    let h = host.clone();
    def!("print", move |fd: i32, s: String| h.print(fd == 2, &s));
    let h = host.clone();
    def!("random", move |ctx: Ctx<'js>, n: usize| {
        let mut buf = vec![0u8; n];
        h.random(&mut buf);
        u8array(&ctx, buf)
    });
    def!("mathRandom", move || rng.next_f64());
    let h = host.clone();
    def!("now", move || h.now_ms());
    let h = host.clone();
    def!("env", move || {
        h.env()
            .into_iter()
            .flat_map(|(k, v)| [k, v])
            .collect::<Vec<String>>()
    });
    def!("utf8Encode", |ctx: Ctx<'js>, s: String| u8array(
        &ctx,
        s.into_bytes()
    ));
    def!("utf8Decode", |ctx: Ctx<'js>,
                        a: TypedArray<'js, u8>,
                        fatal: bool,
                        ignore_bom: bool| {
        let b = bytes(&a);
        let mut b = b.as_slice();
        if !ignore_bom && b.starts_with(b"\xEF\xBB\xBF") {
            b = &b[3..];
        }
        if fatal {
            std::str::from_utf8(b)
                .map(str::to_string)
                .map_err(|_| Exception::throw_type(&ctx, "The encoded data was not valid utf-8"))
        } else {
            Ok(String::from_utf8_lossy(b).into_owned())
        }
    });
    def!("b64Encode", |a: TypedArray<'js, u8>, url: bool| b64_encode(
        &bytes(&a),
        url
    ));
    def!("b64Decode", |ctx: Ctx<'js>,
                       s: String,
                       strict: bool|
     -> Result<Option<TypedArray<'js, u8>>> {
        match b64_decode(&s, strict) {
            Some(v) => Ok(Some(u8array(&ctx, v)?)),
            None => Ok(None),
        }
    });
    def!("urlParse", |input: String, base: Opt<String>| {
        let parsed = match base.0 {
            Some(b) => url::Url::parse(&b).and_then(|b| b.join(&input)),
            None => url::Url::parse(&input),
        };
        parsed.ok().map(|u| url_parts(&u))
    });
    def!("urlSet", |ctx: Ctx<'js>,
                    href: String,
                    prop: String,
                    value: String|
     -> Result<Vec<String>> {
        use url::quirks as q;
        let mut u = url::Url::parse(&href)
            .map_err(|e| Exception::throw_type(&ctx, &format!("Invalid URL: {e}")))?;
        match prop.as_str() {
            "href" => {
                u = url::Url::parse(&value)
                    .map_err(|_| Exception::throw_type(&ctx, &format!("Invalid URL: {value}")))?
            }
            "protocol" => {
                let _ = q::set_protocol(&mut u, &value);
            }
            "username" => {
                let _ = q::set_username(&mut u, &value);
            }
            "password" => {
                let _ = q::set_password(&mut u, &value);
            }
            "host" => {
                let _ = q::set_host(&mut u, &value);
            }
            "hostname" => {
                let _ = q::set_hostname(&mut u, &value);
            }
            "port" => {
                let _ = q::set_port(&mut u, &value);
            }
            "pathname" => q::set_pathname(&mut u, &value),
            "search" => q::set_search(&mut u, &value),
            "hash" => q::set_hash(&mut u, &value),
            _ => {}
        }
        Ok(url_parts(&u))
    });
    def!("formParse", |s: String| {
        form_urlencoded::parse(s.as_bytes())
            .flat_map(|(k, v)| [k.into_owned(), v.into_owned()])
            .collect::<Vec<String>>()
    });
    def!("formSerialize", |pairs: Vec<String>| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for kv in pairs.chunks(2) {
            ser.append_pair(&kv[0], kv.get(1).map(|s| s.as_str()).unwrap_or(""));
        }
        ser.finish()
    });
    def!("digest", |ctx: Ctx<'js>,
                    alg: String,
                    data: TypedArray<'js, u8>| {
        match digest(&alg, &bytes(&data)) {
            Some(d) => u8array(&ctx, d),
            None => Err(Exception::throw_type(
                &ctx,
                &format!("Unsupported digest algorithm: {alg}"),
            )),
        }
    });
    def!("hmac", |ctx: Ctx<'js>,
                  alg: String,
                  key: TypedArray<'js, u8>,
                  data: TypedArray<'js, u8>| {
        match hmac(&alg, &bytes(&key), &bytes(&data)) {
            Some(d) => u8array(&ctx, d),
            None => Err(Exception::throw_type(
                &ctx,
                &format!("Unsupported HMAC hash: {alg}"),
            )),
        }
    });
    let _ = Value::new_undefined(ctx.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for n in 0..10 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 5) as u8).collect();
            let s = b64_encode(&data, false);
            assert_eq!(b64_decode(&s, true).unwrap(), data);
            let u = b64_encode(&data, true);
            assert_eq!(b64_decode(&u, false).unwrap(), data);
        }
        assert_eq!(b64_encode(b"hello", false), "aGVsbG8=");
        assert!(b64_decode("aGVsbG8", true).is_some());
        assert!(b64_decode("a", true).is_none());
        assert!(b64_decode("aGVs*bG8=", true).is_none());
    }
}
