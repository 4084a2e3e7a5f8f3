//! The sandbox on its own, without a node or an HTTP server: real guests in
//! real Wasmtime instances.

use std::time::Duration;

use http_body_util::BodyExt;
use mote_sandbox::{
    AllocatorKind, InstanceLimits, Invocation, LoadError, Outcome, Prepared, Sandbox,
    SandboxConfig, SandboxError, empty_body,
};

fn prepare(sandbox: &Sandbox, guest: &str) -> Prepared {
    let wasm = std::fs::read(mote_test_guests::get(guest).unwrap()).unwrap();
    sandbox.prepare(&sandbox.compile(&wasm).unwrap()).unwrap()
}

async fn call(
    p: &Prepared,
    path: &str,
    limits: InstanceLimits,
) -> (Result<String, SandboxError>, mote_sandbox::Completion) {
    let req = http::Request::get(format!("http://localhost{path}"))
        .body(empty_body())
        .unwrap();
    let (resp, done) = p.handle(req, Invocation::new(limits)).await;
    let body = match resp {
        Ok(r) => Ok(
            String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap(),
        ),
        Err(e) => Err(e),
    };
    (body, done.wait().await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_instance_per_request_with_both_allocators() {
    for pooling in [true, false] {
        let sandbox = Sandbox::new(&SandboxConfig {
            pooling,
            ..SandboxConfig::default()
        })
        .unwrap();
        let expected = if pooling {
            AllocatorKind::Pooling
        } else {
            AllocatorKind::OnDemand
        };
        assert_eq!(sandbox.allocator(), expected);
        let counter = prepare(&sandbox, "counter");
        for _ in 0..5 {
            let (body, done) = call(&counter, "/", InstanceLimits::default()).await;
            assert_eq!(body.unwrap(), "1");
            assert_eq!(done.outcome, Outcome::Finished);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_memory_and_wall_clock_limits_name_themselves() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let limits = InstanceLimits {
        memory: 16 << 20,
        cpu: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
    };

    let (body, done) = call(&prepare(&sandbox, "spin"), "/", limits).await;
    assert_eq!(body, Err(SandboxError::CpuLimit(Duration::from_millis(50))));
    assert!(
        done.cpu >= Duration::from_millis(50),
        "charged {:?}",
        done.cpu
    );

    let hog = prepare(&sandbox, "hog");
    assert_eq!(
        call(&hog, "/hog/4", limits).await.0.unwrap(),
        "allocated 4 MiB"
    );
    let (body, done) = call(&hog, "/hog/64", limits).await;
    assert_eq!(body, Err(SandboxError::MemoryLimit(16 << 20)));
    assert!(
        done.logs.stderr.contains("memory allocation"),
        "{:?}",
        done.logs
    );

    let slow = prepare(&sandbox, "slow");
    let short = InstanceLimits {
        timeout: Duration::from_millis(100),
        ..limits
    };
    let (body, _) = call(&slow, "/?ms=5000", short).await;
    assert_eq!(body, Err(SandboxError::Timeout(Duration::from_millis(100))));
    // Waiting is not CPU: a 300 ms sleep fits in a 50 ms CPU limit.
    let (body, done) = call(&slow, "/?ms=300", limits).await;
    assert_eq!(body.unwrap(), "done");
    assert!(
        done.cpu < Duration::from_millis(50),
        "charged {:?}",
        done.cpu
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_cpu_time_spent_running_is_charged() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let limits = InstanceLimits {
        cpu: Duration::from_millis(100),
        ..InstanceLimits::default()
    };
    // 200 waits of 2 ms: ticks pass during each, and the guest is resumed
    // 200 times, but it runs (instantiation included) for far less than
    // its 100 ms limit, even in a debug build.
    let (body, done) = call(&prepare(&sandbox, "slow"), "/?ms=2&times=200", limits).await;
    assert_eq!(body.unwrap(), "done");
    assert!(done.elapsed >= Duration::from_millis(400));
    assert!(
        done.cpu < Duration::from_millis(100),
        "charged {:?}",
        done.cpu
    );
    let limits = InstanceLimits {
        cpu: Duration::from_millis(20),
        ..limits
    };
    // Running is: 100 ms of spinning against a 20 ms limit; and what is
    // charged is what ran, not a whole number of ticks.
    let spin = prepare(&sandbox, "spin");
    let (body, done) = call(&spin, "/?ms=100", limits).await;
    assert_eq!(body, Err(SandboxError::CpuLimit(Duration::from_millis(20))));
    assert!(done.cpu >= Duration::from_millis(20), "{:?}", done.cpu);
    let (body, done) = call(&spin, "/?ms=5", limits).await;
    assert_eq!(body.unwrap(), "spun");
    assert!(
        done.cpu > Duration::ZERO && done.cpu.as_nanos() % 1_000_000 != 0,
        "{:?}",
        done.cpu
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_runs_move_off_the_request_thread_and_a_service_that_runs_long_starts_there() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let spin = prepare(&sandbox, "spin");
    let limits = InstanceLimits::default();
    let short = |spin| async move {
        let (body, done) = call(spin, "/?ms=0", limits).await;
        assert_eq!(body.unwrap(), "spun");
        done.offloaded
    };
    // A short run stays on the thread that called it (a fresh service has
    // no history; a slow debug build may take a tick now and then, so one
    // of a few is enough).
    let mut stayed = false;
    for _ in 0..5 {
        stayed |= !short(&spin).await;
    }
    assert!(stayed, "every short run was moved");
    // A run of 20 ms moves.
    for _ in 0..3 {
        let (body, done) = call(&spin, "/?ms=20", limits).await;
        assert_eq!(body.unwrap(), "spun");
        assert!(done.offloaded, "a 20 ms run stayed on the request thread");
    }
    // After a few long runs, the service's next run starts there even if it
    // is short, and short runs bring the service back.
    assert!(
        short(&spin).await,
        "the service's long runs were not remembered"
    );
    let mut back = false;
    for _ in 0..10 {
        back = !short(&spin).await;
        if back {
            break;
        }
    }
    assert!(back, "short runs did not bring the service back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_whose_runs_alternate_long_and_short_starts_them_all_off_the_request_thread() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let spin = prepare(&sandbox, "spin");
    let limits = InstanceLimits::default();
    let run = |ms: u32| {
        let spin = &spin;
        async move {
            let (body, done) = call(spin, &format!("/?ms={ms}"), limits).await;
            assert_eq!(body.unwrap(), "spun");
            done.offloaded
        }
    };
    // A long run weighs more than a short one: once a few of each have
    // gone by, the service's runs all start off the request thread, the
    // short ones too (with equal weights, every short run would start on
    // it and every long one would take its first two ticks there).
    for _ in 0..2 {
        run(20).await;
        run(0).await;
    }
    for round in 0..4 {
        assert!(run(20).await, "long run {round} stayed");
        assert!(
            run(0).await,
            "short run {round} started on the request thread"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_sharing_a_component_each_have_their_own_history_of_long_runs() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let long = prepare(&sandbox, "spin");
    let other = long.for_another_service();
    let limits = InstanceLimits::default();
    // Enough long runs that, were the history shared, the next three runs
    // of either would all start off the request thread.
    for _ in 0..4 {
        let (body, done) = call(&long, "/?ms=20", limits).await;
        assert_eq!(body.unwrap(), "spun");
        assert!(done.offloaded);
    }
    // `other` never ran long: its short runs stay on the request thread (a
    // slow debug build may take a tick now and then, so one of three is
    // enough).
    let mut stayed = false;
    for _ in 0..3 {
        let (body, done) = call(&other, "/?ms=0", limits).await;
        assert_eq!(body.unwrap(), "spun");
        stayed |= !done.offloaded;
    }
    assert!(stayed, "another service inherited the long runs");
    let (_, done) = call(&long, "/?ms=0", limits).await;
    assert!(done.offloaded, "the long runs were not remembered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_priority_invocation_runs_off_the_request_thread_from_the_start() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let hello = prepare(&sandbox, "hello");
    let req = || {
        http::Request::get("http://localhost/")
            .body(empty_body())
            .unwrap()
    };
    let mut inv = Invocation::new(InstanceLimits::default());
    inv.low_priority = true;
    let (resp, done) = hello.handle(req(), inv).await;
    assert_eq!(resp.unwrap().status(), 200);
    let done = done.wait().await;
    assert_eq!(done.outcome, Outcome::Finished);
    assert!(done.offloaded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traps_and_output_are_reported() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let (body, done) = call(&prepare(&sandbox, "trap"), "/", InstanceLimits::default()).await;
    match body {
        Err(SandboxError::Trap(reason)) => assert!(reason.starts_with("wasm trap"), "{reason}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    assert!(done.logs.stderr.contains("about to panic"));
    assert!(done.logs.stderr.contains("boom"));

    let (body, done) = call(
        &prepare(&sandbox, "logs"),
        "/?n=2",
        InstanceLimits::default(),
    )
    .await;
    assert_eq!(body.unwrap(), "logged");
    assert_eq!(done.logs.stdout, "stdout line 0\nstdout line 1\n");
    assert_eq!(done.logs.dropped, 0);
}

#[test]
fn core_modules_and_garbage_are_refused_with_a_reason() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    match sandbox.compile(b"\0asm\x01\0\0\0") {
        Err(LoadError::Invalid(m)) => assert!(m.contains("core WebAssembly module"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
    assert!(matches!(
        sandbox.compile(b"not wasm"),
        Err(LoadError::Invalid(_))
    ));
    assert!(matches!(
        sandbox.precompile(b"\0asm\x01\0\0\0"),
        Err(LoadError::Invalid(_))
    ));
}

#[test]
fn precompiled_code_round_trips_and_keys_are_stable() {
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let wasm = std::fs::read(mote_test_guests::HELLO).unwrap();
    let code = sandbox.precompile(&wasm).unwrap();
    // SAFETY: produced by this engine just now.
    let component = unsafe { sandbox.load_precompiled(&code) }.unwrap();
    sandbox.prepare(&component).unwrap();
    let other = Sandbox::new(&SandboxConfig::default()).unwrap();
    assert_eq!(sandbox.compatibility_key(), other.compatibility_key());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_instance_pool_is_a_capacity_error_not_a_crash() {
    let sandbox = Sandbox::new(&SandboxConfig {
        max_instances: 1,
        ..SandboxConfig::default()
    })
    .unwrap();
    assert_eq!(sandbox.allocator(), AllocatorKind::Pooling);
    let slow = prepare(&sandbox, "slow");
    let limits = InstanceLimits::default();
    let first = tokio::spawn({
        let slow = slow.clone();
        async move { call(&slow, "/?ms=500", limits).await.0 }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    match call(&slow, "/?ms=1", limits).await.0 {
        Err(SandboxError::Capacity(msg)) => assert!(msg.contains("maximum concurrent"), "{msg}"),
        other => panic!("expected a capacity error, got {other:?}"),
    }
    assert_eq!(first.await.unwrap().unwrap(), "done");
    // The slot is free again.
    assert_eq!(call(&slow, "/?ms=1", limits).await.0.unwrap(), "done");
}
