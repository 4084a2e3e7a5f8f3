//! A client for the admin API of a Mote node (`docs/openapi.json`): deploy,
//! inspect, roll back, delete and invoke apps, and manage their secrets, from
//! your own programs. The `mote` command is built on it.
//!
//! Every method is `async` and needs a Tokio runtime. Errors are
//! [`ClientError`]s whose `Display` is one line meant for people:
//! `cannot reach the Mote admin API at http://127.0.0.1:8081: connection refused (is `mote serve` running?)`,
//! `mote.toml:4: services.hello.routes[0]: ...`, or the node's own message.
//!
//! # Example
//!
//! ```no_run
//! use std::path::Path;
//!
//! use mote_client::{Client, ClientError, Method};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), ClientError> {
//!     // The token is in `<data-dir>/admin-token` on the node's machine.
//!     let token = std::fs::read_to_string("/var/lib/mote/admin-token")
//!         .ok()
//!         .map(|t| t.trim().to_owned());
//!     let client = Client::new("http://127.0.0.1:8081", token)?;
//!
//!     let health = client.health().await?;
//!     println!("node {} serves {} apps", health.version, health.apps);
//!
//!     // Bundle the folder holding mote.toml (checked locally first) and
//!     // upload it, reporting progress.
//!     let app = client
//!         .deploy_dir(Path::new("examples/hello"), |sent, total| {
//!             eprintln!("uploaded {sent} of {total} bytes");
//!         })
//!         .await?;
//!     println!("deployed {} version {}", app.name, app.version);
//!
//!     // Send a request to the app through the admin API.
//!     let response = client
//!         .invoke(&app.name, Method::GET, "/hello?name=you", Vec::new(), Vec::new())
//!         .await?;
//!     println!("{}: {}", response.status, String::from_utf8_lossy(&response.body));
//!
//!     for summary in client.list().await? {
//!         println!("{} v{} {:?}", summary.name, summary.version, summary.services);
//!     }
//!     for version in client.versions("hello").await? {
//!         println!("v{} current={}", version.version, version.current);
//!     }
//!     match client.rollback("hello").await {
//!         Ok(app) => println!("now at version {}", app.version),
//!         // 409: there is no earlier version.
//!         Err(ClientError::Api { status: 409, message }) => println!("{message}"),
//!         Err(other) => return Err(other),
//!     }
//!
//!     // Secrets are set on the node (never in mote.toml), per app name; a
//!     // service gets one when its manifest grants it. Values never come back.
//!     client.set_secret("hello", "slack_token", "xoxb-...").await?;
//!     for secret in client.list_secrets("hello").await? {
//!         println!("{} set at {}", secret.name, secret.updated);
//!     }
//!     client.remove_secret("hello", "slack_token").await?;
//!
//!     client.delete("hello").await?;
//!     Ok(())
//! }
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue,
};
use reqwest::{RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;

pub use http::Method;
pub use mote_api::{
    AppDetail, AppSummary, ErrorBody, Health, Limits, MAX_SECRET_BYTES, SecretInfo,
    SecretValueError, ServiceDetail, TOKEN_FILE, Version, check_secret_value,
};
pub use mote_manifest::ManifestError;

/// Where the admin API listens unless told otherwise.
pub const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:8081";

/// Size of the pieces a deploy's archive is uploaded in (and the granularity
/// of its progress reports).
pub const UPLOAD_CHUNK: usize = 64 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const UNAUTHORIZED: &str = "unauthorized: missing or wrong admin token (see --token / MOTE_TOKEN or <data-dir>/admin-token)";

/// What went wrong. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached (nothing listening, DNS, timeout...).
    #[error("cannot reach the Mote admin API at {url}: {} (is `mote serve` running?)", connect_reason(.source))]
    Connect {
        /// The admin API's base URL.
        url: String,
        source: reqwest::Error,
    },
    /// The connection broke during a request, after it was made.
    #[error("request to the Mote admin API at {url} failed: {}", error_chain(.source))]
    Transport {
        /// The admin API's base URL.
        url: String,
        source: reqwest::Error,
    },
    /// The node answered with an error (its `{"error": ...}` message).
    #[error("{message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The node's message (for 401, a hint about the token).
        message: String,
    },
    /// The app's manifest is invalid (found before anything is uploaded).
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The app's folder could not be packed (a file could not be read...).
    #[error("{0}")]
    Bundle(String),
    /// The node's answer was not what the API describes.
    #[error("unexpected answer from the Mote admin API: {0}")]
    Decode(String),
    /// An argument is invalid (URL, app name, header, token).
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// The HTTP status of an [`ClientError::Api`] error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Why a connection failed, in a few words: the innermost cause.
fn connect_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut last = error.to_string();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".to_owned(),
                std::io::ErrorKind::TimedOut => return "timed out".to_owned(),
                _ => {}
            }
        }
        last = e.to_string();
        source = e.source();
    }
    one_line(&last)
}

/// An error and its causes, `a: b: c`, without repeats.
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        let text = one_line(&e.to_string());
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The answer of [`Client::invoke`]: the service's response, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers, in the order received (values that are not UTF-8 are
    /// converted lossily).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl InvokeResponse {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A connection to one node's admin API. Cheap to clone (clones share
/// their connection pool).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// Base URL without a trailing slash, like `http://127.0.0.1:8081`.
    base: String,
    auth: Option<HeaderValue>,
}

impl Client {
    /// A client of the admin API at `base_url`: a URL like
    /// `http://127.0.0.1:8081` (possibly with a path prefix, behind a proxy)
    /// or a bare `HOST:PORT`, taken as `http://HOST:PORT`. `token` is the
    /// admin bearer token; only `health` works without it.
    ///
    /// Does not connect: errors only for an invalid URL or token.
    pub fn new(base_url: &str, token: Option<String>) -> Result<Client, ClientError> {
        let base = normalize_base_url(base_url)?;
        let auth = match token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                    .map_err(|_| {
                        ClientError::Invalid(
                            "invalid admin token: it must be printable ASCII".to_owned(),
                        )
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("mote-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            // The admin API is usually on loopback: an HTTP_PROXY meant for
            // the outside world must not capture it.
            .no_proxy()
            .build()
            .map_err(|e| {
                ClientError::Invalid(format!(
                    "cannot set up the HTTP client: {}",
                    error_chain(&e)
                ))
            })?;
        Ok(Client { http, base, auth })
    }

    /// The admin API's base URL, normalised (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /v1/health`: whether the node is up, and a short summary.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.get_json("/v1/health").await
    }

    /// `GET /v1/apps`: every deployed app with its live version, by name.
    pub async fn list(&self) -> Result<Vec<AppSummary>, ClientError> {
        self.get_json("/v1/apps").await
    }

    /// `GET /v1/apps/{app}`: the live version, its services, routes and limits.
    pub async fn show(&self, app: &str) -> Result<AppDetail, ClientError> {
        check_app_name(app)?;
        self.get_json(&format!("/v1/apps/{app}")).await
    }

    /// `GET /v1/apps/{app}/versions`: every kept version, oldest first.
    pub async fn versions(&self, app: &str) -> Result<Vec<Version>, ClientError> {
        check_app_name(app)?;
        self.get_json(&format!("/v1/apps/{app}/versions")).await
    }

    /// `POST /v1/apps/{app}/rollback`: make the version before the live one
    /// live again. Fails with status 409 when there is none.
    pub async fn rollback(&self, app: &str) -> Result<AppDetail, ClientError> {
        check_app_name(app)?;
        let path = format!("/v1/apps/{app}/rollback");
        let response = self.send(self.request(Method::POST, &path)).await?;
        self.json(response, &format!("POST {path}")).await
    }

    /// `DELETE /v1/apps/{app}`: stop serving the app and delete all its versions.
    pub async fn delete(&self, app: &str) -> Result<(), ClientError> {
        check_app_name(app)?;
        self.delete_path(&format!("/v1/apps/{app}")).await
    }

    /// `PUT /v1/apps/{app}/secrets/{name}`: set (create or replace) secret
    /// `name` of `app`. The app need not be deployed yet; its secrets are
    /// kept when it is redeployed or deleted. Answers once the node has
    /// stored the value durably.
    ///
    /// The names and the value are checked here first (the value: UTF-8,
    /// not empty, at most [`MAX_SECRET_BYTES`]); the value is never part of
    /// an error.
    pub async fn set_secret(
        &self,
        app: &str,
        name: &str,
        value: &str,
    ) -> Result<SecretInfo, ClientError> {
        check_app_name(app)?;
        check_secret_name(name)?;
        check_secret_value(value.as_bytes()).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let path = format!("/v1/apps/{app}/secrets/{name}");
        let request = self
            .request(Method::PUT, &path)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(value.to_owned());
        let response = self.send(request).await?;
        self.json(response, &format!("PUT {path}")).await
    }

    /// `GET /v1/apps/{app}/secrets`: the names of `app`'s secrets and when
    /// each was last set, by name (never their values). Empty when it has
    /// none, deployed or not.
    pub async fn list_secrets(&self, app: &str) -> Result<Vec<SecretInfo>, ClientError> {
        check_app_name(app)?;
        self.get_json(&format!("/v1/apps/{app}/secrets")).await
    }

    /// `DELETE /v1/apps/{app}/secrets/{name}`: remove a secret. Fails with
    /// status 404 when `app` has no secret of that name.
    pub async fn remove_secret(&self, app: &str, name: &str) -> Result<(), ClientError> {
        check_app_name(app)?;
        check_secret_name(name)?;
        self.delete_path(&format!("/v1/apps/{app}/secrets/{name}"))
            .await
    }

    /// Bundles the app in `dir` (see [`bundle_dir`]: the manifest is checked
    /// locally first) and deploys it (see [`Client::deploy_bundle`]).
    pub async fn deploy_dir(
        &self,
        dir: &Path,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
    ) -> Result<AppDetail, ClientError> {
        let dir = dir.to_owned();
        let (app, tar) = tokio::task::spawn_blocking(move || bundle_dir(&dir))
            .await
            .map_err(|e| ClientError::Bundle(format!("cannot bundle the app: {e}")))??;
        self.deploy_bundle(&app, tar, progress).await
    }

    /// `PUT /v1/apps/{app}`: deploys a tar archive holding `mote.toml` and
    /// the services' sources (as [`bundle_dir`] makes it). The manifest's
    /// name must be `app`.
    ///
    /// The archive goes out in [`UPLOAD_CHUNK`] pieces; `progress(sent,
    /// total)` is called with the bytes handed to the connection so far,
    /// first with `sent = 0`, last with `sent = total`. Once it is all sent
    /// the node validates and compiles the app before it answers.
    pub async fn deploy_bundle(
        &self,
        app: &str,
        tar: Vec<u8>,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
    ) -> Result<AppDetail, ClientError> {
        check_app_name(app)?;
        let total = tar.len() as u64;
        let data = Bytes::from(tar);
        progress(0, total);
        let len = data.len();
        let chunks = (0..len)
            .step_by(UPLOAD_CHUNK)
            .map(move |start| data.slice(start..(start + UPLOAD_CHUNK).min(len)));
        let mut sent = 0u64;
        let stream = futures::stream::iter(chunks).map(move |chunk| {
            sent += chunk.len() as u64;
            progress(sent, total);
            Ok::<Bytes, std::io::Error>(chunk)
        });
        let path = format!("/v1/apps/{app}");
        let request = self
            .request(Method::PUT, &path)
            .header(CONTENT_TYPE, "application/x-tar")
            .header(CONTENT_LENGTH, total)
            .body(reqwest::Body::wrap_stream(stream));
        let response = self.send(request).await?;
        self.json(response, &format!("PUT {path}")).await
    }

    /// Sends one request to `app` through the admin API
    /// (`/v1/apps/{app}/invoke{path_and_query}`): routed among the app's
    /// own routes by path. `path_and_query` starts with `/` (one is added if
    /// not) and may carry a query string.
    ///
    /// `headers` and `body` are passed to the service, except
    /// `Authorization`, which carries the admin token. The answer is
    /// returned whatever its status: it is the service's (or, for 404, 502,
    /// 503..., the data plane's) response.
    pub async fn invoke(
        &self,
        app: &str,
        method: Method,
        path_and_query: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<InvokeResponse, ClientError> {
        check_app_name(app)?;
        let slash = if path_and_query.starts_with('/') {
            ""
        } else {
            "/"
        };
        let url = format!("{}/v1/apps/{app}/invoke{slash}{path_and_query}", self.base);
        let url = Url::parse(&url)
            .map_err(|e| ClientError::Invalid(format!("invalid path {path_and_query:?}: {e}")))?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let header = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| ClientError::Invalid(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(value.trim()).map_err(|_| {
                ClientError::Invalid(format!("invalid value of header {name:?}: {value:?}"))
            })?;
            if header == AUTHORIZATION && self.auth.is_some() {
                continue;
            }
            map.append(header, value);
        }
        let request = self
            .with_auth(self.http.request(method, url))
            .headers(map)
            .body(body);
        let response = self.send(request).await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = self.body(response).await?;
        Ok(InvokeResponse {
            status,
            headers,
            body,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.with_auth(self.http.request(method, format!("{}{path}", self.base)))
    }

    fn with_auth(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            Some(auth) => request.header(AUTHORIZATION, auth.clone()),
            None => request,
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, ClientError> {
        request.send().await.map_err(|e| self.transport(e))
    }

    async fn body(&self, response: Response) -> Result<Bytes, ClientError> {
        response.bytes().await.map_err(|e| self.transport(e))
    }

    fn transport(&self, error: reqwest::Error) -> ClientError {
        let url = self.base.clone();
        if error.is_connect() {
            ClientError::Connect { url, source: error }
        } else {
            ClientError::Transport { url, source: error }
        }
    }

    /// The JSON body of a successful answer, or the API error.
    /// `DELETE path`, answered with no content.
    async fn delete_path(&self, path: &str) -> Result<(), ClientError> {
        let response = self.send(self.request(Method::DELETE, path)).await?;
        let status = response.status();
        let body = self.body(response).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(api_error(status, &body))
        }
    }

    /// `GET path`, answered with JSON.
    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let response = self.send(self.request(Method::GET, path)).await?;
        self.json(response, &format!("GET {path}")).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        response: Response,
        what: &str,
    ) -> Result<T, ClientError> {
        let status = response.status();
        let body = self.body(response).await?;
        if !status.is_success() {
            return Err(api_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode(format!("{what}: {e}")))
    }
}

/// The error of a failed answer: the node's `{"error": ...}` message, or
/// whatever the body says, or the status.
fn api_error(status: StatusCode, body: &[u8]) -> ClientError {
    let status_text = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    let message = if status == StatusCode::UNAUTHORIZED {
        UNAUTHORIZED.to_owned()
    } else if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(body) {
        one_line(&error)
    } else {
        let text = one_line(&String::from_utf8_lossy(body));
        if text.is_empty() {
            format!("the node answered {status_text}")
        } else {
            let mut text = text;
            if let Some((cut, _)) = text.char_indices().nth(300) {
                text.truncate(cut);
                text.push_str("...");
            }
            format!("the node answered {status_text}: {text}")
        }
    };
    ClientError::Api {
        status: status.as_u16(),
        message,
    }
}

fn normalize_base_url(base_url: &str) -> Result<String, ClientError> {
    let text = base_url.trim();
    if text.is_empty() {
        return Err(ClientError::Invalid(
            "the admin API URL is empty".to_owned(),
        ));
    }
    let full = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&full)
        .map_err(|e| ClientError::Invalid(format!("invalid admin API URL {text:?}: {e}")))?;
    if url.scheme() != "http" {
        return Err(ClientError::Invalid(format!(
            "invalid admin API URL {text:?}: only http:// is supported"
        )));
    }
    if url.host().is_none() {
        return Err(ClientError::Invalid(format!(
            "invalid admin API URL {text:?}: no host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::Invalid(format!(
            "invalid admin API URL {text:?}: it cannot have a query or a fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Checks an app name against the API's pattern `^[a-z][a-z0-9-]{0,62}$`, so
/// that it cannot change the request's path. Every method taking an app
/// name does this first.
pub fn check_app_name(app: &str) -> Result<(), ClientError> {
    let mut bytes = app.bytes();
    let valid = app.len() <= 63
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(ClientError::Invalid(format!(
            "invalid app name {app:?}: expected lowercase letters, digits and \"-\", starting with a letter, at most 63 characters"
        )))
    }
}

/// Checks a secret name as the node does (letters, digits and `_`, not
/// starting with a digit, at most 128 characters), so that it cannot change
/// the request's path. Every method taking a secret name does this first.
pub fn check_secret_name(name: &str) -> Result<(), ClientError> {
    mote_manifest::check_secret_name(name)
        .map_err(|message| ClientError::Invalid(format!("invalid secret name: {message}")))
}

/// Packs the app in `dir` (a folder holding `mote.toml`, or the manifest
/// file itself) for [`Client::deploy_bundle`]: returns the app's name and a
/// tar archive with `mote.toml` at its root and each service's source at the
/// path the manifest gives it.
///
/// The manifest is loaded and validated first (with
/// [`mote_manifest::load_dir`]), so its errors name the file and line before
/// anything is uploaded. Source paths are normalised (`./a/b.wasm` becomes
/// `a/b.wasm`); paths with `..` are refused, naming the manifest's field.
pub fn bundle_dir(dir: &Path) -> Result<(String, Vec<u8>), ClientError> {
    let (app, manifest_path) = mote_manifest::load_dir(dir)?;
    let base = manifest_path.parent().unwrap_or(Path::new(""));
    let manifest = fs::read(&manifest_path).map_err(|e| {
        ClientError::Bundle(format!("cannot read {}: {e}", manifest_path.display()))
    })?;
    let manifest_text = String::from_utf8_lossy(&manifest);

    // Archive path -> file on disk; services may share a source.
    let mut sources = BTreeMap::new();
    for (name, service) in &app.services {
        let archived = normalize_source(&service.source).map_err(|message| {
            let written = service.source.to_string_lossy();
            ClientError::Manifest(ManifestError {
                file: manifest_path.display().to_string(),
                line: line_of_source(&manifest_text, &written),
                path: format!("services.{name}.source"),
                message,
            })
        })?;
        sources.insert(archived, base.join(&service.source));
    }
    if app.uses_javascript() {
        // The node resolves each JavaScript service's imports among these.
        let scripts = mote_manifest::javascript_files(base)
            .map_err(|e| ClientError::Bundle(format!("cannot list {}: {e}", base.display())))?;
        for path in scripts {
            let file = base.join(&path);
            sources.insert(path, file);
        }
    }

    let mut builder = tar::Builder::new(Vec::new());
    let bundle_error =
        |e: std::io::Error| ClientError::Bundle(format!("cannot build the archive: {e}"));
    append_file(&mut builder, mote_manifest::MANIFEST_FILE, &manifest).map_err(bundle_error)?;
    for (archived, file) in &sources {
        let data = fs::read(file)
            .map_err(|e| ClientError::Bundle(format!("cannot read {}: {e}", file.display())))?;
        append_file(&mut builder, archived, &data).map_err(bundle_error)?;
    }
    let tar = builder.into_inner().map_err(bundle_error)?;
    Ok((app.name, tar))
}

/// A source path inside the app's folder, as the archive names it:
/// `/`-separated, without `.`. Paths with `..` are refused, even those that
/// stay inside the folder, as the node refuses them.
fn normalize_source(source: &Path) -> Result<String, String> {
    let outside = || {
        format!(
            "expected a path inside the app's folder, without \"..\", got {:?}",
            source.to_string_lossy()
        )
    };
    let mut parts: Vec<&str> = Vec::new();
    for component in source.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or_else(|| {
                format!("the path {:?} is not valid UTF-8", source.to_string_lossy())
            })?),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(outside());
            }
        }
    }
    if parts.is_empty() {
        return Err(outside());
    }
    Ok(parts.join("/"))
}

/// The line of the manifest where `source = "<written>"` probably is.
fn line_of_source(text: &str, written: &str) -> Option<usize> {
    text.lines()
        .position(|line| line.contains("source") && line.contains(written))
        .map(|index| index + 1)
}

fn append_file(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    data: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    builder.append_data(&mut header, path, data)
}

#[cfg(test)]
mod tests;
