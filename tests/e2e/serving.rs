//! Serving: examples, routing, fresh instances, logs, isolation.

use std::path::Path;

use crate::harness::{self, Node, app_dir, http, write_app};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of an example folder with its component built from `guests/`.
fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let manifest =
        std::fs::read_to_string(repo().join("examples").join(name).join("mote.toml")).unwrap();
    write_app(dir.path(), &manifest, &[(&format!("{name}.wasm"), name)]);
    dir
}

#[test]
fn hello_example_answers_and_echo_reflects_a_1mib_body_exactly() {
    let data = tempfile::tempdir().unwrap();
    let (hello, echo) = (example("hello"), example("echo"));
    let node = Node::start(data.path(), &[hello.path(), echo.path()]);
    let client = http();

    let resp = client.get(node.url("/hello")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().unwrap(), "Hello from Mote!\n");

    let body: Vec<u8> = (0..(1 << 20)).map(|i| (i * 7 % 251) as u8).collect();
    let resp = client
        .post(node.url("/echo/some/path?q=1"))
        .header("x-custom", "Value")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-echo-method"], "POST");
    assert_eq!(resp.headers()["x-echo-path"], "/echo/some/path?q=1");
    assert_eq!(resp.headers()["x-echo-h-x-custom"], "Value");
    let got = resp.bytes().unwrap();
    assert_eq!(got.len(), body.len());
    assert!(got[..] == body[..], "echoed body differs");
}

#[test]
fn routes_by_path_wildcard_and_host() {
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(
        r#"name = "routing"

[services.hello]
source = "hello.wasm"
routes = ["/hello", "/api/*"]

[services.counter]
source = "counter.wasm"
routes = ["/api/count", "counter.example.com/*"]
"#,
        &[("hello.wasm", "hello"), ("counter.wasm", "counter")],
    );
    let node = Node::start(data.path(), &[a.path()]);
    let client = http();
    let get = |path: &str, host: Option<&str>| {
        let mut req = client.get(node.url(path));
        if let Some(h) = host {
            req = req.header("host", h);
        }
        let resp = req.send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    };
    assert_eq!(get("/hello", None), (200, "Hello from Mote!\n".into()));
    assert_eq!(get("/api", None).0, 200);
    assert_eq!(
        get("/api/deep/path", None),
        (200, "Hello from Mote!\n".into())
    );
    // Exact beats wildcard.
    assert_eq!(get("/api/count", None), (200, "1".into()));
    // A host-bound route beats any path route for that host.
    assert_eq!(
        get("/hello", Some("counter.example.com")),
        (200, "1".into())
    );
    let (status, body) = get("/nothing-here", None);
    assert_eq!(status, 404);
    assert!(
        body.contains("no service is routed at /nothing-here"),
        "{body}"
    );
    assert_eq!(
        get("/hello/", None).0,
        404,
        "exact route does not match a trailing slash"
    );
}

#[test]
fn every_request_gets_a_fresh_instance() {
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(
        &harness::hello_manifest("fresh", "/count").replace("hello", "counter"),
        &[("counter.wasm", "counter")],
    );
    let node = Node::start(data.path(), &[a.path()]);
    let client = http();
    for _ in 0..20 {
        assert_eq!(
            client
                .get(node.url("/count"))
                .send()
                .unwrap()
                .text()
                .unwrap(),
            "1"
        );
    }
    // Concurrent requests too.
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    http()
                        .get(node.url("/count"))
                        .send()
                        .unwrap()
                        .text()
                        .unwrap()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), "1");
        }
    });
}

#[test]
fn guest_output_is_attached_to_the_request_log_line() {
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(
        &harness::hello_manifest("chatty", "/logs").replace("hello", "logs"),
        &[("logs.wasm", "logs")],
    );
    let node = Node::start(data.path(), &[a.path()]);
    let resp = http().get(node.url("/logs?n=2")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(node.wait_for_log("stdout line 1"), "logs:\n{}", node.logs());
    let logs = node.logs();
    let line = logs.lines().find(|l| l.contains("stdout line 0")).unwrap();
    for field in [
        "app=chatty",
        "service=logs",
        "version=1",
        "status=200",
        "duration_ms=",
        "stderr line",
    ] {
        assert!(line.contains(field), "missing {field} in: {line}");
    }
    assert!(line.contains("log_dropped=0"), "{line}");
    // A flood is bounded: 20k lines are not all kept, and the request still succeeds.
    let resp = http().get(node.url("/logs?n=20000")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(node.wait_for_log("stdout line 99"));
    let logs = node.logs();
    let line = logs.lines().find(|l| l.contains("stdout line 99")).unwrap();
    assert!(
        !line.contains("stdout line 19999"),
        "kept beyond the capacity"
    );
    assert!(
        !line.contains("log_dropped=0"),
        "dropped bytes are counted: {line}"
    );
}

#[test]
fn http2_prior_knowledge_is_served() {
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(
        &harness::hello_manifest("h2", "/hello"),
        &[("hello.wasm", "hello")],
    );
    let node = Node::start(data.path(), &[a.path()]);
    let client = reqwest::blocking::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let resp = client.get(node.url("/hello")).send().unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.text().unwrap(), "Hello from Mote!\n");
}

#[test]
fn outbound_requests_are_denied_without_a_grant() {
    // A listener the guest will try to reach: it must never see a connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = format!("http://{}/", listener.local_addr().unwrap());
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(
        &harness::hello_manifest("egress", "/fetch").replace("hello", "fetch"),
        &[("fetch.wasm", "fetch")],
    );
    let node = Node::start(data.path(), &[a.path()]);
    let resp = http()
        .get(node.url(&format!("/fetch?url={target}")))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().unwrap();
    assert!(
        text.starts_with("denied: ")
            && text.contains("egress/fetch may not reach")
            && text.contains("outbound"),
        "{text}"
    );
    assert!(listener.accept().is_err(), "the guest reached the network");
}

#[test]
fn every_data_plane_thread_serves_connections() {
    let data = tempfile::tempdir().unwrap();
    let hello = example("hello");
    let node = Node::start_with(data.path(), &[hello.path()], &["--threads", "3"]);
    assert!(node.logs().contains("threads=3"), "{}", node.logs());
    // Three sockets listen on the data port, one per thread.
    let port = node.data.port();
    let listening = std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            cols.get(1)
                .is_some_and(|local| local.ends_with(&format!(":{port:04X}")))
                && cols.get(3) == Some(&"0A")
        })
        .count();
    assert_eq!(listening, 3);
    // Many connections at once (the kernel spreads them over the threads):
    // every one is answered.
    let url = node.url("/hello");
    let answered: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..48)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || http().get(&url).send().unwrap().text().unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(answered.iter().all(|body| body == "Hello from Mote!\n"));
}
