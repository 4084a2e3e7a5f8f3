//! Bindings end to end (docs/bindings.md): KV namespaces on the embedded and
//! the Redis backend, service bindings, the outbound allowlist, variables and
//! secrets, for JavaScript (tests/e2e/js/bindings) and for components (the
//! `kv` and `fetch` guests). Redis tests run a real `redis-server` on a free
//! loopback port; upstream servers listen on 127.0.0.1 only.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Node, admin, get, get_json, http, write_app};

/// A plain HTTP/1.1 server on 127.0.0.1 answering every request with
/// `hello from upstream`; counts the connections it accepted.
struct Upstream {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Upstream {
    fn start() -> Upstream {
        Self::serving("hello from upstream")
    }

    /// A server answering every request with `body`.
    fn serving(body: &'static str) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Upstream { port, accepted }
    }
}

/// A server on 127.0.0.1 that answers `together` once it holds two
/// requests at the same time, or `alone` when a request waited 5 s without a
/// second one: it tells whether a client sends requests concurrently.
fn pair_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let mut waiting: Vec<TcpStream> = Vec::new();
        let mut since = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    if waiting.is_empty() {
                        since = Instant::now();
                    }
                    waiting.push(stream);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
            let answer = match waiting.len() {
                0 => continue,
                1 if since.elapsed() < Duration::from_secs(5) => continue,
                1 => "alone",
                _ => "together",
            };
            for mut stream in waiting.drain(..) {
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        }
    });
    port
}

/// The bindings test app: JavaScript gateway and auth, and components for
/// KV and outgoing requests, all in one app sharing the namespace "cache".
fn bindings_app(dir: &Path, upstream: u16, pair: u16) {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/js/bindings");
    for file in ["gateway.js", "auth.js"] {
        std::fs::copy(js.join(file), dir.join(file)).unwrap();
    }
    let manifest = format!(
        r#"name = "bind"

[services.gateway]
source = "gateway.js"
routes = ["/gw/*"]
bindings.CACHE = {{ kv = "cache" }}
bindings.AUTH = {{ service = "auth" }}
bindings.SELF = {{ service = "gateway" }}
bindings.TOKEN = {{ secret = "api_token" }}
bindings.REGION = {{ var = "eu-west-1" }}
outbound = ["http://127.0.0.1:{upstream}", "http://localhost:{upstream}", "http://127.0.0.1:{pair}"]
limits.subrequests = 20

[services.auth]
source = "auth.js"
routes = ["/auth/*"]
bindings.CACHE = {{ kv = "cache" }}

[services.store]
source = "kv.wasm"
routes = ["/component/kv"]
bindings.CACHE = {{ kv = "cache" }}

[services.caller]
source = "fetch.wasm"
routes = ["/component/fetch"]
bindings.AUTH = {{ service = "auth" }}
outbound = ["http://127.0.0.1:{upstream}"]
"#
    );
    write_app(
        dir,
        &manifest,
        &[("kv.wasm", "kv"), ("fetch.wasm", "fetch")],
    );
}

/// A second app, "other", whose KV namespace has the same name ("cache").
fn other_app() -> tempfile::TempDir {
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/js/bindings/reader.js"),
        other.path().join("reader.js"),
    )
    .unwrap();
    std::fs::write(
        other.path().join("mote.toml"),
        "name = \"other\"\n\n[services.reader]\nsource = \"reader.js\"\nroutes = [\"/other\"]\nbindings.CACHE = { kv = \"cache\" }\n",
    )
    .unwrap();
    other
}

/// Poll `path` until `done` holds for its JSON (bounded), for expirations.
fn eventually(node: &Node, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = get_json(node, path);
        if done(&v) || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every KV behaviour through the JavaScript API, on whatever backend the
/// node runs with.
fn check_js_kv(node: &Node) {
    let rt = get_json(node, "/gw/kv/roundtrip?prefix=rt");
    assert_eq!(rt["text"], "héllo");
    assert_eq!(rt["textType"], "héllo");
    assert_eq!(rt["json"], json!({"a": [1, 2], "b": "x"}));
    assert_eq!(rt["binary"], true, "all 256 byte values round-trip");
    assert_eq!(rt["view"], json!([10, 11, 12]));
    assert_eq!(rt["empty"], "");
    assert_eq!(
        rt["withMetadata"],
        json!({"value": "v", "metadata": {"owner": "ada", "n": 1}})
    );
    assert_eq!(
        rt["noMetadata"],
        json!({"value": "héllo", "metadata": null})
    );
    assert_eq!(rt["missing"], Value::Null);
    assert_eq!(
        rt["missingWithMetadata"],
        json!({"value": null, "metadata": null})
    );
    assert_eq!(rt["deleted"], Value::Null);
    assert_eq!(rt["pageSizes"], json!([10, 10, 5]));
    let expected: Vec<String> = (0..25).map(|i| format!("rt:page:{i:02}")).collect();
    assert_eq!(
        rt["listed"],
        json!(expected),
        "every key once, no other prefix"
    );
    assert_eq!(rt["listedMetadata"], json!({"i": 3}));
    assert!(
        rt["emptyKey"].as_str().unwrap().contains("key"),
        "{}",
        rt["emptyKey"]
    );
    assert!(rt["stream"].as_str().unwrap().contains("not supported"));

    // TTL and absolute expiration, with metadata.
    let (status, _) = get(
        node,
        "/gw/kv/put?key=short&value=v&ttl=1&meta=%7B%22m%22%3A1%7D",
    );
    assert_eq!(status, 200);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (status, _) = get(
        node,
        &format!("/gw/kv/put?key=until&value=v&expiration={}", now + 2),
    );
    assert_eq!(status, 200);
    assert_eq!(
        get_json(node, "/gw/kv/get?key=short"),
        json!({"value": "v", "metadata": {"m": 1}})
    );
    let gone = |v: &Value| v["value"].is_null();
    assert!(
        gone(&eventually(node, "/gw/kv/get?key=short", gone)),
        "TTL expired"
    );
    assert!(
        gone(&eventually(node, "/gw/kv/get?key=until", gone)),
        "expiration passed"
    );
}

#[test]
fn kv_service_bindings_outbound_and_variables_from_javascript_and_components() {
    let data = tempfile::tempdir().unwrap();
    let app = tempfile::tempdir().unwrap();
    let upstream = Upstream::start();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    closed.set_nonblocking(true).unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    let pair = pair_server();
    bindings_app(app.path(), upstream.port, pair);
    let other = other_app();
    let node = Node::start(data.path(), &[app.path(), other.path()]);

    // Variables; the secret is not set yet; nothing unbound.
    let env = get_json(&node, "/gw/env");
    assert_eq!(env["region"], "eu-west-1");
    assert_eq!(env["token"], Value::Null);
    assert_eq!(env["other"], "undefined");
    assert_eq!(env["names"], json!(["AUTH", "CACHE", "REGION", "SELF"]));
    assert_eq!(env["cache"], "[object KVNamespace]");
    assert_eq!(env["auth"], "[object Fetcher]");
    assert!(
        node.logs()
            .contains("secret \"api_token\" is not set on this node")
    );

    // KV from JavaScript.
    check_js_kv(&node);

    // Namespaces are per app: "other" cannot see bind's keys.
    assert_eq!(
        get_json(&node, "/other?key=rt:json"),
        json!({"value": null})
    );

    // KV from a component (wasi:keyvalue), in the namespace the JavaScript
    // services share.
    assert_eq!(
        get(&node, "/component/kv?op=get&key=rt:page:07"),
        (200, "7".to_owned())
    );
    assert_eq!(get(&node, "/component/kv?op=set&key=c1&value=one").1, "ok");
    assert_eq!(
        get_json(&node, "/gw/kv/get?key=c1"),
        json!({"value": "one", "metadata": null})
    );
    assert_eq!(get(&node, "/component/kv?op=exists&key=c1").1, "true");
    assert_eq!(get(&node, "/component/kv?op=incr&key=n&by=5").1, "5");
    assert_eq!(get(&node, "/component/kv?op=incr&key=n").1, "6");
    assert_eq!(get(&node, "/component/kv?op=delete&key=c1").1, "ok");
    assert_eq!(get(&node, "/component/kv?op=get&key=c1").1, "(none)");
    let listed = get(&node, "/component/kv?op=list").1;
    let listed: Vec<&str> = listed.split(',').collect();
    assert!(
        listed.contains(&"rt:page:24") && listed.contains(&"n"),
        "{listed:?}"
    );
    assert!(!listed.contains(&"c1"), "{listed:?}");
    // A store the component has no binding for.
    let (status, body) = get(&node, "/component/kv?op=get&store=OTHER");
    assert_eq!(status, 500);
    assert!(body.contains("no KV binding named \\\"OTHER\\\""), "{body}");

    // Service binding from JavaScript: in-process, headers and body through,
    // the callee's status and headers back; the callee has its own bindings.
    let resp = http().get(node.url("/gw/auth?user=ada")).send().unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["x-auth"], "checked");
    let seen: Value = resp.json().unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["url"], "http://auth.internal/auth/verify?user=ada");
    assert_eq!(seen["user"], "ada");
    assert_eq!(seen["token"], "let-me-in");
    assert_eq!(seen["body"], "payload");
    assert_eq!(seen["names"], json!(["CACHE"]));
    assert!(node.wait_for_log("service=auth"));

    // A service calling itself is stopped by the depth limit.
    let (status, body) = get(&node, "/gw/loop");
    assert_eq!(status, 508, "{body}");
    assert!(body.contains("deeper than 16"), "{body}");

    // Outgoing requests per request are limited (service calls included),
    // as the manifest says (`limits.subrequests = 20`, the default is 50).
    let (_, body) = get(&node, "/gw/many?n=30");
    assert!(
        body.starts_with("20 calls, then: ") && body.contains("at most 20 outgoing requests"),
        "{body}"
    );

    // Service binding from a component: wasi:http to http://auth.internal/.
    let (status, body) = get(
        &node,
        "/component/fetch?url=http://auth.internal/auth/verify?user=bob",
    );
    assert_eq!(status, 200);
    assert!(body.starts_with("status 201: "), "{body}");
    assert!(body.contains("\"method\":\"GET\""), "{body}");
    let (_, body) = get(&node, "/component/fetch?url=http://billing.internal/");
    assert!(
        body.starts_with("denied:") && body.contains("no service binding named \\\"billing\\\""),
        "{body}"
    );

    // Outbound: the allowed origin is reached, from both tiers.
    let allowed = format!("http://127.0.0.1:{}/x", upstream.port);
    assert_eq!(
        get(&node, &format!("/gw/fetch?url={allowed}")),
        (200, "status 200: hello from upstream".to_owned())
    );
    assert_eq!(
        get(&node, &format!("/component/fetch?url={allowed}")).1,
        "status 200: hello from upstream"
    );
    let reached = upstream.accepted.load(Ordering::SeqCst);
    assert_eq!(reached, 2);
    // Two fetches of one request are in flight at the same time.
    assert_eq!(
        get(&node, &format!("/gw/both?url=http://127.0.0.1:{pair}/")),
        (200, "together + together".to_owned())
    );
    // Another origin is denied, naming the service and the origin.
    let denied = format!("http://127.0.0.1:{closed_port}/");
    let (status, body) = get(&node, &format!("/gw/fetch?url={denied}"));
    assert_eq!(status, 502);
    assert!(
        body.starts_with("TypeError:")
            && body.contains("bind/gateway may not reach")
            && body.contains(&format!("127.0.0.1:{closed_port}")),
        "{body}"
    );
    let (_, body) = get(&node, &format!("/component/fetch?url={denied}"));
    assert!(body.contains("bind/caller may not reach"), "{body}");
    assert!(closed.accept().is_err(), "a denied origin was connected to");
    // A listed name that resolves to a loopback address is refused.
    let (status, body) = get(
        &node,
        &format!("/gw/fetch?url=http://localhost:{}/", upstream.port),
    );
    assert_eq!(status, 502);
    assert!(body.contains("loopback"), "{body}");
    assert_eq!(upstream.accepted.load(Ordering::SeqCst), reached);

    // A secret set on the running node reaches the service at its next
    // request, and appears nowhere else.
    let secret = "s3cret-value-7f1c";
    let resp = admin(&node)
        .put(node.admin_url("/v1/apps/bind/secrets/api_token"))
        .body(secret)
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().unwrap());
    let env = get_json(&node, "/gw/env");
    assert_eq!(env["token"], secret);
    assert_eq!(env["processToken"], secret);
    let detail = admin(&node)
        .get(node.admin_url("/v1/apps/bind"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!detail.contains(secret));
    assert!(!node.logs().contains(secret), "a secret reached the log");

    // An acknowledged KV write survives kill -9.
    let (status, _) = get(&node, "/gw/kv/put?key=durable&value=kept");
    assert_eq!(status, 200);
    node.kill9();
    let node = Node::start(data.path(), &[]);
    assert_eq!(
        get_json(&node, "/gw/kv/get?key=durable"),
        json!({"value": "kept", "metadata": null})
    );
}

#[test]
fn a_component_importing_keyvalue_without_a_kv_binding_is_not_deployed() {
    let data = tempfile::tempdir().unwrap();
    let app = tempfile::tempdir().unwrap();
    write_app(
        app.path(),
        "name = \"nogrant\"\n\n[services.store]\nsource = \"kv.wasm\"\nroutes = [\"/kv\"]\n",
        &[("kv.wasm", "kv")],
    );
    let logs = match Node::try_start(data.path(), &[app.path()]) {
        Ok(_) => panic!("the app was deployed"),
        Err(logs) => logs,
    };
    assert!(
        logs.contains("imports wasi:keyvalue/")
            && logs.contains("has no KV binding")
            && logs.contains("bindings.NAME = { kv = \"NAMESPACE\" }"),
        "{logs}"
    );
}

/// A `redis-server` on a free loopback port, stopped on drop.
struct Redis {
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Redis {
            port,
            child: None,
            dir: tempfile::tempdir().unwrap(),
        };
        redis.restart();
        redis
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is needed for these tests: install Debian's redis-server package (scripts/setup does)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn kv_on_redis_round_trips_expires_lists_isolates_and_survives_a_redis_restart() {
    let mut redis = Redis::start();
    let data = tempfile::tempdir().unwrap();
    let app = tempfile::tempdir().unwrap();
    bindings_app(app.path(), Upstream::start().port, pair_server());
    let other = other_app();
    let url = redis.url();
    let node = Node::start_with(data.path(), &[app.path(), other.path()], &["--kv", &url]);
    assert!(node.logs().contains("redis"), "the node says which backend");

    check_js_kv(&node);
    assert_eq!(
        get_json(&node, "/other?key=rt:json"),
        json!({"value": null})
    );
    assert_eq!(get(&node, "/component/kv?op=incr&key=n&by=2").1, "2");
    assert_eq!(get(&node, "/component/kv?op=get&key=rt:page:11").1, "11");

    // Redis down: the KV call fails with a clear error; the node is fine.
    redis.stop();
    let (status, body) = get(&node, "/gw/kv/get?key=rt:json");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("redis") && body.contains("unavailable"),
        "{body}"
    );
    assert_eq!(get_json(&node, "/gw/env")["region"], "eu-west-1");

    // Redis back (empty: it keeps nothing on disk here): calls work again
    // without restarting the node.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = get(&node, "/gw/kv/put?key=back&value=yes");
        if status == 200 || Instant::now() > deadline {
            assert_eq!(status, 200, "KV did not reconnect to Redis");
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        get_json(&node, "/gw/kv/get?key=back"),
        json!({"value": "yes", "metadata": null})
    );
}

#[test]
fn the_binding_examples_work() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    // The connector's upstream, on a free port instead of 9000.
    let upstream = Upstream::serving(r#"[{"name": "alpha"}, {"name": "beta"}]"#);
    let connector = tempfile::tempdir().unwrap();
    for file in ["mote.toml", "index.js"] {
        let text = std::fs::read_to_string(examples.join("connector").join(file)).unwrap();
        let text = text.replace("127.0.0.1:9000", &format!("127.0.0.1:{}", upstream.port));
        std::fs::write(connector.path().join(file), text).unwrap();
    }
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(
        data.path(),
        &[
            &examples.join("kv-counter"),
            &examples.join("gateway"),
            connector.path(),
        ],
    );
    assert_eq!(get_json(&node, "/counter"), json!({"count": 1}));
    assert_eq!(get_json(&node, "/counter"), json!({"count": 2}));
    let resp = http()
        .get(node.url("/api/orders"))
        .header("authorization", "Bearer demo-token")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().unwrap(),
        json!({"user": "demo", "path": "/api/orders"})
    );
    assert_eq!(get(&node, "/api/orders").0, 401);
    assert_eq!(
        get_json(&node, "/connector"),
        json!({"count": 2, "names": ["alpha", "beta"]})
    );
}
