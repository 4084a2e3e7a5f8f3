//! Mote's deployment store: durable, versioned, switched atomically.
//!
//! Everything lives in one [redb](https://docs.rs/redb) database in the
//! node's data directory. A deploy writes the app's source blobs
//! (content-addressed by SHA-256, so identical components are stored once),
//! a new version record and the app's "current version" pointer in **one
//! write transaction**; redb fsyncs on commit, so once [`Store::deploy`]
//! returns the deployment survives `kill -9` and power loss, and a crash
//! before that leaves the previous version in place.
//!
//! The store is generic over the manifest: it keeps the app's manifest as
//! JSON and knows nothing about services beyond their source blobs.
//!
//! Compiled machine code is a cache, not a record: it lives in files under
//! `compiled/`, named by source hash and engine compatibility key, written
//! atomically (temporary file + rename) and rebuilt when missing.
//!
//! Secrets are kept apart, in their own database file with mode 0600
//! ([`Secrets`], `secrets.redb`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod secrets;

pub use secrets::{SECRETS_FILE, SecretInfo, Secrets};

/// app name -> [`AppRecord`] (JSON)
const APPS: TableDefinition<&str, &[u8]> = TableDefinition::new("apps");
/// (app name, version) -> [`Deployment`] (JSON)
const VERSIONS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("versions");
/// sha256 hex -> source bytes
const BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("blobs");

/// The database file inside the data directory.
pub const DB_FILE: &str = "mote.redb";

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No app of that name is deployed.
    #[error("no app named \"{0}\" is deployed")]
    NoSuchApp(String),
    /// Rollback asked for with no earlier version.
    #[error("app \"{0}\" has no earlier version to roll back to")]
    NoEarlierVersion(String),
    /// A blob referenced by a deployment is missing (the database was damaged).
    #[error("source blob {0} is missing from the store")]
    MissingBlob(String),
    /// The database could not be read or written.
    #[error("deployment store: {0}")]
    Db(String),
    /// The secrets database could not be read or written (the message
    /// never holds a value).
    #[error("secret store: {0}")]
    Secrets(String),
    /// A file of the compiled-code cache could not be read or written.
    #[error("compiled-code cache {}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Db(e.to_string()) }
        }
    )*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    serde_json::Error
);

/// One deployed version of an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// The app's name.
    pub app: String,
    /// Version number, starting at 1, increasing with every deploy of the app.
    pub version: u64,
    /// The app's manifest, as JSON.
    pub manifest: serde_json::Value,
    /// Service name -> SHA-256 (hex) of its source.
    pub sources: BTreeMap<String, String>,
    /// When it was deployed, milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
}

/// An app's pointer to its live version and the versions it keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppRecord {
    /// The app's name.
    pub name: String,
    /// The live version.
    pub current: u64,
    /// The highest version ever deployed (the next deploy gets `latest + 1`).
    pub latest: u64,
}

/// The durable deployment registry.
pub struct Store {
    db: Database,
    compiled_dir: PathBuf,
}

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Store {
    /// Open (or create) the store in `dir`, creating the directory if needed.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let compiled_dir = dir.join("compiled");
        std::fs::create_dir_all(&compiled_dir).map_err(io(&compiled_dir))?;
        let db = Database::create(dir.join(DB_FILE))?;
        let txn = db.begin_write()?;
        txn.open_table(APPS)?;
        txn.open_table(VERSIONS)?;
        txn.open_table(BLOBS)?;
        txn.commit()?;
        Ok(Store { db, compiled_dir })
    }

    /// Record a new version of `app` and make it current, durably, in one
    /// transaction. `sources` maps each service to its source bytes.
    pub fn deploy(
        &self,
        app: &str,
        manifest: serde_json::Value,
        sources: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Deployment, StoreError> {
        let txn = self.db.begin_write()?;
        let deployment = {
            let mut apps = txn.open_table(APPS)?;
            let mut versions = txn.open_table(VERSIONS)?;
            let mut blobs = txn.open_table(BLOBS)?;
            let previous: Option<AppRecord> = match apps.get(app)? {
                Some(v) => Some(serde_json::from_slice(v.value())?),
                None => None,
            };
            let version = previous.map_or(1, |r| r.latest + 1);
            let mut hashes = BTreeMap::new();
            for (service, bytes) in sources {
                let sha = sha256_hex(bytes);
                if blobs.get(sha.as_str())?.is_none() {
                    blobs.insert(sha.as_str(), bytes.as_slice())?;
                }
                hashes.insert(service.clone(), sha);
            }
            let deployment = Deployment {
                app: app.to_string(),
                version,
                manifest,
                sources: hashes,
                created_unix_ms: now_ms(),
            };
            versions.insert((app, version), serde_json::to_vec(&deployment)?.as_slice())?;
            let record = AppRecord {
                name: app.to_string(),
                current: version,
                latest: version,
            };
            apps.insert(app, serde_json::to_vec(&record)?.as_slice())?;
            deployment
        };
        txn.commit()?;
        Ok(deployment)
    }

    /// The live deployment of every app, ordered by app name.
    pub fn current_all(&self) -> Result<Vec<Deployment>, StoreError> {
        let txn = self.db.begin_read()?;
        let apps = txn.open_table(APPS)?;
        let versions = txn.open_table(VERSIONS)?;
        let mut out = Vec::new();
        for entry in apps.iter()? {
            let (_, v) = entry?;
            let record: AppRecord = serde_json::from_slice(v.value())?;
            if let Some(d) = versions.get((record.name.as_str(), record.current))? {
                out.push(serde_json::from_slice(d.value())?);
            }
        }
        Ok(out)
    }

    /// The live deployment of `app`.
    pub fn current(&self, app: &str) -> Result<Deployment, StoreError> {
        let txn = self.db.begin_read()?;
        let record = Self::record(&txn.open_table(APPS)?, app)?;
        let versions = txn.open_table(VERSIONS)?;
        let d = versions
            .get((app, record.current))?
            .ok_or_else(|| StoreError::NoSuchApp(app.to_string()))?;
        Ok(serde_json::from_slice(d.value())?)
    }

    /// Every kept version of `app`, oldest first, and the live version number.
    pub fn versions(&self, app: &str) -> Result<(Vec<Deployment>, u64), StoreError> {
        let txn = self.db.begin_read()?;
        let record = Self::record(&txn.open_table(APPS)?, app)?;
        let versions = txn.open_table(VERSIONS)?;
        let mut out = Vec::new();
        for entry in versions.range((app, 0)..=(app, u64::MAX))? {
            let (_, v) = entry?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok((out, record.current))
    }

    /// Make the version before the live one current again, durably.
    pub fn rollback(&self, app: &str) -> Result<Deployment, StoreError> {
        let txn = self.db.begin_write()?;
        let deployment = {
            let mut apps = txn.open_table(APPS)?;
            let versions = txn.open_table(VERSIONS)?;
            let mut record = Self::record(&apps, app)?;
            let previous = versions
                .range((app, 0)..(app, record.current))?
                .next_back()
                .transpose()?
                .ok_or_else(|| StoreError::NoEarlierVersion(app.to_string()))?;
            let deployment: Deployment = serde_json::from_slice(previous.1.value())?;
            record.current = deployment.version;
            apps.insert(app, serde_json::to_vec(&record)?.as_slice())?;
            deployment
        };
        txn.commit()?;
        Ok(deployment)
    }

    /// Remove `app`, all its versions, and the blobs no other version uses.
    pub fn delete(&self, app: &str) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut apps = txn.open_table(APPS)?;
            let mut versions = txn.open_table(VERSIONS)?;
            let mut blobs = txn.open_table(BLOBS)?;
            Self::record(&apps, app)?;
            apps.remove(app)?;
            let mut doomed = Vec::new();
            for entry in versions.range((app, 0)..=(app, u64::MAX))? {
                let (k, v) = entry?;
                let d: Deployment = serde_json::from_slice(v.value())?;
                doomed.push((k.value().1, d.sources.into_values().collect::<Vec<_>>()));
            }
            let mut maybe_unused = Vec::new();
            for (version, shas) in doomed {
                versions.remove((app, version))?;
                maybe_unused.extend(shas);
            }
            let mut still_used = std::collections::BTreeSet::new();
            for entry in versions.iter()? {
                let (_, v) = entry?;
                let d: Deployment = serde_json::from_slice(v.value())?;
                still_used.extend(d.sources.into_values());
            }
            for sha in maybe_unused {
                if !still_used.contains(&sha) {
                    blobs.remove(sha.as_str())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The source bytes with this SHA-256.
    pub fn blob(&self, sha: &str) -> Result<Vec<u8>, StoreError> {
        let txn = self.db.begin_read()?;
        let blobs = txn.open_table(BLOBS)?;
        let v = blobs
            .get(sha)?
            .ok_or_else(|| StoreError::MissingBlob(sha.to_string()))?;
        Ok(v.value().to_vec())
    }

    /// Cached compiled code for source `sha` under engine key `key`, if present.
    pub fn compiled(&self, sha: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.compiled_path(sha, key)).ok()
    }

    /// Cache compiled code (temporary file, fsync, rename: never a torn file).
    pub fn put_compiled(&self, sha: &str, key: &str, code: &[u8]) -> Result<(), StoreError> {
        use std::io::Write;
        let path = self.compiled_path(sha, key);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(code).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }

    fn compiled_path(&self, sha: &str, key: &str) -> PathBuf {
        self.compiled_dir.join(format!("{sha}-{key}.cwasm"))
    }

    fn record(
        apps: &impl ReadableTable<&'static str, &'static [u8]>,
        app: &str,
    ) -> Result<AppRecord, StoreError> {
        let v = apps
            .get(app)?
            .ok_or_else(|| StoreError::NoSuchApp(app.to_string()))?;
        Ok(serde_json::from_slice(v.value())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(pairs: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect()
    }

    #[test]
    fn deploy_versions_rollback_delete_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d1 = store
            .deploy(
                "shop",
                serde_json::json!({"v": 1}),
                &sources(&[("a", b"one")]),
            )
            .unwrap();
        let d2 = store
            .deploy(
                "shop",
                serde_json::json!({"v": 2}),
                &sources(&[("a", b"two")]),
            )
            .unwrap();
        assert_eq!((d1.version, d2.version), (1, 2));
        assert_eq!(store.current("shop").unwrap().manifest["v"], 2);
        assert_eq!(store.blob(&d2.sources["a"]).unwrap(), b"two");

        let back = store.rollback("shop").unwrap();
        assert_eq!(back.version, 1);
        assert!(matches!(
            store.rollback("shop"),
            Err(StoreError::NoEarlierVersion(_))
        ));
        // A deploy after a rollback gets a fresh number, never reusing one.
        let d3 = store
            .deploy(
                "shop",
                serde_json::json!({"v": 3}),
                &sources(&[("a", b"one")]),
            )
            .unwrap();
        assert_eq!(d3.version, 3);
        assert_eq!(
            d3.sources["a"], d1.sources["a"],
            "identical blobs are shared"
        );
        drop(store);

        // Everything is back after reopening.
        let store = Store::open(dir.path()).unwrap();
        let (all, current) = store.versions("shop").unwrap();
        assert_eq!(all.iter().map(|d| d.version).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(current, 3);
        assert_eq!(store.current_all().unwrap().len(), 1);

        store
            .deploy("other", serde_json::json!({}), &sources(&[("b", b"one")]))
            .unwrap();
        store.delete("shop").unwrap();
        assert!(matches!(
            store.current("shop"),
            Err(StoreError::NoSuchApp(_))
        ));
        assert!(store.blob(&d2.sources["a"]).is_err(), "unused blob removed");
        assert_eq!(
            store.blob(&d1.sources["a"]).unwrap(),
            b"one",
            "shared blob kept"
        );
    }

    #[test]
    fn compiled_cache_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.compiled("abc", "k1").is_none());
        store.put_compiled("abc", "k1", b"code").unwrap();
        assert_eq!(store.compiled("abc", "k1").unwrap(), b"code");
        assert!(store.compiled("abc", "k2").is_none());
    }
}
