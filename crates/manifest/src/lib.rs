//! `mote.toml`, the manifest of a Mote app: its format, parsing and validation.
//!
//! [`parse`] turns the text of a manifest into an [`App`]; [`load_dir`] also
//! reads it from a folder and checks that the services' files exist. Every
//! error names the file, the line and the field, like
//! `mote.toml:12: services.hello.limits.memory: expected a size like "64MiB", got "lots"`.
//!
//! [`App`] and its parts serialize to plain JSON for storage (sizes in bytes,
//! durations as strings like `"250ms"`); that form is not the TOML form.
//! The format is documented in `docs/manifest.md`; [`json_schema`] describes
//! it for editors.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod origin;
mod raw;
mod route;
mod units;

pub use origin::{HostPattern, Origin, Scheme};
pub use raw::{check_name, check_secret_name};
pub use route::Route;
pub use units::{format_duration, format_size, parse_duration, parse_size};

/// The name of the manifest file in an app's folder.
pub const MANIFEST_FILE: &str = "mote.toml";

/// An app: a named set of services, deployed together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub name: String,
    /// Services by name.
    pub services: BTreeMap<String, Service>,
}

impl App {
    /// Every route of the app with its service, by service name then in the
    /// order written.
    pub fn routes(&self) -> impl Iterator<Item = (&Service, &Route)> {
        self.services
            .values()
            .flat_map(|service| service.routes.iter().map(move |route| (service, route)))
    }

    /// Whether any service is JavaScript (then a deployment carries the
    /// app's script files, see [`javascript_files`]).
    pub fn uses_javascript(&self) -> bool {
        self.services
            .values()
            .any(|s| s.runtime() == Runtime::JavaScript)
    }
}

/// Whether an app file can be part of a JavaScript service: a script, or
/// JSON (`require('./data.json')`, a package's `package.json`).
pub fn is_javascript_file(path: &str) -> bool {
    [".js", ".mjs", ".cjs", ".json"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

/// Every [`is_javascript_file`] under `dir`, recursively (`node_modules`
/// included; hidden files and folders skipped), as paths inside the app:
/// `/`-separated, sorted. A deployment of an app with JavaScript services
/// carries these: which of them a service imports is resolved at deploy
/// time.
pub fn javascript_files(dir: &Path) -> io::Result<Vec<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
        let mut entries = fs::read_dir(dir)?.collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let path = format!("{prefix}{name}");
            // Follows symbolic links (package managers link packages).
            let meta = fs::metadata(entry.path())?;
            if meta.is_dir() {
                walk(&entry.path(), &format!("{path}/"), out)?;
            } else if meta.is_file() && is_javascript_file(&name) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

/// A service: one WebAssembly component and the routes it serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// The service's name (its key in [`App::services`]).
    pub name: String,
    /// The component's file, or the JavaScript entry file, relative to the
    /// manifest's folder, as written.
    pub source: PathBuf,
    /// The route patterns, in the order written; never empty.
    pub routes: Vec<Route>,
    /// Environment variables (the manifest's `env` and its `var` bindings).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// What the service may reach besides its variables, by binding name.
    #[serde(default)]
    pub bindings: BTreeMap<String, Binding>,
    /// Origins the service may send HTTP requests to.
    #[serde(default)]
    pub outbound: Vec<Origin>,
    #[serde(default)]
    pub limits: Limits,
    /// How requests use instances (default: a fresh one per request).
    #[serde(default)]
    pub instance: Instance,
}

/// How a service's requests use instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Instance {
    /// A fresh instance for every request: nothing a request leaves in
    /// memory is seen by another (the default).
    #[default]
    PerRequest,
    /// An instance serves up to this many requests of the service, one after
    /// another (warm reuse): no instantiation or script loading for most
    /// requests, but state left in memory by one request is seen by the next.
    Reuse(u32),
}

/// A binding: a capability granted to a service under a name its code uses.
/// (Plain variables are in [`Service::env`].)
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    /// A KV namespace of the app.
    Kv(String),
    /// Another service of the same app.
    Service(String),
    /// A secret set on the node for the app (its name).
    Secret(String),
}

impl Service {
    /// What runs the service, from its source's extension.
    pub fn runtime(&self) -> Runtime {
        Runtime::of(&self.source).expect("the manifest validated the source's extension")
    }
}

/// What runs a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// A WebAssembly component (`.wasm`) implementing `wasi:http/incoming-handler`.
    Wasm,
    /// A JavaScript entry file (`.js`, `.mjs`, `.cjs`) run by the node's
    /// QuickJS engine; its imports are resolved among the app's files.
    JavaScript,
}

impl Runtime {
    /// The runtime a source file's extension selects, if any.
    pub fn of(source: &Path) -> Option<Runtime> {
        match source.extension()?.to_str()? {
            "wasm" => Some(Runtime::Wasm),
            "js" | "mjs" | "cjs" => Some(Runtime::JavaScript),
            _ => None,
        }
    }
}

/// Resource limits of a service.
///
/// In JSON, sizes are numbers of bytes and durations strings like `"250ms"`
/// (see [`format_duration`]); missing fields take their defaults, so limits
/// stored before a field existed still read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Linear memory per instance, in bytes. Default 64MiB, 1MiB to 4GiB.
    pub memory: u64,
    /// CPU time per request. Default 1s.
    #[serde(with = "duration_text")]
    pub cpu: Duration,
    /// Wall-clock time per request. Default 30s.
    #[serde(with = "duration_text")]
    pub timeout: Duration,
    /// Largest request body, in bytes. Default 10MiB.
    pub request_body: u64,
    /// Largest response body, in bytes. Default 10MiB.
    pub response_body: u64,
    /// Most requests handled at the same time by the service. Default 64.
    pub concurrency: u32,
    /// Most requests waiting for a concurrency slot once [`concurrency`]
    /// requests are running; requests beyond that are refused with 503.
    /// Default 32, 0 to 10000.
    ///
    /// [`concurrency`]: Limits::concurrency
    pub queue: u32,
    /// Most outgoing requests (fetch and service-binding calls) one request
    /// may make. Default 50, 0 to 1000.
    pub subrequests: u32,
    /// Bytes of a request's stdout, and of its stderr, each kept for its log
    /// line; the rest is counted as dropped. Default 16KiB, 0 to 1MiB.
    pub log: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 64 << 20,
            cpu: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
            request_body: 10 << 20,
            response_body: 10 << 20,
            concurrency: 64,
            queue: 32,
            subrequests: 50,
            log: 16 << 10,
        }
    }
}

impl Limits {
    /// The default maxima of a node: the largest limits it accepts from a
    /// manifest unless configured otherwise. Memory 1GiB, cpu 60s, timeout
    /// 10m, request and response bodies 1GiB, concurrency 10000, queue
    /// 10000, subrequests 1000, log 1MiB. Every default limit is within them.
    pub fn node_maximum() -> Limits {
        Limits {
            memory: 1 << 30,
            cpu: Duration::from_secs(60),
            timeout: Duration::from_secs(10 * 60),
            request_body: 1 << 30,
            response_body: 1 << 30,
            concurrency: 10_000,
            queue: raw::MAX_QUEUE,
            subrequests: raw::MAX_SUBREQUESTS,
            log: raw::MAX_LOG,
        }
    }

    /// Sets the limit named `key` (its name in `[services.NAME.limits]`)
    /// from `value` written as in a manifest, without quotes: `cpu` and
    /// `timeout` durations (`5s`), `memory`, `request_body`,
    /// `response_body` and `log` sizes (`256MiB`), `concurrency`, `queue`
    /// and `subrequests` whole numbers. For a node's maxima
    /// (`mote serve --limit-max cpu=5s`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let count = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| format!("{key}: expected a whole number, got {v:?}"))
        };
        let size = |v: &str| parse_size(v).map_err(|e| format!("{key}: {e}"));
        let duration = |v: &str| parse_duration(v).map_err(|e| format!("{key}: {e}"));
        match key {
            "memory" => self.memory = size(value)?,
            "cpu" => self.cpu = duration(value)?,
            "timeout" => self.timeout = duration(value)?,
            "request_body" => self.request_body = size(value)?,
            "response_body" => self.response_body = size(value)?,
            "concurrency" => self.concurrency = count(value)?,
            "queue" => self.queue = count(value)?,
            "subrequests" => self.subrequests = count(value)?,
            "log" => self.log = size(value)?,
            _ => {
                return Err(format!(
                    "unknown limit {key:?}; the limits are memory, cpu, timeout, request_body, \
                     response_body, concurrency, queue, subrequests and log"
                ));
            }
        }
        Ok(())
    }

    /// Checks every limit against `max`, a node's maxima (see
    /// [`Limits::node_maximum`]). The error names the first limit, in field
    /// order, that is above its maximum, with both values written as in a
    /// manifest: `limits.cpu: 10s is above this node's maximum of 5s`.
    /// Callers prefix it with the service: `services.NAME.`.
    pub fn check_within(&self, max: &Limits) -> Result<(), String> {
        fn within<T: PartialOrd + Copy>(
            field: &str,
            value: T,
            max: T,
            show: impl Fn(T) -> String,
        ) -> Result<(), String> {
            if value > max {
                Err(format!(
                    "limits.{field}: {} is above this node's maximum of {}",
                    show(value),
                    show(max)
                ))
            } else {
                Ok(())
            }
        }
        let count = |n: u32| n.to_string();
        within("memory", self.memory, max.memory, format_size)?;
        within("cpu", self.cpu, max.cpu, format_duration)?;
        within("timeout", self.timeout, max.timeout, format_duration)?;
        within(
            "request_body",
            self.request_body,
            max.request_body,
            format_size,
        )?;
        within(
            "response_body",
            self.response_body,
            max.response_body,
            format_size,
        )?;
        within("concurrency", self.concurrency, max.concurrency, count)?;
        within("queue", self.queue, max.queue, count)?;
        within("subrequests", self.subrequests, max.subrequests, count)?;
        within("log", self.log, max.log, format_size)
    }
}

/// Durations in JSON: strings like "250ms".
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::format_duration(*duration))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        crate::parse_duration(&text).map_err(de::Error::custom)
    }
}

/// An invalid manifest: where, and what is wrong.
///
/// Displays as `FILE:LINE: PATH: MESSAGE`, leaving out the line or the path
/// when there is none: `mote.toml:5: services.hello: missing field "source"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ManifestError {
    /// The file as given to [`parse`], or the manifest path of [`load_dir`].
    pub file: String,
    /// 1-based line of the offending value, key or table header.
    pub line: Option<usize>,
    /// The field, like `services.hello.routes[1]`; empty for the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ManifestError {
    fn render(&self) -> String {
        let mut out = self.file.clone();
        if let Some(line) = self.line {
            out += &format!(":{line}");
        }
        out += ": ";
        if !self.path.is_empty() {
            out += &self.path;
            out += ": ";
        }
        out += &self.message;
        out
    }
}

/// Builds errors of one manifest text.
struct Errors<'a> {
    file: &'a str,
    text: &'a str,
}

impl Errors<'_> {
    fn at(&self, span: Option<Range<usize>>, path: String, message: String) -> ManifestError {
        ManifestError {
            file: self.file.to_owned(),
            line: span.map(|span| line_of(self.text, span.start)),
            path,
            message,
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Formats a field path the way it is written in TOML: `services.hello.routes[0]`.
fn format_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;

    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out += &format!("[{index}]"),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                // The spans kept with toml::Spanned appear as private fields.
                if key.starts_with("$__serde_spanned_private") {
                    continue;
                }
                push_key(&mut out, key);
            }
            Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        out.push_str(key);
    } else {
        out.push_str(&format!("{key:?}"));
    }
}

/// Serde quotes with backticks: ``unknown field `limts` ``. Quote names with
/// double quotes instead, and leave numbers and booleans bare.
fn requote(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return message.to_owned(); // unbalanced: leave it alone
    }
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        let quoted = i % 2 == 1;
        let bare = part.parse::<f64>().is_ok() || *part == "true" || *part == "false";
        if !quoted || bare {
            out.push_str(part);
        } else {
            out.push_str(&format!("{part:?}"));
        }
    }
    out
}

/// Parses and validates the text of a manifest. `file` is only used in
/// errors. Does not look at the file system: see [`load_dir`].
pub fn parse(file: &str, text: &str) -> Result<App, ManifestError> {
    parse_with_spans(file, text).map(|(app, _)| app)
}

/// Parses a manifest, also returning the span of each service's `source`.
fn parse_with_spans(
    file: &str,
    text: &str,
) -> Result<(App, BTreeMap<String, Range<usize>>), ManifestError> {
    let errors = Errors { file, text };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| {
        let message = e.message().lines().next().unwrap_or_default();
        errors.at(e.span(), String::new(), format!("invalid TOML: {message}"))
    })?;
    let raw: raw::RawApp = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = format_path(e.path());
        let e = e.into_inner();
        errors.at(e.span(), path, requote(e.message()))
    })?;

    if raw.services.get_ref().0.is_empty() {
        return Err(errors.at(
            Some(raw.services.span()),
            "services".to_owned(),
            "an app needs at least one service".to_owned(),
        ));
    }

    // Every route of the app in the order written, to report a duplicate at
    // its second occurrence.
    let mut all_routes = Vec::new();
    for (name, raw::Table(service)) in &raw.services.get_ref().0 {
        if service.routes.get_ref().0.is_empty() {
            return Err(errors.at(
                Some(service.routes.span()),
                format!("services.{}.routes", name.0),
                "at least one route is required".to_owned(),
            ));
        }
        for (index, route) in service.routes.get_ref().0.iter().enumerate() {
            all_routes.push((route.span(), &name.0, index, &route.get_ref().0));
        }
    }
    all_routes.sort_by_key(|(span, ..)| span.start);
    let mut seen: HashMap<&Route, &String> = HashMap::new();
    for (span, service, index, route) in all_routes {
        if let Some(first) = seen.insert(route, service) {
            let message = if first == service {
                format!("route \"{route}\" is listed twice")
            } else {
                format!("route \"{route}\" of service {service:?} conflicts with service {first:?}")
            };
            return Err(errors.at(
                Some(span),
                format!("services.{service}.routes[{index}]"),
                message,
            ));
        }
    }

    let service_names: Vec<String> = raw
        .services
        .get_ref()
        .0
        .keys()
        .map(|n| n.0.clone())
        .collect();
    let mut source_spans = BTreeMap::new();
    let mut services = BTreeMap::new();
    for (raw::Name(name), raw::Table(service)) in raw.services.into_inner().0 {
        source_spans.insert(name.clone(), service.source.span());
        let defaults = Limits::default();
        let limits = service.limits.0;
        let mut env: BTreeMap<String, String> = service
            .env
            .0
            .into_iter()
            .map(|(key, value)| (key.0, value))
            .collect();
        let mut bindings: BTreeMap<String, Binding> = BTreeMap::new();
        for (raw::EnvKey(key), binding) in service.bindings.0 {
            let span = binding.span();
            let path = format!("services.{name}.bindings.{key}");
            let at = |message: String| errors.at(Some(span.clone()), path.clone(), message);
            if env.contains_key(&key) {
                return Err(at(format!(
                    "{key:?} is also in services.{name}.env: a name is either a variable or a binding"
                )));
            }
            let raw::RawBinding {
                kv,
                service: callee,
                secret,
                var,
            } = binding.into_inner().0;
            let given = [
                kv.is_some(),
                callee.is_some(),
                secret.is_some(),
                var.is_some(),
            ];
            if given.iter().filter(|&&g| g).count() != 1 {
                return Err(at(
                    "expected exactly one of `kv = \"NAMESPACE\"`, `service = \"SERVICE\"`, \
                     `secret = \"NAME\"` or `var = \"TEXT\"`"
                        .to_owned(),
                ));
            }
            if let Some(text) = var {
                env.insert(key, text);
                continue;
            }
            let binding = if let Some(raw::Name(namespace)) = kv {
                Binding::Kv(namespace)
            } else if let Some(callee) = callee {
                let callee_span = callee.span();
                let raw::Name(callee) = callee.into_inner();
                if !service_names.contains(&callee) {
                    return Err(errors.at(
                        Some(callee_span),
                        format!("{path}.service"),
                        format!(
                            "no service {callee:?} in this app (its services: {})",
                            service_names.join(", ")
                        ),
                    ));
                }
                // Components reach it at http://<name, lowercase>.internal/.
                if let Some(other) = bindings.iter().find_map(|(other, b)| {
                    (matches!(b, Binding::Service(_)) && other.eq_ignore_ascii_case(&key))
                        .then_some(other)
                }) {
                    return Err(at(format!(
                        "service bindings {other:?} and {key:?} differ only in case \
                         (both would be http://{}.internal/)",
                        key.to_ascii_lowercase()
                    )));
                }
                Binding::Service(callee)
            } else {
                Binding::Secret(secret.expect("one binding kind is given").0)
            };
            bindings.insert(key, binding);
        }
        let outbound = service
            .outbound
            .into_iter()
            .map(|origin| origin.into_inner().0)
            .collect();
        let service = Service {
            name: name.clone(),
            source: service.source.into_inner().0,
            routes: service
                .routes
                .into_inner()
                .0
                .into_iter()
                .map(|route| route.into_inner().0)
                .collect(),
            env,
            bindings,
            outbound,
            limits: Limits {
                memory: limits.memory.map_or(defaults.memory, |m| m.0),
                cpu: limits.cpu.map_or(defaults.cpu, |d| d.0),
                timeout: limits.timeout.map_or(defaults.timeout, |d| d.0),
                request_body: limits.request_body.map_or(defaults.request_body, |s| s.0),
                response_body: limits.response_body.map_or(defaults.response_body, |s| s.0),
                concurrency: limits.concurrency.map_or(defaults.concurrency, |c| c.0),
                queue: limits.queue.map_or(defaults.queue, |q| q.0),
                subrequests: limits.subrequests.map_or(defaults.subrequests, |s| s.0),
                log: limits.log.map_or(defaults.log, |l| l.0),
            },
            instance: match service.instance {
                None | Some(raw::RawInstance::PerRequest) => Instance::PerRequest,
                Some(raw::RawInstance::Reuse(n)) => Instance::Reuse(n),
            },
        };
        services.insert(name, service);
    }
    let app = App {
        name: raw.name.into_inner().0,
        services,
    };
    Ok((app, source_spans))
}

/// Reads and validates `DIR/mote.toml`, and checks that each service's
/// `source` is an existing file (relative to `DIR`).
///
/// Returns the app and the manifest's path. Errors name the file as
/// `DIR/mote.toml` (the path given, joined with [`MANIFEST_FILE`]). As a
/// convenience, `dir` may also be the path of the manifest file itself.
pub fn load_dir(dir: &Path) -> Result<(App, PathBuf), ManifestError> {
    let (base, manifest) = if dir.is_file() {
        (dir.parent().unwrap_or(Path::new("")), dir.to_owned())
    } else {
        (dir, dir.join(MANIFEST_FILE))
    };
    let file = manifest.display().to_string();
    let text = fs::read_to_string(&manifest).map_err(|e| ManifestError {
        file: file.clone(),
        line: None,
        path: String::new(),
        message: match e.kind() {
            io::ErrorKind::NotFound => "file not found".to_owned(),
            _ => format!("cannot read the manifest: {e}"),
        },
    })?;
    let (app, source_spans) = parse_with_spans(&file, &text)?;
    let errors = Errors {
        file: &file,
        text: &text,
    };
    for (name, service) in &app.services {
        let path = base.join(&service.source);
        let problem = match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => continue,
            Ok(_) => format!("not a file: {}", path.display()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                format!("file not found: {}", path.display())
            }
            Err(e) => format!("cannot read {}: {e}", path.display()),
        };
        return Err(errors.at(
            source_spans.get(name).cloned(),
            format!("services.{name}.source"),
            problem,
        ));
    }
    Ok((app, manifest))
}

/// The JSON schema (draft 7) of `mote.toml`, for editors; published as
/// `docs/mote.schema.json`.
pub fn json_schema() -> serde_json::Value {
    schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<raw::RawApp>()
        .to_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "shop"

[services.hello]
source = "hello.wasm"
routes = ["/hello"]
"#;

    #[test]
    fn bindings_and_outbound() {
        let app = parse(
            "mote.toml",
            r#"
name = "shop"

[services.slack]
source = "slack/index.js"
routes = ["/slack/*"]
env = { LEVEL = "debug" }
bindings.CACHE = { kv = "cache" }
bindings.AUTH = { service = "auth" }
bindings.TOKEN = { secret = "slack_token" }
bindings.REGION = { var = "eu-west-1" }
outbound = ["https://hooks.slack.com", "http://127.0.0.1:9000"]

[services.auth]
source = "auth.wasm"
routes = ["/auth"]
"#,
        )
        .unwrap();
        let slack = &app.services["slack"];
        assert_eq!(
            slack.env,
            BTreeMap::from([
                ("LEVEL".to_owned(), "debug".to_owned()),
                ("REGION".to_owned(), "eu-west-1".to_owned()),
            ])
        );
        assert_eq!(
            slack.bindings,
            BTreeMap::from([
                ("AUTH".to_owned(), Binding::Service("auth".to_owned())),
                ("CACHE".to_owned(), Binding::Kv("cache".to_owned())),
                (
                    "TOKEN".to_owned(),
                    Binding::Secret("slack_token".to_owned())
                ),
            ])
        );
        let outbound: Vec<String> = slack.outbound.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            outbound,
            ["https://hooks.slack.com", "http://127.0.0.1:9000"]
        );
        let auth = &app.services["auth"];
        assert!(auth.bindings.is_empty() && auth.outbound.is_empty());
        // The stored (JSON) form round-trips.
        let json = serde_json::to_string(&app).unwrap();
        assert_eq!(serde_json::from_str::<App>(&json).unwrap(), app);
    }

    #[test]
    fn defaults() {
        let limits = Limits::default();
        assert_eq!(limits.memory, 64 * 1024 * 1024);
        assert_eq!(limits.cpu, Duration::from_secs(1));
        assert_eq!(limits.timeout, Duration::from_secs(30));
        assert_eq!(limits.request_body, 10 * 1024 * 1024);
        assert_eq!(limits.response_body, 10 * 1024 * 1024);
        assert_eq!(limits.concurrency, 64);
        assert_eq!(limits.queue, 32);
        assert_eq!(limits.subrequests, 50);
        assert_eq!(limits.log, 16 * 1024);

        let app = parse("mote.toml", MINIMAL).unwrap();
        assert_eq!(
            app,
            App {
                name: "shop".to_owned(),
                services: BTreeMap::from([(
                    "hello".to_owned(),
                    Service {
                        name: "hello".to_owned(),
                        source: PathBuf::from("hello.wasm"),
                        routes: vec![Route::parse("/hello").unwrap()],
                        env: BTreeMap::new(),
                        bindings: BTreeMap::new(),
                        outbound: Vec::new(),
                        limits: Limits::default(),
                        instance: Instance::PerRequest,
                    }
                )]),
            }
        );
    }

    #[test]
    fn limits_set_by_name() {
        let mut limits = Limits::node_maximum();
        limits.set("cpu", "5s").unwrap();
        limits.set("memory", "256MiB").unwrap();
        limits.set("queue", "0").unwrap();
        limits.set("log", "4KiB").unwrap();
        assert_eq!(limits.cpu, Duration::from_secs(5));
        assert_eq!(limits.memory, 256 << 20);
        assert_eq!((limits.queue, limits.log), (0, 4 << 10));
        assert_eq!(
            limits.set("cpu", "5"),
            Err("cpu: expected a duration like \"250ms\", got \"5\"".into())
        );
        assert_eq!(
            limits.set("queue", "-1"),
            Err("queue: expected a whole number, got \"-1\"".into())
        );
        assert!(
            limits
                .set("cpus", "1s")
                .unwrap_err()
                .starts_with("unknown limit \"cpus\"")
        );
    }

    #[test]
    fn instance_reuse() {
        let manifest = |instance: &str| {
            format!(
                "name = \"shop\"\n[services.hello]\nsource = \"hello.wasm\"\nroutes = [\"/hello\"]\n{instance}\n"
            )
        };
        let instance =
            |text: &str| parse("mote.toml", &manifest(text)).map(|a| a.services["hello"].instance);
        assert_eq!(instance(""), Ok(Instance::PerRequest));
        assert_eq!(
            instance("instance = \"per-request\""),
            Ok(Instance::PerRequest)
        );
        assert_eq!(
            instance("instance = { reuse = 100 }"),
            Ok(Instance::Reuse(100))
        );
        let json = serde_json::to_value(Instance::Reuse(7)).unwrap();
        assert_eq!(
            serde_json::from_value::<Instance>(json).unwrap(),
            Instance::Reuse(7)
        );
        let json = serde_json::to_value(Instance::PerRequest).unwrap();
        assert_eq!(json, "per-request");
    }

    #[test]
    fn full_manifest() {
        let text = r#"
name = "shop"

[services.hello]
source = "build/hello.wasm"
routes = ["/hello", "/hello/*", "api.example.com/v1/*"]
env = { GREETING = "hi", _X1 = "" }

[services.hello.limits]
memory = "128MiB"
cpu = "50ms"
timeout = "2s"
request_body = 1000
response_body = "1MB"
concurrency = 8
queue = 0
subrequests = 1000
log = "1MiB"

[services.all]
source = "all.wasm"
routes = ["/*"]
limits = { memory = 1048576, cpu = "1500us", subrequests = 0, log = 0, queue = 10000 }
"#;
        let app = parse("mote.toml", text).unwrap();
        assert_eq!(app.name, "shop");
        assert_eq!(app.services.keys().collect::<Vec<_>>(), ["all", "hello"]);
        let hello = &app.services["hello"];
        assert_eq!(hello.name, "hello");
        assert_eq!(hello.source, Path::new("build/hello.wasm"));
        let routes: Vec<String> = hello.routes.iter().map(Route::to_string).collect();
        assert_eq!(routes, ["/hello", "/hello/*", "api.example.com/v1/*"]);
        assert_eq!(hello.env["GREETING"], "hi");
        assert_eq!(hello.env["_X1"], "");
        assert_eq!(
            hello.limits,
            Limits {
                memory: 128 << 20,
                cpu: Duration::from_millis(50),
                timeout: Duration::from_secs(2),
                request_body: 1000,
                response_body: 1_000_000,
                concurrency: 8,
                queue: 0,
                subrequests: 1000,
                log: 1 << 20,
            }
        );
        let all = &app.services["all"];
        assert_eq!(all.limits.memory, 1 << 20);
        assert_eq!(all.limits.cpu, Duration::from_micros(1500));
        assert_eq!(all.limits.timeout, Duration::from_secs(30));
        assert_eq!(all.limits.queue, 10_000);
        assert_eq!(all.limits.subrequests, 0);
        assert_eq!(all.limits.log, 0);
        assert_eq!(all.limits.concurrency, 64);
        assert_eq!(
            app.routes()
                .map(|(s, r)| format!("{} {r}", s.name))
                .collect::<Vec<_>>(),
            [
                "all /*",
                "hello /hello",
                "hello /hello/*",
                "hello api.example.com/v1/*"
            ]
        );
    }

    #[test]
    fn json_round_trip() {
        let text = r#"
name = "shop"
[services.hello]
source = "hello.wasm"
routes = ["/hello/*", "example.com:8080/"]
env = { A = "1" }
limits = { cpu = "1500us", timeout = "90s", memory = "4GiB" }
"#;
        let app = parse("mote.toml", text).unwrap();
        let json = serde_json::to_value(&app).unwrap();
        assert_eq!(
            json["services"]["hello"]["limits"],
            serde_json::json!({
                "memory": 4u64 << 30,
                "cpu": "1500us",
                "timeout": "90s",
                "request_body": 10 << 20,
                "response_body": 10 << 20,
                "concurrency": 64,
                "queue": 32,
                "subrequests": 50,
                "log": 16 << 10,
            })
        );
        assert_eq!(
            json["services"]["hello"]["routes"][1],
            serde_json::json!({ "host": "example.com:8080", "path": "/", "wildcard": false })
        );
        assert_eq!(serde_json::from_value::<App>(json).unwrap(), app);

        // Missing limits take their defaults.
        let limits: Limits = serde_json::from_str(r#"{ "memory": 1 }"#).unwrap();
        assert_eq!(
            limits,
            Limits {
                memory: 1,
                ..Limits::default()
            }
        );
    }

    #[test]
    fn limits_stored_by_an_older_node_read_back() {
        // The JSON of a deployment stored before queue, subrequests and log
        // existed.
        let stored = r#"{
            "name": "shop",
            "services": {
                "hello": {
                    "name": "hello",
                    "source": "hello.wasm",
                    "routes": [{ "host": null, "path": "/hello", "wildcard": false }],
                    "limits": {
                        "memory": 134217728,
                        "cpu": "50ms",
                        "timeout": "2s",
                        "request_body": 1000,
                        "response_body": 1000000,
                        "concurrency": 8
                    }
                }
            }
        }"#;
        let app: App = serde_json::from_str(stored).unwrap();
        assert_eq!(
            app.services["hello"].limits,
            Limits {
                memory: 128 << 20,
                cpu: Duration::from_millis(50),
                timeout: Duration::from_secs(2),
                request_body: 1000,
                response_body: 1_000_000,
                concurrency: 8,
                ..Limits::default()
            }
        );
        assert_eq!(app.services["hello"].routes[0].to_string(), "/hello");
    }

    #[test]
    fn node_maximum() {
        let max = Limits::node_maximum();
        assert_eq!(max.memory, 1 << 30);
        assert_eq!(max.cpu, Duration::from_secs(60));
        assert_eq!(max.timeout, Duration::from_secs(600));
        assert_eq!(max.request_body, 1 << 30);
        assert_eq!(max.response_body, 1 << 30);
        assert_eq!(max.concurrency, 10_000);
        assert_eq!(max.queue, 10_000);
        assert_eq!(max.subrequests, 1000);
        assert_eq!(max.log, 1 << 20);
        assert_eq!(Limits::default().check_within(&max), Ok(()));
        assert_eq!(max.check_within(&max), Ok(()), "a maximum is allowed");
        // Whatever a manifest allows for queue, subrequests and log is within
        // the default maxima.
        let manifest_max = parse(
            "mote.toml",
            &format!("{MINIMAL}limits = {{ queue = 10000, subrequests = 1000, log = \"1MiB\" }}\n"),
        )
        .unwrap();
        assert_eq!(
            manifest_max.services["hello"].limits.check_within(&max),
            Ok(())
        );
    }

    #[test]
    fn check_within_names_the_limit_above_its_maximum() {
        let max = Limits {
            memory: 256 << 20,
            cpu: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            request_body: 1 << 20,
            response_body: 2 << 20,
            concurrency: 100,
            queue: 10,
            subrequests: 20,
            log: 4 << 10,
        };
        let above = |change: fn(&mut Limits)| {
            let mut limits = max;
            change(&mut limits);
            limits.check_within(&max).unwrap_err()
        };
        assert_eq!(
            above(|l| l.memory = 1 << 30),
            "limits.memory: 1GiB is above this node's maximum of 256MiB"
        );
        assert_eq!(
            above(|l| l.cpu = Duration::from_secs(10)),
            "limits.cpu: 10s is above this node's maximum of 5s"
        );
        assert_eq!(
            above(|l| l.timeout = Duration::from_millis(60_001)),
            "limits.timeout: 60001ms is above this node's maximum of 1m"
        );
        assert_eq!(
            above(|l| l.request_body = 1_048_577),
            "limits.request_body: 1048577B is above this node's maximum of 1MiB"
        );
        assert_eq!(
            above(|l| l.response_body = 3 << 20),
            "limits.response_body: 3MiB is above this node's maximum of 2MiB"
        );
        assert_eq!(
            above(|l| l.concurrency = 101),
            "limits.concurrency: 101 is above this node's maximum of 100"
        );
        assert_eq!(
            above(|l| l.queue = 11),
            "limits.queue: 11 is above this node's maximum of 10"
        );
        assert_eq!(
            above(|l| l.subrequests = 50),
            "limits.subrequests: 50 is above this node's maximum of 20"
        );
        assert_eq!(
            above(|l| l.log = 16 << 10),
            "limits.log: 16KiB is above this node's maximum of 4KiB"
        );
        // The first one in field order is reported.
        assert_eq!(
            above(|l| {
                l.log = 1 << 20;
                l.timeout = Duration::from_secs(120);
            }),
            "limits.timeout: 2m is above this node's maximum of 1m"
        );
        // Below or at every maximum.
        assert_eq!(Limits::default().check_within(&Limits::default()), Ok(()));
        let small = Limits {
            queue: 0,
            subrequests: 0,
            log: 0,
            ..max
        };
        assert_eq!(small.check_within(&max), Ok(()));
    }

    #[test]
    fn error_display() {
        let mut error = ManifestError {
            file: "mote.toml".to_owned(),
            line: Some(12),
            path: "services.hello.limits.memory".to_owned(),
            message: "expected a size like \"64MiB\", got \"lots\"".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "mote.toml:12: services.hello.limits.memory: expected a size like \"64MiB\", got \"lots\""
        );
        error.line = None;
        error.path.clear();
        assert_eq!(
            error.to_string(),
            "mote.toml: expected a size like \"64MiB\", got \"lots\""
        );
    }

    #[test]
    fn requotes_serde_messages() {
        assert_eq!(
            requote("unknown field `limts`, expected one of `memory`, `cpu`"),
            "unknown field \"limts\", expected one of \"memory\", \"cpu\""
        );
        assert_eq!(
            requote("invalid type: integer `5`, expected a string"),
            "invalid type: integer 5, expected a string"
        );
        assert_eq!(requote("odd ` quote"), "odd ` quote");
    }
}
