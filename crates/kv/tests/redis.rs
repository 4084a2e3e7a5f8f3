//! The Redis backend against real `redis-server` processes (one per test):
//! the shared scenarios, plus Redis being down, coming up, restarting and
//! hanging. Without `redis-server` installed these tests fail, saying so.

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{RedisServer, all_pages, free_port, names_once};
use mote_kv::{Kv, KvError, PutOptions};

struct Redis {
    kv: Kv,
    _server: RedisServer,
}

fn redis() -> Redis {
    let server = RedisServer::start();
    let kv = Kv::redis(&server.url()).unwrap();
    Redis {
        kv,
        _server: server,
    }
}

scenario_tests!(redis(), ordered: false);

fn assert_unavailable<T: std::fmt::Debug>(result: Result<T, KvError>, url: &str) {
    match result {
        Err(KvError::Unavailable(message)) => {
            assert!(message.contains(url), "{message:?} names {url}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_at_start_then_up_then_restarted() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let kv = Kv::redis(&url).expect("no connection is made up front");
    let ns = kv.namespace("app", "data");

    // Down: every call fails fast, naming the URL.
    let started = Instant::now();
    assert_unavailable(ns.get("k").await, &url);
    assert_unavailable(ns.put("k", Bytes::new(), PutOptions::default()).await, &url);
    assert_unavailable(ns.increment("n", 1).await, &url);
    assert_unavailable(ns.list("", 10, None).await, &url);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // Up: the same Kv works, from the first call on.
    let server = RedisServer::start_on(port);
    ns.put("k", Bytes::from_static(b"one"), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(ns.get("k").await.unwrap().unwrap().value, "one");
    assert_eq!(ns.increment("n", 1).await.unwrap(), 1);

    // Down again: failures, bounded.
    drop(server);
    let started = Instant::now();
    assert_unavailable(ns.get("k").await, &url);
    assert_unavailable(ns.exists("k").await, &url);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // Restarted on the same port (empty: no persistence): reconnected.
    let _server = RedisServer::start_on(port);
    ns.put("k", Bytes::from_static(b"two"), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(ns.get("k").await.unwrap().unwrap().value, "two");
    assert_eq!(ns.increment("n", 1).await.unwrap(), 1);
    assert_eq!(names_once(&all_pages(&ns, "", 10).await).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_between_calls_is_transparent_to_reads_and_writes() {
    // The connection dies under an idle Kv; the next call reconnects by itself.
    let server = RedisServer::start();
    let (port, url) = (server.port, server.url());
    let kv = Kv::redis(&url).unwrap();
    let ns = kv.namespace("app", "data");
    ns.put("k", Bytes::from_static(b"v"), PutOptions::default())
        .await
        .unwrap();
    drop(server);
    let _server = RedisServer::start_on(port);
    assert_eq!(ns.get("k").await.unwrap(), None, "first call after restart");
    assert!(!ns.exists("k").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_fails_the_call_in_time() {
    // Accepts connections, never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let kv = Kv::redis_with_timeout(&url, Duration::from_millis(800)).unwrap();
    let ns = kv.namespace("app", "data");
    let started = Instant::now();
    let result = ns.get("k").await;
    let took = started.elapsed();
    assert_unavailable(result, &url);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_spans_many_scan_batches() {
    // More keys than one SCAN batch walks, other namespaces' keys mixed in,
    // pages of the maximum size: every key exactly once.
    let backend = redis();
    let ns = backend.kv.namespace("many", "data");
    let noise = backend.kv.namespace("many", "noise");
    let mut expected = BTreeSet::new();
    let puts: Vec<_> = (0..2500u32)
        .map(|i| {
            let (ns, noise) = (ns.clone(), noise.clone());
            let name = format!("key-{i:05}");
            expected.insert(name.clone());
            tokio::spawn(async move {
                ns.put(&name, Bytes::new(), PutOptions::default())
                    .await
                    .unwrap();
                if i.is_multiple_of(2) {
                    noise
                        .put(&name, Bytes::new(), PutOptions::default())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for put in puts {
        put.await.unwrap();
    }
    let pages = all_pages(&ns, "key-", 1000).await;
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert_eq!(names_once(&pages), expected);
    let pages = all_pages(&ns, "key-0001", 7).await;
    assert_eq!(names_once(&pages).len(), 10);
}

#[test]
fn urls_are_checked_and_passwords_never_shown() {
    let kv = Kv::redis("redis://user:hunter2@127.0.0.1:6399/3").unwrap();
    assert_eq!(kv.describe(), "redis (redis://user:***@127.0.0.1:6399/3)");
    assert!(!format!("{kv:?}").contains("hunter2"));
    let kv = Kv::redis("redis://127.0.0.1:6379").unwrap();
    assert_eq!(kv.describe(), "redis (redis://127.0.0.1:6379)");
    for bad in ["http://127.0.0.1", "not a url", "rediss://127.0.0.1"] {
        assert!(
            matches!(Kv::redis(bad), Err(KvError::Invalid(_))),
            "{bad} accepted"
        );
    }
    let err = Kv::redis("rediss://:hunter2@127.0.0.1").unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
