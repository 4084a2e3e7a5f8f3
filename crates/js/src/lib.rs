//! Mote's JavaScript tier.
//!
//! JavaScript runs inside the same sandbox as every WebAssembly service: the
//! engine is QuickJS compiled to a `wasi:http` component (`engines/js`,
//! embedded here by the build script). What makes it cheap per request:
//!
//! 1. **Once per node** ([`JsEngine::snapshot`]): the engine is instantiated,
//!    QuickJS and the platform's built-in APIs are initialised, and the
//!    memory is snapshotted (`wasmtime-wizer`). The node compiles that
//!    snapshot once and caches the machine code on disk, keyed by
//!    [`engine_id`] and the sandbox's compatibility key.
//! 2. **Once per deployment** ([`JsEngine::compile`]): the service's module
//!    graph is resolved among the app's files ([`Sources`]) and compiled to
//!    QuickJS bytecode by the engine itself (its `compile` export), so syntax
//!    errors and unresolvable imports fail the deploy with `file:line:column`.
//! 3. **Per request**: a fresh instance of the snapshot ([`JsEngine::prepared`]),
//!    the bundle on its stdin (`Invocation::stdin`), the request to its
//!    `wasi:http` handler: the same path, limits and pool as a component.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use mote_sandbox::{InstanceLimits, Invocation, LoadError, Prepared, Sandbox, SandboxError};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;

/// The engine component, as built from `engines/js`.
pub const ENGINE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mote_js_engine.wasm"));

/// Identifies this build of the engine: snapshots and bytecode made by one
/// engine build are only used with the same build.
pub fn engine_id() -> &'static str {
    static ID: LazyLock<String> = LazyLock::new(|| hex::encode(&Sha256::digest(ENGINE_WASM)[..8]));
    &ID
}

/// Limits for the engine's own deploy-time work (snapshot, compile): generous,
/// but a pathological source still cannot hold the node.
const DEPLOY_LIMITS: InstanceLimits = InstanceLimits {
    memory: 512 << 20,
    cpu: Duration::from_secs(20),
    timeout: Duration::from_secs(60),
};

/// Why a JavaScript service could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The sources are wrong: a syntax error, an unresolvable import, an
    /// unsupported module. The message starts with `file:line:column:`.
    #[error("{0}")]
    Script(String),
    /// The compiler itself was stopped (a limit) or crashed.
    #[error("the JavaScript compiler failed: {0}")]
    Compiler(#[from] SandboxError),
}

/// A JavaScript service's sources: its entry file and every script file of
/// its app (paths relative to the app's folder, `/`-separated). Stored with
/// the deployment in a deterministic archive ([`Sources::encode`]), so the
/// same sources always have the same hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The entry file (the service's `source`).
    pub entry: String,
    /// Path -> contents.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Where the entry's name is kept in the archive: a hidden path no app file
/// can take (hidden files are not bundled).
const ENTRY_MARKER: &str = ".mote/entry";

impl Sources {
    /// A deterministic tar archive: sorted, fixed modes and times.
    pub fn encode(&self) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |path: &str, data: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            tar.append_data(&mut header, path, data)
                .expect("writing to memory");
        };
        add(ENTRY_MARKER, self.entry.as_bytes());
        for (path, data) in &self.files {
            add(path, data);
        }
        tar.into_inner().expect("writing to memory")
    }

    /// Read an archive made by [`Sources::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Sources, String> {
        let bad = |e: std::io::Error| format!("stored JavaScript sources are unreadable: {e}");
        let mut archive = tar::Archive::new(bytes);
        let mut entry = None;
        let mut files = BTreeMap::new();
        for item in archive.entries().map_err(bad)? {
            let mut item = item.map_err(bad)?;
            let path = item.path().map_err(bad)?.to_string_lossy().into_owned();
            let mut data = Vec::new();
            item.read_to_end(&mut data).map_err(bad)?;
            if path == ENTRY_MARKER {
                entry = Some(String::from_utf8_lossy(&data).into_owned());
            } else {
                files.insert(path, data);
            }
        }
        let entry = entry.ok_or("stored JavaScript sources have no entry")?;
        Ok(Sources { entry, files })
    }
}

/// The snapshotted engine, compiled and linked, shared by every JavaScript
/// service of the node.
#[derive(Clone)]
pub struct JsEngine {
    sandbox: Sandbox,
    component: Component,
    prepared: Prepared,
}

impl JsEngine {
    /// Snapshot the embedded engine after its initialisation. Slow (a second
    /// or so, most of it compiling): do it once per node and cache the
    /// result compiled ([`Sandbox::precompile`]).
    pub async fn snapshot(sandbox: &Sandbox) -> Result<Vec<u8>, LoadError> {
        sandbox
            .snapshot(
                ENGINE_WASM,
                "wizer-initialize",
                Invocation::new(DEPLOY_LIMITS),
            )
            .await
    }

    /// Snapshot the embedded engine with one service's `bundle` already
    /// loaded (its module evaluated with `env` as its environment): the
    /// per-service snapshot a hot service is promoted to. Slow (a second or
    /// two, about as much again to compile): run it in the background.
    pub async fn snapshot_service(
        sandbox: &Sandbox,
        bundle: Bytes,
        env: Vec<(String, String)>,
    ) -> Result<Vec<u8>, LoadError> {
        let mut invocation = Invocation::new(DEPLOY_LIMITS);
        invocation.stdin = Some(bundle);
        invocation.env = env;
        sandbox
            .snapshot(ENGINE_WASM, "wizer-preload", invocation)
            .await
    }

    /// The engine from a compiled snapshot.
    pub fn new(sandbox: &Sandbox, snapshot: Component) -> Result<JsEngine, LoadError> {
        Ok(JsEngine {
            sandbox: sandbox.clone(),
            prepared: sandbox.prepare(&snapshot)?,
            component: snapshot,
        })
    }

    /// What every request of every JavaScript service instantiates.
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// Compile a service to the bundle its requests load.
    pub async fn compile(&self, sources: &Sources) -> Result<Bytes, CompileError> {
        let files: Vec<(String, Vec<u8>)> = sources
            .files
            .iter()
            .map(|(path, data)| (path.clone(), data.clone()))
            .collect();
        let (result,): (Result<Vec<u8>, String>,) = self
            .sandbox
            .call_export(
                &self.component,
                "compile",
                (sources.entry.as_str(), files.as_slice()),
                Invocation::new(DEPLOY_LIMITS),
            )
            .await?;
        result.map(Bytes::from).map_err(CompileError::Script)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_and_encode_deterministically() {
        let sources = Sources {
            entry: "src/index.js".into(),
            files: BTreeMap::from([
                ("src/index.js".to_string(), b"export default {}".to_vec()),
                (
                    "node_modules/x/package.json".to_string(),
                    br#"{"main":"i.js"}"#.to_vec(),
                ),
            ]),
        };
        let encoded = sources.encode();
        assert_eq!(
            encoded,
            sources.clone().encode(),
            "same sources, same bytes"
        );
        assert_eq!(Sources::decode(&encoded).unwrap(), sources);
        let other = Sources {
            entry: "src/other.js".into(),
            ..sources.clone()
        };
        assert_ne!(other.encode(), encoded, "the entry is part of the identity");
        assert!(Sources::decode(b"not a tar").is_err());
    }
}
