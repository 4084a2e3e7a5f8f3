//! Mote's KV storage: what the KV bindings of services (the Workers KV API in
//! JavaScript, `wasi:keyvalue` for components) read and write.
//!
//! A node has one [`Kv`], with one of two backends chosen in its
//! configuration; an app's service sees a [`Namespace`] of it, named by the
//! app and the namespace's name in the manifest.
//!
//! # Backends
//!
//! - **Embedded** ([`Kv::embedded`]): a [redb](https://docs.rs/redb)
//!   database file in the node's data directory. Nothing to run beside the
//!   node; the data lives and dies with that node.
//! - **Redis** ([`Kv::redis`]): a Redis server shared by any number of nodes.
//!   The connection is made on first use, not at start-up, so a node starts
//!   while Redis is down; a lost connection is re-established by the next
//!   call. A call whose connection cannot be made is retried (twice, within
//!   its time bound), and so is a `get`, `put`, `delete`, `exists` or `list`
//!   whose connection broke under it: after a Redis restart those succeed from
//!   the first call on. An `increment` is never sent twice (it might have been
//!   applied), so the first one after a restart may fail with
//!   [`KvError::Unavailable`]; the next one reconnects. Every call is bounded
//!   by [`REDIS_CALL_TIMEOUT`]: a dead or hung Redis fails the call with
//!   [`KvError::Unavailable`], it never hangs it. The connection lives on the
//!   tokio runtime of the first call. Only plain `redis://` (TCP) and
//!   `redis+unix://` / `unix://` URLs are supported; `rediss://` (TLS) is
//!   refused as invalid.
//!
//! # Limits
//!
//! | what | limit |
//! |---|---|
//! | key | 1 to [`MAX_KEY_BYTES`] (512) bytes of UTF-8 |
//! | value | at most [`MAX_VALUE_BYTES`] (25 MiB); empty is fine |
//! | metadata | at most [`MAX_METADATA_BYTES`] (1024) bytes (JSON text, not inspected here) |
//! | list prefix | at most [`MAX_KEY_BYTES`] bytes |
//! | list page | `limit` 1 to [`MAX_LIST_LIMIT`] (1000); 0 or more is an error, not clamped |
//! | `expiration` | absolute Unix seconds, strictly in the future, at most [`MAX_EXPIRATION`] (end of year 9999) |
//! | `expiration_ttl` | at least [`MIN_EXPIRATION_TTL`] (1) second; Workers KV asks for 60, Mote does not |
//!
//! Giving both `expiration` and `expiration_ttl` is an error. Breaking a limit
//! is [`KvError::Invalid`], with a message that names the limit.
//!
//! # Expiry
//!
//! Expired entries are never returned by `get`, `exists` or `list`, and
//! `increment` treats them as missing. An entry put with a TTL expires after at
//! least that many seconds; the expiration it reports is its expiry time
//! rounded up to the whole second. The embedded backend keeps expiry times in
//! milliseconds, filters on read and removes expired entries in the background
//! of later writes (a few per write transaction) or all at once with
//! [`Kv::remove_expired`]. Redis expires entries itself (`EXPIRE` for a TTL,
//! so the TTL runs on Redis's clock; `EXPIREAT` for an absolute expiration).
//!
//! # Durability
//!
//! [`Namespace::put`], [`Namespace::delete`] and [`Namespace::increment`]
//! return only once the change is durable as far as the backend goes. The
//! embedded backend commits a redb write transaction with
//! `Durability::Immediate` (fsync) before answering, so an acknowledged write
//! survives `kill -9` and power loss. redb is synchronous: every transaction
//! runs on tokio's blocking pool. With Redis, a write is acknowledged when
//! Redis answered OK; what survives a Redis crash is up to the server's
//! persistence settings (AOF with `appendfsync always` to lose nothing).
//!
//! # Isolation and layout
//!
//! The app and namespace names are length-prefixed, so no choice of names can
//! make two namespaces share a key, whatever characters the names contain
//! (`("ab", "c")` and `("a", "bc")` stay apart).
//!
//! - Embedded: a full key is `u32 BE len(app) ‖ app ‖ u32 BE len(namespace) ‖
//!   namespace ‖ key`. Table `kv_values` maps it to the value bytes,
//!   `kv_meta` to `(expiry in Unix ms or 0 for none, metadata)`, and
//!   `kv_expiry` indexes `(expiry ms, full key)` for the sweep. A namespace's
//!   keys are one contiguous range, in byte order of the key.
//! - Redis: one hash per entry, named `mote:kv:{len(app)}:{app}:{len(namespace)}:{namespace}:{key}`
//!   (lengths in decimal bytes), with field `v` (the value), `m` (metadata, if
//!   any) and `e` (the reported expiration in Unix seconds, if any), plus
//!   Redis's own expiry on the hash. A put replaces the hash in one
//!   `MULTI`/`EXEC`; `increment` is `HINCRBY` on `v`, atomic in Redis and
//!   leaving `m`, `e` and the expiry alone.
//!
//! # Listing and cursors
//!
//! Cursors are opaque, ASCII and only meaningful to the backend that made them:
//!
//! - Embedded: `e1-<hex of the last key returned>`. Keys come in byte
//!   (lexicographic) order; the next page starts after that key, so keys
//!   added or removed between pages never make the listing skip or repeat a
//!   key that stayed.
//! - Redis: `r1-<SCAN cursor>-<hex of the last key returned from that SCAN
//!   batch, or empty>`. Listing runs `SCAN <cursor> MATCH <escaped prefix>*
//!   COUNT 1000` (glob characters of the names and prefix escaped), sorts each
//!   batch, and when a batch holds more than the page has room for, the cursor
//!   stays on that batch and remembers the last key handed out; the next page
//!   rescans the same cursor and skips keys up to it. Order is unspecified
//!   across batches. Over a key set that does not change, every key is
//!   returned exactly once, and a page never holds more than `limit` keys.
//!   A page may hold fewer keys than `limit` (even none) while more follow:
//!   only a `None` cursor means the listing is complete.

mod embedded;
mod redis_backend;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// The largest value, in bytes (25 MiB).
pub const MAX_VALUE_BYTES: usize = 25 * 1024 * 1024;
/// The largest metadata, in bytes.
pub const MAX_METADATA_BYTES: usize = 1024;
/// The most keys one [`Namespace::list`] page may ask for.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// The shortest `expiration_ttl`, in seconds.
pub const MIN_EXPIRATION_TTL: u64 = 1;
/// The latest absolute expiration: 9999-12-31T23:59:59Z, in Unix seconds.
pub const MAX_EXPIRATION: u64 = 253_402_300_799;
/// How long one call to a Redis backend may take, reconnecting included.
pub const REDIS_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors from the KV storage.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// Bad input from the guest; the message says what and the limit.
    #[error("{0}")]
    Invalid(String),
    /// The backend cannot be reached (Redis down, refusing or not answering).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else from the backend (corrupt data, I/O).
    #[error("{0}")]
    Backend(String),
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value's bytes.
    pub value: Bytes,
    /// The metadata given with the value (JSON text, opaque here).
    pub metadata: Option<String>,
    /// When the entry expires, Unix seconds.
    pub expiration: Option<u64>,
}

/// Options of [`Namespace::put`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Absolute expiry, Unix seconds; must be in the future.
    pub expiration: Option<u64>,
    /// Expiry in seconds from now; at least [`MIN_EXPIRATION_TTL`].
    pub expiration_ttl: Option<u64>,
    /// Metadata to keep with the value (JSON text, opaque here).
    pub metadata: Option<String>,
}

/// One page of [`Namespace::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// The keys of this page.
    pub keys: Vec<KeyInfo>,
    /// Where the next page starts; `None` when the listing is complete.
    pub cursor: Option<String>,
}

/// A key in a [`ListPage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key.
    pub name: String,
    /// When the entry expires, Unix seconds.
    pub expiration: Option<u64>,
    /// The entry's metadata.
    pub metadata: Option<String>,
}

/// The node's KV storage: one backend, chosen in the node's configuration.
/// Cheap to clone.
#[derive(Clone)]
pub struct Kv {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Embedded(Arc<embedded::Embedded>),
    Redis(Arc<redis_backend::Redis>),
}

impl Kv {
    /// The embedded backend: the redb database file at `path` (created, with
    /// its directory, if missing).
    pub fn embedded(path: &Path) -> Result<Kv, KvError> {
        let db = embedded::Embedded::open(path)?;
        Ok(Kv {
            backend: Backend::Embedded(Arc::new(db)),
        })
    }

    /// The Redis backend at `url` (`redis://[user][:password@]host[:port][/db]`,
    /// or a Unix socket). Connects on first use and reconnects when the
    /// connection is lost; each call takes at most [`REDIS_CALL_TIMEOUT`].
    /// Fails only for a URL that cannot be used.
    pub fn redis(url: &str) -> Result<Kv, KvError> {
        Self::redis_with_timeout(url, REDIS_CALL_TIMEOUT)
    }

    /// [`Kv::redis`] with another bound on each call.
    pub fn redis_with_timeout(url: &str, timeout: Duration) -> Result<Kv, KvError> {
        let redis = redis_backend::Redis::new(url, timeout)?;
        Ok(Kv {
            backend: Backend::Redis(Arc::new(redis)),
        })
    }

    /// A short description for logs, e.g. `embedded (/srv/mote/kv.redb)` or
    /// `redis (redis://127.0.0.1:6379)`; a password in the URL shows as `***`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Embedded(db) => format!("embedded ({})", db.path().display()),
            Backend::Redis(redis) => format!("redis ({})", redis.shown_url()),
        }
    }

    /// The namespace `namespace` of app `app`.
    pub fn namespace(&self, app: &str, namespace: &str) -> Namespace {
        let inner = match &self.backend {
            Backend::Embedded(db) => Inner::Embedded {
                db: db.clone(),
                prefix: embedded::namespace_prefix(app, namespace).into(),
            },
            Backend::Redis(redis) => Inner::Redis {
                redis: redis.clone(),
                prefix: redis_backend::namespace_prefix(app, namespace).into(),
            },
        };
        Namespace {
            app: app.into(),
            namespace: namespace.into(),
            inner,
        }
    }

    /// Remove every expired entry now, returning how many were removed. The
    /// embedded backend also does this a few entries at a time on every write;
    /// Redis expires entries itself (this returns 0).
    pub async fn remove_expired(&self) -> Result<u64, KvError> {
        match &self.backend {
            Backend::Embedded(db) => {
                let db = db.clone();
                blocking(move || db.remove_expired(now_ms())).await
            }
            Backend::Redis(_) => Ok(0),
        }
    }
}

impl fmt::Debug for Kv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Kv").field(&self.describe()).finish()
    }
}

/// One app's namespace. Cheap to clone.
#[derive(Clone)]
pub struct Namespace {
    app: Arc<str>,
    namespace: Arc<str>,
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Embedded {
        db: Arc<embedded::Embedded>,
        prefix: Arc<[u8]>,
    },
    Redis {
        redis: Arc<redis_backend::Redis>,
        prefix: Arc<str>,
    },
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("app", &self.app)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Namespace {
    /// The app this namespace belongs to.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.namespace
    }

    /// The entry at `key`, unless it is missing or expired.
    pub async fn get(&self, key: &str) -> Result<Option<Entry>, KvError> {
        check_key(key)?;
        match &self.inner {
            Inner::Embedded { db, prefix } => {
                let (db, full) = (db.clone(), embedded::full_key(prefix, key));
                blocking(move || db.get(&full, now_ms())).await
            }
            Inner::Redis { redis, prefix } => redis.get(&format!("{prefix}{key}")).await,
        }
    }

    /// Store `value` at `key`, replacing any entry there (its metadata and
    /// expiration included). Returns once the write is durable.
    pub async fn put(&self, key: &str, value: Bytes, options: PutOptions) -> Result<(), KvError> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(KvError::Invalid(format!(
                "value is {} bytes; at most {MAX_VALUE_BYTES} (25 MiB)",
                value.len()
            )));
        }
        if let Some(metadata) = &options.metadata
            && metadata.len() > MAX_METADATA_BYTES
        {
            return Err(KvError::Invalid(format!(
                "metadata is {} bytes; at most {MAX_METADATA_BYTES}",
                metadata.len()
            )));
        }
        let now = now_ms();
        let expiry = Expiry::from_options(&options, now)?;
        match &self.inner {
            Inner::Embedded { db, prefix } => {
                let (db, full) = (db.clone(), embedded::full_key(prefix, key));
                blocking(move || db.put(&full, &value, options.metadata.as_deref(), expiry, now))
                    .await
            }
            Inner::Redis { redis, prefix } => {
                redis
                    .put(
                        &format!("{prefix}{key}"),
                        &value,
                        options.metadata.as_deref(),
                        expiry,
                    )
                    .await
            }
        }
    }

    /// Remove the entry at `key`; removing a missing key is fine.
    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        check_key(key)?;
        match &self.inner {
            Inner::Embedded { db, prefix } => {
                let (db, full) = (db.clone(), embedded::full_key(prefix, key));
                blocking(move || db.delete(&full, now_ms())).await
            }
            Inner::Redis { redis, prefix } => redis.delete(&format!("{prefix}{key}")).await,
        }
    }

    /// Whether an unexpired entry is at `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, KvError> {
        check_key(key)?;
        match &self.inner {
            Inner::Embedded { db, prefix } => {
                let (db, full) = (db.clone(), embedded::full_key(prefix, key));
                blocking(move || db.exists(&full, now_ms())).await
            }
            Inner::Redis { redis, prefix } => redis.exists(&format!("{prefix}{key}")).await,
        }
    }

    /// Up to `limit` (1 to [`MAX_LIST_LIMIT`]) keys starting with `prefix`,
    /// from where `cursor` (from the previous page) left off. See the crate
    /// docs for order and cursor semantics.
    pub async fn list(
        &self,
        prefix: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<ListPage, KvError> {
        if limit == 0 || limit > MAX_LIST_LIMIT {
            return Err(KvError::Invalid(format!(
                "list limit is {limit}; it must be 1 to {MAX_LIST_LIMIT}"
            )));
        }
        if prefix.len() > MAX_KEY_BYTES {
            return Err(KvError::Invalid(format!(
                "prefix is {} bytes; at most {MAX_KEY_BYTES}",
                prefix.len()
            )));
        }
        let limit = limit as usize;
        match &self.inner {
            Inner::Embedded { db, prefix: ns } => {
                let after = cursor.map(embedded::parse_cursor).transpose()?;
                let (db, ns, prefix) = (db.clone(), ns.clone(), prefix.to_string());
                blocking(move || db.list(&ns, &prefix, limit, after, now_ms())).await
            }
            Inner::Redis { redis, prefix: ns } => {
                let start = cursor.map(redis_backend::parse_cursor).transpose()?;
                redis.list(ns, prefix, limit, start).await
            }
        }
    }

    /// Add `delta` to the integer at `key` (a missing key counts as 0) and
    /// return the new value, atomically. The value is stored as decimal text
    /// (`get` returns e.g. `b"42"`); the entry keeps its metadata and
    /// expiration. A value that is not an integer in canonical decimal form,
    /// or a result that overflows `i64`, is [`KvError::Invalid`].
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        check_key(key)?;
        match &self.inner {
            Inner::Embedded { db, prefix } => {
                let (db, full) = (db.clone(), embedded::full_key(prefix, key));
                let key = key.to_string();
                blocking(move || db.increment(&full, &key, delta, now_ms())).await
            }
            Inner::Redis { redis, prefix } => {
                redis.increment(&format!("{prefix}{key}"), key, delta).await
            }
        }
    }
}

/// When a put entry expires.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expiry {
    Never,
    /// `secs` from now; `at_ms` is now + secs in Unix milliseconds.
    Ttl {
        secs: u64,
        at_ms: u64,
    },
    /// At `secs` Unix seconds.
    At {
        secs: u64,
    },
}

impl Expiry {
    fn from_options(options: &PutOptions, now_ms: u64) -> Result<Expiry, KvError> {
        match (options.expiration, options.expiration_ttl) {
            (Some(_), Some(_)) => Err(KvError::Invalid(
                "give expiration or expiration_ttl, not both".into(),
            )),
            (Some(secs), None) => {
                if secs > MAX_EXPIRATION {
                    return Err(KvError::Invalid(format!(
                        "expiration {secs} is too far ahead; at most {MAX_EXPIRATION} (year 9999)"
                    )));
                }
                if secs * 1000 <= now_ms {
                    return Err(KvError::Invalid(format!(
                        "expiration {secs} is not in the future (now is {})",
                        now_ms / 1000
                    )));
                }
                Ok(Expiry::At { secs })
            }
            (None, Some(secs)) => {
                if secs < MIN_EXPIRATION_TTL {
                    return Err(KvError::Invalid(format!(
                        "expiration_ttl is {secs} s; at least {MIN_EXPIRATION_TTL}"
                    )));
                }
                let at_ms = secs
                    .checked_mul(1000)
                    .and_then(|ms| ms.checked_add(now_ms))
                    .filter(|at| *at <= MAX_EXPIRATION * 1000)
                    .ok_or_else(|| {
                        KvError::Invalid(format!(
                            "expiration_ttl {secs} s is too long: it ends after year 9999"
                        ))
                    })?;
                Ok(Expiry::Ttl { secs, at_ms })
            }
            (None, None) => Ok(Expiry::Never),
        }
    }

    /// The expiry in Unix milliseconds.
    pub(crate) fn at_ms(self) -> Option<u64> {
        match self {
            Expiry::Never => None,
            Expiry::Ttl { at_ms, .. } => Some(at_ms),
            Expiry::At { secs } => Some(secs * 1000),
        }
    }

    /// The expiration reported back, Unix seconds (rounded up).
    pub(crate) fn reported(self) -> Option<u64> {
        self.at_ms().map(|ms| ms.div_ceil(1000))
    }
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() {
        return Err(KvError::Invalid(format!(
            "key is empty; keys are 1 to {MAX_KEY_BYTES} bytes"
        )));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KvError::Invalid(format!(
            "key is {} bytes; at most {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

/// The integer in `value`, which must be an `i64` in canonical decimal form
/// (what `i64::to_string` writes: no sign for positives, no leading zeros).
pub(crate) fn parse_counter(value: &[u8], key: &str) -> Result<i64, KvError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse::<i64>().ok().filter(|n| n.to_string() == text))
        .ok_or_else(|| KvError::Invalid(format!("the value at key {key:?} is not an integer")))
}

pub(crate) fn overflow(key: &str, delta: i64) -> KvError {
    KvError::Invalid(format!(
        "adding {delta} to the value at key {key:?} overflows a 64-bit integer"
    ))
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Run a synchronous database call on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KvError> + Send + 'static,
) -> Result<T, KvError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KvError::Backend(format!("kv database task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_must_be_canonical_integers() {
        assert_eq!(parse_counter(b"42", "k").unwrap(), 42);
        assert_eq!(parse_counter(b"-7", "k").unwrap(), -7);
        assert_eq!(parse_counter(b"0", "k").unwrap(), 0);
        for bad in [&b""[..], b"+1", b"007", b" 1", b"1.5", b"x", b"\xff", b"-0"] {
            assert!(
                matches!(parse_counter(bad, "k"), Err(KvError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn expiry_from_options() {
        let now = 1_000_000_500;
        let ttl = PutOptions {
            expiration_ttl: Some(2),
            ..Default::default()
        };
        let e = Expiry::from_options(&ttl, now).unwrap();
        assert_eq!(e.at_ms(), Some(1_000_002_500));
        assert_eq!(e.reported(), Some(1_000_003));
        let at = PutOptions {
            expiration: Some(1_000_001),
            ..Default::default()
        };
        assert_eq!(
            Expiry::from_options(&at, now).unwrap().reported(),
            Some(1_000_001)
        );
        let past = PutOptions {
            expiration: Some(1_000_000),
            ..Default::default()
        };
        assert!(Expiry::from_options(&past, now).is_err());
        let huge = PutOptions {
            expiration_ttl: Some(u64::MAX),
            ..Default::default()
        };
        assert!(Expiry::from_options(&huge, now).is_err());
    }
}
