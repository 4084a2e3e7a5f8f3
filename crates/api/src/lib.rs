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
    /// The node's memory and its services' lifecycle.
    pub lifecycle: NodeLifecycle,
}

/// The lifecycle part of [`Health`]: memory, and what the node loaded,
/// evicted and promoted since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeLifecycle {
    /// The node process's resident memory (`VmRSS`), bytes.
    pub rss_bytes: u64,
    /// Bytes of code held loaded (compiled components, JavaScript bundles
    /// and snapshots).
    pub code_bytes: u64,
    /// The most `code_bytes` held at once since the node started.
    pub code_bytes_peak: u64,
    /// The budget for `code_bytes`.
    pub budget_bytes: u64,
    /// Services whose code is in memory (promoted ones included).
    pub loaded: u64,
    /// Services on their own JavaScript snapshot.
    pub promoted: u64,
    /// Loads at a first request (after start-up or an eviction).
    pub loads: u64,
    /// Unloaded for being idle.
    pub idle_evictions: u64,
    /// Unloaded or demoted to stay within the budget.
    pub budget_evictions: u64,
    /// Promotions to a per-service snapshot.
    pub promotions: u64,
    /// Demotions back to the shared JavaScript engine.
    pub demotions: u64,
    /// Promotions that failed (the service stayed on the shared engine).
    pub promotion_failures: u64,
    /// Bytes that unused sandbox instance slots keep resident now (up to
    /// 1 MiB each, for the next instance).
    pub idle_slot_bytes: u64,
    /// Bytes that unused instance slots gave back to the system since the
    /// node started (`--release-idle-memory-after`).
    pub idle_slot_bytes_released: u64,
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
    /// Services whose code is in memory (promoted ones included).
    pub loaded: u32,
    /// Services on their own JavaScript snapshot.
    pub promoted: u32,
    /// Bytes of code held for its services.
    pub memory_bytes: u64,
    /// Requests its services served since the node started.
    pub requests: u64,
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
    /// Where its code is: `"unloaded"`, `"loaded"` or `"promoted"`.
    pub state: String,
    /// Requests running now (each in its own instance).
    pub instances: u32,
    /// Bytes of code held for it (0 when unloaded).
    pub memory_bytes: u64,
    /// When it last started or finished a request (ms since the Unix
    /// epoch); `null` if it has not served one since the node started.
    pub last_used_unix_ms: Option<u64>,
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
    /// Requests that may wait for a concurrency slot.
    pub queue: u32,
    /// Outgoing requests per request.
    pub subrequests: u32,
    /// Bytes of stdout and of stderr each kept per request.
    pub log_bytes: u64,
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

/// The largest secret value the node accepts, in bytes of UTF-8.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// An entry of `GET /v1/apps/{app}/secrets`, and the answer to
/// `PUT /v1/apps/{app}/secrets/{name}`. Never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretInfo {
    /// The secret's name.
    pub name: String,
    /// When it was last set (seconds since the Unix epoch).
    pub updated: u64,
}

/// Why a secret's value is refused (see [`check_secret_value`]). The
/// message never quotes the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretValueError {
    /// No bytes at all.
    Empty,
    /// More than [`MAX_SECRET_BYTES`].
    TooLarge,
    /// Not UTF-8; the offset of the first invalid byte.
    NotUtf8(usize),
}

impl std::fmt::Display for SecretValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretValueError::Empty => write!(f, "the secret's value is empty"),
            SecretValueError::TooLarge => write!(
                f,
                "the secret's value is larger than {} KiB ({MAX_SECRET_BYTES} bytes)",
                MAX_SECRET_BYTES / 1024
            ),
            SecretValueError::NotUtf8(offset) => write!(
                f,
                "the secret's value is not UTF-8 text (invalid byte at offset {offset})"
            ),
        }
    }
}

impl std::error::Error for SecretValueError {}

/// Checks a secret's value as `PUT /v1/apps/{app}/secrets/{name}` takes it:
/// UTF-8 text, not empty, at most [`MAX_SECRET_BYTES`].
pub fn check_secret_value(value: &[u8]) -> Result<&str, SecretValueError> {
    if value.is_empty() {
        return Err(SecretValueError::Empty);
    }
    if value.len() > MAX_SECRET_BYTES {
        return Err(SecretValueError::TooLarge);
    }
    std::str::from_utf8(value).map_err(|e| SecretValueError::NotUtf8(e.valid_up_to()))
}

/// Every error answer: one line saying what went wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values() {
        assert_eq!(check_secret_value(b"x"), Ok("x"));
        assert_eq!(check_secret_value("é\n".as_bytes()), Ok("é\n"));
        let largest = "a".repeat(MAX_SECRET_BYTES);
        assert!(check_secret_value(largest.as_bytes()).is_ok());
        let message = |value: &[u8]| check_secret_value(value).unwrap_err().to_string();
        assert_eq!(
            message(format!("{largest}a").as_bytes()),
            "the secret's value is larger than 64 KiB (65536 bytes)"
        );
        assert_eq!(message(b""), "the secret's value is empty");
        assert_eq!(
            message(b"ab\xff"),
            "the secret's value is not UTF-8 text (invalid byte at offset 2)"
        );
    }
}
