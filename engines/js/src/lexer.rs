//! A small JavaScript scanner used at compile time to discover a file's
//! dependencies (`import`/`export ... from`, `import()`, `require('x')`),
//! whether it is an ES module, and the names a CommonJS module exports.
//!
//! It only needs to tell code from strings, comments, template literals and
//! regular expression literals; it is not a parser. Syntax errors are
//! reported by QuickJS itself when the file is compiled.

/// How a dependency is requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepKind {
    /// `import ... from 'x'`, `export ... from 'x'`, `import('x')`.
    Import,
    /// `require('x')`.
    Require,
}

#[derive(Clone, Debug)]
pub struct Dep {
    pub specifier: String,
    pub kind: DepKind,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub deps: Vec<Dep>,
    /// Has a static `import`/`export` statement or `import.meta`.
    pub esm: bool,
    /// Mentions `module.exports`, `exports.x` or calls `require(...)`.
    pub cjs: bool,
    /// Mentions `addEventListener` (a service-worker script).
    pub listens: bool,
    /// Names a CommonJS module visibly exports (for ESM named imports).
    pub cjs_exports: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    /// Numbers, regexps, templates and other values.
    Other,
}

struct Token {
    tok: Tok,
    line: u32,
    column: u32,
}

fn is_id_start(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphabetic()
}

fn is_id_part(c: char) -> bool {
    is_id_start(c) || c.is_ascii_digit() || c == '\u{200c}' || c == '\u{200d}'
}

const REGEX_AFTER_KEYWORDS: &[&str] = &[
    "return",
    "typeof",
    "instanceof",
    "in",
    "of",
    "new",
    "delete",
    "void",
    "throw",
    "case",
    "do",
    "else",
    "yield",
    "await",
];

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    col: u32,
    tokens: Vec<Token>,
    _src: &'a str,
}

impl Lexer<'_> {
    fn peek(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn regex_allowed(&self) -> bool {
        match self.tokens.last().map(|t| &t.tok) {
            None => true,
            Some(Tok::Punct(c)) => !matches!(c, ')' | ']'),
            Some(Tok::Ident(id)) => REGEX_AFTER_KEYWORDS.contains(&id.as_str()),
            Some(Tok::Str(_)) | Some(Tok::Other) => false,
        }
    }

    fn push(&mut self, tok: Tok, line: u32, column: u32) {
        self.tokens.push(Token { tok, line, column });
    }

    fn string(&mut self, quote: char) -> String {
        let mut s = String::new();
        while let Some(c) = self.bump() {
            if c == quote || c == '\n' {
                break;
            }
            if c == '\\' {
                match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(c) => s.push(c),
                    None => break,
                }
            } else {
                s.push(c);
            }
        }
        s
    }

    fn regex(&mut self) {
        let mut in_class = false;
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '[' => in_class = true,
                ']' => in_class = false,
                '/' if !in_class => break,
                '\n' => break,
                _ => {}
            }
        }
        while self.peek(0).is_some_and(is_id_part) {
            self.bump();
        }
    }

    /// Scan template text after '`' or after the `}` closing a
    /// substitution; returns true when a `${` substitution starts.
    fn template_chunk(&mut self) -> bool {
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '`' => return false,
                '$' if self.peek(0) == Some('{') => {
                    self.bump();
                    return true;
                }
                _ => {}
            }
        }
        false
    }

    fn run(&mut self) {
        // For each open template substitution, the brace depth at which it
        // closes.
        let mut templates: Vec<u32> = Vec::new();
        let mut depth: u32 = 0;
        while let Some(c) = self.peek(0) {
            let (line, col) = (self.line, self.col);
            if c.is_whitespace() {
                self.bump();
            } else if c == '/' && self.peek(1) == Some('/') {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c == '/' && self.peek(1) == Some('*') {
                self.bump();
                self.bump();
                while let Some(c) = self.bump() {
                    if c == '*' && self.peek(0) == Some('/') {
                        self.bump();
                        break;
                    }
                }
            } else if c == '#' && self.pos == 0 && self.peek(1) == Some('!') {
                while self.peek(0).is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else if c == '\'' || c == '"' {
                self.bump();
                let s = self.string(c);
                self.push(Tok::Str(s), line, col);
            } else if c == '`' {
                self.bump();
                if self.template_chunk() {
                    depth += 1;
                    templates.push(depth);
                }
                self.push(Tok::Other, line, col);
            } else if c == '/' {
                self.bump();
                if self.regex_allowed() {
                    self.regex();
                    self.push(Tok::Other, line, col);
                } else {
                    self.push(Tok::Punct('/'), line, col);
                }
            } else if c.is_ascii_digit()
                || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit()))
            {
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                {
                    self.bump();
                }
                self.push(Tok::Other, line, col);
            } else if is_id_start(c) || c == '\\' {
                let mut id = String::new();
                while let Some(c) = self.peek(0) {
                    if is_id_part(c) {
                        id.push(c);
                        self.bump();
                    } else if c == '\\' {
                        self.bump();
                    } else {
                        break;
                    }
                }
                self.push(Tok::Ident(id), line, col);
            } else {
                self.bump();
                match c {
                    '{' => depth += 1,
                    '}' => {
                        if templates.last() == Some(&depth) {
                            templates.pop();
                            depth -= 1;
                            if self.template_chunk() {
                                depth += 1;
                                templates.push(depth);
                            }
                            self.push(Tok::Other, line, col);
                            continue;
                        }
                        depth = depth.saturating_sub(1);
                    }
                    _ => {}
                }
                self.push(Tok::Punct(c), line, col);
            }
        }
    }
}

fn is_ident(t: Option<&Token>, name: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Ident(id), .. }) if id == name)
}

fn is_punct(t: Option<&Token>, p: char) -> bool {
    matches!(t, Some(Token { tok: Tok::Punct(c), .. }) if *c == p)
}

fn str_of(t: Option<&Token>) -> Option<&str> {
    match t {
        Some(Token {
            tok: Tok::Str(s), ..
        }) => Some(s),
        _ => None,
    }
}

/// Scan a file's source.
pub fn scan(src: &str) -> Scan {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
        tokens: Vec::new(),
        _src: src,
    };
    lx.run();
    let t = &lx.tokens;
    let mut out = Scan::default();
    let dep = |out: &mut Scan, tok: &Token, s: &str, kind| {
        out.deps.push(Dep {
            specifier: s.to_string(),
            kind,
            line: tok.line,
            column: tok.column,
        })
    };
    for i in 0..t.len() {
        let after_dot = i > 0 && is_punct(t.get(i - 1), '.');
        let Tok::Ident(id) = &t[i].tok else { continue };
        if after_dot {
            // Object.defineProperty(exports, 'name', ...)
            if id == "defineProperty"
                && is_punct(t.get(i + 1), '(')
                && is_ident(t.get(i + 2), "exports")
                && let Some(s) = str_of(t.get(i + 4))
            {
                out.cjs_exports.push(s.to_string());
            }
            continue;
        }
        match id.as_str() {
            "import" => {
                if is_punct(t.get(i + 1), '(') {
                    if let Some(s) = str_of(t.get(i + 2))
                        && (is_punct(t.get(i + 3), ')') || is_punct(t.get(i + 3), ','))
                    {
                        dep(&mut out, &t[i], s, DepKind::Import);
                    }
                } else if is_punct(t.get(i + 1), '.') {
                    out.esm = true;
                } else {
                    out.esm = true;
                    if let Some(s) = str_of(t.get(i + 1)) {
                        dep(&mut out, &t[i], s, DepKind::Import);
                        continue;
                    }
                    // import a, {b as c}, * as d from 'x'
                    let mut d = 0i32;
                    let mut j = i + 1;
                    while j < t.len() && j < i + 4000 {
                        match &t[j].tok {
                            Tok::Punct('{') => d += 1,
                            Tok::Punct('}') => d -= 1,
                            Tok::Punct(';') => break,
                            Tok::Ident(f) if f == "from" && d == 0 => {
                                if let Some(s) = str_of(t.get(j + 1)) {
                                    dep(&mut out, &t[i], s, DepKind::Import);
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                }
            }
            "export" => {
                out.esm = true;
                let mut j = i + 1;
                if is_punct(t.get(j), '*') {
                    j += 1;
                    if is_ident(t.get(j), "as") {
                        j += 2;
                    }
                } else if is_punct(t.get(j), '{') {
                    while j < t.len() && !is_punct(t.get(j), '}') {
                        j += 1;
                    }
                    j += 1;
                } else {
                    continue;
                }
                if is_ident(t.get(j), "from")
                    && let Some(s) = str_of(t.get(j + 1))
                {
                    dep(&mut out, &t[i], s, DepKind::Import);
                }
            }
            "require" => {
                if is_punct(t.get(i + 1), '(')
                    && let Some(s) = str_of(t.get(i + 2))
                    && is_punct(t.get(i + 3), ')')
                {
                    out.cjs = true;
                    dep(&mut out, &t[i], s, DepKind::Require);
                }
            }
            "addEventListener" => out.listens = true,
            "module" if is_punct(t.get(i + 1), '.') && is_ident(t.get(i + 2), "exports") => {
                out.cjs = true;
                if is_punct(t.get(i + 3), '.') {
                    if let Some(Tok::Ident(name)) = t.get(i + 4).map(|t| &t.tok)
                        && is_punct(t.get(i + 5), '=')
                        && !is_punct(t.get(i + 6), '=')
                    {
                        out.cjs_exports.push(name.clone());
                    }
                } else if is_punct(t.get(i + 3), '=') && is_punct(t.get(i + 4), '{') {
                    // module.exports = { a, b: 1, c() {} }
                    let mut d = 0i32;
                    let mut j = i + 4;
                    while j < t.len() {
                        match &t[j].tok {
                            Tok::Punct('{') | Tok::Punct('(') | Tok::Punct('[') => d += 1,
                            Tok::Punct('}') | Tok::Punct(')') | Tok::Punct(']') => {
                                d -= 1;
                                if d == 0 {
                                    break;
                                }
                            }
                            Tok::Ident(name) | Tok::Str(name) if d == 1 => {
                                let prev_ok =
                                    is_punct(t.get(j - 1), '{') || is_punct(t.get(j - 1), ',');
                                let next = t.get(j + 1);
                                let next_ok = is_punct(next, ',')
                                    || is_punct(next, ':')
                                    || is_punct(next, '}')
                                    || is_punct(next, '(');
                                if prev_ok && next_ok {
                                    out.cjs_exports.push(name.clone());
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                }
            }
            "exports" if is_punct(t.get(i + 1), '.') => {
                out.cjs = true;
                if let Some(Tok::Ident(name)) = t.get(i + 2).map(|t| &t.tok)
                    && is_punct(t.get(i + 3), '=')
                    && !is_punct(t.get(i + 4), '=')
                {
                    out.cjs_exports.push(name.clone());
                }
            }
            _ => {}
        }
    }
    out.cjs_exports.sort();
    out.cjs_exports.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(s: &Scan) -> Vec<(&str, DepKind)> {
        s.deps
            .iter()
            .map(|d| (d.specifier.as_str(), d.kind))
            .collect()
    }

    #[test]
    fn finds_imports_and_requires_outside_strings_and_comments() {
        let src = r#"
            import a from './a.js';
            import { b, c as d } from "./b.js"
            import * as e from './e.mjs';
            import './side.js';
            export { x } from './x.js';
            export * from './star.js';
            // require('./commented.js')
            /* import z from './z.js' */
            const s = "require('./in-string.js')";
            const t = `import y from './y.js' ${ require('./in-template.js') } tail`;
            const r = /require\('\.\/re.js'\)/g;
            const m = await import('./dyn.js');
            const q = x / 2; const w = require('./after-division.js');
        "#;
        let s = scan(src);
        assert!(s.esm);
        assert_eq!(
            specs(&s),
            vec![
                ("./a.js", DepKind::Import),
                ("./b.js", DepKind::Import),
                ("./e.mjs", DepKind::Import),
                ("./side.js", DepKind::Import),
                ("./x.js", DepKind::Import),
                ("./star.js", DepKind::Import),
                ("./in-template.js", DepKind::Require),
                ("./dyn.js", DepKind::Import),
                ("./after-division.js", DepKind::Require),
            ]
        );
        assert_eq!(s.deps[0].line, 2);
    }

    #[test]
    fn commonjs_exports() {
        let s = scan(
            "exports.a = 1; module.exports.b = 2; Object.defineProperty(exports, 'c', {});\n\
             module.exports = { d, e: 1, f() {}, 'g': 2, h: { i: 1 } };\nif (exports.a === 1) {}",
        );
        assert!(s.cjs && !s.esm);
        assert_eq!(s.cjs_exports, vec!["a", "b", "c", "d", "e", "f", "g", "h"]);
    }
}
