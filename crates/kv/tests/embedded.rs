//! The embedded (redb) backend: the shared scenarios, plus durability across
//! `kill -9` and reopening.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mote_kv::{Kv, PutOptions};

/// Set in the child process of `acknowledged_puts_survive_kill_9`: the
/// database the child writes to.
const WRITER_DB_ENV: &str = "MOTE_KV_TEST_WRITER_DB";
const ACK: &str = "MOTE-KV-ACK";

struct Embedded {
    kv: Kv,
    _dir: tempfile::TempDir,
}

fn embedded() -> Embedded {
    let dir = tempfile::tempdir().unwrap();
    let kv = Kv::embedded(&dir.path().join("kv.redb")).unwrap();
    Embedded { kv, _dir: dir }
}

scenario_tests!(embedded(), ordered: true);

/// Not a test on its own: the writer half of
/// `acknowledged_puts_survive_kill_9`, run in a child process (this test
/// binary re-executed). Without the variable it does nothing.
#[test]
fn kill_9_writer_child() {
    let Some(path) = std::env::var_os(WRITER_DB_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let kv = Kv::embedded(Path::new(&path)).unwrap();
        let ns = kv.namespace("durable", "data");
        let started = Instant::now();
        // Bounded: a parent that never kills us still gets an end.
        for i in 0.. {
            if started.elapsed() > Duration::from_secs(20) {
                std::process::exit(3);
            }
            let value = Bytes::from(format!("value {i}").repeat(100));
            ns.put(&format!("k{i}"), value, PutOptions::default())
                .await
                .unwrap();
            println!("{ACK} {i}");
        }
    });
}

fn expected_value(i: u64) -> Bytes {
    Bytes::from(format!("value {i}").repeat(100))
}

#[tokio::test]
async fn acknowledged_puts_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("kv.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "kill_9_writer_child", "--nocapture"])
        .env(WRITER_DB_ENV, &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked: Option<u64> = None;
    // Kill while the child is still writing, after a few acknowledgements.
    for line in lines.by_ref() {
        if let Some(n) = ack_number(&line.unwrap()) {
            acked = Some(n);
            if n >= 30 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    // Acknowledgements printed before the kill are still in the pipe.
    for line in lines {
        if let Some(n) = ack_number(&line.unwrap()) {
            acked = Some(n);
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the writer was killed: {status}");
    let acked = acked.expect("the writer acknowledged puts before it was killed");
    assert!(acked >= 30, "writer stopped early at {acked}");

    let kv = Kv::embedded(&path).unwrap();
    let ns = kv.namespace("durable", "data");
    for i in 0..=acked {
        let entry = ns.get(&format!("k{i}")).await.unwrap();
        let entry = entry.unwrap_or_else(|| panic!("acknowledged put k{i} was lost"));
        assert_eq!(entry.value, expected_value(i));
    }
    // Whatever was in flight is either all there or absent: never torn.
    if let Some(entry) = ns.get(&format!("k{}", acked + 1)).await.unwrap() {
        assert_eq!(entry.value, expected_value(acked + 1));
    }
}

fn ack_number(line: &str) -> Option<u64> {
    let at = line.find(ACK)?;
    line[at + ACK.len()..].trim().parse().ok()
}

#[tokio::test]
async fn reopen_after_drop_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("kv.redb");
    let kv = Kv::embedded(&path).unwrap();
    assert_eq!(kv.describe(), format!("embedded ({})", path.display()));
    let ns = kv.namespace("app", "data");
    let options = PutOptions {
        metadata: Some("{\"m\":1}".into()),
        expiration_ttl: Some(600),
        ..Default::default()
    };
    ns.put("kept", Bytes::from_static(b"value"), options)
        .await
        .unwrap();
    ns.increment("count", 7).await.unwrap();
    ns.put("gone", Bytes::new(), PutOptions::default())
        .await
        .unwrap();
    ns.delete("gone").await.unwrap();
    let before = ns.get("kept").await.unwrap().unwrap();
    drop((ns, kv));

    let kv = Kv::embedded(&path).unwrap();
    let ns = kv.namespace("app", "data");
    assert_eq!(ns.get("kept").await.unwrap().unwrap(), before);
    assert_eq!(ns.get("count").await.unwrap().unwrap().value, "7");
    assert!(!ns.exists("gone").await.unwrap());
    assert_eq!(ns.increment("count", 1).await.unwrap(), 8);
}

#[tokio::test]
async fn remove_expired_sweeps_everything_expired() {
    let backend = embedded();
    let ns = backend.kv.namespace("app", "data");
    let short = PutOptions {
        expiration_ttl: Some(1),
        ..Default::default()
    };
    for i in 0..5 {
        ns.put(&format!("short{i}"), Bytes::new(), short.clone())
            .await
            .unwrap();
    }
    ns.put("long", Bytes::new(), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(backend.kv.remove_expired().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(backend.kv.remove_expired().await.unwrap(), 5);
    assert_eq!(backend.kv.remove_expired().await.unwrap(), 0);
    assert!(ns.exists("long").await.unwrap());
}
