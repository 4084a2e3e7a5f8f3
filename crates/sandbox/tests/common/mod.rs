//! Shared by the test binaries that count the process's page faults
//! (`reset.rs`, `trim.rs`; each in its own process, and its tests one at a
//! time: [`one_at_a_time`]).

use http_body_util::BodyExt;
use mote_sandbox::{InstanceLimits, Invocation, Prepared, Sandbox, SandboxConfig, empty_body};

/// A current-thread runtime, a sandbox with the default (pooling)
/// configuration, and the `counter` guest prepared in it.
pub fn counter_sandbox() -> (tokio::runtime::Runtime, Sandbox, Prepared) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = Sandbox::new(&SandboxConfig::default()).unwrap();
    let wasm = std::fs::read(mote_test_guests::COUNTER).unwrap();
    let counter = sandbox.prepare(&sandbox.compile(&wasm).unwrap()).unwrap();
    (rt, sandbox, counter)
}

/// Held by each test that counts page faults, so that the tests of one
/// binary (run on parallel threads) do not count each other's.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Minor page faults of the whole process so far.
pub fn minor_faults() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    usage.ru_minflt
}

/// One `/scatter` request to the `counter` guest in a fresh instance: it
/// dirties 96 pages, one in every two, and answers "1" when none held a
/// previous instance's write (see `guests/counter`).
pub async fn scatter(counter: &Prepared) -> String {
    get(counter, "/scatter").await
}

/// One request for `path` to `guest` in a fresh instance; the body.
pub async fn get(guest: &Prepared, path: &str) -> String {
    let req = http::Request::get(format!("http://localhost{path}"))
        .body(empty_body())
        .unwrap();
    let (resp, done) = guest
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
}
