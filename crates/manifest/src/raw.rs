//! The TOML form of the manifest, as deserialized (and described to editors by
//! the JSON schema).
//!
//! Each value checks itself while it is deserialized, so that its error
//! carries the value's span (from toml) and path (from serde_path_to_error).
//! What needs more than one value (duplicate routes, empty tables) is checked
//! afterwards in `lib.rs`, using the spans kept here.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use crate::units::{format_size, parse_duration, parse_size};
use crate::{Origin, Route, Runtime};

/// A Mote app manifest (`mote.toml`). See docs/manifest.md.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mote.toml")]
pub(crate) struct RawApp {
    /// The app's name: lowercase letters, digits and "-", starting with a letter, at most 63 characters.
    #[schemars(with = "Name")]
    pub name: Spanned<Name>,
    /// The app's services, by name (same rule as the app name).
    #[schemars(with = "BTreeMap<Name, RawService>")]
    pub services: Spanned<Table<BTreeMap<Name, Table<RawService>>>>,
}

/// A service: one WebAssembly component and the routes it serves.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Service")]
pub(crate) struct RawService {
    /// The service's code, relative to the manifest's folder: a WebAssembly component (".wasm").
    #[schemars(with = "Source")]
    pub source: Spanned<Source>,
    /// The requests this service handles: "/path", "/path/*" (everything under /path), "/*" (everything), optionally prefixed with a host: "api.example.com/v1/*". At least one.
    #[schemars(with = "Vec<RoutePattern>", length(min = 1))]
    pub routes: Spanned<Routes>,
    /// Environment variables of the service.
    #[serde(default)]
    #[schemars(with = "BTreeMap<EnvKey, String>")]
    pub env: Table<BTreeMap<EnvKey, String>>,
    /// What the service may reach, by the name its code uses (`env.NAME` in JavaScript): a KV namespace `{ kv = "cache" }`, another service of the app `{ service = "auth" }`, a secret set on the node `{ secret = "slack_token" }`, or a plain variable `{ var = "eu-west-1" }` (the same as an `env` entry). Nothing is reachable without a binding.
    #[serde(default)]
    #[schemars(with = "BTreeMap<EnvKey, RawBinding>")]
    pub bindings: Table<BTreeMap<EnvKey, Spanned<Table<RawBinding>>>>,
    /// Origins the service may send HTTP requests to: "https://api.example.com", "https://*.example.com" (any subdomain), "http://127.0.0.1:9000". Private, loopback and link-local addresses are refused unless an entry names the address itself.
    #[serde(default)]
    #[schemars(with = "Vec<OriginText>")]
    pub outbound: Vec<Spanned<OriginText>>,
    /// Resource limits; every one is optional.
    #[serde(default)]
    #[schemars(with = "RawLimits")]
    pub limits: Table<RawLimits>,
    /// How requests use instances: "per-request" (the default: a fresh instance for every request, nothing shared between requests) or `{ reuse = N }` (an instance serves up to N requests of this service one after another: faster, but whatever one request leaves in memory — globals, caches, data of another user — is seen by the next; see docs/manifest.md).
    #[serde(default)]
    #[schemars(with = "RawInstance")]
    pub instance: Option<RawInstance>,
}

/// The most requests one instance may serve with `instance = { reuse = N }`.
pub(crate) const MAX_REUSE: u32 = 10_000;

/// `instance`: "per-request", or `{ reuse = N }` with N from 2 to 10000.
pub(crate) enum RawInstance {
    PerRequest,
    Reuse(u32),
}

impl<'de> Deserialize<'de> for RawInstance {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InstanceVisitor;

        struct Reuse(u32);

        impl<'de> Deserialize<'de> for Reuse {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                count(deserializer, 2, MAX_REUSE).map(Reuse)
            }
        }

        impl<'de> Visitor<'de> for InstanceVisitor {
            type Value = RawInstance;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"per-request\" or { reuse = N }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawInstance, E> {
                match v {
                    "per-request" => Ok(RawInstance::PerRequest),
                    _ => Err(E::custom(format!(
                        "expected \"per-request\" or {{ reuse = N }}, got {v:?}"
                    ))),
                }
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RawInstance, A::Error> {
                let mut reuse = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "reuse" => reuse = Some(map.next_value::<Reuse>()?.0),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key {other:?}: the only key is \"reuse\""
                            )));
                        }
                    }
                }
                reuse
                    .map(RawInstance::Reuse)
                    .ok_or_else(|| de::Error::custom("expected { reuse = N }, N from 2 to 10000"))
            }
        }

        deserializer.deserialize_any(InstanceVisitor)
    }
}

impl JsonSchema for RawInstance {
    fn schema_name() -> Cow<'static, str> {
        "Instance".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "default": "per-request",
            "oneOf": [
                { "const": "per-request" },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["reuse"],
                    "properties": { "reuse": count_schema(2, MAX_REUSE) },
                },
            ],
        })
    }
}

/// One binding: exactly one of its keys.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Binding", extend("minProperties" = 1, "maxProperties" = 1))]
pub(crate) struct RawBinding {
    /// A KV namespace of the app (a name like "cache"). Namespaces are the app's own: no other app sees them.
    #[serde(default)]
    #[schemars(with = "Option<Name>")]
    pub kv: Option<Name>,
    /// Another service of the same app, called in-process.
    #[serde(default)]
    #[schemars(with = "Option<Name>")]
    pub service: Option<Spanned<Name>>,
    /// A secret set on the node with `mote secret set APP NAME`.
    #[serde(default)]
    #[schemars(with = "Option<SecretName>")]
    pub secret: Option<SecretName>,
    /// A plain text variable.
    #[serde(default)]
    pub var: Option<String>,
}

/// Resource limits of a service.
#[derive(Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Limits")]
pub(crate) struct RawLimits {
    /// Linear memory per instance, between 1MiB and 4GiB.
    #[serde(default)]
    #[schemars(with = "MemorySize", extend("default" = "64MiB"))]
    pub memory: Option<MemorySize>,
    /// CPU time per request.
    #[serde(default)]
    #[schemars(with = "PositiveDuration", extend("default" = "1s"))]
    pub cpu: Option<PositiveDuration>,
    /// Wall-clock time per request.
    #[serde(default)]
    #[schemars(with = "PositiveDuration", extend("default" = "30s"))]
    pub timeout: Option<PositiveDuration>,
    /// Largest request body accepted.
    #[serde(default)]
    #[schemars(with = "Size", extend("default" = "10MiB"))]
    pub request_body: Option<Size>,
    /// Largest response body sent.
    #[serde(default)]
    #[schemars(with = "Size", extend("default" = "10MiB"))]
    pub response_body: Option<Size>,
    /// Most requests handled at the same time by the service.
    #[serde(default)]
    #[schemars(with = "Concurrency", extend("default" = 64))]
    pub concurrency: Option<Concurrency>,
    /// Most requests waiting for a free slot once `concurrency` requests are running, from 0 to 10000; more are refused with 503.
    #[serde(default)]
    #[schemars(with = "Queue", extend("default" = 32))]
    pub queue: Option<Queue>,
    /// Most outgoing requests (fetch and service-binding calls) one request may make, from 0 to 1000.
    #[serde(default)]
    #[schemars(with = "Subrequests", extend("default" = 50))]
    pub subrequests: Option<Subrequests>,
    /// Bytes of a request's stdout, and of its stderr, kept for its log line (the rest is counted as dropped); from 0 to 1MiB.
    #[serde(default)]
    #[schemars(with = "LogSize", extend("default" = "16KiB"))]
    pub log: Option<LogSize>,
}

/// Deserializes a string checked by `check`. The check runs inside the
/// visitor so that toml gives its error the span of the value.
fn checked_string<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
    check: impl FnOnce(String) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct CheckedString<F> {
        expecting: &'static str,
        check: F,
    }

    impl<T, F> Visitor<'_> for CheckedString<F>
    where
        F: FnOnce(String) -> Result<T, String>,
    {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.check)(v.to_owned()).map_err(E::custom)
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
            (self.check)(v).map_err(E::custom)
        }
    }

    deserializer.deserialize_string(CheckedString { expecting, check })
}

/// A TOML table deserialized as `T`. Serde's derived structs also accept
/// arrays (as tuples), which makes `[[services.x]]` fail confusingly: refuse
/// anything but a table.
#[derive(Default)]
pub(crate) struct Table<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TableVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for TableVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(TableVisitor(PhantomData))
            .map(Table)
    }
}

/// The `routes` array. (Deserialized by hand for a better message than
/// "expected a sequence".)
pub(crate) struct Routes(pub Vec<Spanned<RoutePattern>>);

impl<'de> Deserialize<'de> for Routes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RoutesVisitor;

        impl<'de> Visitor<'de> for RoutesVisitor {
            type Value = Routes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of routes like [\"/hello\"]")
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Routes, A::Error> {
                let mut routes = Vec::new();
                while let Some(route) = seq.next_element()? {
                    routes.push(route);
                }
                Ok(Routes(routes))
            }
        }

        deserializer.deserialize_seq(RoutesVisitor)
    }
}

/// An app or service name.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Name(pub String);

pub(crate) const NAME_PATTERN: &str = "^[a-z][a-z0-9-]{0,62}$";

/// Checks an app or service name: lowercase letters, digits and `-`,
/// starting with a letter, at most 63 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let valid = name.len() <= 63
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "expected a name like \"my-app\" (lowercase letters, digits and \"-\", \
             starting with a letter, at most 63 characters), got {name:?}"
        ))
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, "a name like \"my-app\"", |name| {
            check_name(&name).map(|()| Name(name))
        })
    }
}

impl JsonSchema for Name {
    fn schema_name() -> Cow<'static, str> {
        "Name".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": NAME_PATTERN,
            "description": "Lowercase letters, digits and \"-\", starting with a letter, at most 63 characters.",
        })
    }
}

/// The `source` of a service: a relative path to a `.wasm` component or a
/// JavaScript entry file (`.js`, `.mjs`, `.cjs`).
pub(crate) struct Source(pub PathBuf);

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, "a path to a .wasm or .js file", |source| {
            let path = Path::new(&source);
            if source.is_empty() {
                Err("expected a path to a .wasm or .js file, got \"\"".to_owned())
            } else if path.is_absolute()
                || source.starts_with(['/', '\\'])
                || matches!(path.components().next(), Some(Component::Prefix(_)))
            {
                Err(format!(
                    "expected a path relative to the manifest's folder, got {source:?}"
                ))
            } else if Runtime::of(path).is_none() {
                Err(format!(
                    "expected a WebAssembly component (.wasm) or a JavaScript file \
                     (.js, .mjs, .cjs), got {source:?}"
                ))
            } else {
                Ok(Source(PathBuf::from(source)))
            }
        })
    }
}

impl JsonSchema for Source {
    fn schema_name() -> Cow<'static, str> {
        "Source".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[^/\\\\].*\\.(wasm|js|mjs|cjs)$",
            "description": "Path of a WebAssembly component (.wasm) or of a JavaScript service's entry file (.js, .mjs, .cjs), relative to the manifest's folder.",
        })
    }
}

/// A route pattern as written in the manifest.
pub(crate) struct RoutePattern(pub Route);

impl<'de> Deserialize<'de> for RoutePattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, "a route like \"/hello\"", |text| {
            Route::parse(&text).map(RoutePattern)
        })
    }
}

impl JsonSchema for RoutePattern {
    fn schema_name() -> Cow<'static, str> {
        "Route".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^((localhost|[a-z0-9-]+(\\.[a-z0-9-]+)+)(:[0-9]+)?)?(/[^*?#\\s]*|(/[^*?#\\s]*)?/\\*)$",
            "description": "\"/path\", \"/path/*\" (everything under /path), \"/*\" (everything), optionally prefixed with a host: \"api.example.com/v1/*\".",
            "examples": ["/hello", "/hello/*", "api.example.com/v1/*"],
        })
    }
}

/// The name of an environment variable.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EnvKey(pub String);

impl<'de> Deserialize<'de> for EnvKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, "an environment variable name", |key| {
            check_identifier(&key, "an environment variable name like \"API_KEY\"")
                .map(|()| EnvKey(key))
        })
    }
}

/// Letters, digits and `_`, not starting with a digit, at most 128 bytes:
/// the names of environment variables, bindings and secrets.
fn check_identifier(text: &str, expected: &str) -> Result<(), String> {
    let mut bytes = text.bytes();
    let valid = text.len() <= 128
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "expected {expected} (letters, digits and \"_\", not starting with a digit, \
             at most 128 characters), got {text:?}"
        ))
    }
}

/// Checks the name of a secret (`mote secret set APP NAME`, and
/// `{ secret = "NAME" }` in a manifest): letters, digits and `_`, not starting
/// with a digit, at most 128 characters.
pub fn check_secret_name(name: &str) -> Result<(), String> {
    check_identifier(name, "a secret name like \"slack_token\"")
}

impl JsonSchema for EnvKey {
    fn schema_name() -> Cow<'static, str> {
        "EnvKey".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        })
    }
}

/// Renders a value of a number or string for messages: `5` or `"lots"`.
#[derive(Clone, Copy)]
enum Got<'a> {
    Int(i128),
    Str(&'a str),
}

impl fmt::Display for Got<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Int(n) => write!(f, "{n}"),
            Got::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A size in bytes, greater than zero: a number of bytes or a string like
/// "64MiB".
pub(crate) struct Size(pub u64);

impl Size {
    fn check(value: Got<'_>) -> Result<u64, String> {
        let bytes = match value {
            Got::Int(n) => u64::try_from(n).ok(),
            Got::Str(s) => Some(parse_size(s)?),
        };
        match bytes {
            Some(0) | None => Err(format!("must be greater than zero, got {value}")),
            Some(bytes) => Ok(bytes),
        }
    }
}

/// A visitor for integers or strings; `check` makes the value.
struct IntOrStr<F> {
    expecting: &'static str,
    check: F,
}

impl<'de, T, F> Visitor<'de> for IntOrStr<F>
where
    F: FnOnce(Got<'_>) -> Result<T, String>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.check)(Got::Int(v.into())).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.check)(Got::Int(v.into())).map_err(E::custom)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<T, E> {
        (self.check)(Got::Int(v)).map_err(E::custom)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<T, E> {
        let v = i128::try_from(v).unwrap_or(i128::MAX);
        (self.check)(Got::Int(v)).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.check)(Got::Str(v)).map_err(E::custom)
    }
}

const SIZE_EXPECTING: &str = "a size like \"64MiB\" or a number of bytes";

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntOrStr {
            expecting: SIZE_EXPECTING,
            check: |value: Got<'_>| Size::check(value).map(Size),
        })
    }
}

fn size_schema(min_bytes: u64, max_bytes: Option<u64>) -> Schema {
    let mut integer = json_schema!({ "type": "integer", "minimum": min_bytes });
    if let Some(max) = max_bytes {
        integer.insert("maximum".into(), max.into());
    }
    json_schema!({
        "description": "A number of bytes, or a string with a unit: B, KB, MB, GB (powers of 1000), KiB, MiB, GiB (powers of 1024).",
        "anyOf": [
            integer,
            { "type": "string", "pattern": SIZE_PATTERN },
        ],
        "examples": ["64MiB", "512KiB", "10MB"],
    })
}

const SIZE_PATTERN: &str = "^[0-9]+ *([KkMmGgTt][Ii]?[Bb]|[Bb])?$";

impl JsonSchema for Size {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        size_schema(1, None)
    }
}

pub(crate) const MIN_MEMORY: u64 = 1 << 20;
pub(crate) const MAX_MEMORY: u64 = 4 << 30;

/// The memory limit: a [`Size`] between 1MiB and 4GiB.
pub(crate) struct MemorySize(pub u64);

impl<'de> Deserialize<'de> for MemorySize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntOrStr {
            expecting: SIZE_EXPECTING,
            check: |value: Got<'_>| {
                let bytes = Size::check(value)?;
                if bytes < MIN_MEMORY {
                    Err(format!("must be at least 1MiB, got {value}"))
                } else if bytes > MAX_MEMORY {
                    Err(format!("must be at most 4GiB, got {value}"))
                } else {
                    Ok(MemorySize(bytes))
                }
            },
        })
    }
}

impl JsonSchema for MemorySize {
    fn schema_name() -> Cow<'static, str> {
        "MemorySize".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        size_schema(MIN_MEMORY, Some(MAX_MEMORY))
    }
}

/// A duration greater than zero, written with a unit: "250ms".
pub(crate) struct PositiveDuration(pub Duration);

impl<'de> Deserialize<'de> for PositiveDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntOrStr {
            expecting: "a duration like \"250ms\"",
            check: |value: Got<'_>| match value {
                Got::Int(_) => Err(format!("expected a duration like \"250ms\", got {value}")),
                Got::Str(text) => match parse_duration(text)? {
                    Duration::ZERO => Err(format!("must be greater than zero, got {value}")),
                    duration => Ok(PositiveDuration(duration)),
                },
            },
        })
    }
}

impl JsonSchema for PositiveDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[0-9]+ *(h|m|s|ms|us|µs|ns)$",
            "description": "A whole number with a unit: h, m, s, ms, us, ns.",
            "examples": ["250ms", "2s", "1m"],
        })
    }
}

/// Deserializes a whole number of requests between `min` and `max`.
fn count<'de, D: Deserializer<'de>>(deserializer: D, min: u32, max: u32) -> Result<u32, D::Error> {
    struct CountVisitor {
        min: u32,
        max: u32,
    }

    impl CountVisitor {
        fn below(&self, got: impl fmt::Display) -> String {
            if self.min == 0 {
                format!("must not be negative, got {got}")
            } else {
                format!("must be at least {}, got {got}", self.min)
            }
        }
    }

    impl Visitor<'_> for CountVisitor {
        type Value = u32;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number of requests")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::custom(self.below(v))),
            }
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
            match u32::try_from(v) {
                Ok(n) if n < self.min => Err(E::custom(self.below(v))),
                Ok(n) if n <= self.max => Ok(n),
                _ => Err(E::custom(format!("must be at most {}, got {v}", self.max))),
            }
        }
    }

    deserializer.deserialize_any(CountVisitor { min, max })
}

fn count_schema(min: u32, max: u32) -> Schema {
    json_schema!({
        "type": "integer",
        "minimum": min,
        "maximum": max,
    })
}

/// The concurrency limit: an integer of at least 1.
pub(crate) struct Concurrency(pub u32);

impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        count(deserializer, 1, u32::MAX).map(Concurrency)
    }
}

impl JsonSchema for Concurrency {
    fn schema_name() -> Cow<'static, str> {
        "Concurrency".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        count_schema(1, u32::MAX)
    }
}

pub(crate) const MAX_QUEUE: u32 = 10_000;

/// The queue limit: an integer from 0 to 10000.
pub(crate) struct Queue(pub u32);

impl<'de> Deserialize<'de> for Queue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        count(deserializer, 0, MAX_QUEUE).map(Queue)
    }
}

impl JsonSchema for Queue {
    fn schema_name() -> Cow<'static, str> {
        "Queue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        count_schema(0, MAX_QUEUE)
    }
}

pub(crate) const MAX_SUBREQUESTS: u32 = 1_000;

/// The subrequests limit: an integer from 0 to 1000.
pub(crate) struct Subrequests(pub u32);

impl<'de> Deserialize<'de> for Subrequests {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        count(deserializer, 0, MAX_SUBREQUESTS).map(Subrequests)
    }
}

impl JsonSchema for Subrequests {
    fn schema_name() -> Cow<'static, str> {
        "Subrequests".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        count_schema(0, MAX_SUBREQUESTS)
    }
}

pub(crate) const MAX_LOG: u64 = 1 << 20;

/// The log limit: a size from 0 to 1MiB (zero keeps no output).
pub(crate) struct LogSize(pub u64);

impl<'de> Deserialize<'de> for LogSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntOrStr {
            expecting: SIZE_EXPECTING,
            check: |value: Got<'_>| {
                let bytes = match value {
                    Got::Int(n) if n < 0 => {
                        return Err(format!("must not be negative, got {value}"));
                    }
                    Got::Int(n) => u64::try_from(n).unwrap_or(u64::MAX),
                    Got::Str(s) => parse_size(s)?,
                };
                if bytes > MAX_LOG {
                    Err(format!(
                        "must be at most {}, got {value}",
                        format_size(MAX_LOG)
                    ))
                } else {
                    Ok(LogSize(bytes))
                }
            },
        })
    }
}

impl JsonSchema for LogSize {
    fn schema_name() -> Cow<'static, str> {
        "LogSize".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        size_schema(0, Some(MAX_LOG))
    }
}

/// The name of a secret.
pub(crate) struct SecretName(pub String);

impl<'de> Deserialize<'de> for SecretName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(deserializer, "a secret name", |name| {
            check_secret_name(&name).map(|()| SecretName(name))
        })
    }
}

impl JsonSchema for SecretName {
    fn schema_name() -> Cow<'static, str> {
        "SecretName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,127}$",
            "description": "A secret set on the node with `mote secret set APP NAME`.",
        })
    }
}

/// An `outbound` entry.
pub(crate) struct OriginText(pub Origin);

impl<'de> Deserialize<'de> for OriginText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        checked_string(
            deserializer,
            "an origin like \"https://api.example.com\"",
            |text| Origin::parse(&text).map(OriginText),
        )
    }
}

impl JsonSchema for OriginText {
    fn schema_name() -> Cow<'static, str> {
        "Origin".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^https?://[^/?#@]+/?$",
            "description": "Scheme, host and optional port: \"https://api.example.com\", \"https://*.example.com\" (any subdomain), \"http://127.0.0.1:9000\".",
            "examples": ["https://hooks.slack.com", "https://*.example.com", "http://127.0.0.1:9000"],
        })
    }
}
