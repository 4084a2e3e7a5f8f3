//! The one place where a failed request becomes an HTTP response.
//!
//! | cause | status |
//! |---|---|
//! | no route matches | 404 |
//! | request body over the service's limit | 413 |
//! | service at its concurrency limit and its queue full (or the wait too long), node at its instance capacity, or no sandbox capacity | 503 + `Retry-After` |
//! | the service's code could not be loaded | 500 |
//! | CPU-time limit | 503 |
//! | wall-clock limit | 504 |
//! | memory limit, trap, no response, the guest's internal error (a JavaScript exception) | 500 |
//! | response body over the limit (announced by `Content-Length`) | 500 |
//! | the guest answered with a `wasi:http` error code | 502 |
//!
//! The body is one line of plain text naming the cause (and the limit);
//! it never carries host internals. The `x-mote-error` header names the
//! cause for programs.

use http::{HeaderValue, StatusCode, header};
use mote_sandbox::{Body, SandboxError};

/// What a refusal's `Retry-After` says.
pub(crate) const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// In the extensions of a response that refused a request for lack of room
/// (and said when to retry), so that the data plane can pace a client that
/// does not wait ([`crate::dataplane`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal;

/// Why the data plane answered instead of a guest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No route matches the host and path.
    #[error("no service is routed at {0}")]
    NoRoute(String),
    /// The request body is over the service's limit.
    #[error("request body exceeds the limit of {0} bytes")]
    BodyTooLarge(u64),
    /// The service is at its concurrency limit.
    #[error("service is at its concurrency limit of {0}; retry shortly")]
    Overloaded(u32),
    /// The app uses all the instances one app may hold.
    #[error("the app is using its share of the node's capacity ({0} instances); retry shortly")]
    AppAtCapacity(u32),
    /// Every instance the node can hold is in use.
    #[error("the node is at its capacity of {0} instances; retry shortly")]
    NodeAtCapacity(u32),
    /// The service's stored code could not be loaded (a lazy load failed).
    #[error("the service could not be loaded: {0}")]
    Unloadable(String),
    /// The response body is over the service's limit.
    #[error("response body exceeds the limit of {0} bytes")]
    ResponseTooLarge(u64),
    /// The sandbox stopped or failed the guest.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

impl RequestError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::NoRoute(_) => StatusCode::NOT_FOUND,
            RequestError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::Overloaded(_)
            | RequestError::AppAtCapacity(_)
            | RequestError::NodeAtCapacity(_) => StatusCode::SERVICE_UNAVAILABLE,
            RequestError::Unloadable(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RequestError::ResponseTooLarge(_) => StatusCode::INTERNAL_SERVER_ERROR,
            RequestError::Sandbox(e) => match e {
                SandboxError::CpuLimit(_) | SandboxError::Capacity(_) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                SandboxError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                SandboxError::Guest(_) => StatusCode::BAD_GATEWAY,
                SandboxError::MemoryLimit(_)
                | SandboxError::Trap(_)
                | SandboxError::NoResponse
                | SandboxError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// A short machine-readable name of the cause (the `x-mote-error` header).
    pub fn kind(&self) -> &'static str {
        match self {
            RequestError::NoRoute(_) => "no-route",
            RequestError::BodyTooLarge(_) => "request-too-large",
            RequestError::Overloaded(_) => "overloaded",
            RequestError::AppAtCapacity(_) | RequestError::NodeAtCapacity(_) => "capacity",
            RequestError::Unloadable(_) => "unloadable",
            RequestError::ResponseTooLarge(_) => "response-too-large",
            RequestError::Sandbox(e) => match e {
                SandboxError::CpuLimit(_) => "cpu-limit",
                SandboxError::Timeout(_) => "wall-clock-limit",
                SandboxError::MemoryLimit(_) => "memory-limit",
                SandboxError::Trap(_) => "trap",
                SandboxError::NoResponse => "no-response",
                SandboxError::Guest(_) => "guest-error",
                SandboxError::Internal(_) => "service-error",
                SandboxError::Capacity(_) => "capacity",
            },
        }
    }

    /// The HTTP response.
    pub fn to_response(&self) -> http::Response<Body> {
        let mut resp = http::Response::new(mote_sandbox::full_body(format!("{self}\n")));
        *resp.status_mut() = self.status();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        h.insert("x-mote-error", HeaderValue::from_static(self.kind()));
        if self.status() == StatusCode::SERVICE_UNAVAILABLE
            && !matches!(self, RequestError::Sandbox(SandboxError::CpuLimit(_)))
        {
            h.insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER.as_secs()),
            );
            resp.extensions_mut().insert(Refusal);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn statuses_and_bodies() {
        let cases = [
            (RequestError::NoRoute("/x".into()), 404, "no-route"),
            (RequestError::BodyTooLarge(10), 413, "request-too-large"),
            (RequestError::Overloaded(4), 503, "overloaded"),
            (RequestError::NodeAtCapacity(900), 503, "capacity"),
            (RequestError::AppAtCapacity(800), 503, "capacity"),
            (RequestError::Unloadable("gone".into()), 500, "unloadable"),
            (
                SandboxError::CpuLimit(Duration::from_millis(50)).into(),
                503,
                "cpu-limit",
            ),
            (
                SandboxError::Timeout(Duration::from_secs(1)).into(),
                504,
                "wall-clock-limit",
            ),
            (
                SandboxError::MemoryLimit(64 << 20).into(),
                500,
                "memory-limit",
            ),
            (
                SandboxError::Trap("wasm trap: unreachable".into()).into(),
                500,
                "trap",
            ),
            (
                SandboxError::Internal("uncaught exception".into()).into(),
                500,
                "service-error",
            ),
        ];
        for (err, status, kind) in cases {
            let resp = err.to_response();
            assert_eq!(resp.status().as_u16(), status, "{err}");
            assert_eq!(resp.headers()["x-mote-error"], kind);
            assert_eq!(
                resp.headers().contains_key("retry-after"),
                kind == "overloaded" || kind == "capacity"
            );
        }
        assert_eq!(
            RequestError::from(SandboxError::CpuLimit(Duration::from_millis(50))).to_string(),
            "CPU time limit of 50ms exceeded"
        );
    }
}
