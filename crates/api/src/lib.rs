//! Wire types of Mote's admin API, exactly as `docs/openapi.json` describes
//! them. The node serialises them; the client deserialises them. No I/O.

use serde::{Deserialize, Serialize};

/// The file in the node's data directory holding the admin bearer token (mode 0600).
pub const TOKEN_FILE: &str = "admin-token";

/// `GET /v1/health`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// Always `"ok"`.
    pub status: String,
    /// The node's version.
    pub version: String,
    /// Deployed apps.
    pub apps: u64,
    /// Live services, all apps together.
    pub services: u64,
    /// `"pooling"` or `"on-demand"`.
    pub allocator: String,
}

/// An entry of `GET /v1/apps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSummary {
    /// App name.
    pub name: String,
    /// Live version.
    pub version: u64,
    /// Service names.
    pub services: Vec<String>,
    /// When the live version was deployed (ms since the Unix epoch).
    pub deployed_unix_ms: u64,
}

/// `GET /v1/apps/{app}`, and the answer to a deploy or a rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDetail {
    /// App name.
    pub name: String,
    /// Live version.
    pub version: u64,
    /// When the live version was deployed (ms since the Unix epoch).
    pub deployed_unix_ms: u64,
    /// Its services.
    pub services: Vec<ServiceDetail>,
}

/// One service of an [`AppDetail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceDetail {
    /// Service name.
    pub name: String,
    /// Source path as the manifest names it.
    pub source: String,
    /// SHA-256 of the source, hex.
    pub sha256: String,
    /// Route patterns.
    pub routes: Vec<String>,
    /// Names of its environment variables (values are not shown).
    #[serde(default)]
    pub env: Vec<String>,
    /// Its limits.
    pub limits: Limits,
    /// Requests served by this version since the node started.
    pub requests: u64,
}

/// A service's limits, in plain units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory, bytes.
    pub memory_bytes: u64,
    /// CPU time per request, ms.
    pub cpu_ms: u64,
    /// Wall-clock time per request, ms.
    pub timeout_ms: u64,
    /// Largest request body, bytes.
    pub request_body_bytes: u64,
    /// Largest response body, bytes.
    pub response_body_bytes: u64,
    /// Concurrent requests.
    pub concurrency: u32,
}

/// An entry of `GET /v1/apps/{app}/versions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// Version number.
    pub version: u64,
    /// When it was deployed (ms since the Unix epoch).
    pub deployed_unix_ms: u64,
    /// Whether it is the live version.
    pub current: bool,
}

/// Every error answer: one line saying what went wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
}
