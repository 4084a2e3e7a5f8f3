//! Route patterns: `/hello`, `/hello/*`, `/*`, `api.example.com/v1/*`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A route pattern of a service.
///
/// Written as an optional host followed by a path starting with `/`, with an
/// optional trailing `/*` wildcard: `/hello` matches exactly `/hello`,
/// `/hello/*` is a wildcard under `/hello`, `/*` matches everything, and
/// `api.example.com/v1/*` does the same for requests to that host only.
/// [`Display`](fmt::Display) gives the written form back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Route {
    /// Host (with an optional `:port`) the route is restricted to, lowercase.
    pub host: Option<String>,
    /// The path, starting with `/`, without the `/*` wildcard: `/hello` for
    /// both `/hello` and `/hello/*`, and `/` for `/*`.
    pub path: String,
    /// Whether the pattern ends with the `/*` wildcard.
    pub wildcard: bool,
}

impl Route {
    /// Parses a route pattern; the error is a readable message.
    pub fn parse(text: &str) -> Result<Route, String> {
        if text.is_empty() {
            return Err("a route must not be empty".to_owned());
        }
        if text.contains("://") {
            return Err(format!(
                "route {text:?}: write the host without a scheme, e.g. \"api.example.com/v1\""
            ));
        }
        let (host, pattern) = match text.find('/') {
            Some(0) => (None, text),
            Some(slash) => (Some(&text[..slash]), &text[slash..]),
            None => (Some(text), ""),
        };
        if let Some(host) = host
            && (pattern.is_empty() || !looks_like_host(host))
        {
            return Err(format!(
                "route {text:?} must start with \"/\" or with a host like \"api.example.com\" \
                 (did you mean \"/{text}\"?)"
            ));
        }
        if let Some(host) = host {
            check_host(host).map_err(|why| format!("route {text:?}: {why}"))?;
        }
        // Check the pattern without the wildcard's `*` so that `//*` is caught.
        let wildcard = pattern.ends_with("/*");
        let checked = if wildcard {
            &pattern[..pattern.len() - 1]
        } else {
            pattern
        };
        check_path(checked).map_err(|why| format!("route {text:?}: {why}"))?;
        let path = match checked {
            "/" => "/",
            _ if wildcard => &checked[..checked.len() - 1],
            _ => checked,
        };
        Ok(Route {
            host: host.map(str::to_owned),
            path: path.to_owned(),
            wildcard,
        })
    }
}

impl FromStr for Route {
    type Err = String;

    fn from_str(text: &str) -> Result<Route, String> {
        Route::parse(text)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(host) = &self.host {
            f.write_str(host)?;
        }
        match (self.wildcard, self.path.as_str()) {
            (true, "/") => f.write_str("/*"),
            (true, path) => write!(f, "{path}/*"),
            (false, path) => f.write_str(path),
        }
    }
}

/// A cheap test that tells hosts from a forgotten leading slash (`hello/*`):
/// a host has a dot (`api.example.com`, `127.0.0.1`) or is `localhost`.
fn looks_like_host(host: &str) -> bool {
    let name = host.split_once(':').map_or(host, |(name, _)| name);
    name.contains('.') || name.eq_ignore_ascii_case("localhost")
}

fn check_host(host: &str) -> Result<(), String> {
    if host.contains('*') {
        return Err("\"*\" is only allowed as a trailing \"/*\"".to_owned());
    }
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    if let Some(port) = port
        && !(port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|p| p != 0))
    {
        return Err(format!("invalid port {port:?} in host {host:?}"));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("host {host:?} must be lowercase"));
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!("invalid host {host:?}"));
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), String> {
    debug_assert!(path.starts_with('/'));
    if path.contains('*') {
        return Err("\"*\" is only allowed as a trailing \"/*\"".to_owned());
    }
    if let Some(c) = path
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == '?' || *c == '#')
    {
        return Err(format!("character {c:?} is not allowed in a path"));
    }
    if path.contains("//") {
        return Err("empty path segment (\"//\")".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(host: Option<&str>, path: &str, wildcard: bool) -> Route {
        Route {
            host: host.map(str::to_owned),
            path: path.to_owned(),
            wildcard,
        }
    }

    #[test]
    fn parses_and_displays() {
        for (text, expected) in [
            ("/", route(None, "/", false)),
            ("/*", route(None, "/", true)),
            ("/hello", route(None, "/hello", false)),
            ("/hello/", route(None, "/hello/", false)),
            ("/hello/*", route(None, "/hello", true)),
            ("/a/b-c/d.txt", route(None, "/a/b-c/d.txt", false)),
            (
                "api.example.com/v1/*",
                route(Some("api.example.com"), "/v1", true),
            ),
            (
                "api.example.com/",
                route(Some("api.example.com"), "/", false),
            ),
            ("example.com/*", route(Some("example.com"), "/", true)),
            (
                "localhost:8080/x",
                route(Some("localhost:8080"), "/x", false),
            ),
            ("127.0.0.1/x", route(Some("127.0.0.1"), "/x", false)),
        ] {
            let parsed = Route::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.to_string(), text);
            assert_eq!(text.parse::<Route>().as_ref(), Ok(&expected));
        }
    }

    #[test]
    fn rejects() {
        for (text, message) in [
            ("", "a route must not be empty"),
            (
                "hello",
                "route \"hello\" must start with \"/\" or with a host like \"api.example.com\" (did you mean \"/hello\"?)",
            ),
            (
                "hello/*",
                "route \"hello/*\" must start with \"/\" or with a host like \"api.example.com\" (did you mean \"/hello/*\"?)",
            ),
            (
                "example.com",
                "route \"example.com\" must start with \"/\" or with a host like \"api.example.com\" (did you mean \"/example.com\"?)",
            ),
            (
                "/a/*/b",
                "route \"/a/*/b\": \"*\" is only allowed as a trailing \"/*\"",
            ),
            (
                "/a*",
                "route \"/a*\": \"*\" is only allowed as a trailing \"/*\"",
            ),
            (
                "/a/**",
                "route \"/a/**\": \"*\" is only allowed as a trailing \"/*\"",
            ),
            (
                "*.example.com/",
                "route \"*.example.com/\": \"*\" is only allowed as a trailing \"/*\"",
            ),
            (
                "https://example.com/",
                "route \"https://example.com/\": write the host without a scheme, e.g. \"api.example.com/v1\"",
            ),
            (
                "API.example.com/",
                "route \"API.example.com/\": host \"API.example.com\" must be lowercase",
            ),
            (
                "a_b.example.com/",
                "route \"a_b.example.com/\": invalid host \"a_b.example.com\"",
            ),
            ("a..com/", "route \"a..com/\": invalid host \"a..com\""),
            (
                "example.com:0/",
                "route \"example.com:0/\": invalid port \"0\" in host \"example.com:0\"",
            ),
            (
                "example.com:99999/",
                "route \"example.com:99999/\": invalid port \"99999\" in host \"example.com:99999\"",
            ),
            (
                "/a b",
                "route \"/a b\": character ' ' is not allowed in a path",
            ),
            (
                "/a?b=c",
                "route \"/a?b=c\": character '?' is not allowed in a path",
            ),
            ("/a//b", "route \"/a//b\": empty path segment (\"//\")"),
            ("//*", "route \"//*\": empty path segment (\"//\")"),
        ] {
            assert_eq!(Route::parse(text), Err(message.to_owned()), "{text}");
        }
    }
}
