use std::net::IpAddr;
use std::time::Duration;

use mote_manifest::{format_duration, format_size};

/// Why an outbound request failed, or its response body broke off.
///
/// Origins in errors are written like `https://api.example.com` or
/// `http://127.0.0.1:9000` (the port only when it is not the default).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The request's origin matches no entry of the service's `outbound` list.
    #[error("{service} may not reach {origin}: the origin is not in its `outbound` list")]
    Denied { service: String, origin: String },
    /// Every address the host resolved to is private, loopback, link-local
    /// or otherwise special, and the allowing entry does not name it;
    /// `address` is the first of them.
    #[error(
        "{service} may not reach {origin}: it resolves to {address}, {}; list the address itself \
         in `outbound` to allow it",
        crate::address::refused(*.address).unwrap_or("a refused address")
    )]
    PrivateAddress {
        service: String,
        origin: String,
        address: IpAddr,
    },
    /// The request cannot be sent: its URI is not absolute, its scheme is
    /// not http or https, ...
    #[error("invalid outbound request: {0}")]
    InvalidRequest(String),
    /// The host name could not be resolved.
    #[error("could not resolve {host}: {message}")]
    Dns { host: String, message: String },
    /// No connection could be made to any allowed address.
    #[error("could not connect to {origin}: {message}")]
    Connect { origin: String, message: String },
    /// The TLS handshake failed (for example, an untrusted certificate).
    #[error("TLS with {origin} failed: {message}")]
    Tls { origin: String, message: String },
    /// Resolving, connecting, the TLS handshake and the response head took
    /// longer than the policy's timeout, or no part of the response body
    /// arrived for that long.
    #[error("{origin} did not answer within {}", format_duration(*.after))]
    Timeout { origin: String, after: Duration },
    /// The response body is larger than the policy's limit.
    #[error(
        "the response from {origin} is larger than the limit of {}",
        format_size(*.limit)
    )]
    ResponseTooLarge { origin: String, limit: u64 },
    /// An HTTP protocol error: the connection closed early, a malformed
    /// response, ...
    #[error("HTTP error: {0}")]
    Http(String),
}
