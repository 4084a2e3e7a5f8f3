//! Secrets: named values that an app's services are granted in their
//! manifest (`bindings.TOKEN = { secret = "slack_token" }`) but that are set
//! on the node, never written in `mote.toml`.
//!
//! They live in their own redb database, `<data-dir>/secrets.redb`, created
//! with mode 0600 (and narrowed to 0600 if it was found wider), apart from
//! the deployment store so that a copy of `mote.redb` never carries them.
//! Secrets belong to an app *name*: they can be set before the app's first
//! deploy and are kept when the app is redeployed or deleted.
//!
//! A write is committed with redb's default durability (fsync) before
//! [`Secrets::set`] or [`Secrets::remove`] returns. Reads on the request
//! path ([`Secrets::get`]) are served from an in-memory copy loaded at open
//! and kept in step by every write; they never touch the disk.
//!
//! This module does not validate names or values: callers (the admin API)
//! do, once. Nothing here logs, and no error carries a value.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::StoreError;

/// (app name, secret name) -> (value, when it was last set, Unix seconds)
const SECRETS: TableDefinition<(&str, &str), (&str, u64)> = TableDefinition::new("secrets");

/// The secrets database file inside the data directory.
pub const SECRETS_FILE: &str = "secrets.redb";

/// A secret as it may be shown: its name and when it was last set, never
/// its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// The secret's name.
    pub name: String,
    /// When it was last set, seconds since the Unix epoch.
    pub updated: u64,
}

/// One secret in memory.
struct Entry {
    value: String,
    updated: u64,
}

/// App name -> secret name -> entry.
type Cache = HashMap<String, BTreeMap<String, Entry>>;

/// The node's secrets, per app: durable in `secrets.redb`, read from memory.
pub struct Secrets {
    db: Database,
    path: PathBuf,
    cache: RwLock<Cache>,
    /// Serialises writers from their transaction to their update of the
    /// cache, so the cache always ends as the last commit left the file
    /// (readers never wait for a commit's fsync).
    writer: Mutex<()>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values.
        f.debug_struct("Secrets")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Secrets {
    /// Open (or create) `<data_dir>/secrets.redb`, creating the directory if
    /// needed, and load every secret into memory.
    ///
    /// The file is created with mode 0600 before the database is opened in
    /// it; an existing file readable or writable by group or others is
    /// narrowed to 0600.
    pub fn open(data_dir: &Path) -> Result<Secrets, StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |e: std::io::Error| StoreError::Secrets(format!("{}: {e}", path.display()))
        };
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let path = data_dir.join(SECRETS_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        let mode = file.metadata().map_err(io(&path))?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io(&path))?;
        }
        drop(file);

        let fail =
            |e: &dyn std::fmt::Display| StoreError::Secrets(format!("{}: {e}", path.display()));
        let db = Database::create(&path).map_err(|e| fail(&e))?;
        let txn = db.begin_write().map_err(|e| fail(&e))?;
        txn.open_table(SECRETS).map_err(|e| fail(&e))?;
        txn.commit().map_err(|e| fail(&e))?;

        let mut cache = Cache::new();
        {
            let txn = db.begin_read().map_err(|e| fail(&e))?;
            let table = txn.open_table(SECRETS).map_err(|e| fail(&e))?;
            for entry in table.iter().map_err(|e| fail(&e))? {
                let (key, value) = entry.map_err(|e| fail(&e))?;
                let (app, name) = key.value();
                let (value, updated) = value.value();
                cache.entry(app.to_owned()).or_default().insert(
                    name.to_owned(),
                    Entry {
                        value: value.to_owned(),
                        updated,
                    },
                );
            }
        }
        Ok(Secrets {
            db,
            path,
            cache: RwLock::new(cache),
            writer: Mutex::new(()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Set (create or replace) secret `name` of `app` to `value`. Returns
    /// once the change is committed and fsynced.
    pub fn set(&self, app: &str, name: &str, value: &str) -> Result<SecretInfo, StoreError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let updated = unix_seconds();
        let txn = self.db.begin_write().map_err(|e| self.error(&e))?;
        {
            let mut table = txn.open_table(SECRETS).map_err(|e| self.error(&e))?;
            table
                .insert((app, name), (value, updated))
                .map_err(|e| self.error(&e))?;
        }
        txn.commit().map_err(|e| self.error(&e))?;
        self.cache_mut().entry(app.to_owned()).or_default().insert(
            name.to_owned(),
            Entry {
                value: value.to_owned(),
                updated,
            },
        );
        Ok(SecretInfo {
            name: name.to_owned(),
            updated,
        })
    }

    /// Remove secret `name` of `app`, durably. `false` if there was none.
    pub fn remove(&self, app: &str, name: &str) -> Result<bool, StoreError> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let txn = self.db.begin_write().map_err(|e| self.error(&e))?;
        let removed = {
            let mut table = txn.open_table(SECRETS).map_err(|e| self.error(&e))?;
            let removed = table.remove((app, name)).map_err(|e| self.error(&e))?;
            removed.is_some()
        };
        if !removed {
            txn.abort().map_err(|e| self.error(&e))?;
            return Ok(false);
        }
        txn.commit().map_err(|e| self.error(&e))?;
        let mut cache = self.cache_mut();
        if let Some(secrets) = cache.get_mut(app) {
            secrets.remove(name);
            if secrets.is_empty() {
                cache.remove(app);
            }
        }
        Ok(true)
    }

    /// The secrets of `app`, by name: names and when they were set, never
    /// values. Empty if it has none (whether or not the app is deployed).
    pub fn list(&self, app: &str) -> Result<Vec<SecretInfo>, StoreError> {
        Ok(self
            .cache()
            .get(app)
            .map(|secrets| {
                secrets
                    .iter()
                    .map(|(name, entry)| SecretInfo {
                        name: name.clone(),
                        updated: entry.updated,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The value of secret `name` of `app`, from memory.
    pub fn get(&self, app: &str, name: &str) -> Option<String> {
        self.cache()
            .get(app)
            .and_then(|secrets| secrets.get(name))
            .map(|entry| entry.value.clone())
    }

    fn cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn cache_mut(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }

    fn error(&self, e: &dyn std::fmt::Display) -> StoreError {
        StoreError::Secrets(format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn set_get_list_remove_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::open(dir.path()).unwrap();
        assert!(secrets.list("shop").unwrap().is_empty());
        assert_eq!(secrets.get("shop", "token"), None);

        let before = unix_seconds();
        let info = secrets.set("shop", "token", "v1").unwrap();
        assert_eq!(info.name, "token");
        assert!(info.updated >= before && info.updated <= unix_seconds());
        secrets.set("shop", "api_key", "k").unwrap();
        secrets.set("shop", "token", "v2").unwrap();
        secrets.set("other", "token", "theirs").unwrap();
        secrets.set("shop", "empty", "").unwrap();

        assert_eq!(secrets.get("shop", "token").as_deref(), Some("v2"));
        assert_eq!(secrets.get("other", "token").as_deref(), Some("theirs"));
        assert_eq!(secrets.get("shop", "empty").as_deref(), Some(""));
        assert_eq!(secrets.get("nobody", "token"), None);
        let names: Vec<String> = secrets
            .list("shop")
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["api_key", "empty", "token"], "ordered by name");

        assert!(secrets.remove("shop", "api_key").unwrap());
        assert!(!secrets.remove("shop", "api_key").unwrap());
        assert!(!secrets.remove("nobody", "x").unwrap());
        assert_eq!(secrets.get("shop", "api_key"), None);
        let listed = secrets.list("shop").unwrap();
        drop(secrets);

        // Everything is back after reopening, values included.
        let secrets = Secrets::open(dir.path()).unwrap();
        assert_eq!(secrets.list("shop").unwrap(), listed);
        assert_eq!(secrets.get("shop", "token").as_deref(), Some("v2"));
        assert_eq!(secrets.get("shop", "api_key"), None);
        assert_eq!(secrets.get("other", "token").as_deref(), Some("theirs"));

        // Removing an app's last secret forgets the app.
        assert!(secrets.remove("other", "token").unwrap());
        assert!(secrets.list("other").unwrap().is_empty());
    }

    #[test]
    fn the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::open(dir.path()).unwrap();
        let path = dir.path().join(SECRETS_FILE);
        assert_eq!(secrets.path(), path);
        assert_eq!(mode(&path), 0o600);
        secrets.set("shop", "token", "v").unwrap();
        drop(secrets);

        // A file made wider (by hand, a copy, a restore) is narrowed again,
        // and keeps its contents.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let secrets = Secrets::open(dir.path()).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(secrets.get("shop", "token").as_deref(), Some("v"));
    }

    #[test]
    fn open_creates_the_data_directory() {
        // A data directory that does not exist yet is created.
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        Secrets::open(&dir).unwrap();
        assert_eq!(mode(&dir.join(SECRETS_FILE)), 0o600);
    }

    #[test]
    fn readers_see_every_write_from_many_threads() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = std::sync::Arc::new(Secrets::open(dir.path()).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let secrets = secrets.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let name = format!("s{t}_{i}");
                        secrets.set("shop", &name, &format!("{t}-{i}")).unwrap();
                        assert_eq!(secrets.get("shop", &name), Some(format!("{t}-{i}")));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(secrets.list("shop").unwrap().len(), 40);
        drop(secrets);
        let secrets = Secrets::open(dir.path()).unwrap();
        assert_eq!(secrets.list("shop").unwrap().len(), 40);
        assert_eq!(secrets.get("shop", "s3_9").as_deref(), Some("3-9"));
    }

    #[test]
    fn debug_shows_no_values() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::open(dir.path()).unwrap();
        secrets.set("shop", "token", "hunter2").unwrap();
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
