//! An app as it arrives to be deployed: its manifest and source files, in
//! memory. Built from a folder (`mote serve --app DIR`) or from the tar
//! archive the admin API receives (`mote deploy DIR`); both then take the
//! same deploy path.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};

use mote_manifest::{App, MANIFEST_FILE, ManifestError, Runtime};

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The manifest is invalid (the message names file, line and field).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The archive or folder could not be read.
    #[error("{0}")]
    Invalid(String),
}

/// The largest JavaScript (or JSON) file a JavaScript service's app may
/// hold: compiling is linear in the source's size, and its bytecode must fit
/// in the service's memory at every request.
pub const MAX_SCRIPT_FILE: usize = 16 << 20;

/// A manifest and the files it names.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// How to name the manifest in error messages (e.g. `examples/hello/mote.toml`).
    pub manifest_name: String,
    /// Path inside the app (normalised, `/`-separated) -> bytes. Holds `mote.toml`.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// `a/./b.wasm` -> `a/b.wasm`; `None` for absolute paths or paths with `..`.
pub fn normalise(path: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl Bundle {
    /// Read `DIR/mote.toml` (validated, sources checked with line numbers)
    /// and every source it names.
    pub fn from_dir(dir: &Path) -> Result<Bundle, BundleError> {
        let (app, manifest_path) = mote_manifest::load_dir(dir)?;
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| BundleError::Invalid(format!("{}: {e}", p.display())))
        };
        let mut files = BTreeMap::new();
        files.insert(MANIFEST_FILE.to_string(), read(&manifest_path)?);
        for svc in app.services.values() {
            let name = normalise(&svc.source).ok_or_else(|| {
                BundleError::Invalid(format!(
                    "{}: services.{}.source: \"{}\" must be a relative path inside the app folder",
                    manifest_path.display(),
                    svc.name,
                    svc.source.display()
                ))
            })?;
            files.insert(name, read(&dir.join(&svc.source))?);
        }
        if app.uses_javascript() {
            let base = manifest_path.parent().unwrap_or(dir);
            let scripts = mote_manifest::javascript_files(base)
                .map_err(|e| BundleError::Invalid(format!("{}: {e}", base.display())))?;
            for path in scripts {
                let bytes = read(&base.join(&path))?;
                files.insert(path, bytes);
            }
        }
        Ok(Bundle {
            manifest_name: manifest_path.display().to_string(),
            files,
        })
    }

    /// Unpack a tar archive (in memory; nothing touches the disk).
    pub fn from_tar(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let bad = |e: std::io::Error| BundleError::Invalid(format!("invalid tar archive: {e}"));
        let mut archive = tar::Archive::new(bytes);
        let mut files = BTreeMap::new();
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(bad)?.into_owned();
            let name = normalise(&path).ok_or_else(|| {
                BundleError::Invalid(format!(
                    "archive entry \"{}\" escapes the app folder",
                    path.display()
                ))
            })?;
            let mut data = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut data).map_err(bad)?;
            files.insert(name, data);
        }
        if !files.contains_key(MANIFEST_FILE) {
            return Err(BundleError::Invalid(format!(
                "the archive has no {MANIFEST_FILE} at its root"
            )));
        }
        Ok(Bundle {
            manifest_name: MANIFEST_FILE.to_string(),
            files,
        })
    }

    /// Parse and validate the manifest and check that every source is present.
    /// Returns the app and each service's source bytes: a component's
    /// `.wasm`, or a JavaScript service's [`mote_js::Sources`], encoded.
    pub fn parse(&self) -> Result<(App, BTreeMap<String, Vec<u8>>), BundleError> {
        let text = std::str::from_utf8(&self.files[MANIFEST_FILE]).map_err(|_| {
            BundleError::Invalid(format!("{}: not valid UTF-8", self.manifest_name))
        })?;
        let app = mote_manifest::parse(&self.manifest_name, text)?;
        if app.uses_javascript() {
            self.check_script_sizes()?;
        }
        let mut sources = BTreeMap::new();
        for svc in app.services.values() {
            let bytes = normalise(&svc.source)
                .and_then(|n| self.files.get(&n))
                .ok_or_else(|| {
                    BundleError::Invalid(format!(
                        "{}: services.{}.source: \"{}\" is not in the upload",
                        self.manifest_name,
                        svc.name,
                        svc.source.display()
                    ))
                })?;
            let source = match svc.runtime() {
                Runtime::Wasm => bytes.clone(),
                // The entry and every script of the app: the deploy resolves
                // which of them the service imports.
                Runtime::JavaScript => mote_js::Sources {
                    entry: normalise(&svc.source).expect("found above"),
                    files: self
                        .files
                        .iter()
                        .filter(|(path, _)| mote_manifest::is_javascript_file(path))
                        .map(|(path, data)| (path.clone(), data.clone()))
                        .collect(),
                }
                .encode(),
            };
            sources.insert(svc.name.clone(), source);
        }
        Ok((app, sources))
    }

    fn check_script_sizes(&self) -> Result<(), BundleError> {
        match self.files.iter().find(|(path, data)| {
            mote_manifest::is_javascript_file(path) && data.len() > MAX_SCRIPT_FILE
        }) {
            Some((path, data)) => Err(BundleError::Invalid(format!(
                "{path}: {:.1} MiB; a JavaScript or JSON file of an app may be at most {} MiB",
                data.len() as f64 / (1 << 20) as f64,
                MAX_SCRIPT_FILE >> 20
            ))),
            None => Ok(()),
        }
    }
}
