//! Origins a service may send requests to: `https://hooks.slack.com`,
//! `http://127.0.0.1:9000`, `https://*.example.com`.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// An entry of a service's `outbound` list: a scheme, a host (a name, a
/// wildcard over a domain's subdomains, or an IP address) and an optional
/// port.
///
/// Written like `https://api.example.com`, `https://*.example.com`,
/// `http://127.0.0.1:9000` or `http://[::1]:8080`: no path, query, fragment or
/// user information (a single trailing `/` is accepted and dropped). Names are
/// kept lowercase and without a trailing dot, and a port equal to the scheme's
/// default is dropped, so [`Display`](fmt::Display) gives the canonical form
/// (`HTTPS://Example.COM:443/` displays as `https://example.com`).
/// Serializes as that text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub scheme: Scheme,
    pub host: HostPattern,
    /// The port, when written and not the scheme's default; `None` means the
    /// scheme's default port (80 or 443), and only that.
    pub port: Option<u16>,
}

/// The scheme of an [`Origin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The host part of an [`Origin`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// A DNS name, lowercase, without a trailing dot: `api.example.com`.
    Name(String),
    /// `*.example.com`, stored as `example.com`: any subdomain at any depth
    /// (`a.example.com`, `a.b.example.com`), but not `example.com` itself.
    Wildcard(String),
    /// An IP address: `127.0.0.1`, or `[::1]` as written.
    Ip(IpAddr),
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Name(name) => f.write_str(name),
            HostPattern::Wildcard(domain) => write!(f, "*.{domain}"),
            HostPattern::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

const EXPECTED: &str =
    "expected an origin like \"https://api.example.com\" (scheme, host, optional port; no path)";

impl Origin {
    /// Parses an origin; the error is a readable message that quotes `text`
    /// and says what is wrong with it.
    pub fn parse(text: &str) -> Result<Origin, String> {
        parse_origin(text).map_err(|why| format!("{EXPECTED}, got {text:?}: {why}"))
    }

    /// Whether a request to `scheme://host:port` is allowed by this entry.
    ///
    /// `host` is compared case-insensitively and a trailing dot is ignored;
    /// `port` is the request's port with the scheme's default filled in. A
    /// host that is an IP address (`127.0.0.1`, `::1` or `[::1]`) matches
    /// only an [`HostPattern::Ip`] entry with the same address, never a name
    /// or a wildcard.
    pub fn matches(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        if scheme != self.scheme || port != self.port.unwrap_or(scheme.default_port()) {
            return false;
        }
        let host = host.strip_suffix('.').unwrap_or(host);
        let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let ip = match bracketed {
            Some(inner) => match inner.parse::<Ipv6Addr>() {
                Ok(ip) => Some(IpAddr::V6(ip)),
                Err(_) => return false,
            },
            None => host.parse::<IpAddr>().ok(),
        };
        match (&self.host, ip) {
            (HostPattern::Ip(allowed), Some(ip)) => *allowed == ip,
            (_, Some(_)) | (HostPattern::Ip(_), None) => false,
            (HostPattern::Name(name), None) => host.eq_ignore_ascii_case(name),
            (HostPattern::Wildcard(domain), None) => {
                // `host` is `<something>.<domain>`, compared as bytes so that
                // a non-ASCII host cannot split a character.
                let (host, domain) = (host.as_bytes(), domain.as_bytes());
                host.len() > domain.len() + 1
                    && host[host.len() - domain.len() - 1] == b'.'
                    && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
            }
        }
    }

    /// Whether this entry is exactly the address `ip` (an
    /// [`HostPattern::Ip`] entry): listing an address is how a service is
    /// allowed to reach a private or loopback address.
    pub fn names_address(&self, ip: IpAddr) -> bool {
        self.host == HostPattern::Ip(ip)
    }
}

fn parse_origin(text: &str) -> Result<Origin, String> {
    if text.is_empty() {
        return Err("it is empty".to_owned());
    }
    if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("character {c:?} is not allowed"));
    }
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err("the scheme is missing; start with \"https://\" or \"http://\"".to_owned());
    };
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        Scheme::Https
    } else if scheme.eq_ignore_ascii_case("http") {
        Scheme::Http
    } else {
        return Err(format!(
            "unknown scheme {scheme:?}; use \"https\" or \"http\""
        ));
    };

    // The authority ends at the first "/", "?" or "#"; only a lone "/" may follow.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if !tail.is_empty() && tail != "/" {
        let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
        let what = if !matches!(&tail[..path_end], "" | "/") {
            "a path"
        } else if tail[path_end..].starts_with('?') {
            "a query"
        } else {
            "a fragment"
        };
        return Err(format!(
            "{what} ({tail:?}) is not allowed; an origin ends after the host and port"
        ));
    }
    if authority.contains('@') {
        return Err("user information (before \"@\") is not allowed".to_owned());
    }

    let (host, port) = split_host_port(authority)?;
    let port = match port {
        None => None,
        Some(port) => {
            let number = port
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| port.parse::<u16>().ok())
                .flatten()
                .filter(|&p| p != 0);
            let Some(number) = number else {
                return Err(format!(
                    "invalid port {port:?}; expected a number from 1 to 65535"
                ));
            };
            (number != scheme.default_port()).then_some(number)
        }
    };
    Ok(Origin { scheme, host, port })
}

/// Splits `host[:port]` or `[v6][:port]`, parsing the host.
fn split_host_port(authority: &str) -> Result<(HostPattern, Option<&str>), String> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((inner, after)) = bracketed.split_once(']') else {
            return Err("the IPv6 address has no closing \"]\"".to_owned());
        };
        let ip = inner
            .parse::<Ipv6Addr>()
            .map_err(|_| format!("invalid IPv6 address {inner:?}"))?;
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err(format!("unexpected {after:?} after the IPv6 address")),
            },
        };
        return Ok((HostPattern::Ip(IpAddr::V6(ip)), port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if port.is_some_and(|port| port.contains(':')) {
        return Err(
            "an IPv6 address must be written in brackets, like \"http://[::1]:8080\"".to_owned(),
        );
    }
    Ok((parse_host(host)?, port))
}

fn parse_host(host: &str) -> Result<HostPattern, String> {
    if host.is_empty() {
        return Err("the host is empty".to_owned());
    }
    if !host.is_ascii() {
        return Err(format!(
            "host {host:?} is not ASCII; write an international name in its \"xn--\" form"
        ));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(HostPattern::Ip(IpAddr::V4(ip)));
    }
    if host.contains('*') {
        return match host.strip_prefix("*.") {
            _ if host == "*" => Err(
                "\"*\" alone would allow every host; write a wildcard under a domain, \
                 like \"*.example.com\""
                    .to_owned(),
            ),
            Some("" | ".") => {
                Err("\"*.\" must be followed by a domain, like \"*.example.com\"".to_owned())
            }
            Some(domain) if !domain.contains('*') => check_name(domain).map(HostPattern::Wildcard),
            _ => Err(format!(
                "in host {host:?}, \"*\" is only allowed as the whole first label, \
                 like \"*.example.com\""
            )),
        };
    }
    check_name(host).map(HostPattern::Name)
}

/// Checks a DNS name (ASCII letters, digits and "-" in dot-separated labels)
/// and returns it lowercase, without a trailing dot.
fn check_name(name: &str) -> Result<String, String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() || trimmed.len() > 253 {
        return Err(format!("invalid host name {name:?}"));
    }
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(format!("host name {name:?} has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!(
                "host name {name:?} has a label longer than 63 characters"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return Err(format!(
                "character {c:?} is not allowed in host name {name:?}"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "a label of host name {name:?} starts or ends with \"-\""
            ));
        }
    }
    // A numeric last label makes it an IPv4 address (in some notation), and
    // every valid one was parsed before.
    let last = trimmed.rsplit('.').next().unwrap_or(trimmed);
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name:?} is not a valid IPv4 address or host name"));
    }
    Ok(trimmed.to_ascii_lowercase())
}

impl FromStr for Origin {
    type Err = String;

    fn from_str(text: &str) -> Result<Origin, String> {
        Origin::parse(text)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Origin, D::Error> {
        let text = <Cow<'de, str>>::deserialize(deserializer)?;
        Origin::parse(&text).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(scheme: Scheme, host: HostPattern, port: Option<u16>) -> Origin {
        Origin { scheme, host, port }
    }

    fn name(name: &str) -> HostPattern {
        HostPattern::Name(name.to_owned())
    }

    fn wildcard(domain: &str) -> HostPattern {
        HostPattern::Wildcard(domain.to_owned())
    }

    fn ip(ip: &str) -> HostPattern {
        HostPattern::Ip(ip.parse().unwrap())
    }

    #[test]
    fn parses_and_displays() {
        use Scheme::{Http, Https};
        // (text, parsed, canonical text)
        for (text, expected, canonical) in [
            (
                "https://hooks.slack.com",
                origin(Https, name("hooks.slack.com"), None),
                "https://hooks.slack.com",
            ),
            (
                "http://127.0.0.1:9000",
                origin(Http, ip("127.0.0.1"), Some(9000)),
                "http://127.0.0.1:9000",
            ),
            (
                "https://*.example.com",
                origin(Https, wildcard("example.com"), None),
                "https://*.example.com",
            ),
            (
                "http://[::1]:8080",
                origin(Http, ip("::1"), Some(8080)),
                "http://[::1]:8080",
            ),
            (
                "https://[2001:DB8::1]",
                origin(Https, ip("2001:db8::1"), None),
                "https://[2001:db8::1]",
            ),
            (
                "https://api.example.com/",
                origin(Https, name("api.example.com"), None),
                "https://api.example.com",
            ),
            (
                "HTTPS://API.Example.COM:443/",
                origin(Https, name("api.example.com"), None),
                "https://api.example.com",
            ),
            (
                "http://example.com:80",
                origin(Http, name("example.com"), None),
                "http://example.com",
            ),
            (
                "http://example.com:443",
                origin(Http, name("example.com"), Some(443)),
                "http://example.com:443",
            ),
            (
                "https://example.com.:8443",
                origin(Https, name("example.com"), Some(8443)),
                "https://example.com:8443",
            ),
            (
                "http://localhost:3000",
                origin(Http, name("localhost"), Some(3000)),
                "http://localhost:3000",
            ),
            (
                "https://*.A-b.example.com:65535",
                origin(Https, wildcard("a-b.example.com"), Some(65535)),
                "https://*.a-b.example.com:65535",
            ),
            (
                "https://xn--bcher-kva.example",
                origin(Https, name("xn--bcher-kva.example"), None),
                "https://xn--bcher-kva.example",
            ),
            (
                "https://1.example.com",
                origin(Https, name("1.example.com"), None),
                "https://1.example.com",
            ),
        ] {
            let parsed = Origin::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.to_string(), canonical, "{text}");
            assert_eq!(text.parse::<Origin>().as_ref(), Ok(&expected));
            assert_eq!(Origin::parse(canonical).as_ref(), Ok(&expected));
        }
    }

    #[test]
    fn rejects() {
        for (text, why) in [
            ("", "it is empty"),
            (
                "hooks.slack.com",
                "the scheme is missing; start with \"https://\" or \"http://\"",
            ),
            (
                "ftp://x",
                "unknown scheme \"ftp\"; use \"https\" or \"http\"",
            ),
            (
                "ws://example.com",
                "unknown scheme \"ws\"; use \"https\" or \"http\"",
            ),
            ("https://", "the host is empty"),
            ("https:///", "the host is empty"),
            ("https://:8080", "the host is empty"),
            (
                "https://example.com/v1",
                "a path (\"/v1\") is not allowed; an origin ends after the host and port",
            ),
            (
                "https://example.com//",
                "a path (\"//\") is not allowed; an origin ends after the host and port",
            ),
            (
                "https://example.com?a=1",
                "a query (\"?a=1\") is not allowed; an origin ends after the host and port",
            ),
            (
                "https://example.com/?a=1",
                "a query (\"/?a=1\") is not allowed; an origin ends after the host and port",
            ),
            (
                "https://example.com#top",
                "a fragment (\"#top\") is not allowed; an origin ends after the host and port",
            ),
            (
                "https://user:pw@example.com",
                "user information (before \"@\") is not allowed",
            ),
            (
                "https://example.com:",
                "invalid port \"\"; expected a number from 1 to 65535",
            ),
            (
                "https://example.com:0",
                "invalid port \"0\"; expected a number from 1 to 65535",
            ),
            (
                "https://example.com:65536",
                "invalid port \"65536\"; expected a number from 1 to 65535",
            ),
            (
                "https://example.com:+80",
                "invalid port \"+80\"; expected a number from 1 to 65535",
            ),
            (
                "https://example.com:http",
                "invalid port \"http\"; expected a number from 1 to 65535",
            ),
            (
                "http://::1:8080",
                "an IPv6 address must be written in brackets, like \"http://[::1]:8080\"",
            ),
            ("http://[::1", "the IPv6 address has no closing \"]\""),
            ("http://[127.0.0.1]", "invalid IPv6 address \"127.0.0.1\""),
            ("http://[::1]x", "unexpected \"x\" after the IPv6 address"),
            (
                "https://*",
                "\"*\" alone would allow every host; write a wildcard under a domain, like \"*.example.com\"",
            ),
            (
                "https://*example.com",
                "in host \"*example.com\", \"*\" is only allowed as the whole first label, like \"*.example.com\"",
            ),
            (
                "https://a*.example.com",
                "in host \"a*.example.com\", \"*\" is only allowed as the whole first label, like \"*.example.com\"",
            ),
            (
                "https://api.*.example.com",
                "in host \"api.*.example.com\", \"*\" is only allowed as the whole first label, like \"*.example.com\"",
            ),
            (
                "https://*.*.example.com",
                "in host \"*.*.example.com\", \"*\" is only allowed as the whole first label, like \"*.example.com\"",
            ),
            (
                "https://*.",
                "\"*.\" must be followed by a domain, like \"*.example.com\"",
            ),
            ("https://.", "invalid host name \".\""),
            ("https://a..com", "host name \"a..com\" has an empty label"),
            (
                "https://a_b.example.com",
                "character '_' is not allowed in host name \"a_b.example.com\"",
            ),
            (
                "https://-a.example.com",
                "a label of host name \"-a.example.com\" starts or ends with \"-\"",
            ),
            (
                "https://bücher.example",
                "host \"bücher.example\" is not ASCII; write an international name in its \"xn--\" form",
            ),
            (
                "http://127.1",
                "\"127.1\" is not a valid IPv4 address or host name",
            ),
            (
                "http://256.0.0.1",
                "\"256.0.0.1\" is not a valid IPv4 address or host name",
            ),
            (
                "http://2130706433",
                "\"2130706433\" is not a valid IPv4 address or host name",
            ),
            (
                "https://*.1.2.3",
                "\"1.2.3\" is not a valid IPv4 address or host name",
            ),
            ("https://exa mple.com", "character ' ' is not allowed"),
        ] {
            let expected = format!("{EXPECTED}, got {text:?}: {why}");
            assert_eq!(Origin::parse(text), Err(expected), "{text}");
        }
        assert_eq!(
            Origin::parse("ftp://x").unwrap_err(),
            "expected an origin like \"https://api.example.com\" (scheme, host, optional port; \
             no path), got \"ftp://x\": unknown scheme \"ftp\"; use \"https\" or \"http\""
        );
        let long_label = format!("https://{}.com", "a".repeat(64));
        assert!(
            Origin::parse(&long_label)
                .unwrap_err()
                .ends_with("has a label longer than 63 characters")
        );
    }

    #[test]
    fn matching() {
        use Scheme::{Http, Https};
        let o = |text: &str| Origin::parse(text).unwrap();
        // (entry, scheme, host, port, matches)
        for (entry, scheme, host, port, expected) in [
            // names: case and a trailing dot do not matter
            (
                "https://api.example.com",
                Https,
                "api.example.com",
                443,
                true,
            ),
            (
                "https://api.example.com",
                Https,
                "API.Example.Com",
                443,
                true,
            ),
            (
                "https://api.example.com",
                Https,
                "api.example.com.",
                443,
                true,
            ),
            ("https://api.example.com", Https, "example.com", 443, false),
            (
                "https://api.example.com",
                Https,
                "x.api.example.com",
                443,
                false,
            ),
            (
                "https://api.example.com",
                Https,
                "api.example.com.evil",
                443,
                false,
            ),
            // the scheme must match
            (
                "https://api.example.com",
                Http,
                "api.example.com",
                443,
                false,
            ),
            (
                "http://api.example.com",
                Https,
                "api.example.com",
                80,
                false,
            ),
            // no port: the scheme's default only
            (
                "https://api.example.com",
                Https,
                "api.example.com",
                8443,
                false,
            ),
            (
                "https://api.example.com",
                Https,
                "api.example.com",
                80,
                false,
            ),
            ("http://api.example.com", Http, "api.example.com", 80, true),
            (
                "http://api.example.com",
                Http,
                "api.example.com",
                443,
                false,
            ),
            // an explicit port: only that one
            (
                "https://api.example.com:8443",
                Https,
                "api.example.com",
                8443,
                true,
            ),
            (
                "https://api.example.com:8443",
                Https,
                "api.example.com",
                443,
                false,
            ),
            ("http://127.0.0.1:9000", Http, "127.0.0.1", 9000, true),
            ("http://127.0.0.1:9000", Http, "127.0.0.1", 9001, false),
            // wildcards: any depth below the domain, never the domain itself
            ("https://*.example.com", Https, "a.example.com", 443, true),
            (
                "https://*.example.com",
                Https,
                "a.b.c.example.com",
                443,
                true,
            ),
            ("https://*.example.com", Https, "A.EXAMPLE.com.", 443, true),
            ("https://*.example.com", Https, "example.com", 443, false),
            ("https://*.example.com", Https, ".example.com", 443, false),
            ("https://*.example.com", Https, "badexample.com", 443, false),
            (
                "https://*.example.com",
                Https,
                "example.com.evil.net",
                443,
                false,
            ),
            ("https://*.example.com", Https, "a.example.com", 8443, false),
            ("https://*.example.com", Http, "a.example.com", 80, false),
            ("https://*.example.com", Https, "ü.example.com", 443, true),
            ("https://*.example.com", Https, "é", 443, false),
            // IP hosts match only the same address
            ("http://127.0.0.1:9000", Http, "127.0.0.1.", 9000, true),
            ("http://127.0.0.1:9000", Http, "127.0.0.2", 9000, false),
            ("http://127.0.0.1:9000", Http, "localhost", 9000, false),
            ("http://localhost:9000", Http, "127.0.0.1", 9000, false),
            ("http://localhost:9000", Http, "localhost", 9000, true),
            ("http://[::1]:8080", Http, "[::1]", 8080, true),
            ("http://[::1]:8080", Http, "::1", 8080, true),
            ("http://[::1]:8080", Http, "[0:0::1]", 8080, true),
            ("http://[::1]:8080", Http, "[::2]", 8080, false),
            ("http://[::1]:8080", Http, "127.0.0.1", 8080, false),
            ("http://[::1]:8080", Http, "[::1", 8080, false),
            ("http://[::1]:8080", Http, "[127.0.0.1]", 8080, false),
            ("http://[::ffff:127.0.0.1]", Http, "127.0.0.1", 80, false),
        ] {
            let entry = o(entry);
            assert_eq!(
                entry.matches(scheme, host, port),
                expected,
                "{entry} vs {scheme}://{host}:{port}"
            );
        }
        // Entries that cannot be written still never let an IP host match a name.
        assert!(!origin(Https, wildcard("0.1"), None).matches(Https, "10.0.0.1", 443));
        assert!(!origin(Https, name("10.0.0.1"), None).matches(Https, "10.0.0.1", 443));
    }

    #[test]
    fn names_address() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let o = |text: &str| Origin::parse(text).unwrap();
        assert!(o("http://127.0.0.1:9000").names_address(loopback));
        assert!(!o("http://127.0.0.2:9000").names_address(loopback));
        assert!(!o("http://localhost:9000").names_address(loopback));
        assert!(!o("http://[::ffff:127.0.0.1]").names_address(loopback));
        assert!(o("http://[::1]").names_address("::1".parse().unwrap()));
    }

    #[test]
    fn serde_as_text() {
        let entries: Vec<Origin> = serde_json::from_str(
            r#"["https://hooks.slack.com/", "http://127.0.0.1:9000", "https://*.example.com"]"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&entries).unwrap(),
            r#"["https://hooks.slack.com","http://127.0.0.1:9000","https://*.example.com"]"#
        );
        let error = serde_json::from_str::<Origin>(r#""ftp://x""#).unwrap_err();
        assert!(
            error.to_string().contains("unknown scheme \"ftp\""),
            "{error}"
        );
    }
}
