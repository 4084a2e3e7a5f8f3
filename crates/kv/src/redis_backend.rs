//! The Redis backend: one hash per entry, Redis's own expiry, a lazily
//! (re)connected multiplexed connection, and a time bound on every call.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind, Value};

use crate::{Entry, Expiry, KeyInfo, KvError, ListPage};

/// How much of the keyspace one `SCAN` call walks.
const SCAN_COUNT: u32 = 1000;
/// At most this many `SCAN` calls per page; a sparse prefix in a large
/// database then yields a short (even empty) page with a cursor, not a call
/// that runs into the time bound.
const MAX_SCANS_PER_PAGE: usize = 64;
/// Attempts per call when the connection fails (the first one included).
const ATTEMPTS: usize = 3;

const CURSOR_TAG: &str = "r1-";

/// `mote:kv:{len(app)}:{app}:{len(namespace)}:{namespace}:`, lengths in bytes.
pub(crate) fn namespace_prefix(app: &str, namespace: &str) -> String {
    format!(
        "mote:kv:{}:{app}:{}:{namespace}:",
        app.len(),
        namespace.len()
    )
}

/// A `SCAN ... MATCH` pattern matching exactly the keys that start with `prefix`.
fn glob_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 8);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('*');
    out
}

/// Where a page starts: a SCAN cursor, and the last key already handed out
/// from that cursor's batch, if any.
pub(crate) struct Start {
    scan: u64,
    after: Option<String>,
}

pub(crate) fn parse_cursor(cursor: &str) -> Result<Start, KvError> {
    let bad = || KvError::Invalid("cursor is not one this store returned".into());
    let rest = cursor.strip_prefix(CURSOR_TAG).ok_or_else(bad)?;
    let (scan, after) = rest.split_once('-').ok_or_else(bad)?;
    let scan = scan.parse().map_err(|_| bad())?;
    let after = if after.is_empty() {
        None
    } else {
        let bytes = hex::decode(after).map_err(|_| bad())?;
        Some(String::from_utf8(bytes).map_err(|_| bad())?)
    };
    Ok(Start { scan, after })
}

fn make_cursor(scan: u64, after: Option<&str>) -> String {
    let after = after.map(|a| hex::encode(a.as_bytes())).unwrap_or_default();
    format!("{CURSOR_TAG}{scan}-{after}")
}

/// The URL with any password replaced by `***`.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        // Not a URL at all: show only the scheme-like start, if any.
        Err(_) => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://…"),
            None => "(not a URL)".into(),
        },
    }
}

pub(crate) struct Redis {
    client: redis::Client,
    manager: tokio::sync::OnceCell<ConnectionManager>,
    shown_url: String,
    timeout: Duration,
}

impl Redis {
    pub(crate) fn new(url: &str, timeout: Duration) -> Result<Self, KvError> {
        let shown_url = redact(url);
        let client = redis::Client::open(url)
            .map_err(|e| KvError::Invalid(format!("redis URL {shown_url} is not usable: {e}")))?;
        Ok(Redis {
            client,
            manager: tokio::sync::OnceCell::new(),
            shown_url,
            timeout,
        })
    }

    pub(crate) fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// The connection manager, made on first use (it needs the runtime).
    async fn connection(&self) -> RedisResult<ConnectionManager> {
        self.manager
            .get_or_try_init(|| async {
                // One connection attempt per call (calls retry themselves);
                // each attempt and each answer bounded.
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(0)
                    .set_connection_timeout(Some(self.timeout.min(Duration::from_secs(2))))
                    .set_response_timeout(Some(self.timeout));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
    }

    /// Run `op` on a connection within the time bound. A connection that
    /// cannot be made is retried (the command was never sent); an I/O error
    /// after sending is retried only for an `idempotent` operation. The
    /// connection manager reconnects after either.
    async fn run<T, F, Fut>(&self, idempotent: bool, op: F) -> Result<T, KvError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        self.run_raw(idempotent, op)
            .await?
            .map_err(|e| self.error(e))
    }

    /// [`Redis::run`] handing back Redis's own error; `Err` only for the
    /// time bound.
    async fn run_raw<T, F, Fut>(&self, idempotent: bool, op: F) -> Result<RedisResult<T>, KvError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let attempts = async {
            let mut attempt = 1;
            loop {
                let result = match self.connection().await {
                    Ok(conn) => op(conn).await,
                    Err(e) => Err(e),
                };
                match result {
                    Err(e)
                        if attempt < ATTEMPTS
                            && e.is_io_error()
                            && (idempotent || e.is_connection_refusal()) =>
                    {
                        if attempt > 1 {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        attempt += 1;
                    }
                    result => return result,
                }
            }
        };
        tokio::time::timeout(self.timeout, attempts)
            .await
            .map_err(|_| {
                KvError::Unavailable(format!(
                    "redis at {} is unavailable: no answer within {} ms",
                    self.shown_url,
                    self.timeout.as_millis()
                ))
            })
    }

    fn error(&self, e: RedisError) -> KvError {
        let url = &self.shown_url;
        if e.is_io_error() {
            let why = if e.is_connection_refusal() {
                "connection refused".to_string()
            } else if e.is_timeout() {
                "timed out".to_string()
            } else {
                e.to_string()
            };
            return KvError::Unavailable(format!("redis at {url} is unavailable: {why}"));
        }
        match e.kind() {
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                | ServerErrorKind::MasterDown
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::ReadOnly,
            ) => KvError::Unavailable(format!("redis at {url} is unavailable: {e}")),
            _ => KvError::Backend(format!("redis at {url}: {e}")),
        }
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<Entry>, KvError> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(key).arg("v").arg("m").arg("e");
        let cmd = &cmd;
        let (value, metadata, expiration): (Option<Bytes>, Option<String>, Option<String>) = self
            .run(true, |mut c| async move { cmd.query_async(&mut c).await })
            .await?;
        let Some(value) = value else {
            return Ok(None);
        };
        Ok(Some(Entry {
            value,
            metadata,
            expiration: self.expiration(expiration)?,
        }))
    }

    fn expiration(&self, field: Option<String>) -> Result<Option<u64>, KvError> {
        field
            .map(|e| {
                e.parse().map_err(|_| {
                    KvError::Backend(format!(
                        "redis at {}: an entry's expiration {e:?} is not a number",
                        self.shown_url
                    ))
                })
            })
            .transpose()
    }

    pub(crate) async fn put(
        &self,
        key: &str,
        value: &[u8],
        metadata: Option<&str>,
        expiry: Expiry,
    ) -> Result<(), KvError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("DEL").arg(key).ignore();
        pipe.cmd("HSET").arg(key).arg("v").arg(value);
        if let Some(metadata) = metadata {
            pipe.arg("m").arg(metadata);
        }
        if let Some(expiration) = expiry.reported() {
            pipe.arg("e").arg(expiration);
        }
        pipe.ignore();
        match expiry {
            Expiry::Never => {}
            Expiry::Ttl { secs, .. } => {
                pipe.cmd("EXPIRE").arg(key).arg(secs).ignore();
            }
            Expiry::At { secs } => {
                pipe.cmd("EXPIREAT").arg(key).arg(secs).ignore();
            }
        }
        let pipe = &pipe;
        self.run(true, |mut c| async move { pipe.exec_async(&mut c).await })
            .await
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), KvError> {
        let mut cmd = redis::cmd("UNLINK");
        cmd.arg(key);
        let cmd = &cmd;
        self.run(true, |mut c| async move { cmd.exec_async(&mut c).await })
            .await
    }

    pub(crate) async fn exists(&self, key: &str) -> Result<bool, KvError> {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(key);
        let cmd = &cmd;
        let n: i64 = self
            .run(true, |mut c| async move { cmd.query_async(&mut c).await })
            .await?;
        Ok(n > 0)
    }

    pub(crate) async fn increment(
        &self,
        key: &str,
        shown_key: &str,
        delta: i64,
    ) -> Result<i64, KvError> {
        let mut cmd = redis::cmd("HINCRBY");
        cmd.arg(key).arg("v").arg(delta);
        let cmd = &cmd;
        // Not idempotent: never resent once it may have reached the server.
        let result = self
            .run_raw(false, |mut c| async move { cmd.query_async(&mut c).await })
            .await?;
        result.map_err(|e| {
            let detail = e.detail().unwrap_or_default();
            if e.kind() != ErrorKind::Server(ServerErrorKind::ResponseError) {
                self.error(e)
            } else if detail.contains("not an integer") {
                KvError::Invalid(format!("the value at key {shown_key:?} is not an integer"))
            } else if detail.contains("overflow") {
                crate::overflow(shown_key, delta)
            } else {
                self.error(e)
            }
        })
    }

    pub(crate) async fn list(
        &self,
        ns: &str,
        prefix: &str,
        limit: usize,
        start: Option<Start>,
    ) -> Result<ListPage, KvError> {
        let pattern = glob_prefix(&format!("{ns}{prefix}"));
        let Start {
            mut scan,
            mut after,
        } = start.unwrap_or(Start {
            scan: 0,
            after: None,
        });
        let mut names: Vec<String> = Vec::new();
        let mut cursor = None;
        for round in 1.. {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(scan)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let cmd = &cmd;
            let (next, batch): (u64, Vec<Vec<u8>>) = self
                .run(true, |mut c| async move { cmd.query_async(&mut c).await })
                .await?;
            // Our keys are UTF-8; anything else under the prefix is not ours.
            let mut batch: Vec<String> = batch
                .into_iter()
                .filter_map(|k| String::from_utf8(k).ok())
                .filter_map(|k| k.strip_prefix(ns).map(str::to_string))
                .collect();
            batch.sort();
            batch.dedup();
            if let Some(after) = after.take() {
                batch.retain(|k| *k > after);
            }
            let room = limit - names.len();
            if batch.len() > room {
                // Stay on this batch; the next page skips what we hand out.
                names.extend(batch.into_iter().take(room));
                cursor = Some(make_cursor(scan, names.last().map(String::as_str)));
                break;
            }
            names.extend(batch);
            if next == 0 {
                break;
            }
            scan = next;
            if names.len() == limit || round == MAX_SCANS_PER_PAGE {
                cursor = Some(make_cursor(scan, None));
                break;
            }
        }
        let keys = self.key_infos(ns, names).await?;
        Ok(ListPage { keys, cursor })
    }

    /// Metadata and expiration of each key; keys gone meanwhile are left out.
    async fn key_infos(&self, ns: &str, names: Vec<String>) -> Result<Vec<KeyInfo>, KvError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for name in &names {
            let key = format!("{ns}{name}");
            pipe.cmd("HMGET").arg(&key).arg("m").arg("e");
            pipe.cmd("HEXISTS").arg(&key).arg("v");
        }
        let pipe = &pipe;
        let replies: Vec<Value> = self
            .run(true, |mut c| async move { pipe.query_async(&mut c).await })
            .await?;
        let unexpected = || {
            KvError::Backend(format!(
                "redis at {}: unexpected reply while listing",
                self.shown_url
            ))
        };
        if replies.len() != names.len() * 2 {
            return Err(unexpected());
        }
        let mut keys = Vec::with_capacity(names.len());
        let mut replies = replies.into_iter();
        for name in names {
            let (fields, present) = (replies.next(), replies.next());
            let (metadata, expiration): (Option<String>, Option<String>) =
                redis::from_redis_value(fields.ok_or_else(unexpected)?)
                    .map_err(|_| unexpected())?;
            let present: bool = redis::from_redis_value(present.ok_or_else(unexpected)?)
                .map_err(|_| unexpected())?;
            if present {
                keys.push(KeyInfo {
                    name,
                    expiration: self.expiration(expiration)?,
                    metadata,
                });
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_patterns() {
        assert_eq!(namespace_prefix("shop", "cache"), "mote:kv:4:shop:5:cache:");
        assert_ne!(namespace_prefix("ab", "c"), namespace_prefix("a", "bc"));
        assert_eq!(glob_prefix(r"a*b?[c]\d"), r"a\*b\?\[c\]\\d*");
    }

    #[test]
    fn cursors_round_trip() {
        let c = make_cursor(42, Some("user:7"));
        let start = parse_cursor(&c).unwrap();
        assert_eq!((start.scan, start.after.as_deref()), (42, Some("user:7")));
        let start = parse_cursor(&make_cursor(0, None)).unwrap();
        assert_eq!((start.scan, start.after), (0, None));
        for bad in ["", "r1-", "r1-x-", "r1-1-zz", "e1-00", "r1-1"] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("redis://user:secret@example.com:6380/2"),
            "redis://user:***@example.com:6380/2"
        );
        assert_eq!(redact("redis://:secret@h"), "redis://:***@h");
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert!(!redact("redis//user:secret@h").contains("secret"));
    }
}
