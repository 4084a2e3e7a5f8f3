//! Every limit ends only the offending request, with the status that names it.

use std::time::{Duration, Instant};

use crate::harness::{Node, app_dir, http};

fn limits_app() -> tempfile::TempDir {
    app_dir(
        r#"name = "limits"

[services.spin]
source = "spin.wasm"
routes = ["/spin"]
limits = { cpu = "100ms", timeout = "20s" }

[services.slow]
source = "slow.wasm"
routes = ["/slow"]
limits = { timeout = "300ms", concurrency = 1 }

[services.single]
source = "slow.wasm"
routes = ["/single"]
limits = { concurrency = 1 }

[services.unqueued]
source = "slow.wasm"
routes = ["/unqueued"]
limits = { concurrency = 1, queue = 0 }

[services.hog]
source = "hog.wasm"
routes = ["/hog", "/hog/*"]
limits = { memory = "32MiB" }

[services.trap]
source = "trap.wasm"
routes = ["/trap"]

[services.echo]
source = "echo.wasm"
routes = ["/echo", "/echo/*"]
limits = { request_body = "1KiB" }

[services.big]
source = "big.wasm"
routes = ["/big"]
limits = { response_body = "1KiB" }

[services.hello]
source = "hello.wasm"
routes = ["/hello"]
"#,
        &[
            ("spin.wasm", "spin"),
            ("slow.wasm", "slow"),
            ("hog.wasm", "hog"),
            ("trap.wasm", "trap"),
            ("echo.wasm", "echo"),
            ("big.wasm", "big"),
            ("hello.wasm", "hello"),
        ],
    )
}

fn get(node: &Node, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let resp = http().get(node.url(path)).send().unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.text().unwrap(), headers)
}

#[test]
fn infinite_loop_is_stopped_at_its_cpu_limit_while_others_answer() {
    let data = tempfile::tempdir().unwrap();
    let app = limits_app();
    let node = Node::start(data.path(), &[app.path()]);
    std::thread::scope(|s| {
        let spinner = s.spawn(|| get(&node, "/spin"));
        // While the loop burns, the neighbour keeps answering.
        for _ in 0..5 {
            assert_eq!(get(&node, "/hello").0, 200);
        }
        let (status, body, headers) = spinner.join().unwrap();
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("CPU time limit of 100ms exceeded"), "{body}");
        assert_eq!(headers["x-mote-error"], "cpu-limit");
    });
    assert_eq!(get(&node, "/hello").0, 200);
}

#[test]
fn wall_clock_limit_is_504() {
    let data = tempfile::tempdir().unwrap();
    let app = limits_app();
    let node = Node::start(data.path(), &[app.path()]);
    let start = Instant::now();
    let (status, body, _) = get(&node, "/slow?ms=10000");
    assert_eq!(status, 504, "{body}");
    assert!(
        body.contains("wall-clock limit of 300ms exceeded"),
        "{body}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(9),
        "the guest was not stopped"
    );
    assert_eq!(get(&node, "/slow?ms=10").1, "done");
}

#[test]
fn memory_bomb_is_stopped_at_its_limit() {
    let data = tempfile::tempdir().unwrap();
    let app = limits_app();
    let node = Node::start(data.path(), &[app.path()]);
    let (status, body, _) = get(&node, "/hog/8");
    assert_eq!((status, body.as_str()), (200, "allocated 8 MiB"));
    let (status, body, headers) = get(&node, "/hog/200");
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("memory limit of 32 MiB exceeded"), "{body}");
    assert_eq!(headers["x-mote-error"], "memory-limit");
    let (status, _, _) = get(&node, "/hog");
    assert_eq!(status, 500);
    assert_eq!(get(&node, "/hello").0, 200);
}

#[test]
fn trap_is_500_with_a_short_reason_and_stderr_in_the_log() {
    let data = tempfile::tempdir().unwrap();
    let app = limits_app();
    let node = Node::start(data.path(), &[app.path()]);
    let (status, body, headers) = get(&node, "/trap");
    assert_eq!(status, 500);
    assert!(body.starts_with("the service crashed: wasm trap"), "{body}");
    assert!(
        !body.contains("/root") && !body.contains(".rs"),
        "no host internals: {body}"
    );
    assert_eq!(headers["x-mote-error"], "trap");
    assert!(node.wait_for_log("about to panic"));
}

#[test]
fn request_body_over_the_limit_is_413_declared_or_streamed() {
    let data = tempfile::tempdir().unwrap();
    let app = limits_app();
    let node = Node::start(data.path(), &[app.path()]);
    let client = http();
    let ok = client
        .post(node.url("/echo"))
        .body(vec![b'a'; 1024])
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.bytes().unwrap().len(), 1024);
    // Declared by Content-Length: refused before the guest runs.
    let resp = client
        .post(node.url("/echo"))
        .body(vec![b'a'; 1025])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 413);
    // Chunked, no length: caught while streaming.
    let body = reqwest::blocking::Body::new(std::io::Cursor::new(vec![b'b'; 2048]));
    let resp = client.post(node.url("/echo")).body(body).send().unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.headers()["x-mote-error"], "request-too-large");
}

#[test]
fn response_body_over_the_limit_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let app = limits_app();
    let node = Node::start(data.path(), &[app.path()]);
    let (status, body, _) = get(&node, "/big?bytes=1024");
    assert_eq!((status, body.len()), (200, 1024));
    let (status, body, headers) = get(&node, "/big?bytes=4096");
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("response body exceeds the limit of 1024 bytes"));
    assert_eq!(headers["x-mote-error"], "response-too-large");
}

#[test]
fn over_concurrency_is_503_with_retry_after() {
    let data = tempfile::tempdir().unwrap();
    let app = limits_app();
    let node = Node::start(data.path(), &[app.path()]);
    // Three requests at once to a service that takes one at a time.
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| s.spawn(|| get(&node, "/single?ms=1000")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let served = results.iter().filter(|r| r.0 == 200).count();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 503).collect();
    assert!(served >= 1, "{results:?}");
    assert!(!refused.is_empty(), "{results:?}");
    for (_, body, headers) in refused {
        assert!(body.contains("concurrency limit of 1"), "{body}");
        assert_eq!(headers["retry-after"], "1");
        assert_eq!(headers["x-mote-error"], "overloaded");
    }
}

#[test]
fn a_client_that_asks_again_before_retry_after_gets_its_refusal_only_then() {
    let data = tempfile::tempdir().unwrap();
    let app = limits_app();
    let node = Node::start(data.path(), &[app.path()]);
    // `client` keeps one connection, `h2` one HTTP/2 connection; `fresh`
    // makes a new client (and connection) per request.
    // (status, Retry-After, when it was sent, when it was answered)
    let send = |client: &reqwest::blocking::Client| {
        let sent = Instant::now();
        let resp = client.get(node.url("/unqueued?ms=0")).send().unwrap();
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").cloned();
        resp.text().unwrap();
        (status, retry_after, sent, Instant::now())
    };
    let fresh = || send(&http());
    let client = http();
    let h2 = reqwest::blocking::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    std::thread::scope(|s| {
        // One request holds the service (concurrency 1, no queue)...
        // (a probe below can take it first for a moment: then ask again).
        let holder = s.spawn(|| {
            loop {
                let held = get(&node, "/unqueued?ms=8000");
                if held.0 != 503 {
                    return held;
                }
            }
        });
        while fresh().0 != 503 {
            std::thread::sleep(Duration::from_millis(20));
        }
        // ...so the others are refused. The first refusal on a connection
        // is at once; asking again at once on it is answered only when the
        // first said to retry (1 s).
        let (status, retry_after, first, _) = send(&client);
        assert_eq!((status, retry_after.unwrap().to_str().unwrap()), (503, "1"));
        let early = s.spawn(|| send(&client));
        // Meanwhile a request on another connection is refused at once.
        std::thread::sleep(Duration::from_millis(100));
        let (status, _, _, other) = fresh();
        assert_eq!(status, 503);
        let (status, _, _, held) = early.join().unwrap();
        assert_eq!(status, 503);
        assert!(
            held.duration_since(first) >= Duration::from_secs(1),
            "the early retry was answered {:?} after the first refusal was asked for",
            held.duration_since(first)
        );
        assert!(
            other < held,
            "the other connection's refusal waited for the early retry"
        );
        // A client that waits as told is not held: its refusal comes before
        // another second has passed.
        std::thread::sleep(Duration::from_millis(1100));
        let (status, _, asked, answered) = send(&client);
        assert_eq!(status, 503);
        assert!(
            answered.duration_since(asked) < Duration::from_millis(900),
            "a retry after Retry-After was held"
        );
        // HTTP/2: early retries sent together on one connection are all
        // answered when the first refusal said, not a second apart.
        let (status, _, first, _) = send(&h2);
        assert_eq!(status, 503);
        let early: Vec<_> = (0..3).map(|_| s.spawn(|| send(&h2))).collect();
        let answered: Vec<_> = early.into_iter().map(|e| e.join().unwrap()).collect();
        for (status, _, _, at) in &answered {
            assert_eq!(*status, 503);
            assert!(at.duration_since(first) >= Duration::from_secs(1));
        }
        let times = answered.iter().map(|a| a.3);
        let spread = times.clone().max().unwrap() - times.min().unwrap();
        assert!(
            spread < Duration::from_millis(500),
            "answered {spread:?} apart"
        );
        assert_eq!(holder.join().unwrap().0, 200);
    });
}

#[test]
fn limits_above_the_node_maximum_are_refused_at_deploy() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start_with(
        data.path(),
        &[],
        &["--limit-max", "cpu=200ms", "--limit-max", "timeout=5s"],
    );
    // Within the maxima: deployed.
    let within = app_dir(
        "name = \"within\"\n\n[services.hello]\nsource = \"hello.wasm\"\nroutes = [\"/hello\"]\n\
         limits = { cpu = \"200ms\", timeout = \"5s\" }\n",
        &[("hello.wasm", "hello")],
    );
    let out = node.cli(&["deploy", within.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The default CPU limit (1s) is above this node's maximum: refused, naming it.
    let above = app_dir(
        &crate::harness::hello_manifest("above", "/above"),
        &[("hello.wasm", "hello")],
    );
    let out = node.cli(&["deploy", above.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("services.hello.limits.cpu: 1s is above this node's maximum of 200ms"),
        "{err}"
    );
    assert_eq!(get(&node, "/hello").0, 200);
    assert_eq!(get(&node, "/above").0, 404);
}
