//! What both backends' tests share: scenarios that run against any [`Kv`],
//! and a throwaway `redis-server`.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mote_kv::{
    Kv, KvError, ListPage, MAX_KEY_BYTES, MAX_METADATA_BYTES, MAX_VALUE_BYTES, Namespace,
    PutOptions,
};

/// Generates one `#[tokio::test]` per scenario, each on a fresh backend made
/// by `$setup` (an expression evaluating to something with a `kv: Kv` field).
#[macro_export]
macro_rules! scenario_tests {
    ($setup:expr, ordered: $ordered:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn round_trips() {
            let backend = $setup;
            common::round_trips(&backend.kv).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn ttl_expiry() {
            let backend = $setup;
            common::ttl_expiry(&backend.kv).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn absolute_expiration() {
            let backend = $setup;
            common::absolute_expiration(&backend.kv).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn delete_and_exists() {
            let backend = $setup;
            common::delete_and_exists(&backend.kv).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn list_pages_by_prefix() {
            let backend = $setup;
            common::list_pages_by_prefix(&backend.kv, $ordered).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn namespaces_are_isolated() {
            let backend = $setup;
            common::namespaces_are_isolated(&backend.kv).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn increment_is_atomic() {
            let backend = $setup;
            common::increment_is_atomic(&backend.kv).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn limits_are_enforced() {
            let backend = $setup;
            common::limits_are_enforced(&backend.kv).await;
        }
    };
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn opts() -> PutOptions {
    PutOptions::default()
}

fn ttl(secs: u64) -> PutOptions {
    PutOptions {
        expiration_ttl: Some(secs),
        ..Default::default()
    }
}

fn with_metadata(metadata: &str) -> PutOptions {
    PutOptions {
        metadata: Some(metadata.to_string()),
        ..Default::default()
    }
}

async fn put(ns: &Namespace, key: &str, value: impl Into<Bytes>, options: PutOptions) {
    ns.put(key, value.into(), options)
        .await
        .unwrap_or_else(|e| panic!("put {key:?}: {e}"));
}

async fn value(ns: &Namespace, key: &str) -> Option<Bytes> {
    ns.get(key).await.unwrap().map(|e| e.value)
}

/// Poll until `key` is gone, at most `within`; panics if it never goes.
async fn wait_gone(ns: &Namespace, key: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while ns.get(key).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "{key:?} did not expire in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every page of a listing; asserts no page exceeds `limit`.
pub async fn all_pages(ns: &Namespace, prefix: &str, limit: u32) -> Vec<ListPage> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ns.list(prefix, limit, cursor.as_deref()).await.unwrap();
        assert!(page.keys.len() <= limit as usize, "page over the limit");
        cursor = page.cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 10_000, "listing never ends");
    }
}

/// The names of all pages, asserting each appears once.
pub fn names_once(pages: &[ListPage]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for key in pages.iter().flat_map(|p| &p.keys) {
        assert!(seen.insert(key.name.clone()), "{:?} listed twice", key.name);
    }
    seen
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, KvError>, needle: &str) {
    match result {
        Err(KvError::Invalid(message)) => {
            assert!(message.contains(needle), "{message:?} lacks {needle:?}")
        }
        other => panic!("expected Invalid containing {needle:?}, got {other:?}"),
    }
}

pub async fn round_trips(kv: &Kv) {
    let ns = kv.namespace("rt", "data");
    assert_eq!(ns.get("missing").await.unwrap(), None);

    put(&ns, "text", "hello, world", opts()).await;
    let entry = ns.get("text").await.unwrap().unwrap();
    assert_eq!(entry.value, "hello, world");
    assert_eq!((entry.metadata, entry.expiration), (None, None));

    let all_bytes: Vec<u8> = (0..=255u8).collect();
    put(&ns, "binary", all_bytes.clone(), opts()).await;
    assert_eq!(value(&ns, "binary").await.unwrap(), all_bytes);

    put(&ns, "empty", Bytes::new(), opts()).await;
    assert_eq!(value(&ns, "empty").await, Some(Bytes::new()));
    assert!(ns.exists("empty").await.unwrap());

    let odd = "ключ/*?[x]\\ :{}";
    put(&ns, odd, "odd", opts()).await;
    assert_eq!(value(&ns, odd).await.unwrap(), "odd");

    let metadata = r#"{"author":"ada","tags":[1,2]}"#;
    put(&ns, "meta", "v1", with_metadata(metadata)).await;
    let entry = ns.get("meta").await.unwrap().unwrap();
    assert_eq!(entry.metadata.as_deref(), Some(metadata));
    let listed = ns.list("meta", 10, None).await.unwrap();
    assert_eq!(listed.keys.len(), 1);
    assert_eq!(listed.keys[0].metadata.as_deref(), Some(metadata));

    // A put replaces the whole entry, metadata and expiration included.
    put(&ns, "meta", "v2", ttl(600)).await;
    let entry = ns.get("meta").await.unwrap().unwrap();
    assert_eq!((entry.value.as_ref(), entry.metadata), (&b"v2"[..], None));
    assert!(entry.expiration.is_some());
    put(&ns, "meta", "v3", opts()).await;
    assert_eq!(ns.get("meta").await.unwrap().unwrap().expiration, None);
}

pub async fn ttl_expiry(kv: &Kv) {
    let ns = kv.namespace("ttl", "data");
    let before = now_secs();
    put(&ns, "short", "gone soon", ttl(1)).await;
    put(&ns, "long", "stays", ttl(600)).await;
    put(&ns, "counter", "5", ttl(1)).await;
    let entry = ns
        .get("short")
        .await
        .unwrap()
        .expect("visible before expiry");
    let expiration = entry.expiration.unwrap();
    assert!(
        (before + 1..=now_secs() + 2).contains(&expiration),
        "{expiration}"
    );
    let long = ns.get("long").await.unwrap().unwrap().expiration.unwrap();
    assert!((before + 600..=now_secs() + 601).contains(&long), "{long}");
    assert!(ns.exists("short").await.unwrap());

    wait_gone(&ns, "short", Duration::from_secs(5)).await;
    assert!(!ns.exists("short").await.unwrap());
    wait_gone(&ns, "counter", Duration::from_secs(5)).await;
    let page = ns.list("", 100, None).await.unwrap();
    let names: Vec<_> = page.keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["long"]);
    assert_eq!(page.keys[0].expiration, Some(long));
    // An expired counter counts as missing, and no longer expires.
    assert_eq!(ns.increment("counter", 1).await.unwrap(), 1);
    assert_eq!(ns.get("counter").await.unwrap().unwrap().expiration, None);
}

pub async fn absolute_expiration(kv: &Kv) {
    let ns = kv.namespace("abs", "data");
    let at = now_secs() + 2;
    let options = PutOptions {
        expiration: Some(at),
        metadata: Some("{}".into()),
        ..Default::default()
    };
    put(&ns, "k", "v", options).await;
    let entry = ns.get("k").await.unwrap().expect("visible before expiry");
    assert_eq!(entry.expiration, Some(at));
    assert_eq!(
        ns.list("", 10, None).await.unwrap().keys[0].expiration,
        Some(at)
    );
    wait_gone(&ns, "k", Duration::from_secs(6)).await;
    assert!(now_secs() >= at, "expired early");
    assert!(!ns.exists("k").await.unwrap());
    assert!(ns.list("", 10, None).await.unwrap().keys.is_empty());
}

pub async fn delete_and_exists(kv: &Kv) {
    let ns = kv.namespace("del", "data");
    assert!(!ns.exists("k").await.unwrap());
    put(&ns, "k", "v", with_metadata("1")).await;
    put(&ns, "other", "v", opts()).await;
    assert!(ns.exists("k").await.unwrap());
    ns.delete("k").await.unwrap();
    assert!(!ns.exists("k").await.unwrap());
    assert_eq!(ns.get("k").await.unwrap(), None);
    ns.delete("k").await.unwrap();
    ns.delete("never-there").await.unwrap();
    assert!(
        ns.exists("other").await.unwrap(),
        "only the one key deleted"
    );
    put(&ns, "k", "again", opts()).await;
    let entry = ns.get("k").await.unwrap().unwrap();
    assert_eq!(
        (entry.value.as_ref(), entry.metadata),
        (&b"again"[..], None)
    );
}

pub async fn list_pages_by_prefix(kv: &Kv, ordered: bool) {
    let ns = kv.namespace("list", "data");
    let mut users = BTreeSet::new();
    for i in 0..25u64 {
        let name = format!("user:{i:02}");
        let options = if i.is_multiple_of(5) {
            PutOptions {
                metadata: Some(format!("{{\"i\":{i}}}")),
                expiration_ttl: Some(600),
                ..Default::default()
            }
        } else {
            opts()
        };
        put(&ns, &name, format!("{i}"), options).await;
        users.insert(name);
    }
    for i in 0..5 {
        put(&ns, &format!("other:{i}"), "x", opts()).await;
    }
    for name in ["a*b1", "a*b2", "axb", "a?", "a[1]"] {
        put(&ns, name, "glob", opts()).await;
    }

    let pages = all_pages(&ns, "user:", 10).await;
    let sizes: Vec<_> = pages.iter().map(|p| p.keys.len()).collect();
    assert!(pages.len() >= 3, "{sizes:?}");
    assert_eq!(names_once(&pages), users, "every user key exactly once");
    if ordered {
        assert_eq!(sizes, [10, 10, 5]);
        let flat: Vec<_> = pages
            .iter()
            .flat_map(|p| &p.keys)
            .map(|k| &k.name)
            .collect();
        assert!(flat.is_sorted(), "lexicographic order");
    }
    for key in pages.iter().flat_map(|p| &p.keys) {
        let i: u64 = key.name["user:".len()..].parse().unwrap();
        if i.is_multiple_of(5) {
            assert_eq!(key.metadata, Some(format!("{{\"i\":{i}}}")));
            assert!(key.expiration.unwrap() >= now_secs() + 590);
        } else {
            assert_eq!((&key.metadata, key.expiration), (&None, None));
        }
    }

    // One key per page, to the end.
    let pages = all_pages(&ns, "other:", 1).await;
    assert_eq!(names_once(&pages).len(), 5);

    // Glob characters in a prefix are literal.
    let names = names_once(&all_pages(&ns, "a*", 10).await);
    assert_eq!(names, BTreeSet::from(["a*b1".into(), "a*b2".into()]));
    let names = names_once(&all_pages(&ns, "a?", 10).await);
    assert_eq!(names, BTreeSet::from(["a?".into()]));
    let names = names_once(&all_pages(&ns, "a[", 10).await);
    assert_eq!(names, BTreeSet::from(["a[1]".into()]));

    let everything = names_once(&all_pages(&ns, "", 7).await);
    assert_eq!(everything.len(), 35);
    let none = ns.list("nothing-here", 10, None).await.unwrap();
    assert!(none.keys.is_empty() && none.cursor.is_none());
    assert_invalid(ns.list("", 10, Some("garbage")).await, "cursor");
}

pub async fn namespaces_are_isolated(kv: &Kv) {
    // Same namespace name in two apps, two namespaces in one app, and names
    // that would collide if simply concatenated.
    let spaces = [
        kv.namespace("app-a", "cache"),
        kv.namespace("app-b", "cache"),
        kv.namespace("app-a", "other"),
        kv.namespace("ab", "c"),
        kv.namespace("a", "bc"),
        kv.namespace("a:1", "b"),
        kv.namespace("a", "1:b"),
    ];
    for (i, ns) in spaces.iter().enumerate() {
        assert_eq!(ns.get("k").await.unwrap(), None, "{ns:?} starts empty");
        put(ns, "k", format!("value {i}"), opts()).await;
        put(ns, &format!("only-{i}"), "x", opts()).await;
    }
    for (i, ns) in spaces.iter().enumerate() {
        assert_eq!(value(ns, "k").await.unwrap(), format!("value {i}"));
        let names = names_once(&all_pages(ns, "", 100).await);
        assert_eq!(
            names,
            BTreeSet::from(["k".to_string(), format!("only-{i}")]),
            "{ns:?}"
        );
    }
    spaces[0].delete("k").await.unwrap();
    assert_eq!(spaces[0].increment("n", 3).await.unwrap(), 3);
    for ns in &spaces[1..] {
        assert!(ns.exists("k").await.unwrap(), "{ns:?} kept its key");
        assert!(!ns.exists("n").await.unwrap());
    }
}

pub async fn increment_is_atomic(kv: &Kv) {
    let ns = kv.namespace("incr", "data");
    assert_eq!(ns.increment("n", 5).await.unwrap(), 5);
    assert_eq!(value(&ns, "n").await.unwrap(), "5");
    assert_eq!(ns.increment("n", -7).await.unwrap(), -2);
    assert_eq!(value(&ns, "n").await.unwrap(), "-2");
    assert_eq!(ns.increment("n", 0).await.unwrap(), -2);

    // Many tasks at once: no increment lost.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let ns = ns.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    ns.increment("hits", 1).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(value(&ns, "hits").await.unwrap(), "200");

    // Metadata and expiration stay.
    let options = PutOptions {
        metadata: Some("{\"kind\":\"counter\"}".into()),
        expiration_ttl: Some(600),
        ..Default::default()
    };
    put(&ns, "kept", "41", options).await;
    let before = ns.get("kept").await.unwrap().unwrap();
    assert_eq!(ns.increment("kept", 1).await.unwrap(), 42);
    let after = ns.get("kept").await.unwrap().unwrap();
    assert_eq!(after.value, "42");
    assert_eq!(
        (after.metadata, after.expiration),
        (before.metadata, before.expiration)
    );

    for bad in ["abc", "1.5", "007", "+1", " 1", ""] {
        put(&ns, "text", bad, opts()).await;
        assert_invalid(ns.increment("text", 1).await, "not an integer");
        assert_eq!(value(&ns, "text").await.unwrap(), bad, "left alone");
    }
    put(&ns, "big", i64::MAX.to_string(), opts()).await;
    assert_invalid(ns.increment("big", 1).await, "overflow");
    assert_eq!(ns.increment("big", -1).await.unwrap(), i64::MAX - 1);
}

pub async fn limits_are_enforced(kv: &Kv) {
    let ns = kv.namespace("limits", "data");
    let longest = "k".repeat(MAX_KEY_BYTES);
    let too_long = "k".repeat(MAX_KEY_BYTES + 1);

    // Exactly at each limit: fine.
    let biggest = Bytes::from(vec![7u8; MAX_VALUE_BYTES]);
    let options = with_metadata(&"m".repeat(MAX_METADATA_BYTES));
    put(&ns, &longest, biggest.clone(), options).await;
    let entry = ns.get(&longest).await.unwrap().unwrap();
    assert!(entry.value == biggest, "25 MiB value round trips");
    assert_eq!(entry.metadata.unwrap().len(), MAX_METADATA_BYTES);
    assert_eq!(ns.list(&longest, 1, None).await.unwrap().keys.len(), 1);

    // Keys, for every operation.
    assert_invalid(ns.get("").await, "key is empty");
    assert_invalid(ns.get(&too_long).await, "key is 513 bytes; at most 512");
    assert_invalid(ns.put(&too_long, Bytes::new(), opts()).await, "at most 512");
    assert_invalid(ns.put("", Bytes::new(), opts()).await, "key is empty");
    assert_invalid(ns.delete(&too_long).await, "at most 512");
    assert_invalid(ns.exists("").await, "key is empty");
    assert_invalid(ns.increment(&too_long, 1).await, "at most 512");

    // Values and metadata.
    let over = Bytes::from(vec![0u8; MAX_VALUE_BYTES + 1]);
    assert_invalid(ns.put("v", over, opts()).await, "at most 26214400");
    let metadata = with_metadata(&"m".repeat(MAX_METADATA_BYTES + 1));
    assert_invalid(
        ns.put("v", Bytes::new(), metadata).await,
        "metadata is 1025 bytes; at most 1024",
    );

    // Expiration.
    let past = PutOptions {
        expiration: Some(now_secs() - 10),
        ..Default::default()
    };
    assert_invalid(ns.put("v", Bytes::new(), past).await, "not in the future");
    let now = PutOptions {
        expiration: Some(now_secs()),
        ..Default::default()
    };
    assert_invalid(ns.put("v", Bytes::new(), now).await, "not in the future");
    assert_invalid(ns.put("v", Bytes::new(), ttl(0)).await, "at least 1");
    let both = PutOptions {
        expiration: Some(now_secs() + 100),
        expiration_ttl: Some(100),
        ..Default::default()
    };
    assert_invalid(ns.put("v", Bytes::new(), both).await, "not both");
    let far = PutOptions {
        expiration: Some(mote_kv::MAX_EXPIRATION + 1),
        ..Default::default()
    };
    assert_invalid(ns.put("v", Bytes::new(), far).await, "year 9999");
    assert_invalid(ns.put("v", Bytes::new(), ttl(u64::MAX)).await, "too long");

    // Listing.
    assert_invalid(ns.list("", 0, None).await, "1 to 1000");
    assert_invalid(ns.list("", 1001, None).await, "1 to 1000");
    assert_invalid(ns.list(&too_long, 10, None).await, "prefix is 513 bytes");
    assert_eq!(ns.list("", 1000, None).await.unwrap().keys.len(), 1);

    assert!(
        !ns.exists("v").await.unwrap(),
        "no rejected put wrote anything"
    );
}

/// The `redis-server` binary, or a panic saying how to get it.
fn redis_server_binary() -> &'static str {
    match Command::new("redis-server").arg("--version").output() {
        Ok(out) if out.status.success() => "redis-server",
        _ => panic!(
            "redis-server is not installed: the Redis tests need it \
             (install the Debian package `redis-server`: apt-get install redis-server)"
        ),
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A `redis-server` of its own, without persistence, killed on drop.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        let binary = redis_server_binary();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("redis.log");
        let child = Command::new(binary)
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let mut server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !ping(port) {
            if Instant::now() > deadline || server.child.try_wait().unwrap().is_some() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("redis-server on port {port} did not answer PING:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
