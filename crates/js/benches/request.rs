//! Per-request cost of a JavaScript service without HTTP: a fresh instance
//! of the engine's snapshot, the service's bundle loaded from stdin, one
//! request dispatched to its handler and the response body read to the end
//! ("shared"); and the same from a per-service snapshot with the module
//! already evaluated ("promoted", what the lifecycle promotes hot services
//! to). On a current-thread runtime like each of the node's data-plane
//! threads; each iteration is a request of its own, with its own
//! `Invocation` (and so its own chain of calls, whose CPU time decides
//! whether a run starts on the sandbox's low-priority threads).
//!
//! `cargo bench -p mote-js --bench request`

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use mote_js::{JsEngine, Sources};
use mote_sandbox::{InstanceLimits, Invocation, Prepared, Sandbox, SandboxConfig, empty_body};

const HELLO: &str = include_str!("../../../examples/hello-js/index.js");

/// One request to `prepared`, with `stdin` (the service's bundle, for the
/// shared engine) as the guest's standard input.
async fn request(prepared: &Prepared, stdin: Option<&Bytes>) {
    let req = http::Request::get("http://localhost/hello")
        .body(empty_body())
        .unwrap();
    let mut inv = Invocation::new(InstanceLimits::default());
    inv.stdin = stdin.cloned();
    let (resp, done) = prepared.handle(req, inv).await;
    let body = resp
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"Hello from JavaScript at /hello!\n");
    done.wait().await;
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let (engine, bundle, promoted) = rt.block_on(async {
        let snapshot = JsEngine::snapshot(&sandbox).await.unwrap();
        let engine = JsEngine::new(&sandbox, sandbox.compile(&snapshot).unwrap()).unwrap();
        let sources = Sources {
            entry: "index.js".into(),
            files: [("index.js".to_string(), HELLO.as_bytes().to_vec())].into(),
        };
        let bundle: Bytes = engine.compile(&sources).await.unwrap();
        let own = JsEngine::snapshot_service(&sandbox, bundle.clone(), Vec::new())
            .await
            .unwrap();
        let promoted = sandbox.prepare(&sandbox.compile(&own).unwrap()).unwrap();
        (engine, bundle, promoted)
    });
    let mut group = c.benchmark_group("js");
    group.bench_function("hello_shared_engine", |b| {
        b.to_async(&rt)
            .iter(|| request(engine.prepared(), Some(&bundle)))
    });
    group.bench_function("hello_promoted", |b| {
        b.to_async(&rt).iter(|| request(&promoted, None))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
