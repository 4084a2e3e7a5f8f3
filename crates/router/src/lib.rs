//! Mote's route table: (host, path) -> target. Pure: no I/O, no async.
//!
//! A [`Pattern`] is a path, optionally ending in the wildcard `/*`, optionally
//! bound to one host. Lookup picks, in order of precedence:
//!
//! 1. routes bound to the request's host before routes for any host;
//! 2. an exact path before a wildcard;
//! 3. the longest wildcard prefix.
//!
//! `/api/*` matches `/api`, `/api/` and `/api/v1/x`, but not `/apix`; `/*`
//! matches every path. Hosts compare case-insensitively and without port.
//!
//! ```
//! use mote_router::{Pattern, RouteTable};
//! let mut table = RouteTable::new();
//! table.insert(Pattern::parse("/hello").unwrap(), "hello").unwrap();
//! table.insert(Pattern::parse("/api/*").unwrap(), "api").unwrap();
//! table.insert(Pattern::parse("admin.example.com/*").unwrap(), "admin").unwrap();
//! assert_eq!(table.lookup("localhost:8080", "/api/users"), Some(&"api"));
//! assert_eq!(table.lookup("ADMIN.example.com", "/hello"), Some(&"admin"));
//! assert_eq!(table.lookup("localhost", "/nope"), None);
//! ```

use std::fmt;

/// A route pattern: optional host, path, optional trailing wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern {
    host: Option<String>,
    /// Without the trailing `/*`; `""` for the catch-all `/*`.
    path: String,
    wildcard: bool,
}

/// Why a route pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The path does not start with `/`.
    #[error("a route's path must start with \"/\", got \"{0}\"")]
    NoLeadingSlash(String),
    /// `*` appears somewhere other than a trailing `/*`.
    #[error("\"*\" is only allowed as a trailing \"/*\", got \"{0}\"")]
    MisplacedWildcard(String),
    /// The host part is empty or has characters a host cannot have.
    #[error("invalid host \"{0}\"")]
    BadHost(String),
}

impl Pattern {
    /// Build a pattern from its parts (`path` without the trailing `/*`).
    pub fn new(host: Option<&str>, path: &str, wildcard: bool) -> Result<Self, PatternError> {
        let shown = || {
            format!(
                "{}{}{}",
                host.unwrap_or(""),
                path,
                if wildcard { "/*" } else { "" }
            )
        };
        let catch_all = path.is_empty() && wildcard;
        if !catch_all && !path.starts_with('/') {
            return Err(PatternError::NoLeadingSlash(shown()));
        }
        if path.contains('*') {
            return Err(PatternError::MisplacedWildcard(shown()));
        }
        let host = match host {
            None => None,
            Some(h) => {
                let ok = !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
                if !ok {
                    return Err(PatternError::BadHost(h.to_string()));
                }
                Some(strip_port(h).to_ascii_lowercase())
            }
        };
        let path = path.strip_suffix('/').filter(|_| wildcard).unwrap_or(path);
        Ok(Pattern {
            host,
            path: path.to_string(),
            wildcard,
        })
    }

    /// Parse `"/path"`, `"/path/*"`, `"/*"` or `"host/path..."`.
    pub fn parse(s: &str) -> Result<Self, PatternError> {
        let (host, rest) = match s.find('/') {
            Some(0) => (None, s),
            Some(i) => (Some(&s[..i]), &s[i..]),
            None => return Err(PatternError::NoLeadingSlash(s.to_string())),
        };
        let (path, wildcard) = match rest.strip_suffix("/*") {
            Some(p) => (p, true),
            None => (rest, false),
        };
        Self::new(host, path, wildcard)
    }

    /// The host this route is bound to, if any.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    fn matches_path(&self, path: &str) -> bool {
        if !self.wildcard {
            return path == self.path;
        }
        match path.strip_prefix(self.path.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(h) = &self.host {
            f.write_str(h)?;
        }
        f.write_str(&self.path)?;
        if self.wildcard {
            f.write_str("/*")?;
        }
        Ok(())
    }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Two targets claim the same pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route \"{pattern}\" is already taken")]
pub struct Conflict<T> {
    /// The contested pattern.
    pub pattern: Pattern,
    /// Who holds it.
    pub existing: T,
}

/// The route table. Inserting, removing and looking up cost the same
/// whatever the number of routes (a node may hold tens of thousands):
/// patterns are indexed by their exact path and by their wildcard prefix.
/// The indexes are persistent maps (`imbl`), so a clone costs O(1) and
/// shares everything with the original until one of them changes: a
/// deploy derives the node's next table from the live one by changing one
/// app's routes, not by rebuilding every app's.
#[derive(Debug, Clone)]
pub struct RouteTable<T: Clone> {
    /// Pattern -> target.
    targets: imbl::HashMap<Pattern, T>,
    /// Path of an exact pattern -> the patterns with that path (one per host).
    exact: imbl::HashMap<String, Vec<Pattern>>,
    /// Prefix of a wildcard pattern (`""` for `/*`) -> its patterns.
    wildcards: imbl::HashMap<String, Vec<Pattern>>,
}

impl<T: Clone> Default for RouteTable<T> {
    fn default() -> Self {
        RouteTable {
            targets: imbl::HashMap::new(),
            exact: imbl::HashMap::new(),
            wildcards: imbl::HashMap::new(),
        }
    }
}

impl<T: Clone> RouteTable<T> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn index_of(&mut self, pattern: &Pattern) -> &mut imbl::HashMap<String, Vec<Pattern>> {
        if pattern.wildcard {
            &mut self.wildcards
        } else {
            &mut self.exact
        }
    }

    /// Add a route; an identical pattern already present is a [`Conflict`].
    pub fn insert(&mut self, pattern: Pattern, target: T) -> Result<(), Conflict<T>> {
        if let Some(existing) = self.targets.get(&pattern) {
            return Err(Conflict {
                pattern,
                existing: existing.clone(),
            });
        }
        self.index_of(&pattern)
            .entry(pattern.path.clone())
            .or_default()
            .push(pattern.clone());
        self.targets.insert(pattern, target);
        Ok(())
    }

    /// Remove a route, returning its target.
    pub fn remove(&mut self, pattern: &Pattern) -> Option<T> {
        let target = self.targets.remove(pattern)?;
        let index = self.index_of(pattern);
        if let Some(bucket) = index.get_mut(&pattern.path) {
            bucket.retain(|p| p != pattern);
            if bucket.is_empty() {
                index.remove(&pattern.path);
            }
        }
        Some(target)
    }

    /// The target of exactly this pattern, if it is in the table.
    pub fn get(&self, pattern: &Pattern) -> Option<&T> {
        self.targets.get(pattern)
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Every route and its target, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Pattern, &T)> {
        self.targets.iter()
    }

    /// The target for a request's `Host` header (or URI authority) and path.
    pub fn lookup(&self, host: &str, path: &str) -> Option<&T> {
        let host = strip_port(host);
        // The wildcard prefixes that can match: "" (`/*`), the path itself,
        // and the path cut before each of its '/' (`/a/b` -> `/a`).
        let prefixes = std::iter::once("")
            .chain(
                path.match_indices('/')
                    .map(|(i, _)| &path[..i])
                    .filter(|p| !p.is_empty()),
            )
            .chain(std::iter::once(path));
        let candidates = self
            .exact
            .get(path)
            .into_iter()
            .flatten()
            .chain(prefixes.filter_map(|p| self.wildcards.get(p)).flatten());
        candidates
            .filter(|p| match &p.host {
                Some(h) => h.eq_ignore_ascii_case(host),
                None => true,
            })
            .filter(|p| p.matches_path(path))
            .max_by_key(|p| (p.host.is_some(), !p.wildcard, p.path.len()))
            .and_then(|p| self.targets.get(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, &'static str)]) -> RouteTable<&'static str> {
        let mut t = RouteTable::new();
        for (p, target) in routes {
            t.insert(Pattern::parse(p).unwrap(), *target).unwrap();
        }
        t
    }

    #[test]
    fn precedence() {
        let t = table(&[
            ("/*", "catchall"),
            ("/api/*", "api"),
            ("/api/v1/*", "v1"),
            ("/api/health", "health"),
            ("example.com/api/*", "host-api"),
        ]);
        assert_eq!(t.lookup("x", "/"), Some(&"catchall"));
        assert_eq!(t.lookup("x", "/apix"), Some(&"catchall"));
        assert_eq!(t.lookup("x", "/api"), Some(&"api"));
        assert_eq!(t.lookup("x", "/api/"), Some(&"api"));
        assert_eq!(t.lookup("x", "/api/v2/a"), Some(&"api"));
        assert_eq!(t.lookup("x", "/api/v1"), Some(&"v1"));
        assert_eq!(t.lookup("x", "/api/v1/deep/er"), Some(&"v1"));
        assert_eq!(t.lookup("x", "/api/health"), Some(&"health"));
        assert_eq!(
            t.lookup("Example.COM:8080", "/api/health"),
            Some(&"host-api")
        );
        assert_eq!(t.lookup("example.com", "/other"), Some(&"catchall"));
    }

    #[test]
    fn indexed_lookup_agrees_with_a_scan_of_every_route() {
        let patterns = [
            "/*",
            "/a",
            "/a/*",
            "/a/b",
            "/a/b/*",
            "/ab/*",
            "/a/b/c",
            "/x/*",
            "h.example/*",
            "h.example/a/*",
            "h.example/a/b",
            "other.example/a",
        ];
        let t = table(&patterns.iter().map(|p| (*p, *p)).collect::<Vec<_>>());
        let scan = |host: &str, path: &str| {
            let host = strip_port(host);
            t.iter()
                .filter(|(p, _)| {
                    p.host
                        .as_deref()
                        .is_none_or(|h| h.eq_ignore_ascii_case(host))
                })
                .filter(|(p, _)| p.matches_path(path))
                .max_by_key(|(p, _)| (p.host.is_some(), !p.wildcard, p.path.len()))
                .map(|(_, target)| target)
        };
        for host in ["h.example", "H.EXAMPLE:80", "other.example", "none"] {
            for path in [
                "/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a/b/c/d", "/ab", "/ab/c", "/abc",
                "/x", "/y/z", "//", "/a//b",
            ] {
                assert_eq!(t.lookup(host, path), scan(host, path), "{host} {path}");
            }
        }
        // Thousands of routes: each one still found.
        let mut big = RouteTable::new();
        for i in 0..5000 {
            big.insert(Pattern::parse(&format!("/svc{i}/*")).unwrap(), i)
                .unwrap();
        }
        assert_eq!(big.lookup("x", "/svc4999/deep/path"), Some(&4999));
        assert_eq!(big.lookup("x", "/svc50"), Some(&50));
        assert_eq!(big.lookup("x", "/svc5000"), None);
    }

    #[test]
    fn a_removed_route_is_gone_from_a_clone_only() {
        let before = table(&[("/a/*", "a"), ("/a", "exact"), ("h.example/a/*", "host")]);
        let mut after = before.clone();
        assert_eq!(after.remove(&Pattern::parse("/a/*").unwrap()), Some("a"));
        assert_eq!(after.remove(&Pattern::parse("/a/*").unwrap()), None);
        assert_eq!(after.lookup("x", "/a/b"), None);
        assert_eq!(after.lookup("h.example", "/a/b"), Some(&"host"));
        assert_eq!(after.lookup("x", "/a"), Some(&"exact"));
        assert_eq!(after.len(), 2);
        // The original is untouched.
        assert_eq!(before.lookup("x", "/a/b"), Some(&"a"));
        assert_eq!(before.len(), 3);
        // And the pattern can be taken again.
        after
            .insert(Pattern::parse("/a/*").unwrap(), "again")
            .unwrap();
        assert_eq!(after.lookup("x", "/a/b"), Some(&"again"));
        assert_eq!(
            after.get(&Pattern::parse("h.example/a/*").unwrap()),
            Some(&"host")
        );
    }

    #[test]
    fn no_match_and_exact_only() {
        let t = table(&[("/hello", "hello")]);
        assert_eq!(t.lookup("x", "/hello"), Some(&"hello"));
        assert_eq!(t.lookup("x", "/hello/"), None);
        assert_eq!(t.lookup("x", "/hell"), None);
    }

    #[test]
    fn conflicts_and_bad_patterns() {
        let mut t = table(&[("/a/*", "one")]);
        let err = t
            .insert(Pattern::parse("/a/*").unwrap(), "two")
            .unwrap_err();
        assert_eq!(err.existing, "one");
        // Same path on a specific host is not a conflict.
        t.insert(Pattern::parse("h.example/a/*").unwrap(), "two")
            .unwrap();
        assert!(matches!(
            Pattern::parse("a/b"),
            Err(PatternError::BadHost(_)) | Ok(_)
        ));
        assert!(matches!(
            Pattern::parse("nohost"),
            Err(PatternError::NoLeadingSlash(_))
        ));
        assert!(matches!(
            Pattern::parse("/a/*/b"),
            Err(PatternError::MisplacedWildcard(_))
        ));
        assert!(matches!(
            Pattern::parse("/a*"),
            Err(PatternError::MisplacedWildcard(_))
        ));
        assert!(matches!(
            Pattern::parse("b@d/x"),
            Err(PatternError::BadHost(_))
        ));
        assert_eq!(
            Pattern::parse("H.example/a/*").unwrap().to_string(),
            "h.example/a/*"
        );
        assert_eq!(Pattern::parse("/*").unwrap().to_string(), "/*");
    }
}
