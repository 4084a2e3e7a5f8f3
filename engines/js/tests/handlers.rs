//! Per request: bodies as bytes, env, waitUntil, exceptions, validation.
mod common;
use common::*;
use mote_js_engine::HttpRequest;

#[test]
fn binary_bodies_round_trip_and_headers_are_case_insensitive() {
    let s = Service::new(
        "index.js",
        &[(
            "index.js",
            r#"
            export default { async fetch(req) {
                const bytes = new Uint8Array(await req.arrayBuffer());
                return new Response(bytes.reverse(), { headers: { 'X-Len': String(bytes.length), 'x-ct': req.headers.get('CONTENT-TYPE') } });
            } };
        "#,
        )],
    );
    let body: Vec<u8> = vec![0, 0xff, 0xc3, 0x28, 0x80, 1];
    let r = s
        .call(HttpRequest {
            method: "POST".into(),
            url: "http://h/".into(),
            headers: vec![("content-type".into(), b"application/octet-stream".to_vec())],
            body: body.clone(),
        })
        .unwrap();
    let mut rev = body.clone();
    rev.reverse();
    assert_eq!(r.body, rev);
    assert_eq!(r.status, 200);
    assert!(r.headers.contains(&("x-len".into(), b"6".to_vec())));
    assert!(
        r.headers
            .contains(&("x-ct".into(), b"application/octet-stream".to_vec()))
    );
}

#[test]
fn env_and_process_env_come_from_the_host_each_request() {
    let s = Service::with_env(
        "index.js",
        &[(
            "index.js",
            "export default { fetch: (req, env) => new Response(env.GREETING + ' ' + process.env.GREETING + ' ' + Object.keys(env).length) };",
        )],
        &[("GREETING", "hi")],
    );
    assert_eq!(s.text(get("http://x/")), "hi hi 1");
}

#[test]
fn wait_until_runs_after_the_response() {
    let s = Service::new(
        "index.js",
        &[(
            "index.js",
            r#"
            export default { fetch(req, env, ctx) {
                ctx.passThroughOnException();
                ctx.waitUntil(new Promise((r) => setTimeout(() => { console.log('background done'); r(); }, 10)));
                ctx.waitUntil(Promise.reject(new Error('bg failed')));
                setTimeout(() => console.log('never: dropped timer'), 10000);
                return new Response('now');
            } };
        "#,
        )],
    );
    let r = s.engine.handle(get("http://x/")).unwrap();
    assert_eq!(r.body, b"now");
    assert!(s.logs.stdout().is_empty());
    s.engine.finish();
    assert_eq!(s.logs.stdout(), vec!["background done"]);
    assert!(
        s.logs.stderr()[0].starts_with("Uncaught Error: bg failed"),
        "{:?}",
        s.logs.stderr()
    );
}

#[test]
fn exceptions_and_bad_return_values_are_errors_with_stacks() {
    let s = Service::new(
        "index.js",
        &[(
            "index.js",
            "function inner() { throw new RangeError('deep'); }\nexport default { async fetch(req) {\n  if (req.url.endsWith('/throw')) inner();\n  if (req.url.endsWith('/reject')) await Promise.reject(new Error('rejected'));\n  if (req.url.endsWith('/never')) return new Promise(() => {});\n  return { not: 'a response' };\n} };",
        )],
    );
    let e = s.call(get("http://x/throw")).unwrap_err();
    assert!(e.starts_with("RangeError: deep\n"), "{e}");
    assert!(e.contains("index.js:1"), "{e}");
    let e = s.call(get("http://x/reject")).unwrap_err();
    assert!(e.starts_with("Error: rejected"), "{e}");
    let e = s.call(get("http://x/other")).unwrap_err();
    assert!(e.contains("must return a Response"), "{e}");
    let e = s.call(get("http://x/never")).unwrap_err();
    assert!(e.contains("can never settle"), "{e}");
    // The service still works afterwards.
    assert!(s.call(get("http://x/throw")).is_err());
}

#[test]
fn top_level_code_runs_once_per_instance_and_await_works() {
    let s = Service::new(
        "index.mjs",
        &[(
            "index.mjs",
            "let n = 0; const v = await Promise.resolve(5);\nexport default { fetch: () => new Response(String(v + ++n)) };",
        )],
    );
    assert_eq!(s.text(get("http://x/")), "6");
    assert_eq!(s.text(get("http://x/")), "7");
}

#[test]
fn request_properties() {
    let s = Service::new(
        "index.js",
        &[(
            "index.js",
            r#"
            export default { async fetch(req) {
                return Response.json({ m: req.method, u: req.url, q: new URL(req.url).searchParams.get('q'), t: await req.text(), used: req.bodyUsed, h: [...req.headers] });
            } };
        "#,
        )],
    );
    let r = s
        .call(HttpRequest {
            method: "PUT".into(),
            url: "https://h.test/p?q=1".into(),
            headers: vec![("X-A".into(), b"1".to_vec()), ("x-a".into(), b"2".to_vec())],
            body: "héllo".as_bytes().to_vec(),
        })
        .unwrap();
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        r#"{"m":"PUT","u":"https://h.test/p?q=1","q":"1","t":"héllo","used":true,"h":[["x-a","1, 2"]]}"#
    );
    assert!(
        r.headers
            .contains(&("content-type".into(), b"application/json".to_vec()))
    );
}

#[test]
fn deep_recursion_is_a_catchable_range_error() {
    // On wasm this needs the patched QuickJS (vendor/rquickjs-sys); natively
    // the stack check always worked. The wasm check is in the README.
    let s = Service::new(
        "index.js",
        &[(
            "index.js",
            r#"
            function catchIt(fn) {
                try { fn(); return 'no error'; }
                catch (e) { return `${e.constructor.name}: ${e.message}`; }
            }
            export default { async fetch(req) {
                if (req.url.endsWith('/uncaught')) { const f = (n) => f(n + 1) + 1; f(0); }
                let nested = {};
                for (let i = 0; i < 200000; i++) nested = { a: nested };
                const out = [
                    catchIt(() => { const f = (n) => f(n + 1) + 1; f(0); }),
                    catchIt(() => { const o = { get x() { return this.x + 1; } }; o.x; }),
                    catchIt(() => { function C() { this.c = new C(); } new C(); }),
                    catchIt(() => JSON.stringify(nested)),
                    catchIt(() => { const g = () => [2, 1].sort(() => g()); g(); }),
                ];
                try { await (async function f() { return await f(); })(); }
                catch (e) { out.push(`${e.constructor.name}: ${e.message}`); }
                return new Response(out.join('\n'));
            } };
        "#,
        )],
    );
    let expected = ["RangeError: Maximum call stack size exceeded"; 6].join("\n");
    assert_eq!(s.text(get("http://x/")), expected);
    // Uncaught, it is the request's error; the instance still works after.
    let e = s.call(get("http://x/uncaught")).unwrap_err();
    assert!(
        e.starts_with("RangeError: Maximum call stack size exceeded"),
        "{e}"
    );
    assert_eq!(s.text(get("http://x/")), expected);
}
