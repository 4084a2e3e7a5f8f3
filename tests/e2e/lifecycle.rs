//! The services' lifecycle, end to end: lazy loading after a restart, idle
//! and memory-budget eviction (never of code a request is running),
//! promotion of a hot JavaScript service to its own snapshot and its
//! demotion, admission (queue, node capacity) and graceful drain — each
//! observed through the admin API and the node's log.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Node, admin, app_dir, get, get_json, hello_manifest, http, log_field};

fn health(node: &Node) -> Value {
    http()
        .get(node.admin_url("/v1/health"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// The admin API's view of service `service` of app `app`.
fn service(node: &Node, app: &str, service: &str) -> Value {
    let detail: Value = admin(node)
        .get(node.admin_url(&format!("/v1/apps/{app}")))
        .send()
        .unwrap()
        .json()
        .unwrap();
    detail["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == service)
        .unwrap_or_else(|| panic!("no service {service} in {detail}"))
        .clone()
}

fn state(node: &Node, app: &str, svc: &str) -> String {
    service(node, app, svc)["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Poll `cond` every 100 ms for up to `limit`; whether it became true.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

#[test]
fn services_load_at_their_first_request_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(&hello_manifest("lazy", "/lazy"), &[("hello.wasm", "hello")]);
    {
        let node = Node::start(data.path(), &[a.path()]);
        assert_eq!(get(&node, "/lazy").0, 200);
        assert!(node.terminate().success());
    }
    let node = Node::start(data.path(), &[]);
    // Restored, routed, but nothing loaded: no compiled code was read.
    assert_eq!(state(&node, "lazy", "hello"), "unloaded");
    assert_eq!(service(&node, "lazy", "hello")["memory_bytes"], 0);
    let h = health(&node);
    assert_eq!(h["lifecycle"]["loaded"], 0, "{h}");
    assert!(
        !node
            .logs()
            .contains("component loaded from the compiled-code cache"),
        "{}",
        node.logs()
    );

    assert_eq!(get(&node, "/lazy"), (200, "Hello from Mote!\n".into()));
    let s = service(&node, "lazy", "hello");
    assert_eq!(s["state"], "loaded", "{s}");
    assert!(s["memory_bytes"].as_u64().unwrap() > 0, "{s}");
    assert!(s["last_used_unix_ms"].as_u64().is_some(), "{s}");
    let h = health(&node);
    assert_eq!(h["lifecycle"]["loads"], 1, "{h}");
    assert_eq!(h["lifecycle"]["loaded"], 1, "{h}");
    // From the cache, not recompiled.
    let logs = node.logs();
    assert!(
        logs.contains("component loaded from the compiled-code cache"),
        "{logs}"
    );
    assert!(!logs.contains("component compiled"), "{logs}");
}

#[test]
fn idle_code_is_unloaded_but_never_under_a_running_request() {
    let data = tempfile::tempdir().unwrap();
    let manifest = "name = \"idle\"\n\n\
        [services.hello]\nsource = \"hello.wasm\"\nroutes = [\"/hello\"]\n\n\
        [services.slow]\nsource = \"slow.wasm\"\nroutes = [\"/slow\"]\n";
    let a = app_dir(manifest, &[("hello.wasm", "hello"), ("slow.wasm", "slow")]);
    let node = Node::start_with(data.path(), &[a.path()], &["--idle-timeout", "1s"]);

    // A request running for longer than the idle time keeps its code.
    let slow = {
        let url = node.url("/slow?ms=4000");
        std::thread::spawn(move || {
            let resp = http().get(url).send().unwrap();
            (resp.status().as_u16(), resp.text().unwrap())
        })
    };
    assert_eq!(get(&node, "/hello").0, 200);
    assert!(
        eventually(Duration::from_secs(10), || state(&node, "idle", "hello")
            == "unloaded"),
        "the idle service is unloaded"
    );
    let running = service(&node, "idle", "slow");
    assert_eq!(running["instances"], 1, "{running}");
    assert_eq!(running["state"], "loaded", "{running}");
    assert_eq!(slow.join().unwrap(), (200, "done".into()));
    // Once it has finished, it is idle too.
    assert!(eventually(Duration::from_secs(10), || state(
        &node, "idle", "slow"
    ) == "unloaded"));
    let h = health(&node);
    assert!(
        h["lifecycle"]["idle_evictions"].as_u64().unwrap() >= 2,
        "{h}"
    );
    assert!(node.logs().contains("unloaded: idle"));

    // An evicted service answers again (loaded anew).
    assert_eq!(get(&node, "/hello"), (200, "Hello from Mote!\n".into()));
    assert_eq!(state(&node, "idle", "hello"), "loaded");
}

#[test]
fn over_the_memory_budget_the_least_recently_used_is_unloaded() {
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(
        &hello_manifest("first", "/first"),
        &[("hello.wasm", "hello")],
    );
    let b = app_dir(
        &hello_manifest("second", "/second"),
        &[("hello.wasm", "version2")],
    );
    // Measure what one loaded service holds, then give the node room for
    // one and a half of them.
    let one = {
        let node = Node::start(data.path(), &[a.path(), b.path()]);
        get(&node, "/first");
        get(&node, "/second");
        let first = service(&node, "first", "hello")["memory_bytes"]
            .as_u64()
            .unwrap();
        let second = service(&node, "second", "hello")["memory_bytes"]
            .as_u64()
            .unwrap();
        assert!(node.terminate().success());
        first.max(second)
    };
    let budget = (one * 3 / 2).to_string();
    let node = Node::start_with(data.path(), &[], &["--memory-budget", &budget]);
    assert_eq!(get(&node, "/first").0, 200);
    assert_eq!(state(&node, "first", "hello"), "loaded");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(get(&node, "/second"), (200, "Hello v2\n".into()));
    // The second load would have gone over the budget: the first (least
    // recently used, no request holds it) was unloaded before the second
    // was loaded, so the code held never went over.
    assert_eq!(
        state(&node, "first", "hello"),
        "unloaded",
        "{}",
        node.logs()
    );
    assert_eq!(state(&node, "second", "hello"), "loaded");
    let h = health(&node);
    let l = &h["lifecycle"];
    assert!(l["budget_evictions"].as_u64().unwrap() >= 1, "{h}");
    let budget = l["budget_bytes"].as_u64().unwrap();
    assert!(l["code_bytes"].as_u64().unwrap() <= budget, "{h}");
    assert!(
        l["code_bytes_peak"].as_u64().unwrap() <= budget,
        "the peak stayed within the budget: {h}"
    );
    assert!(
        l["code_bytes_peak"].as_u64().unwrap() >= l["code_bytes"].as_u64().unwrap(),
        "{h}"
    );
    assert!(l["rss_bytes"].as_u64().unwrap() > 0, "{h}");
    assert!(node.logs().contains("unloaded: memory budget"));
    // Both keep answering: each request loads what it needs.
    for _ in 0..3 {
        assert_eq!(get(&node, "/first").0, 200);
        assert_eq!(get(&node, "/second").0, 200);
    }
}

const HOT_JS: &str = r#"
// Evaluated once per snapshot when promoted; per request otherwise.
const token = process.env.TOKEN ?? "unset";
const evaluated = Math.random();
let counter = 0;
export default {
  fetch() {
    counter += 1;
    return Response.json({ token, evaluated, counter, random: Math.random() });
  },
};
"#;

fn js_app_dir(manifest: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mote.toml"), manifest).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn an_app_that_crowds_the_others_is_not_promoted() {
    let data = tempfile::tempdir().unwrap();
    // A score of 30: `crowd` crowds from its 9th request in flight on.
    let node = Node::start_with(data.path(), &[], &["--promote-after", "30"]);
    let wait_js = "export default { async fetch() {\n\
        await new Promise((r) => setTimeout(r, 300));\n\
        return new Response('waited');\n} };\n";
    let crowd = js_app_dir(
        "name = \"crowd\"\n\n[services.wait]\nsource = \"wait.js\"\nroutes = [\"/wait\"]\n",
        &[("wait.js", wait_js)],
    );
    let quiet = js_app_dir(
        "name = \"quiet\"\n\n[services.api]\nsource = \"api.js\"\nroutes = [\"/api\"]\n",
        &[("api.js", HOT_JS)],
    );
    for app in [&crowd, &quiet] {
        let out = node.cli(&["deploy", app.path().to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    get_json(&node, "/api");
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        // `crowd` keeps 24 requests in flight (more than 8, and four times
        // the others') while `quiet` is served one request at a time: both
        // are hot, and `crowd` crowds `quiet`.
        for _ in 0..24 {
            s.spawn(|| {
                let client = http();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let resp = client.get(node.url("/wait")).send().unwrap();
                    assert_eq!(resp.status(), 200);
                }
            });
        }
        let mut crowd_promoted = false;
        let promoted = eventually(Duration::from_secs(180), || {
            get_json(&node, "/api");
            crowd_promoted |= state(&node, "crowd", "wait") == "promoted";
            crowd_promoted || state(&node, "quiet", "api") == "promoted"
        });
        // Some sweeps more (one a second), still crowding.
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until && !crowd_promoted {
            get_json(&node, "/api");
            crowd_promoted |= state(&node, "crowd", "wait") == "promoted";
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(promoted, "{}", node.logs());
        assert!(!crowd_promoted, "{}", node.logs());
    });
    assert_eq!(health(&node)["lifecycle"]["promotions"], 1);
}

fn set_secret(node: &Node, app: &str, name: &str, value: &str) {
    let resp = admin(node)
        .put(node.admin_url(&format!("/v1/apps/{app}/secrets/{name}")))
        .body(value.to_owned())
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

#[test]
fn a_hot_javascript_service_is_promoted_then_demoted_when_cold() {
    let data = tempfile::tempdir().unwrap();
    let manifest = "name = \"hot\"\n\n[services.api]\nsource = \"api.js\"\n\
        routes = [\"/api\"]\nbindings.TOKEN = { secret = \"token\" }\n";
    let app = js_app_dir(manifest, &[("api.js", HOT_JS)]);
    let node = Node::start_with(
        data.path(),
        &[],
        &["--promote-after", "5", "--idle-timeout", "6s"],
    );
    set_secret(&node, "hot", "token", "first");
    let out = node.cli(&["deploy", app.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(get_json(&node, "/api")["token"], "first");

    // Keep it busy until the background promotion has happened.
    let promoted = eventually(Duration::from_secs(180), || {
        get_json(&node, "/api");
        state(&node, "hot", "api") == "promoted"
    });
    assert!(promoted, "{}", node.logs());
    assert!(node.logs().contains("promoted to its own snapshot"));
    let h = health(&node);
    assert_eq!(h["lifecycle"]["promotions"], 1, "{h}");
    assert_eq!(h["lifecycle"]["promoted"], 1, "{h}");

    // Served from the snapshot: the module was evaluated once, when the
    // snapshot was taken (the same `evaluated`), and each request starts
    // from that state afresh (`counter` is 1); Math.random still differs.
    let a = get_json(&node, "/api");
    let b = get_json(&node, "/api");
    assert_eq!(a["token"], "first");
    assert_eq!(a["evaluated"], b["evaluated"], "{a} {b}");
    assert_eq!(
        (a["counter"].as_u64(), b["counter"].as_u64()),
        (Some(1), Some(1))
    );
    assert_ne!(a["random"], b["random"]);

    // A secret changed: the snapshot (evaluated with the old value) is not
    // used; each request evaluates the module again, with the new value.
    set_secret(&node, "hot", "token", "second");
    let a = get_json(&node, "/api");
    let b = get_json(&node, "/api");
    assert_eq!(
        (a["token"].as_str(), b["token"].as_str()),
        (Some("second"), Some("second"))
    );
    assert_ne!(a["evaluated"], b["evaluated"], "{a} {b}");

    // No more requests: demoted (cold), then unloaded (idle).
    assert!(
        eventually(Duration::from_secs(30), || state(&node, "hot", "api")
            != "promoted"),
        "{}",
        node.logs()
    );
    assert!(node.logs().contains("demoted: cold"));
    assert!(eventually(Duration::from_secs(30), || state(
        &node, "hot", "api"
    ) == "unloaded"));
    assert_eq!(get_json(&node, "/api")["token"], "second");
}

#[test]
fn a_short_queue_then_503_and_node_capacity_before_the_pool_runs_out() {
    let data = tempfile::tempdir().unwrap();
    let manifest = "name = \"q\"\n\n\
        [services.slow]\nsource = \"slow.wasm\"\nroutes = [\"/slow\"]\n\
        limits.concurrency = 1\nlimits.queue = 2\n\n\
        [services.wide]\nsource = \"slow.wasm\"\nroutes = [\"/wide\"]\n";
    let a = app_dir(manifest, &[("slow.wasm", "slow")]);
    let b = app_dir(
        "name = \"other\"\n\n[services.wide]\nsource = \"slow.wasm\"\nroutes = [\"/other\"]\n",
        &[("slow.wasm", "slow")],
    );
    // 6 instances: 5 for requests (1 kept for the node's own work), of
    // which one app may hold 4.
    let node = Node::start_with(
        data.path(),
        &[a.path(), b.path()],
        &["--max-instances", "6"],
    );

    let burst = |path: &str, n: usize| {
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let url = node.url(path);
                std::thread::spawn(move || {
                    let resp = http().get(url).send().unwrap();
                    let kind = resp
                        .headers()
                        .get("x-mote-error")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    (resp.status().as_u16(), kind, resp.text().unwrap())
                })
            })
            .collect::<Vec<_>>();
        move || -> Vec<(u16, String, String)> {
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        }
    };
    let refused_with = |results: &[(u16, String, String)], kind: &str, text: &str| {
        for r in results.iter().filter(|r| r.0 != 200) {
            assert_eq!((r.0, r.1.as_str()), (503, kind), "{r:?}");
            assert!(r.2.contains(text), "{r:?}");
        }
    };

    // One runs, two wait their turn (100 ms each, well within the wait),
    // the rest are refused at once.
    let results = burst("/slow?ms=100", 6)();
    let ok = results.iter().filter(|r| r.0 == 200).count();
    assert!(
        ok >= 3,
        "the queue let waiting requests through: {results:?}"
    );
    assert!(ok < 6, "{results:?}");
    refused_with(&results, "overloaded", "concurrency limit of 1");

    // Eight long requests to a service with room for 64: its app may hold
    // 4 instances; the others wait briefly, then get a clear 503, never a
    // failure to instantiate.
    let wide = burst("/wide?ms=3000", 8);
    assert!(eventually(Duration::from_secs(10), || service(
        &node, "q", "wide"
    )["instances"]
        == 4));
    // Another app still has room: one instance left on the node, and then
    // none.
    let other = burst("/other?ms=1500", 3)();
    let wide = wide();
    assert_eq!(wide.iter().filter(|r| r.0 == 200).count(), 4, "{wide:?}");
    refused_with(
        &wide,
        "capacity",
        "the app is using its share of the node's capacity (4 instances)",
    );
    assert_eq!(other.iter().filter(|r| r.0 == 200).count(), 1, "{other:?}");
    refused_with(
        &other,
        "capacity",
        "the node is at its capacity of 5 instances",
    );
    assert_eq!(get(&node, "/wide?ms=1").0, 200);
    assert_eq!(get(&node, "/other?ms=1").0, 200);
}

#[test]
fn sigterm_drains_in_flight_requests_then_exits_0() {
    let data = tempfile::tempdir().unwrap();
    let a = app_dir(
        "name = \"drain\"\n\n[services.slow]\nsource = \"slow.wasm\"\nroutes = [\"/slow\"]\n",
        &[("slow.wasm", "slow")],
    );
    let node = Node::start(data.path(), &[a.path()]);
    let addr = node.data;
    let in_flight = {
        let url = node.url("/slow?ms=2000");
        std::thread::spawn(move || {
            let resp = http().get(url).send().unwrap();
            (resp.status().as_u16(), resp.text().unwrap())
        })
    };
    assert!(eventually(Duration::from_secs(10), || service(
        &node, "drain", "slow"
    )["instances"]
        == 1));
    let status = node.terminate();
    // The request that was running finished, and the node exited cleanly.
    assert_eq!(in_flight.join().unwrap(), (200, "done".into()));
    assert!(status.success(), "{status:?}");
    // Nothing listens any more.
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

const REUSED_JS: &str = r#"
let counter = 0;
export default {
  fetch(request) {
    counter += 1;
    const url = new URL(request.url);
    if (url.searchParams.has("throw")) throw new Error("boom");
    if (url.searchParams.has("spin")) for (;;) {}
    return new Response(`${counter} ${process.env.TOKEN ?? "unset"}`);
  },
};
"#;

#[test]
fn reused_instances_serve_up_to_n_requests_and_are_dropped_after_a_failure() {
    let data = tempfile::tempdir().unwrap();
    let manifest = "name = \"warm\"\n\n\
        [services.js]\nsource = \"js.js\"\nroutes = [\"/js\"]\n\
        instance = { reuse = 3 }\nbindings.TOKEN = { secret = \"token\" }\n\
        limits.cpu = \"100ms\"\n\n\
        [services.wasm]\nsource = \"counter.wasm\"\nroutes = [\"/wasm\"]\n\
        instance = { reuse = 2 }\n\n\
        [services.fresh]\nsource = \"counter.wasm\"\nroutes = [\"/fresh\"]\n";
    let app = js_app_dir(manifest, &[("js.js", REUSED_JS)]);
    std::fs::copy(
        mote_test_guests::get("counter").unwrap(),
        app.path().join("counter.wasm"),
    )
    .unwrap();
    let node = Node::start(data.path(), &[app.path()]);
    // A reused instance is handed back just after its response has gone
    // out: each request waits for the one before to be over, so that it
    // finds that instance idle.
    let get = |node: &Node, path: &str| {
        let name = path[1..].split('?').next().unwrap();
        assert!(eventually(Duration::from_secs(5), || service(
            node, "warm", name
        )["instances"]
            == 0));
        get(node, path)
    };
    let seq =
        |path: &str, n: usize| -> Vec<String> { (0..n).map(|_| get(&node, path).1).collect() };

    // Each instance serves 3 requests one after another, then a fresh one.
    assert_eq!(
        seq("/js", 7),
        [
            "1 unset", "2 unset", "3 unset", "1 unset", "2 unset", "3 unset", "1 unset"
        ]
    );
    // A component the same way; without `instance`, never reused.
    assert_eq!(seq("/wasm", 5), ["1", "2", "1", "2", "1"]);
    assert_eq!(seq("/fresh", 3), ["1", "1", "1"]);

    // A failed request (an exception, a CPU limit) drops its instance.
    assert_eq!(get(&node, "/js").1, "2 unset");
    assert_eq!(get(&node, "/js?throw").0, 500);
    assert_eq!(get(&node, "/js").1, "1 unset");
    assert_eq!(get(&node, "/js?spin").0, 503);
    assert_eq!(get(&node, "/js").1, "1 unset");
    assert_eq!(get(&node, "/js").1, "2 unset");

    // A changed environment (a secret set) never gets an old instance.
    set_secret(&node, "warm", "token", "s3cret");
    assert_eq!(seq("/js", 2), ["1 s3cret", "2 s3cret"]);
}

/// A service-binding call starts on the sandbox's low-priority threads once
/// its chain of calls has used the CPU that moves a single guest there (two
/// ticks): a tree of calls that are each short is not short.
#[test]
fn a_call_whose_chain_has_run_long_starts_on_the_low_priority_threads() {
    let data = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let manifest = "name = \"chain\"\n\n\
        [services.heavy]\nsource = \"heavy.js\"\nroutes = [\"/heavy\"]\n\
        bindings.LEAF = { service = \"leaf\" }\nlimits = { cpu = \"5s\" }\n\n\
        [services.leaf]\nsource = \"leaf.wasm\"\nroutes = [\"/leaf/*\"]\n";
    // Far more than two milliseconds of CPU in any build, then a call.
    let heavy = "export default { async fetch(request, env) {\n\
        let x = 0;\n\
        for (let i = 0; i < 2000000; i++) x = (x + i * 7) % 1000003;\n\
        const r = await env.LEAF.fetch('http://leaf/leaf/called');\n\
        return new Response(`${x} ${await r.text()}`);\n} };\n";
    let app = app_dir(manifest, &[("leaf.wasm", "hello")]);
    std::fs::write(app.path().join("heavy.js"), heavy).unwrap();
    let out = node.cli(&["deploy", app.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The leaf's first requests load its code; after them it is short.
    for _ in 0..5 {
        assert_eq!(get(&node, "/leaf/warm").0, 200);
    }
    for _ in 0..3 {
        let (status, body) = get(&node, "/heavy");
        assert_eq!(status, 200, "{body}");
        assert!(body.ends_with("Hello from Mote!\n"), "{body}");
    }
    let needle = "service=leaf version=1 method=GET path=/leaf/called ";
    let logged = eventually(Duration::from_secs(10), || {
        node.logs().lines().filter(|l| l.contains(needle)).count() == 3
    });
    assert!(logged, "not 3 log lines with {needle:?}");
    let calls: Vec<String> = node
        .logs()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect();
    // Calls that used less than two ticks themselves: only their chain can
    // have started them on the low-priority threads (on a slow machine a
    // call may run long on its own, and then proves nothing).
    let short: Vec<&String> = calls.iter().filter(|l| cpu_ms(l) < 2.0).collect();
    assert!(!short.is_empty(), "{calls:#?}");
    for line in short {
        assert!(line.contains("offloaded=true"), "{line}");
    }
    // The caller itself ran long, and was moved for it.
    let caller = node.log_line("service=heavy");
    assert!(caller.contains("offloaded=true"), "{caller}");
}

/// The CPU time a request log line reports.
fn cpu_ms(line: &str) -> f64 {
    log_field(line, "cpu_ms").trim_matches('"').parse().unwrap()
}

#[test]
fn instance_slots_left_unused_after_a_burst_give_their_memory_back() {
    let data = tempfile::tempdir().unwrap();
    let manifest = "name = \"burst\"\n\n\
        [services.slow]\nsource = \"slow.wasm\"\nroutes = [\"/slow\"]\n";
    let a = app_dir(manifest, &[("slow.wasm", "slow")]);
    let node = Node::start_with(
        data.path(),
        &[a.path()],
        &["--release-idle-memory-after", "1s"],
    );
    // 16 instances at once: 16 slots, each keeping the pages its instance
    // dirtied for the next one.
    let burst: Vec<_> = (0..16)
        .map(|_| {
            let url = node.url("/slow?ms=500");
            std::thread::spawn(move || http().get(url).send().unwrap().status().as_u16())
        })
        .collect();
    for request in burst {
        assert_eq!(request.join().unwrap(), 200);
    }
    let kept = health(&node)["lifecycle"]["idle_slot_bytes"]
        .as_u64()
        .unwrap();
    assert!(kept > 0, "{}", health(&node));
    // Unused from one release to the next (1-2 s, plus the sweep's second).
    assert!(
        eventually(
            Duration::from_secs(15),
            || health(&node)["lifecycle"]["idle_slot_bytes"] == 0
        ),
        "{}",
        health(&node)
    );
    let h = health(&node);
    assert!(
        h["lifecycle"]["idle_slot_bytes_released"].as_u64().unwrap() >= kept,
        "{h}"
    );
    assert!(
        node.logs()
            .contains("gave back the memory of idle instance slots")
    );
    // The released slots serve again.
    assert_eq!(get(&node, "/slow?ms=1"), (200, "done".into()));
}
