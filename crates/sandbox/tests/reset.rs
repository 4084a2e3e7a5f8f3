//! How the pooling allocator returns a memory slot to its initial image
//! between two instances. Alone in its own test binary (its own process)
//! because it counts the process's page faults.

use http_body_util::BodyExt;
use mote_sandbox::{InstanceLimits, Invocation, Sandbox, SandboxConfig, empty_body};

/// Minor page faults of the whole process so far.
fn minor_faults() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    usage.ru_minflt
}

/// The `counter` guest's `/scatter` dirties 96 pages, one in every two
/// (96 separate runs of dirty pages), after checking that none holds the
/// previous instance's write. Every instance must see them fresh, and once
/// the slot is warm a new instance must not fault them in again: the slot
/// is reset in place (`vendor/wasmtime/MOTE-PATCH.md`; Wasmtime 48 as
/// published stops scanning for dirty pages after 32 runs and decommits the
/// rest, so each later instance re-faults ~64 pages, each fault a TLB
/// shootdown when other threads run). Needs Linux 6.7 or later
/// (`PAGEMAP_SCAN`), like the node's fast path.
#[test]
fn scattered_dirty_pages_are_reset_in_place() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let wasm = std::fs::read(mote_test_guests::COUNTER).unwrap();
    let counter = sandbox.prepare(&sandbox.compile(&wasm).unwrap()).unwrap();
    let scatter = || async {
        let req = http::Request::get("http://localhost/scatter")
            .body(empty_body())
            .unwrap();
        let (resp, done) = counter
            .handle(req, Invocation::new(InstanceLimits::default()))
            .await;
        let body = resp
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        done.wait().await;
        String::from_utf8(body.to_vec()).unwrap()
    };
    rt.block_on(async {
        for _ in 0..5 {
            assert_eq!(
                scatter().await,
                "1",
                "an instance saw a previous one's writes"
            );
        }
        const RUNS: i64 = 20;
        let before = minor_faults();
        for _ in 0..RUNS {
            assert_eq!(
                scatter().await,
                "1",
                "an instance saw a previous one's writes"
            );
        }
        let faults = minor_faults() - before;
        assert!(
            faults < RUNS * 2,
            "{faults} page faults in {RUNS} instances of a warm slot: its dirty pages \
             were decommitted instead of reset in place (is the kernel older than 6.7, \
             without PAGEMAP_SCAN?)"
        );
    });
}
