//! The embedded backend: one redb database file. Every method is synchronous
//! and is called on tokio's blocking pool.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};

use crate::{Entry, Expiry, KeyInfo, KvError, ListPage};

/// full key -> value bytes
const VALUES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv_values");
/// full key -> (expiry in Unix ms, 0 for none; metadata)
const META: TableDefinition<&[u8], (u64, Option<&str>)> = TableDefinition::new("kv_meta");
/// (expiry in Unix ms, full key) -> (): what the sweep removes first
const EXPIRY: TableDefinition<(u64, &[u8]), ()> = TableDefinition::new("kv_expiry");

/// How many expired entries each write transaction removes on the side.
const SWEEP_PER_WRITE: usize = 16;
/// How many expired entries [`Embedded::remove_expired`] removes per transaction.
const SWEEP_BATCH: usize = 1000;

const CURSOR_TAG: &str = "e1-";

macro_rules! backend_err {
    ($($t:ty),*) => {$(
        impl From<$t> for KvError {
            fn from(e: $t) -> Self { KvError::Backend(format!("kv database: {e}")) }
        }
    )*};
}
backend_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// `u32 BE len(app) ‖ app ‖ u32 BE len(namespace) ‖ namespace`: no two
/// (app, namespace) pairs share it, nor is one a prefix of another's.
pub(crate) fn namespace_prefix(app: &str, namespace: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + app.len() + namespace.len());
    for part in [app, namespace] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

pub(crate) fn full_key(prefix: &[u8], key: &str) -> Vec<u8> {
    [prefix, key.as_bytes()].concat()
}

/// The key after which the next page starts.
pub(crate) fn parse_cursor(cursor: &str) -> Result<Vec<u8>, KvError> {
    cursor
        .strip_prefix(CURSOR_TAG)
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| KvError::Invalid("cursor is not one this store returned".into()))
}

fn expired(expiry_ms: u64, now_ms: u64) -> bool {
    expiry_ms != 0 && expiry_ms <= now_ms
}

fn reported(expiry_ms: u64) -> Option<u64> {
    (expiry_ms != 0).then(|| expiry_ms.div_ceil(1000))
}

pub(crate) struct Embedded {
    db: Database,
    path: PathBuf,
}

struct Tables<'t> {
    values: Table<'t, &'static [u8], &'static [u8]>,
    meta: Table<'t, &'static [u8], (u64, Option<&'static str>)>,
    expiry: Table<'t, (u64, &'static [u8]), ()>,
}

impl Tables<'_> {
    /// Remove the entry at `key` from all three tables; whether there was one.
    fn remove(&mut self, key: &[u8]) -> Result<bool, KvError> {
        let old = self.meta.remove(key)?.map(|g| g.value().0);
        self.values.remove(key)?;
        if let Some(ms) = old
            && ms != 0
        {
            self.expiry.remove((ms, key))?;
        }
        Ok(old.is_some())
    }

    /// Remove up to `max` entries that expired by `now_ms`; how many.
    fn sweep(&mut self, now_ms: u64, max: usize) -> Result<usize, KvError> {
        let mut doomed = Vec::new();
        let upper: (u64, &[u8]) = (now_ms.saturating_add(1), &[]);
        for item in self.expiry.range(..upper)? {
            let (k, _) = item?;
            let (ms, key) = k.value();
            doomed.push((ms, key.to_vec()));
            if doomed.len() == max {
                break;
            }
        }
        for (ms, key) in &doomed {
            self.expiry.remove((*ms, key.as_slice()))?;
            // Only if the entry still carries this expiry (always, unless the
            // index was left inconsistent: never remove a live entry).
            let current = self.meta.get(key.as_slice())?.map(|g| g.value().0);
            if current == Some(*ms) {
                self.meta.remove(key.as_slice())?;
                self.values.remove(key.as_slice())?;
            }
        }
        Ok(doomed.len())
    }
}

impl Embedded {
    pub(crate) fn open(path: &Path) -> Result<Self, KvError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                KvError::Backend(format!("kv database directory {}: {e}", dir.display()))
            })?;
        }
        let db = Database::create(path)
            .map_err(|e| KvError::Backend(format!("kv database {}: {e}", path.display())))?;
        let txn = db.begin_write()?;
        txn.open_table(VALUES)?;
        txn.open_table(META)?;
        txn.open_table(EXPIRY)?;
        txn.commit()?;
        Ok(Embedded {
            db,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` in a write transaction (after sweeping a few expired entries)
    /// and commit it, durably, if it succeeds.
    fn write<T>(
        &self,
        now_ms: u64,
        f: impl FnOnce(&mut Tables<'_>) -> Result<T, KvError>,
    ) -> Result<T, KvError> {
        let txn = self.db.begin_write()?;
        let result = {
            let mut tables = Tables {
                values: txn.open_table(VALUES)?,
                meta: txn.open_table(META)?,
                expiry: txn.open_table(EXPIRY)?,
            };
            tables
                .sweep(now_ms, SWEEP_PER_WRITE)
                .and_then(|_| f(&mut tables))
        };
        match result {
            Ok(value) => {
                txn.commit()?;
                Ok(value)
            }
            Err(e) => {
                txn.abort()?;
                Err(e)
            }
        }
    }

    pub(crate) fn get(&self, key: &[u8], now_ms: u64) -> Result<Option<Entry>, KvError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let Some(m) = meta.get(key)? else {
            return Ok(None);
        };
        let (expiry_ms, metadata) = m.value();
        if expired(expiry_ms, now_ms) {
            return Ok(None);
        }
        let values = txn.open_table(VALUES)?;
        let value = values
            .get(key)?
            .ok_or_else(|| KvError::Backend("kv database: an entry has no value".into()))?;
        Ok(Some(Entry {
            value: Bytes::copy_from_slice(value.value()),
            metadata: metadata.map(str::to_string),
            expiration: reported(expiry_ms),
        }))
    }

    pub(crate) fn exists(&self, key: &[u8], now_ms: u64) -> Result<bool, KvError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        Ok(meta
            .get(key)?
            .is_some_and(|m| !expired(m.value().0, now_ms)))
    }

    pub(crate) fn put(
        &self,
        key: &[u8],
        value: &[u8],
        metadata: Option<&str>,
        expiry: Expiry,
        now_ms: u64,
    ) -> Result<(), KvError> {
        self.write(now_ms, |t| {
            t.remove(key)?;
            let ms = expiry.at_ms().unwrap_or(0);
            t.meta.insert(key, (ms, metadata))?;
            t.values.insert(key, value)?;
            if ms != 0 {
                t.expiry.insert((ms, key), ())?;
            }
            Ok(())
        })
    }

    pub(crate) fn delete(&self, key: &[u8], now_ms: u64) -> Result<(), KvError> {
        self.write(now_ms, |t| t.remove(key).map(drop))
    }

    pub(crate) fn increment(
        &self,
        key: &[u8],
        shown_key: &str,
        delta: i64,
        now_ms: u64,
    ) -> Result<i64, KvError> {
        self.write(now_ms, |t| {
            let old = t.meta.get(key)?.map(|g| g.value().0);
            let current = match old {
                Some(ms) if !expired(ms, now_ms) => {
                    let value = t.values.get(key)?.ok_or_else(|| {
                        KvError::Backend("kv database: an entry has no value".into())
                    })?;
                    crate::parse_counter(value.value(), shown_key)?
                }
                Some(_) => {
                    t.remove(key)?;
                    0
                }
                None => 0,
            };
            let new = current
                .checked_add(delta)
                .ok_or_else(|| crate::overflow(shown_key, delta))?;
            if t.meta.get(key)?.is_none() {
                t.meta.insert(key, (0, None))?;
            }
            t.values.insert(key, new.to_string().as_bytes())?;
            Ok(new)
        })
    }

    pub(crate) fn list(
        &self,
        ns: &[u8],
        prefix: &str,
        limit: usize,
        after: Option<Vec<u8>>,
        now_ms: u64,
    ) -> Result<ListPage, KvError> {
        let start = full_key(ns, prefix);
        let after = after.map(|a| [ns, &a].concat()).filter(|a| *a >= start);
        let lower = match &after {
            Some(a) => Bound::Excluded(a.as_slice()),
            None => Bound::Included(start.as_slice()),
        };
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let mut keys = Vec::new();
        let mut more = false;
        for item in meta.range::<&[u8]>((lower, Bound::Unbounded))? {
            let (k, m) = item?;
            let full = k.value();
            if !full.starts_with(&start) {
                break;
            }
            let (expiry_ms, metadata) = m.value();
            if expired(expiry_ms, now_ms) {
                continue;
            }
            if keys.len() == limit {
                more = true;
                break;
            }
            let name = std::str::from_utf8(&full[ns.len()..])
                .map_err(|_| KvError::Backend("kv database: a key is not UTF-8".into()))?;
            keys.push(KeyInfo {
                name: name.to_string(),
                expiration: reported(expiry_ms),
                metadata: metadata.map(str::to_string),
            });
        }
        let cursor = more.then(|| {
            let last: &KeyInfo = keys.last().expect("a full page has a last key");
            format!("{CURSOR_TAG}{}", hex::encode(last.name.as_bytes()))
        });
        Ok(ListPage { keys, cursor })
    }

    pub(crate) fn remove_expired(&self, now_ms: u64) -> Result<u64, KvError> {
        let mut total = 0;
        loop {
            let txn = self.db.begin_write()?;
            let removed = {
                let mut tables = Tables {
                    values: txn.open_table(VALUES)?,
                    meta: txn.open_table(META)?,
                    expiry: txn.open_table(EXPIRY)?,
                };
                tables.sweep(now_ms, SWEEP_BATCH)?
            };
            txn.commit()?;
            total += removed as u64;
            if removed < SWEEP_BATCH {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_never_collide() {
        let pairs = [("ab", "c"), ("a", "bc"), ("a", "b"), ("", "ab"), ("ab", "")];
        for (i, a) in pairs.iter().enumerate() {
            for b in &pairs[i + 1..] {
                let (pa, pb) = (namespace_prefix(a.0, a.1), namespace_prefix(b.0, b.1));
                assert!(!pa.starts_with(&pb) && !pb.starts_with(&pa), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn sweep_removes_expired_entries_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = Embedded::open(&dir.path().join("kv.redb")).unwrap();
        let ns = namespace_prefix("app", "ns");
        let (a, b, c) = (full_key(&ns, "a"), full_key(&ns, "b"), full_key(&ns, "c"));
        let at = |secs| Expiry::At { secs };
        db.put(&a, b"1", None, at(10), 0).unwrap();
        db.put(&b, b"2", None, at(20), 0).unwrap();
        db.put(&c, b"3", None, Expiry::Never, 0).unwrap();
        assert_eq!(db.remove_expired(15_000).unwrap(), 1);
        assert!(db.get(&a, 0).unwrap().is_none(), "swept for good");
        assert!(db.get(&b, 0).unwrap().is_some());
        // A put of another key sweeps on the side.
        db.put(&a, b"1", None, Expiry::Never, 25_000).unwrap();
        assert!(db.get(&b, 0).unwrap().is_none());
        assert_eq!(db.remove_expired(u64::MAX).unwrap(), 0);
        assert_eq!(db.get(&c, 0).unwrap().unwrap().value, &b"3"[..]);
    }
}
