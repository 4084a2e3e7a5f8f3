//! Hostile tenants: one app attacks the node (CPU, memory, the stack, huge
//! responses, log floods, a service calling itself, 2,000 requests at once,
//! slow and endless clients, broken deploys) while a well-behaved neighbour
//! app on the same node is requested all along by a background thread.
//!
//! Each test checks that the attack ended only the offending request (or
//! deploy), with a status and a body naming the limit; that the neighbour
//! answered 200 every time; and that afterwards the node is healthy and has
//! kept what it acknowledged before the attack (a KV write, the neighbour's
//! deployment). The hostile JavaScript is tests/e2e/js/hostile/attacks.js.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Node, admin, log_field, tar_of, write_app};

/// What the node keeps of each of a guest's stdout and stderr per request,
/// by default.
const LOG_CAPACITY: u64 = 16 << 10;

/// The neighbour's paths and what each answers.
const NEIGHBOUR: [(&str, &str); 2] = [
    ("/neighbour/hello", "Hello from Mote!\n"),
    ("/neighbour/js", "neighbour ok"),
];

const NEIGHBOUR_MANIFEST: &str = r#"name = "neighbour"

[services.hello]
source = "hello.wasm"
routes = ["/neighbour/hello"]

[services.js]
source = "neighbour.js"
routes = ["/neighbour/js", "/neighbour/put", "/neighbour/get"]
bindings.DATA = { kv = "data" }
"#;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/js/hostile")
}

/// A node serving a hostile app and its well-behaved neighbour.
struct Scene {
    node: Node,
    /// The value the neighbour stored in KV, acknowledged, before the attack.
    stored: String,
    _dirs: [tempfile::TempDir; 3],
}

impl Scene {
    /// A node with the hostile app (`manifest`, the `guests` components and
    /// attacks.js) and the neighbour; the neighbour stores a KV value.
    fn start(manifest: &str, guests: &[(&str, &str)]) -> Scene {
        let data = tempfile::tempdir().unwrap();
        let hostile = tempfile::tempdir().unwrap();
        write_app(hostile.path(), manifest, guests);
        std::fs::copy(
            fixtures().join("attacks.js"),
            hostile.path().join("attacks.js"),
        )
        .unwrap();
        let neighbour = tempfile::tempdir().unwrap();
        write_app(
            neighbour.path(),
            NEIGHBOUR_MANIFEST,
            &[("hello.wasm", "hello")],
        );
        std::fs::copy(
            fixtures().join("neighbour.js"),
            neighbour.path().join("neighbour.js"),
        )
        .unwrap();
        let node = Node::start(data.path(), &[hostile.path(), neighbour.path()]);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let stored = format!("kept-{nanos}");
        let put = get(
            &node,
            &format!("/neighbour/put?key=acknowledged&value={stored}"),
        );
        assert_eq!((put.status, put.body.as_str()), (200, "stored"), "{put:?}");
        Scene {
            node,
            stored,
            _dirs: [data, hostile, neighbour],
        }
    }

    /// Run `attack` while a background thread requests the neighbour
    /// continuously, then check that the neighbour answered 200 every time.
    fn under_attack<T>(&self, attack: impl FnOnce() -> T) -> T {
        let stop = AtomicBool::new(false);
        let (result, watched) = std::thread::scope(|s| {
            let watcher = s.spawn(|| watch_neighbour(&self.node, &stop));
            let result = catch_unwind(AssertUnwindSafe(attack));
            stop.store(true, Ordering::Relaxed);
            (result, watcher.join().expect("the neighbour's watcher"))
        });
        let result = result.unwrap_or_else(|panic| resume_unwind(panic));
        assert!(
            watched.failures.is_empty(),
            "the neighbour did not answer 200 every time during the attack: \
             {} good answers, {} bad ones, the first of them:\n{}",
            watched.answered,
            watched.failures.len(),
            watched.failures[..watched.failures.len().min(10)].join("\n")
        );
        result
    }

    /// After an attack: the admin API says the node is healthy, the
    /// neighbour answers, and what was acknowledged before is still there.
    fn assert_healthy(&self) {
        let node = &self.node;
        let resp = admin(node)
            .get(node.admin_url("/v1/health"))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        let health: Value = resp.json().unwrap();
        assert_eq!(health["status"], "ok", "{health}");
        assert_eq!(health["apps"], 2, "{health}");
        for (path, expected) in NEIGHBOUR {
            let answer = get(node, path);
            assert_eq!((answer.status, answer.body.as_str()), (200, expected));
        }
        let kept = get(node, "/neighbour/get?key=acknowledged");
        assert_eq!(
            (kept.status, kept.body.as_str()),
            (200, self.stored.as_str()),
            "a KV write acknowledged before the attack"
        );
        assert_eq!(
            app_version(node, "neighbour"),
            1,
            "the neighbour's deployment"
        );
    }
}

/// What the neighbour answered while an attack ran.
struct Watched {
    answered: usize,
    failures: Vec<String>,
}

/// Request the neighbour's paths in turn, each on a new connection, until
/// `stop` (at least a few times, and within bounds whatever happens).
fn watch_neighbour(node: &Node, stop: &AtomicBool) -> Watched {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut watched = Watched {
        answered: 0,
        failures: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut sent = 0;
    while (sent < 4 || !stop.load(Ordering::Relaxed)) && sent < 20_000 && Instant::now() < deadline
    {
        let (path, expected) = NEIGHBOUR[sent % NEIGHBOUR.len()];
        sent += 1;
        let outcome = client
            .get(node.url(path))
            .send()
            .and_then(|resp| Ok((resp.status().as_u16(), resp.text()?)));
        match outcome {
            Ok((200, body)) if body == expected => watched.answered += 1,
            Ok((status, body)) => watched.failures.push(format!("{path}: {status} {body:?}")),
            Err(e) => watched.failures.push(format!("{path}: {e:?}")),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    watched
}

/// One answer of the data plane.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// The `x-mote-error` header (empty when absent).
    fn kind(&self) -> &str {
        self.headers
            .get("x-mote-error")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

fn get(node: &Node, path: &str) -> Answer {
    let resp = crate::harness::http()
        .get(node.url(path))
        .send()
        .unwrap_or_else(|e| panic!("GET {path}: {e:?}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .text()
        .unwrap_or_else(|e| panic!("GET {path}: body: {e:?}"));
    Answer {
        status,
        body,
        headers,
    }
}

/// GET every path at the same time, one thread each.
fn at_once<'a>(node: &Node, paths: &[&'a str]) -> Vec<(&'a str, Answer)> {
    std::thread::scope(|s| {
        let requests: Vec<_> = paths
            .iter()
            .map(|&path| s.spawn(move || (path, get(node, path))))
            .collect();
        requests.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

/// The data plane stopped the request: `status`, the `x-mote-error` `kind`,
/// and a body naming the limit.
fn assert_stopped(path: &str, answer: &Answer, status: u16, kind: &str, message: &str) {
    assert_eq!(answer.status, status, "{path}: {answer:?}");
    assert_eq!(answer.kind(), kind, "{path}: {answer:?}");
    assert!(answer.body.contains(message), "{path}: {answer:?}");
}

/// The live version of `app`, from the admin API.
fn app_version(node: &Node, app: &str) -> u64 {
    let resp = admin(node)
        .get(node.admin_url(&format!("/v1/apps/{app}")))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "GET /v1/apps/{app}");
    let detail: Value = resp.json().unwrap();
    detail["version"].as_u64().unwrap()
}

/// The node's one request log line for `path` (waiting, bounded, for it).
fn request_log_line(node: &Node, path: &str) -> String {
    node.log_line(&format!(" path={path} status="))
}

/// The node process's peak resident memory (`VmHWM`), in KiB.
fn node_peak_memory_kib(node: &Node) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", node.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmHWM in KiB in /proc/PID/status")
}

#[test]
fn infinite_loops_end_at_the_cpu_limit() {
    let scene = Scene::start(
        r#"name = "hostile"

[services.spin]
source = "spin.wasm"
routes = ["/spin/component"]
limits = { cpu = "100ms" }

[services.spinjs]
source = "attacks.js"
routes = ["/spin/js", "/spin/microtasks"]
limits = { cpu = "100ms" }
"#,
        &[("spin.wasm", "spin")],
    );
    let answers = scene.under_attack(|| {
        at_once(
            &scene.node,
            &[
                "/spin/component",
                "/spin/component",
                "/spin/js",
                "/spin/js",
                "/spin/microtasks",
            ],
        )
    });
    for (path, answer) in &answers {
        assert_stopped(
            path,
            answer,
            503,
            "cpu-limit",
            "CPU time limit of 100ms exceeded",
        );
    }
    scene.assert_healthy();
}

#[test]
fn a_memory_bomb_ends_at_the_memory_limit() {
    let scene = Scene::start(
        r#"name = "hostile"

[services.bomb]
source = "attacks.js"
routes = ["/bomb/buffers", "/bomb/objects", "/bomb/after-wait-until"]
limits = { memory = "48MiB", cpu = "20s" }
"#,
        &[],
    );
    let answers = scene.under_attack(|| {
        at_once(
            &scene.node,
            &[
                "/bomb/buffers",
                "/bomb/buffers",
                "/bomb/objects",
                "/bomb/objects",
                "/bomb/after-wait-until",
            ],
        )
    });
    for (path, answer) in &answers {
        assert_stopped(
            path,
            answer,
            500,
            "memory-limit",
            "memory limit of 48 MiB exceeded",
        );
    }
    scene.assert_healthy();
}

#[test]
fn deep_recursion_is_a_range_error_the_handler_can_catch() {
    let scene = Scene::start(
        r#"name = "hostile"

[services.recurse]
source = "attacks.js"
routes = ["/recurse/caught", "/recurse/uncaught"]
"#,
        &[],
    );
    let answers = scene.under_attack(|| {
        at_once(
            &scene.node,
            &[
                "/recurse/caught",
                "/recurse/uncaught",
                "/recurse/caught",
                "/recurse/uncaught",
            ],
        )
    });
    for (path, answer) in &answers {
        if path.ends_with("/caught") {
            assert_eq!(
                (answer.status, answer.body.as_str()),
                (200, "caught RangeError: Maximum call stack size exceeded"),
                "{answer:?}"
            );
        } else {
            assert_stopped(
                path,
                answer,
                500,
                "service-error",
                "the service failed: uncaught exception",
            );
        }
    }
    assert!(
        scene
            .node
            .wait_for_log("Uncaught RangeError: Maximum call stack size exceeded"),
        "the uncaught error is in the log"
    );
    // The next request gets a fresh instance with a whole stack.
    let again = get(&scene.node, "/recurse/caught");
    assert_eq!(again.status, 200, "{again:?}");
    scene.assert_healthy();
}

#[test]
fn a_gigabyte_response_is_cut_at_the_response_limit() {
    let scene = Scene::start(
        r#"name = "hostile"

[services.big]
source = "big.wasm"
routes = ["/respond/component"]

[services.gigabyte]
source = "attacks.js"
routes = ["/respond/gigabyte"]

[services.bytes]
source = "attacks.js"
routes = ["/respond/bytes"]
limits = { response_body = "1MiB" }
"#,
        &[("big.wasm", "big")],
    );
    let node = &scene.node;
    let (cut_status, cut_bytes, cut_error, cut_start) = scene.under_attack(|| {
        // A component announcing and writing 1 GiB: refused at the head.
        let answer = get(node, "/respond/component?bytes=1073741824");
        assert_stopped(
            "/respond/component",
            &answer,
            500,
            "response-too-large",
            "response body exceeds the limit of 10485760 bytes",
        );
        // JavaScript building a 1 GiB body: stopped at its memory.
        let answer = get(node, "/respond/gigabyte");
        assert_stopped(
            "/respond/gigabyte",
            &answer,
            500,
            "memory-limit",
            "memory limit of 64 MiB exceeded",
        );
        // JavaScript answering 8 MiB where 1 MiB is allowed.
        let mut resp = crate::harness::http()
            .get(node.url("/respond/bytes?n=8388608"))
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        let (mut received, mut start, mut buf) = (0u64, Vec::new(), vec![0; 64 << 10]);
        let error = loop {
            match resp.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    received += n as u64;
                    if start.len() < 1024 {
                        start.extend_from_slice(&buf[..n.min(1024)]);
                    }
                }
                Err(e) => break Some(e.to_string()),
            }
        };
        let start = String::from_utf8_lossy(&start).into_owned();
        (status, received, error, start)
    });
    if cut_status == 500 {
        // Refused before the head was sent.
        assert!(
            cut_start.starts_with("response body exceeds the limit of 1048576 bytes"),
            "{cut_start}"
        );
    } else {
        // Cut while streaming: the client gets at most the limit and sees
        // the body end in an error, not a complete response.
        assert_eq!(cut_status, 200);
        assert!(
            cut_bytes <= 1 << 20,
            "{cut_bytes} bytes passed a 1 MiB limit"
        );
        assert!(
            cut_error.is_some(),
            "the cut body looked complete ({cut_bytes} bytes)"
        );
    }
    // Nothing buffered a gigabyte.
    let peak = node_peak_memory_kib(node);
    assert!(peak < 1 << 20, "the node's peak memory reached {peak} KiB");
    if cut_status == 200 {
        // The client could not be told why once the head was out: the
        // request's log line must say it.
        let line = request_log_line(node, "/respond/bytes");
        assert!(
            line.contains("response body exceeds the limit of 1048576 bytes"),
            "the body was cut ({cut_bytes} bytes received, then {cut_error:?}) but the \
             request's log line does not name the response limit:\n{line}"
        );
    }
    scene.assert_healthy();
}

#[test]
fn a_log_flood_is_bounded_in_the_request_log_line() {
    let scene = Scene::start(
        r#"name = "hostile"

[services.flood]
source = "logs.wasm"
routes = ["/flood/component"]
limits = { cpu = "30s", timeout = "60s" }

[services.floodjs]
source = "attacks.js"
routes = ["/flood/js"]
limits = { cpu = "30s", timeout = "60s" }

[services.endless]
source = "logs.wasm"
routes = ["/flood/endless"]
limits = { cpu = "200ms" }
"#,
        &[("logs.wasm", "logs")],
    );
    let node = &scene.node;
    // `stdout line {i}\n` for i < LINES, then `stderr line\n`: ~2 MB.
    const LINES: u64 = 100_000;
    // 40 writes of 128 KiB (plus a newline) to each stream: 10 MiB.
    const WRITES: u64 = 40;
    const SIZE: u64 = 128 << 10;
    let component = format!("/flood/component?n={LINES}");
    let js = format!("/flood/js?lines={WRITES}&size={SIZE}");
    let answers =
        scene.under_attack(|| at_once(node, &[&component, &js, "/flood/endless?n=1000000000"]));
    let [component, js, endless] = &answers[..] else {
        unreachable!()
    };
    assert_eq!(
        (component.1.status, component.1.body.as_str()),
        (200, "logged")
    );
    assert_eq!((js.1.status, js.1.body.as_str()), (200, "flooded"));
    assert_stopped(
        endless.0,
        &endless.1,
        503,
        "cpu-limit",
        "CPU time limit of 200ms exceeded",
    );

    let stdout: u64 = (0..LINES)
        .map(|i| format!("stdout line {i}\n").len() as u64)
        .sum();
    for (path, dropped) in [
        ("/flood/component", Some(stdout - LOG_CAPACITY)),
        ("/flood/js", Some(2 * (WRITES * (SIZE + 1) - LOG_CAPACITY))),
        ("/flood/endless", None),
    ] {
        let line = request_log_line(node, path);
        // Both streams at their capacity, escaped at most twice over, and
        // the other fields.
        assert!(
            line.len() as u64 <= 4 * LOG_CAPACITY + 4096,
            "{path}: a log line of {} bytes",
            line.len()
        );
        let logged: u64 = log_field(&line, "log_dropped").parse().unwrap();
        match dropped {
            Some(dropped) => assert_eq!(logged, dropped, "{path}: {line}"),
            None => assert!(logged > 0, "{path}: {line}"),
        }
    }
    scene.assert_healthy();
}

#[test]
fn many_services_calling_themselves_at_once_stop_at_the_depth_limit() {
    const CHAINS: usize = 20;
    // Room for every chain to reach the limit: a chain holds 17 instances.
    let scene = Scene::start(
        r#"name = "hostile"

[services.loop]
source = "attacks.js"
routes = ["/call/self"]
bindings.SELF = { service = "loop" }
limits = { concurrency = 400 }
"#,
        &[],
    );
    // Twice: a chain that held on to its concurrency slots would leave too
    // few for the second round.
    for _ in 0..2 {
        let answers = scene.under_attack(|| at_once(&scene.node, &["/call/self"; CHAINS]));
        for (path, answer) in &answers {
            assert_eq!(answer.status, 508, "{path}: {answer:?}");
            assert!(
                answer
                    .body
                    .contains("service binding calls nest deeper than 16"),
                "{path}: {answer:?}"
            );
        }
    }
    scene.assert_healthy();
}

/// Raise this process's soft limit on open files to at least `n` (nodes it
/// starts inherit it).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn ensure_open_files(n: u64) {
    #[repr(C)]
    struct RLimit {
        current: u64,
        max: u64,
    }
    const RLIMIT_NOFILE: i32 = 7;
    unsafe extern "C" {
        fn getrlimit(resource: i32, limit: *mut RLimit) -> i32;
        fn setrlimit(resource: i32, limit: *const RLimit) -> i32;
    }
    let mut limit = RLimit { current: 0, max: 0 };
    // SAFETY: `limit` is a valid `struct rlimit` (two `rlim_t`, 64-bit here).
    assert_eq!(unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) }, 0);
    if limit.current >= n {
        return;
    }
    assert!(
        limit.max >= n,
        "this test needs {n} open files; the hard limit is {} (`ulimit -Hn`)",
        limit.max
    );
    limit.current = n;
    // SAFETY: as above.
    assert_eq!(unsafe { setrlimit(RLIMIT_NOFILE, &limit) }, 0);
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn ensure_open_files(_: u64) {}

/// A response read from a raw socket.
#[derive(Debug)]
struct Raw {
    status: u16,
    /// Names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The response at the start of `bytes`, once it is complete (`eof`:
    /// nothing more will come).
    fn parse(bytes: &[u8], eof: bool) -> Result<Option<Raw>, String> {
        let Some(end) = find(bytes, b"\r\n\r\n") else {
            return if eof {
                Err(format!(
                    "the connection ended before a response head: {:?}",
                    String::from_utf8_lossy(bytes)
                ))
            } else {
                Ok(None)
            };
        };
        let head = String::from_utf8_lossy(&bytes[..end]);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let rest = &bytes[end + 4..];
        let mut raw = Raw {
            status,
            headers,
            body: Vec::new(),
        };
        if raw.header("transfer-encoding") == Some("chunked") {
            let mut rest = rest;
            loop {
                let Some(line_end) = find(rest, b"\r\n") else {
                    return incomplete(eof);
                };
                let size = String::from_utf8_lossy(&rest[..line_end]);
                let size = size.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| format!("bad chunk size {size:?}"))?;
                let chunk = &rest[line_end + 2..];
                if size == 0 {
                    return Ok(Some(raw));
                }
                if chunk.len() < size + 2 {
                    return incomplete(eof);
                }
                raw.body.extend_from_slice(&chunk[..size]);
                rest = &chunk[size + 2..];
            }
        }
        match raw.header("content-length").map(str::parse::<usize>) {
            Some(Ok(n)) if rest.len() >= n => raw.body = rest[..n].to_vec(),
            Some(Ok(_)) => return incomplete(eof),
            Some(Err(e)) => return Err(format!("bad content-length: {e}")),
            None if eof => raw.body = rest.to_vec(),
            None => return Ok(None),
        }
        Ok(Some(raw))
    }
}

fn incomplete(eof: bool) -> Result<Option<Raw>, String> {
    if eof {
        Err("the connection ended within the response body".into())
    } else {
        Ok(None)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `n` requests for `path` at the same time, each on its own connection:
/// every connection is opened first, then every request is sent. Each
/// result is the response, or what went wrong on its connection.
fn burst(addr: SocketAddr, path: &str, n: usize) -> Vec<Result<Raw, String>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let limit = Duration::from_secs(120);
        let connects: Vec<_> = (0..n)
            .map(|_| {
                tokio::spawn(tokio::time::timeout(
                    limit,
                    tokio::net::TcpStream::connect(addr),
                ))
            })
            .collect();
        let mut streams = Vec::with_capacity(n);
        for connect in connects {
            streams.push(match connect.await.unwrap() {
                Ok(Ok(stream)) => Ok(stream),
                Ok(Err(e)) => Err(format!("connect: {e}")),
                Err(_) => Err("connect: no answer in 120 s".to_owned()),
            });
        }
        let exchanges: Vec<_> = streams
            .into_iter()
            .map(|stream| {
                let request = request.clone();
                tokio::spawn(async move {
                    let mut stream = stream?;
                    let exchange = async {
                        stream.write_all(request.as_bytes()).await?;
                        let mut bytes = Vec::new();
                        stream.read_to_end(&mut bytes).await?;
                        Ok::<_, std::io::Error>(bytes)
                    };
                    match tokio::time::timeout(limit, exchange).await {
                        Ok(Ok(bytes)) => {
                            Raw::parse(&bytes, true)?.ok_or_else(|| "no response".to_owned())
                        }
                        Ok(Err(e)) => Err(format!("{:?}: {e}", e.kind())),
                        Err(_) => Err("no complete answer in 120 s".to_owned()),
                    }
                })
            })
            .collect();
        let mut results = Vec::with_capacity(n);
        for exchange in exchanges {
            results.push(exchange.await.unwrap());
        }
        results
    })
}

#[test]
fn two_thousand_concurrent_requests_are_served_or_refused_with_retry_after() {
    const REQUESTS: usize = 2000;
    // The client's sockets and the node's.
    ensure_open_files(2 * REQUESTS as u64 + 1024);
    // A tenant may ask for as many concurrent requests as the node has
    // instances (1,000 by default).
    let scene = Scene::start(
        r#"name = "hostile"

[services.slow]
source = "slow.wasm"
routes = ["/slow"]
limits = { concurrency = 1000 }
"#,
        &[("slow.wasm", "slow")],
    );
    let results = scene.under_attack(|| burst(scene.node.data, "/slow?ms=4000", REQUESTS));
    let mut served = 0;
    let mut refused = 0;
    let mut wrong: std::collections::BTreeMap<String, usize> = Default::default();
    for result in &results {
        let verdict = match result {
            Ok(r) if r.status == 200 && r.body == b"done" => {
                served += 1;
                continue;
            }
            // Refused by the node's admission control, not by an
            // exhausted instance pool ("no sandbox capacity: ...").
            Ok(r)
                if r.status == 503
                    && r.header("retry-after").is_some()
                    && !r.body.starts_with(b"no sandbox capacity") =>
            {
                refused += 1;
                continue;
            }
            Ok(r) => format!(
                "{} {:?} x-mote-error={:?} retry-after={:?}",
                r.status,
                String::from_utf8_lossy(&r.body).trim_end(),
                r.header("x-mote-error"),
                r.header("retry-after"),
            ),
            Err(e) => e.clone(),
        };
        *wrong.entry(verdict).or_default() += 1;
    }
    assert!(
        wrong.is_empty(),
        "{served} served, {refused} refused with Retry-After, and otherwise: {wrong:#?}"
    );
    assert!(served > 0, "none served ({refused} refused)");
    scene.assert_healthy();
}

/// How a connection that the node should close is left open by its client.
#[derive(Clone, Copy, Debug)]
enum Stall {
    /// Request headers, one byte per second, never finished.
    HeadersByteBySecond,
    /// Connected, and nothing sent at all.
    Silent,
}

#[test]
fn slow_clients_are_closed_after_the_header_timeout() {
    // The node's header timeout is 10 s (`NodeConfig::header_timeout`; not
    // settable from the command line), so allow three times that.
    const DEADLINE: Duration = Duration::from_secs(30);
    let scene = Scene::start(
        r#"name = "hostile"

[services.hello]
source = "hello.wasm"
routes = ["/slowloris"]
"#,
        &[("hello.wasm", "hello")],
    );
    let node = &scene.node;
    let head = b"GET /slowloris HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: \
                 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let still_open = scene.under_attack(|| {
        let mut clients: Vec<(Stall, TcpStream, usize, Vec<u8>)> = (0..25)
            .map(|i| {
                let stall = if i % 5 == 4 {
                    Stall::Silent
                } else {
                    Stall::HeadersByteBySecond
                };
                let stream = TcpStream::connect(node.data).unwrap();
                stream.set_nonblocking(true).unwrap();
                (stall, stream, 0, Vec::new())
            })
            .collect();
        let started = Instant::now();
        while !clients.is_empty() && started.elapsed() < DEADLINE {
            clients.retain_mut(|(stall, stream, sent, received)| {
                // Closed by the node: end of stream, an error, or a refused write.
                let mut buf = [0; 1024];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) => return false,
                        Ok(n) => received.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => return false,
                    }
                }
                if matches!(stall, Stall::HeadersByteBySecond) && *sent < head.len() {
                    if stream.write(&head[*sent..*sent + 1]).is_err() {
                        return false;
                    }
                    *sent += 1;
                }
                true
            });
            std::thread::sleep(Duration::from_secs(1));
        }
        clients
            .iter()
            .map(|(stall, _, sent, received)| {
                format!(
                    "{stall:?} ({sent} bytes sent), received {:?}",
                    String::from_utf8_lossy(received)
                )
            })
            .collect::<Vec<_>>()
    });
    assert!(
        still_open.is_empty(),
        "{} of 25 stalled connections still open after {DEADLINE:?}:\n{}",
        still_open.len(),
        still_open.join("\n")
    );
    scene.assert_healthy();
}

/// How an upload never ends.
#[derive(Clone, Copy, Debug)]
enum Upload {
    /// Chunked, one byte every 200 ms, forever.
    SlowChunks,
    /// `Content-Length` of 1 MB, 10 bytes sent, then nothing.
    ShortOfItsLength,
    /// Chunked, 64 KiB chunks as fast as the node takes them, forever.
    EndlessChunks,
}

/// POST a body that never ends to `path`: the node's response, and whether
/// the node closed the connection after it.
fn endless_upload(addr: SocketAddr, path: &str, upload: Upload) -> (Result<Raw, String>, bool) {
    const DEADLINE: Duration = Duration::from_secs(40);
    let mut stream = TcpStream::connect(addr).unwrap();
    let framing = match upload {
        Upload::ShortOfItsLength => "Content-Length: 1000000",
        Upload::SlowChunks | Upload::EndlessChunks => "Transfer-Encoding: chunked",
    };
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n\r\n"
    )
    .unwrap();
    let done = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|s| {
        let mut writer = stream.try_clone().unwrap();
        let done = &done;
        s.spawn(move || {
            let big = [
                format!("{:x}\r\n", 64 << 10).into_bytes(),
                vec![b'b'; 64 << 10],
                b"\r\n".to_vec(),
            ]
            .concat();
            while !done.load(Ordering::Relaxed) && started.elapsed() < DEADLINE {
                let piece: &[u8] = match upload {
                    Upload::SlowChunks => b"1\r\na\r\n",
                    Upload::ShortOfItsLength => b"0123456789",
                    Upload::EndlessChunks => &big,
                };
                if writer.write_all(piece).is_err() {
                    return;
                }
                if matches!(upload, Upload::ShortOfItsLength) {
                    // Ten bytes, then silence until the node answers.
                    while !done.load(Ordering::Relaxed) && started.elapsed() < DEADLINE {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    return;
                }
                if matches!(upload, Upload::SlowChunks) {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut bytes = Vec::new();
        let mut response = None;
        let mut closed = false;
        let mut buf = vec![0; 64 << 10];
        while started.elapsed() < DEADLINE {
            let eof = match stream.read(&mut buf) {
                Ok(0) => true,
                Ok(n) => {
                    bytes.extend_from_slice(&buf[..n]);
                    false
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
                // A reset once the response is in counts as a close.
                Err(_) if response.is_some() => true,
                Err(e) => {
                    response = Some(Err(format!("{:?}: {e}", e.kind())));
                    break;
                }
            };
            if response.is_none() {
                match Raw::parse(&bytes, eof) {
                    Ok(Some(raw)) => response = Some(Ok(raw)),
                    Ok(None) => {}
                    Err(e) => {
                        response = Some(Err(e));
                        break;
                    }
                }
            }
            if eof {
                closed = true;
                break;
            }
        }
        done.store(true, Ordering::Relaxed);
        let response = response.unwrap_or_else(|| Err(format!("no response in {DEADLINE:?}")));
        (response, closed)
    })
}

#[test]
fn a_request_body_that_never_ends_is_stopped_and_its_connection_closed() {
    let scene = Scene::start(
        r#"name = "hostile"

[services.sink]
source = "echo.wasm"
routes = ["/sink/component"]
limits = { timeout = "2s", request_body = "1MiB" }

[services.sinkjs]
source = "attacks.js"
routes = ["/sink/js"]
limits = { timeout = "2s", request_body = "1MiB" }
"#,
        &[("echo.wasm", "echo")],
    );
    let addr = scene.node.data;
    let uploads = [
        Upload::SlowChunks,
        Upload::ShortOfItsLength,
        Upload::EndlessChunks,
    ];
    let results = scene.under_attack(|| {
        std::thread::scope(|s| {
            let running: Vec<_> = ["/sink/component", "/sink/js"]
                .into_iter()
                .flat_map(|path| uploads.map(|upload| (path, upload)))
                .map(|(path, upload)| {
                    s.spawn(move || (path, upload, endless_upload(addr, path, upload)))
                })
                .collect();
            running
                .into_iter()
                .map(|r| r.join().unwrap())
                .collect::<Vec<_>>()
        })
    });
    for (path, upload, (response, closed)) in results {
        let response = response.unwrap_or_else(|e| panic!("{path} {upload:?}: {e}"));
        let (status, kind, message) = match upload {
            Upload::SlowChunks | Upload::ShortOfItsLength => {
                (504, "wall-clock-limit", "wall-clock limit of 2s exceeded")
            }
            Upload::EndlessChunks => (
                413,
                "request-too-large",
                "request body exceeds the limit of 1048576 bytes",
            ),
        };
        let body = String::from_utf8_lossy(&response.body);
        assert_eq!(
            response.status, status,
            "{path} {upload:?}: {response:?} {body}"
        );
        assert_eq!(
            response.header("x-mote-error"),
            Some(kind),
            "{path} {upload:?}"
        );
        assert!(body.contains(message), "{path} {upload:?}: {body}");
        assert!(closed, "{path} {upload:?}: the connection was left open");
    }
    scene.assert_healthy();
}

/// Pseudo-random bytes (xorshift), the same every run.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn broken_and_oversized_deploys_are_refused_and_the_old_version_serves() {
    let scene = Scene::start(
        "name = \"hostile\"\n\n[services.main]\nsource = \"hello.wasm\"\nroutes = [\"/victim\"]\n",
        &[("hello.wasm", "hello")],
    );
    let node = &scene.node;
    let serves_version_1 = |after: &str| {
        let answer = get(node, "/victim");
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "Hello from Mote!\n"),
            "after {after}"
        );
        assert_eq!(app_version(node, "hostile"), 1, "after {after}");
    };
    let component_manifest =
        "name = \"hostile\"\n\n[services.main]\nsource = \"main.wasm\"\nroutes = [\"/victim\"]\n";
    let put = |app: &Path| {
        let resp = admin(node)
            .put(node.admin_url("/v1/apps/hostile"))
            .body(tar_of(app))
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().unwrap())
    };
    scene.under_attack(|| {
        // Random bytes, and random bytes behind a component header.
        let header = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
        for (what, wasm) in [
            ("random bytes", noise(64 << 10)),
            (
                "a header and random bytes",
                [&header[..], &noise(64 << 10)].concat(),
            ),
        ] {
            let app = tempfile::tempdir().unwrap();
            std::fs::write(app.path().join("mote.toml"), component_manifest).unwrap();
            std::fs::write(app.path().join("main.wasm"), wasm).unwrap();
            let (status, body) = put(app.path());
            assert!((400..500).contains(&status), "{what}: {status} {body}");
            assert!(
                body.contains("main.wasm") && body.contains("not a valid WebAssembly component"),
                "{what}: {body}"
            );
            serves_version_1(what);
        }

        // A truncated component, through `mote deploy`.
        let app = tempfile::tempdir().unwrap();
        std::fs::write(app.path().join("mote.toml"), component_manifest).unwrap();
        let hello = std::fs::read(mote_test_guests::HELLO).unwrap();
        std::fs::write(app.path().join("main.wasm"), &hello[..hello.len() / 2]).unwrap();
        let out = node.cli(&["deploy", app.path().to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "a truncated component was deployed");
        assert!(
            stderr.contains("main.wasm") && stderr.contains("not a valid WebAssembly component"),
            "{stderr}"
        );
        serves_version_1("a truncated component");

        // 50 MB of JavaScript: a handler and a 50 MB string.
        let app = tempfile::tempdir().unwrap();
        std::fs::write(
            app.path().join("mote.toml"),
            "name = \"hostile\"\n\n[services.main]\nsource = \"main.js\"\nroutes = [\"/victim\"]\n",
        )
        .unwrap();
        let mut js =
            b"export default { fetch() { return new Response('50 MB'); } };\nexport const blob = '"
                .to_vec();
        js.resize(50_000_000 - 3, b's');
        js.extend_from_slice(b"';\n");
        std::fs::write(app.path().join("main.js"), js).unwrap();
        let (status, body) = put(app.path());
        if (200..300).contains(&status) {
            let answer = get(node, "/victim");
            panic!(
                "a 50 MB script was deployed ({status} {body}); /victim now answers {} {:?}",
                answer.status, answer.body
            );
        }
        assert!((400..500).contains(&status), "{status} {body}");
        assert!(
            body.contains("main.js")
                && ["too large", "size", "bytes", "MB", "MiB"]
                    .iter()
                    .any(|word| body.contains(word)),
            "the refusal does not name the script's size: {body}"
        );
        serves_version_1("a 50 MB script");
    });
    scene.assert_healthy();
}

#[test]
fn a_body_cut_off_by_its_client_never_reaches_a_handler_as_whole() {
    let scene = Scene::start(
        r#"name = "hostile"

[services.sinkjs]
source = "attacks.js"
routes = ["/sink/js"]
"#,
        &[],
    );
    // Part of a body, then the client stops sending (half-close): a chunked
    // body without its last chunk, and a body shorter than its length.
    let cut_off = |head: &str, sent: &str| {
        let mut conn = TcpStream::connect(scene.node.data).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            conn,
            "POST /sink/js HTTP/1.1\r\nHost: x\r\n{head}\r\n\r\n{sent}"
        )
        .unwrap();
        conn.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        answer
    };
    for (head, sent) in [
        ("Transfer-Encoding: chunked", "5\r\nhello\r\n"),
        ("Content-Length: 100", "abc"),
    ] {
        let answer = scene.under_attack(|| cut_off(head, sent));
        // The handler (which would answer "read N bytes") never ran.
        assert!(!answer.contains("read "), "{head}: {answer}");
        let line = request_log_line(&scene.node, "/sink/js");
        assert!(
            line.contains("the request body ended before it was complete"),
            "{head}: {line}"
        );
    }
    scene.assert_healthy();
}
