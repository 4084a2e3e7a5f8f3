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

use crate::units::{parse_duration, parse_size};
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

/// The concurrency limit: an integer of at least 1.
pub(crate) struct Concurrency(pub u32);

impl<'de> Deserialize<'de> for Concurrency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Concurrency;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of requests")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Concurrency, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!("must be at least 1, got {v}"))),
                }
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Concurrency, E> {
                match u32::try_from(v) {
                    Ok(0) => Err(E::custom("must be at least 1, got 0")),
                    Ok(v) => Ok(Concurrency(v)),
                    Err(_) => Err(E::custom(format!("must be at most {}, got {v}", u32::MAX))),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for Concurrency {
    fn schema_name() -> Cow<'static, str> {
        "Concurrency".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": u32::MAX,
        })
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
