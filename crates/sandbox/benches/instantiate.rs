//! Per-request sandbox cost: a fresh instance of the hello component plus one
//! call of its handler, with the response body read to the end, on a
//! current-thread runtime like each of the node's data-plane threads. Each
//! iteration is a client's request of its own, with its own `Invocation`
//! (and so its own chain of calls, whose CPU time decides whether a run
//! starts on the sandbox's low-priority threads).
//!
//! `cargo bench -p mote-sandbox --bench instantiate`

use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use mote_sandbox::{InstanceLimits, Invocation, Sandbox, SandboxConfig, empty_body};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let wasm = std::fs::read(mote_test_guests::HELLO).unwrap();
    let prepared = sandbox.prepare(&sandbox.compile(&wasm).unwrap()).unwrap();
    let mut group = c.benchmark_group("sandbox");
    group.bench_function(
        format!("hello_instantiate_and_call_{:?}", sandbox.allocator()),
        |b| {
            b.to_async(&rt).iter(|| async {
                let req = http::Request::get("http://localhost/hello")
                    .body(empty_body())
                    .unwrap();
                let (resp, done) = prepared
                    .handle(req, Invocation::new(InstanceLimits::default()))
                    .await;
                let body = resp
                    .unwrap()
                    .into_body()
                    .collect()
                    .await
                    .unwrap()
                    .to_bytes();
                assert_eq!(&body[..], b"Hello from Mote!\n");
                done.wait().await;
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
