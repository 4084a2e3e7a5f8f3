//! The JavaScript tier, end to end: the real binary serving the apps in
//! tests/e2e/js/ and examples/, checked against expected values (RFC and
//! FIPS test vectors, WHATWG URL parsing).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::harness::{Node, get_json, http};

fn js_app(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/js")
        .join(name)
}

/// A node serving the API test app.
fn api_node(data: &Path) -> Node {
    Node::start(data, &[&js_app("api")])
}

#[test]
fn url_parsing_follows_whatwg_for_tricky_inputs() {
    let data = tempfile::tempdir().unwrap();
    let node = api_node(data.path());
    // (input, base, expected href or None for a TypeError)
    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        (
            "http://EXAMPLE.com:80/a/../b/./c?q#f",
            None,
            Some("http://example.com/b/c?q#f"),
        ),
        (
            "HTTPS://example.com:443/",
            None,
            Some("https://example.com/"),
        ),
        (
            "https://user:pa ss@h.test/",
            None,
            Some("https://user:pa%20ss@h.test/"),
        ),
        (
            "//foo/bar",
            Some("https://example.org/x"),
            Some("https://foo/bar"),
        ),
        ("../../x", Some("http://a/b/c/d"), Some("http://a/x")),
        ("?q=1", Some("http://a/b?z#h"), Some("http://a/b?q=1")),
        ("http://[::1]:8080/", None, Some("http://[::1]:8080/")),
        ("http://0x7f.1/", None, Some("http://127.0.0.1/")),
        (
            "http://münchen.de/",
            None,
            Some("http://xn--mnchen-3ya.de/"),
        ),
        (
            "http://example.com/ä?ä#ä",
            None,
            Some("http://example.com/%C3%A4?%C3%A4#%C3%A4"),
        ),
        ("file:///C:/x/../y", None, Some("file:///C:/y")),
        (
            "  http://trimmed.test/  ",
            None,
            Some("http://trimmed.test/"),
        ),
        ("not a url", None, None),
        ("http://a b/", None, None),
        ("http://[::1/", None, None),
        ("http://example.com:99999/", None, None),
    ];
    let body: Vec<Value> = cases
        .iter()
        .map(|(input, base, _)| match base {
            Some(b) => json!([input, b]),
            None => json!([input]),
        })
        .collect();
    let resp = http()
        .post(node.url("/api/url"))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let results: Vec<Value> = resp.json().unwrap();
    for ((input, _, expected), got) in cases.iter().zip(&results) {
        match expected {
            Some(href) => assert_eq!(got["href"], *href, "{input}: {got}"),
            None => assert_eq!(got["error"], "TypeError", "{input}: {got}"),
        }
    }
    // Components of one URL.
    let ipv6 = &results[6];
    assert_eq!(ipv6["hostname"], "[::1]");
    assert_eq!(ipv6["port"], "8080");
    assert_eq!(ipv6["origin"], "http://[::1]:8080");
    let user = &results[2];
    assert_eq!(user["username"], "user");
    assert_eq!(user["password"], "pa%20ss");

    let params = get_json(&node, "/api/params?x=1&b=%20+c&x=2");
    assert_eq!(
        params["entries"],
        json!([["added", "a b&c=d"], ["b", "  c"], ["x", "1"], ["x", "2"]])
    );
    assert_eq!(params["string"], "added=a+b%26c%3Dd&b=++c&x=1&x=2");
    assert_eq!(params["all"], json!(["1", "2"]));
}

/// A response body of several MiB, written out by the engine in the
/// largest pieces the host takes, arrives whole and in order.
#[test]
fn a_large_response_body_arrives_byte_for_byte() {
    let data = tempfile::tempdir().unwrap();
    let node = api_node(data.path());
    let n = 3 * (1 << 20) + 12_345;
    let resp = http()
        .get(node.url(&format!("/api/big?n={n}")))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", node.logs());
    let body = resp.bytes().unwrap();
    assert_eq!(body.len(), n);
    if let Some(i) = (0..n).find(|&i| body[i] != (i % 251) as u8) {
        panic!("byte {i} of {n} is {}, expected {}", body[i], i % 251);
    }
}

#[test]
fn encodings_digests_and_hmac_match_the_test_vectors() {
    let data = tempfile::tempdir().unwrap();
    let node = api_node(data.path());
    let client = http();

    // UTF-8 round trip: 1- to 4-byte sequences, a BOM-less emoji, NUL.
    let text = "aé€😀\u{0}日本語 ok";
    let resp = client
        .post(node.url("/api/utf8"))
        .body(text.as_bytes().to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["x-length"],
        text.encode_utf16().count().to_string()
    );
    assert_eq!(
        resp.headers()["x-codepoints"],
        text.chars().count().to_string()
    );
    assert_eq!(resp.bytes().unwrap().as_ref(), text.as_bytes());
    // Invalid UTF-8 with `fatal: true` throws a TypeError.
    let resp = client
        .post(node.url("/api/utf8fatal"))
        .body(vec![0x61, 0xff, 0x62])
        .send()
        .unwrap();
    assert_eq!(resp.text().unwrap(), "TypeError");

    let b64 = client
        .post(node.url("/api/base64"))
        .body("Man is")
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(b64, json!({ "btoa": "TWFuIGlz", "atob": "Man is" }));

    // FIPS 180 "abc" vectors.
    for (alg, digest) in [
        ("SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            "SHA-256",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "SHA-384",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            "SHA-512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ] {
        let got = client
            .post(node.url(&format!("/api/digest?alg={alg}")))
            .body("abc")
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert_eq!(got, digest, "{alg}");
    }

    // RFC 4231 test cases 1 and 2.
    for (key, data, hash, mac) in [
        (
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "Hi There",
            "SHA-256",
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "Hi There",
            "SHA-512",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        ),
        (
            "4a656665",
            "what do ya want for nothing?",
            "SHA-256",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
    ] {
        let got: Value = client
            .post(node.url(&format!("/api/hmac?hash={hash}")))
            .header("x-key", key)
            .body(data)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            got,
            json!({ "sig": mac, "verifies": true, "zeroVerifies": false }),
            "{hash} {data}"
        );
    }
}

#[test]
fn fetch_api_headers_bodies_and_web_platform_apis() {
    let data = tempfile::tempdir().unwrap();
    let node = api_node(data.path());
    let client = http();

    let resp = client
        .get(node.url("/api/headers"))
        .header("X-Test-Header", "Value-1")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["x-got-lower"], "Value-1");
    assert_eq!(resp.headers()["x-got-upper"], "Value-1");
    assert_eq!(resp.headers()["x-has"], "true");
    assert_eq!(resp.headers()["x-combined"], "one, two");

    // Binary body, status, method and full URL pass through unchanged.
    let body: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let resp = client
        .put(node.url("/api/echo/x?y=1"))
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["x-method"], "PUT");
    let url = resp.headers()["x-url"].to_str().unwrap().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/echo/x?y=1"),
        "{url}"
    );
    assert_eq!(resp.bytes().unwrap().as_ref(), &body[..]);

    let resp = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(node.url("/api/redirect"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.headers()["location"], "https://example.com/elsewhere");

    assert_eq!(
        get_json(&node, "/api/timers"),
        json!({ "order": ["timeout", "microtask", "after"], "waited": true })
    );
    assert_eq!(
        get_json(&node, "/api/clone"),
        json!({ "same": true, "date": true })
    );
    assert_eq!(
        get_json(&node, "/api/abort"),
        json!({ "aborted": true, "fired": true })
    );
    assert_eq!(
        get_json(&node, "/api/blob"),
        json!({ "size": 3, "type": "text/plain", "text": "abc", "form": "v" })
    );
    assert_eq!(
        get_json(&node, "/api/env"),
        json!({ "env": "hej", "process": "hej", "missing": true })
    );

    assert_eq!(
        get_json(&node, "/api/mixed"),
        json!({ "padded": "..7", "version": "1.0.0" })
    );

    // waitUntil work finishes before the instance is dropped: its output is
    // in the request's log line, written when the guest has ended.
    let resp = client.get(node.url("/api/background")).send().unwrap();
    assert_eq!(resp.text().unwrap(), "sent");
    let line = node.log_line("path=/api/background");
    assert!(line.contains(r#"stdout="background finished""#), "{line}");

    // This service lists no `outbound` origin: fetch fails with a clear error.
    let resp = client.get(node.url("/api/fetch")).send().unwrap();
    assert_eq!(resp.status(), 502);
    let text = resp.text().unwrap();
    assert!(text.starts_with("TypeError: "), "{text}");
    assert!(text.contains("outbound"), "{text}");

    // console.* goes to the request's log line: log to stdout, error to stderr.
    let resp = client.get(node.url("/api/console")).send().unwrap();
    assert_eq!(resp.text().unwrap(), "logged");
    let line = node.log_line("path=/api/console");
    assert!(
        line.contains(r#"stdout="log line { a: 1 } [ 1, 2 ]""#),
        "{line}"
    );
    assert!(line.contains(r#"stderr="error line""#), "{line}");
}

#[test]
fn every_request_gets_a_fresh_engine() {
    let data = tempfile::tempdir().unwrap();
    let node = api_node(data.path());
    let first = get_json(&node, "/api/random");
    let second = get_json(&node, "/api/random");
    // The snapshot froze QuickJS's generator; each instance is reseeded.
    assert_ne!(first["random"], second["random"]);
    assert_ne!(first["bytes"], second["bytes"]);
    assert_ne!(first["uuid"], second["uuid"]);
    let uuid = first["uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "4", "{uuid}");
    // Module state and globals written by one request are gone in the next.
    for _ in 0..3 {
        assert_eq!(
            get_json(&node, "/api/state"),
            json!({ "seen": 1, "global": 1 })
        );
    }
}

#[test]
fn exceptions_and_hostile_scripts_cost_only_their_request() {
    let data = tempfile::tempdir().unwrap();
    let node = api_node(data.path());
    let client = http();

    // A throwing handler: 500; the message and stack go to the log only.
    let resp = client.get(node.url("/api/throws")).send().unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.headers()["x-mote-error"], "service-error");
    let body = resp.text().unwrap();
    assert!(!body.contains("boom"), "{body}");
    let line = node.log_line("path=/api/throws");
    assert!(line.contains("TypeError: boom from the handler"), "{line}");
    assert!(
        line.contains("index.js"),
        "the stack names the file: {line}"
    );

    // A rejection nobody awaits is logged; the response stands.
    let resp = client.get(node.url("/api/floating")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().unwrap(), "answered anyway");
    assert!(node.wait_for_log("nobody awaits this"));

    // An infinite loop meets the CPU limit (1s), a memory bomb the 48MiB limit.
    let resp = client.get(node.url("/api/loop")).send().unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["x-mote-error"], "cpu-limit");
    let resp = client.get(node.url("/api/bomb")).send().unwrap();
    assert_eq!(resp.status(), 500);
    assert_eq!(resp.headers()["x-mote-error"], "memory-limit");

    // The node and the service are fine afterwards.
    assert_eq!(
        get_json(&node, "/api/state"),
        json!({ "seen": 1, "global": 1 })
    );
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

#[test]
fn examples_serve_every_module_style_and_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let apps = [example("hello-js"), example("hello-sw"), example("webhook")];
    let apps: Vec<&Path> = apps.iter().map(PathBuf::as_path).collect();
    let node = Node::start(data.path(), &apps);
    let check = |node: &Node| {
        let client = http();
        let resp = client.get(node.url("/hello-js")).send().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.text().unwrap(),
            "Hello from JavaScript at /hello-js!\n"
        );
        let resp = client.get(node.url("/hello-sw")).send().unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.text().unwrap(),
            "Hello from a service worker at /hello-sw!\n"
        );

        // The CommonJS connector: HMAC-SHA256 of the body under
        // "example-secret" (computed independently).
        let body = r#"{"type":"order.created","id":42}"#;
        let good = "sha256=8428eea6364710803e82b3bc2db1e723ea5ed1f227b7bdc953eb61ecce544bab";
        let resp = client
            .post(node.url("/webhook"))
            .header("x-signature", good)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(
            resp.json::<Value>().unwrap(),
            json!({ "ok": true, "type": "order.created", "id": 42 })
        );
        let bad = good.replace("8428", "8429");
        let resp = client
            .post(node.url("/webhook"))
            .header("x-signature", bad)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(
            resp.json::<Value>().unwrap(),
            json!({ "ok": false, "error": "bad signature" })
        );
    };
    check(&node);
    assert!(node.logs().contains("JavaScript engine ready"));
    assert!(node.terminate().success());

    // Restart without --app: the stored deployments come back, and neither
    // the engine snapshot nor any service is compiled again.
    let node = Node::start(data.path(), &[]);
    check(&node);
    let logs = node.logs();
    assert!(
        logs.contains("component loaded from the compiled-code cache"),
        "{logs}"
    );
    assert!(!logs.contains("component compiled"), "{logs}");
    assert!(!logs.contains("JavaScript service compiled"), "{logs}");
}

#[test]
fn node_built_in_modules_work_from_commonjs() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[&js_app("node-compat")]);
    let got = get_json(&node, "/compat");
    assert_eq!(
        got["buffer"],
        json!({ "hex": "68c3a96c6c6f", "base64": "aMOpbGxv", "base64url": "-_8",
                "length": 6, "concat": "abc", "u32": 16909060, "global": true })
    );
    assert_eq!(
        got["crypto"],
        json!({
            "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha1b64": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
            "hmac": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "random": 16, "uuid": true, "equal": true
        })
    );
    assert_eq!(got["events"], json!([1, 10, 2]));
    assert_eq!(
        got["util"],
        json!({ "format": "n=42 {\"a\":1}", "inspect": "{ a: [ 1, { b: 2 } ] }",
                "isPromise": true, "promisify": 2 })
    );
    assert_eq!(
        got["path"],
        json!({ "join": "/a/c/d.js", "ext": ".gz", "rel": "../../d" })
    );
    assert_eq!(
        got["querystring"],
        json!({ "parse": { "a": ["1", "2"], "b": "x y" }, "stringify": "q=a%20b&n=3" })
    );
    assert_eq!(got["stringDecoder"], "|€|");
    assert_eq!(got["assert"], true);
    assert_eq!(got["url"], "1");
    assert_eq!(got["process"], json!({ "env": "test", "ticked": true }));
}

#[test]
fn deploy_fails_with_file_line_and_column_and_keeps_the_old_version() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let app = tempfile::tempdir().unwrap();
    let src = js_app("broken");
    for file in ["index.js", "missing.js", "unsupported.cjs", "lib/syntax.js"] {
        let to = app.path().join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(file), to).unwrap();
    }
    let manifest = std::fs::read_to_string(src.join("mote.toml")).unwrap();
    let deploy = |entry: &str| {
        let text = manifest.replace("\"index.js\"", &format!("{entry:?}"));
        std::fs::write(app.path().join("mote.toml"), text).unwrap();
        let out = node.cli(&["deploy", app.path().to_str().unwrap()]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // A syntax error in an imported file: that file, its line and column.
    let (ok, err) = deploy("index.js");
    assert!(!ok);
    assert!(err.contains("lib/syntax.js:2:"), "{err}");
    assert!(err.contains("SyntaxError"), "{err}");
    // An import that resolves to nothing names the importing file.
    let (ok, err) = deploy("missing.js");
    assert!(!ok);
    assert!(err.contains("./lib/not-there.js"), "{err}");
    assert!(err.contains("missing.js:1:"), "{err}");
    // An unsupported Node module lists what is supported.
    let (ok, err) = deploy("unsupported.cjs");
    assert!(!ok);
    assert!(err.contains("node:fs"), "{err}");
    assert!(err.contains("buffer") && err.contains("crypto"), "{err}");

    // A good version, then a broken one: the good one keeps serving.
    std::fs::write(
        app.path().join("good.js"),
        "export default { fetch() { return new Response('good'); } };",
    )
    .unwrap();
    let (ok, err) = deploy("good.js");
    assert!(ok, "{err}");
    let (ok, _) = deploy("index.js");
    assert!(!ok);
    let resp = http().get(node.url("/broken")).send().unwrap();
    assert_eq!(resp.text().unwrap(), "good");
}

#[test]
fn deep_recursion_is_a_catchable_range_error() {
    // Every case of tests/e2e/js/recursion recurses without bound in its own
    // way (JS calls, getters, Proxy, JSON, the parser, sort callbacks, ...);
    // /rec/<case> answers with what it caught.
    let dir = js_app("recursion");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|f| f.strip_suffix(".js").map(str::to_owned))
        .filter(|f| f != "index")
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "{cases:?}");

    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[&dir]);
    // These need no stack limit: regexps use a heap stack (or refuse deep
    // nesting at parse time), promise chains unwind between jobs, and event
    // dispatch reports a listener's error instead of throwing it.
    let no_limit_needed = [
        "event_dispatch",
        "promise_then",
        "regexp_backtrack",
        "regexp_lookahead",
        "regexp_nested",
    ];
    for case in &cases {
        let resp = http()
            .get(node.url(&format!("/rec/{case}")))
            .send()
            .unwrap();
        let status = resp.status();
        let body = resp.text().unwrap();
        assert_eq!(status, 200, "{case}: {body}");
        assert!(body.starts_with(&format!("{case}: ")), "{case}: {body}");
        if !no_limit_needed.contains(&case.as_str()) {
            assert!(
                body.contains("RangeError: Maximum call stack size exceeded"),
                "{case}: {body}"
            );
        }
    }

    // The API app's handler catches it itself, too.
    drop(node);
    let data = tempfile::tempdir().unwrap();
    let node = api_node(data.path());
    let resp = http().get(node.url("/api/recursion")).send().unwrap();
    assert_eq!(resp.text().unwrap(), "RangeError: true");
}
