//! Compile time: resolve a service's module graph among the app's files and
//! turn every reachable file into QuickJS bytecode (see [`crate::bundle`]).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::{Declared, WriteOptions};
use rquickjs::{Context, Ctx, Module, Runtime, Value};

use crate::bundle::{self, Kind, OutModule, Style};
use crate::lexer::{self, DepKind};

/// Node modules the engine provides, importable as `x` and `node:x`.
pub const NODE_MODULES: &[&str] = &[
    "assert",
    "buffer",
    "crypto",
    "events",
    "path",
    "process",
    "querystring",
    "string_decoder",
    "url",
    "util",
];

/// Node's other built-in modules: a bare `require('fs')` names one of these,
/// not a package, and fails with the list of supported modules.
const NODE_UNSUPPORTED: &[&str] = &[
    "async_hooks",
    "child_process",
    "cluster",
    "console",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "fs",
    "fs/promises",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "perf_hooks",
    "punycode",
    "readline",
    "repl",
    "stream",
    "stream/web",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// The prefix wrapped around a CommonJS file (on its first line, so line
/// numbers stay right).
pub const CJS_PREFIX: &str = "(function (exports, require, module, __filename, __dirname) {";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Form {
    Esm,
    Cjs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    Esm,
    Cjs,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    Builtin(String),
    File(String),
}

/// A parsed package.json value (keys in document order, which `exports`
/// conditions depend on).
#[derive(Debug, Clone)]
enum J {
    Null,
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
    Other,
}

impl J {
    fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }
}

fn to_j(v: &Value<'_>) -> J {
    if let Some(s) = v.as_string() {
        return J::Str(s.to_string().unwrap_or_default());
    }
    if let Some(a) = v.as_array() {
        return J::Arr(
            a.iter::<Value>()
                .filter_map(|v| v.ok())
                .map(|v| to_j(&v))
                .collect(),
        );
    }
    if let Some(o) = v.as_object() {
        return J::Obj(
            o.props::<String, Value>()
                .filter_map(|kv| kv.ok())
                .map(|(k, v)| (k, to_j(&v)))
                .collect(),
        );
    }
    if v.is_null() {
        return J::Null;
    }
    J::Other
}

/// `a/b/../c` -> `a/c`; `None` when it climbs above the app root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn dirname(path: &str) -> &str {
    path.rfind('/').map(|i| &path[..i]).unwrap_or("")
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

fn is_reserved(id: &str) -> bool {
    matches!(
        id,
        "await"
            | "break"
            | "case"
            | "catch"
            | "class"
            | "const"
            | "continue"
            | "debugger"
            | "default"
            | "delete"
            | "do"
            | "else"
            | "enum"
            | "export"
            | "extends"
            | "false"
            | "finally"
            | "for"
            | "function"
            | "if"
            | "implements"
            | "import"
            | "in"
            | "instanceof"
            | "interface"
            | "let"
            | "new"
            | "null"
            | "package"
            | "private"
            | "protected"
            | "public"
            | "return"
            | "static"
            | "super"
            | "switch"
            | "this"
            | "throw"
            | "true"
            | "try"
            | "typeof"
            | "var"
            | "void"
            | "while"
            | "with"
            | "yield"
            | "eval"
            | "arguments"
    )
}

fn is_plain_ident(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c == '_' || c == '$' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c == '$' || c.is_ascii_alphanumeric())
        && !is_reserved(id)
}

/// The ES module that re-exports a CommonJS module (or JSON, or a node
/// built-in): `default` is `module.exports`, plus the named exports found.
fn facade_source(target: &str, names: &[String]) -> String {
    let mut s = format!(
        "const m = globalThis[Symbol.for('mote.require')]({});\nexport default m;\n",
        json_str(target)
    );
    let names: Vec<&str> = names
        .iter()
        .map(|s| s.as_str())
        .filter(|n| is_plain_ident(n))
        .collect();
    if !names.is_empty() {
        s.push_str(&format!(
            "export const {{ {} }} = m ?? {{}};\n",
            names.join(", ")
        ));
    }
    s
}

pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A QuickJS compile error as `file:line:column: Name: message`.
pub fn syntax_error(ctx: &Ctx<'_>, e: rquickjs::Error, file: &str, col_shift: u32) -> String {
    if let rquickjs::Error::Exception = e {
        let v: Value = ctx.catch();
        if let Some(ex) = v.as_exception() {
            let msg = ex.message().unwrap_or_default();
            let name: String = ex
                .get::<_, String>("name")
                .unwrap_or_else(|_| "Error".into());
            let stack = ex.stack().unwrap_or_default();
            // "    at file:line:col"
            let at = stack.lines().next().unwrap_or("").trim();
            let loc = at.strip_prefix("at ").unwrap_or(at);
            let mut parts = loc.rsplitn(3, ':');
            let col: Option<u32> = parts.next().and_then(|c| c.parse().ok());
            let line: Option<u32> = parts.next().and_then(|l| l.parse().ok());
            if let (Some(line), Some(col)) = (line, col) {
                let col = if line == 1 {
                    col.saturating_sub(col_shift).max(1)
                } else {
                    col
                };
                return format!("{file}:{line}:{col}: {name}: {msg}");
            }
            return format!("{file}: {name}: {msg}");
        }
        return format!("{file}: {v:?}");
    }
    format!("{file}: {e}")
}

/// Compile global code (a script, or a CommonJS function expression) into
/// bytecode.
pub fn compile_script(ctx: &Ctx<'_>, name: &str, source: &str) -> Result<Vec<u8>, rquickjs::Error> {
    use rquickjs::qjs;
    let mut src = source.as_bytes().to_vec();
    src.push(0);
    let cname = std::ffi::CString::new(name.replace('\0', ""))?;
    unsafe {
        let raw = ctx.as_raw().as_ptr();
        let v = qjs::JS_Eval(
            raw,
            src.as_ptr() as *const _,
            source.len() as _,
            cname.as_ptr(),
            (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32,
        );
        let v = Value::from_raw(ctx.clone(), v);
        if v.is_exception() {
            return Err(rquickjs::Error::Exception);
        }
        let mut size: qjs::size_t = 0;
        let buf = qjs::JS_WriteObject(
            raw,
            &mut size,
            v.as_raw(),
            (qjs::JS_WRITE_OBJ_BYTECODE | qjs::JS_WRITE_OBJ_STRIP_SOURCE) as i32,
        );
        if buf.is_null() {
            return Err(rquickjs::Error::Exception);
        }
        let out = std::slice::from_raw_parts(buf, size as usize).to_vec();
        qjs::js_free(raw, buf as *mut _);
        Ok(out)
    }
}

struct Compiler<'a, 'js> {
    ctx: Ctx<'js>,
    files: HashMap<&'a str, &'a [u8]>,
    dirs: HashSet<String>,
    builtin_exports: &'a dyn Fn(&str) -> Vec<String>,
    out: Vec<OutModule>,
    done: HashSet<(String, Form)>,
    queue: VecDeque<(String, Form)>,
    pkg_cache: HashMap<String, Option<J>>,
}

fn supported_list() -> String {
    NODE_MODULES
        .iter()
        .map(|m| format!("node:{m}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'a, 'js> Compiler<'a, 'js> {
    fn source(&self, path: &str) -> Result<&'a str, String> {
        let bytes = self
            .files
            .get(path)
            .ok_or_else(|| format!("{path}: file not found in the app"))?;
        std::str::from_utf8(bytes).map_err(|e| format!("{path}: not valid UTF-8 ({e})"))
    }

    fn package_json(&mut self, dir: &str) -> Result<Option<J>, String> {
        if let Some(p) = self.pkg_cache.get(dir) {
            return Ok(p.clone());
        }
        let path = join(dir, "package.json");
        let parsed = match self.files.get(path.as_str()) {
            None => None,
            Some(bytes) => {
                let text =
                    std::str::from_utf8(bytes).map_err(|_| format!("{path}: not valid UTF-8"))?;
                let v = self
                    .ctx
                    .json_parse(text)
                    .map_err(|e| syntax_error(&self.ctx, e, &path, 0))?;
                Some(to_j(&v))
            }
        };
        self.pkg_cache.insert(dir.to_string(), parsed.clone());
        Ok(parsed)
    }

    fn kind_of(&mut self, path: &str) -> Result<FileKind, String> {
        if path.ends_with(".mjs") {
            return Ok(FileKind::Esm);
        }
        if path.ends_with(".cjs") {
            return Ok(FileKind::Cjs);
        }
        if path.ends_with(".json") {
            return Ok(FileKind::Json);
        }
        // The nearest package.json's "type" decides; without one, the
        // syntax does (as Node 22 does for files without a "type").
        let mut dir = dirname(path).to_string();
        loop {
            if let Some(pkg) = self.package_json(&dir)? {
                match pkg.get("type").and_then(J::str) {
                    Some("module") => return Ok(FileKind::Esm),
                    Some("commonjs") => return Ok(FileKind::Cjs),
                    _ => {}
                }
                break;
            }
            if dir.is_empty() {
                break;
            }
            dir = dirname(&dir).to_string();
        }
        let src = self.source(path)?;
        Ok(if lexer::scan(src).esm {
            FileKind::Esm
        } else {
            FileKind::Cjs
        })
    }

    fn is_file(&self, p: &str) -> bool {
        self.files.contains_key(p)
    }

    fn resolve_file(&self, p: &str) -> Option<String> {
        if self.is_file(p) {
            return Some(p.to_string());
        }
        for ext in [".js", ".mjs", ".cjs", ".json"] {
            let c = format!("{p}{ext}");
            if self.is_file(&c) {
                return Some(c);
            }
        }
        None
    }

    fn resolve_dir(&mut self, p: &str) -> Result<Option<String>, String> {
        if !self.dirs.contains(p) {
            return Ok(None);
        }
        if let Some(pkg) = self.package_json(p)?
            && let Some(main) = pkg.get("main").and_then(J::str)
            && let Some(m) = normalize(&join(p, main))
        {
            if let Some(f) = self.resolve_file(&m) {
                return Ok(Some(f));
            }
            for idx in ["index.js", "index.mjs", "index.cjs", "index.json"] {
                let c = join(&m, idx);
                if self.is_file(&c) {
                    return Ok(Some(c));
                }
            }
        }
        for idx in ["index.js", "index.mjs", "index.cjs", "index.json"] {
            let c = join(p, idx);
            if self.is_file(&c) {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    fn resolve_file_or_dir(&mut self, p: &str) -> Result<Option<String>, String> {
        if let Some(f) = self.resolve_file(p) {
            return Ok(Some(f));
        }
        self.resolve_dir(p)
    }

    /// Resolve an `exports`/`imports` map entry for `subpath` ("." or
    /// "./x" or "#x").
    fn map_target(map: &J, subpath: &str, conditions: &[&str]) -> Option<String> {
        let is_sugar = match map {
            J::Obj(kv) => !kv
                .iter()
                .any(|(k, _)| k.starts_with('.') || k.starts_with('#')),
            _ => true,
        };
        if is_sugar {
            return if subpath == "." {
                Self::condition_target(map, conditions, None)
            } else {
                None
            };
        }
        let J::Obj(kv) = map else { return None };
        if let Some((_, v)) = kv.iter().find(|(k, _)| k == subpath) {
            return Self::condition_target(v, conditions, None);
        }
        // Patterns: the longest prefix before '*' wins.
        let mut best: Option<(&str, &J, String)> = None;
        for (k, v) in kv {
            if let Some(star) = k.find('*') {
                let (pre, post) = (&k[..star], &k[star + 1..]);
                if subpath.starts_with(pre)
                    && subpath.ends_with(post)
                    && subpath.len() >= pre.len() + post.len()
                    && best.as_ref().is_none_or(|(bk, _, _)| pre.len() > bk.len())
                {
                    let matched = subpath[pre.len()..subpath.len() - post.len()].to_string();
                    best = Some((pre, v, matched));
                }
            }
        }
        let (_, v, matched) = best?;
        Self::condition_target(v, conditions, Some(&matched))
    }

    fn condition_target(v: &J, conditions: &[&str], star: Option<&str>) -> Option<String> {
        match v {
            J::Str(s) => Some(match star {
                Some(m) => s.replace('*', m),
                None => s.clone(),
            }),
            J::Arr(items) => items
                .iter()
                .find_map(|i| Self::condition_target(i, conditions, star)),
            J::Obj(kv) => kv.iter().find_map(|(k, v)| {
                if k == "default" || conditions.contains(&k.as_str()) {
                    Self::condition_target(v, conditions, star)
                } else {
                    None
                }
            }),
            J::Null | J::Other => None,
        }
    }

    fn resolve(&mut self, spec: &str, importer: &str, form: Form) -> Result<Target, String> {
        let not_found = || format!("cannot resolve '{spec}' (imported from {importer})");
        if let Some(name) = spec.strip_prefix("node:") {
            if NODE_MODULES.contains(&name) {
                return Ok(Target::Builtin(name.to_string()));
            }
            return Err(format!(
                "'{spec}' is not available in Mote; the supported node modules are {}",
                supported_list()
            ));
        }
        if NODE_MODULES.contains(&spec) {
            return Ok(Target::Builtin(spec.to_string()));
        }
        let conditions: &[&str] = match form {
            Form::Esm => &["import", "node"],
            Form::Cjs => &["require", "node"],
        };
        let dir = dirname(importer);
        if spec.starts_with("./")
            || spec.starts_with("../")
            || spec == "."
            || spec == ".."
            || spec.starts_with('/')
        {
            let joined = if spec.starts_with('/') {
                spec.to_string()
            } else {
                join(dir, spec)
            };
            let p = normalize(&joined).ok_or_else(|| {
                format!("cannot resolve '{spec}' (imported from {importer}): outside the app")
            })?;
            return self
                .resolve_file_or_dir(&p)?
                .map(Target::File)
                .ok_or_else(not_found);
        }
        if spec.starts_with('#') {
            // Package imports: the nearest package.json's "imports".
            let mut d = dir.to_string();
            loop {
                if let Some(pkg) = self.package_json(&d)? {
                    if let Some(imports) = pkg.get("imports")
                        && let Some(t) = Self::map_target(imports, spec, conditions)
                    {
                        if t.starts_with("./") {
                            if let Some(p) = normalize(&join(&d, &t))
                                && self.is_file(&p)
                            {
                                return Ok(Target::File(p));
                            }
                        } else {
                            return self.resolve(&t, &join(&d, "package.json"), form);
                        }
                    }
                    return Err(not_found());
                }
                if d.is_empty() {
                    return Err(not_found());
                }
                d = dirname(&d).to_string();
            }
        }
        // A package name (`name` or `@scope/name`) and a subpath.
        let mut segs = spec.splitn(if spec.starts_with('@') { 3 } else { 2 }, '/');
        let name = if spec.starts_with('@') {
            format!(
                "{}/{}",
                segs.next().unwrap_or(""),
                segs.next().unwrap_or("")
            )
        } else {
            segs.next().unwrap_or("").to_string()
        };
        let sub = segs.next().unwrap_or("");
        let mut d = dir.to_string();
        loop {
            let pkg_dir = join(&join(&d, "node_modules"), &name);
            if self.dirs.contains(&pkg_dir) {
                let pkg = self.package_json(&pkg_dir)?;
                if let Some(exports) = pkg.as_ref().and_then(|p| p.get("exports")) {
                    let subpath = if sub.is_empty() {
                        ".".to_string()
                    } else {
                        format!("./{sub}")
                    };
                    let t = Self::map_target(exports, &subpath, conditions).ok_or_else(|| {
                        format!(
                            "cannot resolve '{spec}' (imported from {importer}): \
                             '{subpath}' is not exported by {pkg_dir}/package.json"
                        )
                    })?;
                    let p = normalize(&join(&pkg_dir, &t)).ok_or_else(not_found)?;
                    if self.is_file(&p) {
                        return Ok(Target::File(p));
                    }
                    return Err(format!(
                        "cannot resolve '{spec}' (imported from {importer}): {p} does not exist"
                    ));
                }
                let p = if sub.is_empty() {
                    pkg_dir.clone()
                } else {
                    join(&pkg_dir, sub)
                };
                if let Some(f) = self.resolve_file_or_dir(&p)? {
                    return Ok(Target::File(f));
                }
                return Err(not_found());
            }
            if d.is_empty() {
                break;
            }
            d = dirname(&d).to_string();
        }
        if NODE_UNSUPPORTED.contains(&spec) || NODE_UNSUPPORTED.contains(&name.as_str()) {
            return Err(format!(
                "'{spec}' is a Node module not available in Mote; the supported node modules are {}",
                supported_list()
            ));
        }
        Err(not_found())
    }

    /// The module name under which `target` is known in `form`, queueing
    /// its compilation.
    fn want(&mut self, target: Target, form: Form) -> String {
        let (key, name) = match &target {
            Target::Builtin(b) => (format!("node:{b}"), format!("node:{b}")),
            Target::File(p) => {
                let name = if form == Form::Esm && !self.is_esm_file(p) {
                    format!("{p}?esm")
                } else {
                    p.clone()
                };
                (p.clone(), name)
            }
        };
        if !self.done.contains(&(key.clone(), form)) {
            self.done.insert((key.clone(), form));
            self.queue.push_back((key, form));
        }
        name
    }

    fn is_esm_file(&mut self, p: &str) -> bool {
        matches!(self.kind_of(p), Ok(FileKind::Esm))
    }

    fn deps_of(
        &mut self,
        path: &str,
        scan: &lexer::Scan,
        requires: bool,
    ) -> Result<Vec<(String, String)>, String> {
        let mut deps = Vec::new();
        let mut seen = HashSet::new();
        for d in &scan.deps {
            let (prefix, form) = match d.kind {
                DepKind::Import => ("i:", Form::Esm),
                DepKind::Require if requires => ("r:", Form::Cjs),
                DepKind::Require => continue,
            };
            let key = format!("{prefix}{}", d.specifier);
            if !seen.insert(key.clone()) {
                continue;
            }
            let target = self
                .resolve(&d.specifier, path, form)
                .map_err(|m| format!("{path}:{}:{}: {m}", d.line, d.column))?;
            if let (Form::Cjs, Target::File(p)) = (form, &target)
                && self.kind_of(p)? == FileKind::Esm
            {
                return Err(format!(
                    "{path}:{}:{}: cannot require() the ES module {p}; use import instead",
                    d.line, d.column
                ));
            }
            let name = self.want(target, form);
            deps.push((key, name));
        }
        Ok(deps)
    }

    fn process(&mut self, key: &str, form: Form) -> Result<(), String> {
        if let Some(b) = key.strip_prefix("node:") {
            if form == Form::Esm {
                let names = (self.builtin_exports)(b);
                let src = facade_source(key, &names);
                let code = self.compile_module(key, &src)?;
                self.out.push(OutModule {
                    name: key.to_string(),
                    kind: Kind::Esm,
                    deps: vec![],
                    code,
                });
            }
            return Ok(());
        }
        let kind = self.kind_of(key)?;
        match (kind, form) {
            (FileKind::Esm, Form::Esm) => {
                let src = self.source(key)?;
                let scan = lexer::scan(src);
                let deps = self.deps_of(key, &scan, false)?;
                let code = self.compile_module(key, src)?;
                self.out.push(OutModule {
                    name: key.to_string(),
                    kind: Kind::Esm,
                    deps,
                    code,
                });
            }
            (FileKind::Esm, Form::Cjs) => unreachable!("checked in deps_of"),
            (FileKind::Cjs, Form::Cjs) => {
                let src = self.source(key)?;
                let scan = lexer::scan(src);
                let deps = self.deps_of(key, &scan, true)?;
                let wrapped = format!("{CJS_PREFIX}{}\n}})", strip_hashbang(src));
                let code = compile_script(&self.ctx, key, &wrapped)
                    .map_err(|e| syntax_error(&self.ctx, e, key, CJS_PREFIX.len() as u32))?;
                self.out.push(OutModule {
                    name: key.to_string(),
                    kind: Kind::Cjs,
                    deps,
                    code,
                });
            }
            (FileKind::Json, Form::Cjs) => {
                let src = self.source(key)?;
                self.ctx
                    .json_parse(src)
                    .map_err(|e| syntax_error(&self.ctx, e, key, 0))?;
                let wrapped = format!("{CJS_PREFIX}module.exports = (\n{src}\n)}})");
                let code = compile_script(&self.ctx, key, &wrapped)
                    .map_err(|e| syntax_error(&self.ctx, e, key, 0))?;
                self.out.push(OutModule {
                    name: key.to_string(),
                    kind: Kind::Cjs,
                    deps: vec![],
                    code,
                });
            }
            (FileKind::Cjs | FileKind::Json, Form::Esm) => {
                // The ES facade over the CommonJS module.
                let names = if kind == FileKind::Cjs {
                    lexer::scan(self.source(key)?).cjs_exports
                } else {
                    vec![]
                };
                self.want(Target::File(key.to_string()), Form::Cjs);
                let name = format!("{key}?esm");
                let src = facade_source(key, &names);
                let code = self.compile_module(&name, &src)?;
                self.out.push(OutModule {
                    name,
                    kind: Kind::Esm,
                    deps: vec![],
                    code,
                });
            }
        }
        Ok(())
    }

    fn compile_module(&self, name: &str, src: &str) -> Result<Vec<u8>, String> {
        let m = Module::declare(self.ctx.clone(), name, src)
            .map_err(|e| syntax_error(&self.ctx, e, name, 0))?;
        m.write(WriteOptions {
            strip_source: true,
            ..WriteOptions::default()
        })
        .map_err(|e| syntax_error(&self.ctx, e, name, 0))
    }
}

fn strip_hashbang(src: &str) -> String {
    if src.starts_with("#!") {
        // Keep the line (empty) so line numbers stay right.
        let end = src.find('\n').unwrap_or(src.len());
        format!("//{}", &src[end.min(src.len())..])
    } else {
        src.to_string()
    }
}

/// QuickJS resolves (loads) a module's imports when it compiles it. At
/// compile time each import gets an empty stand-in: only the importing
/// module's own bytecode is wanted (imports are bound at load time).
struct Stubs;

impl Resolver for Stubs {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        _base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        Ok(format!("mote-stub:{name}"))
    }
}

impl Loader for Stubs {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        Module::declare(ctx.clone(), name, "")
    }
}

/// Compile the service whose entry is `entry` among `files`.
/// `builtin_exports(name)` lists the export names of a node built-in module
/// (for ES modules importing it by name).
pub fn compile(
    entry: &str,
    files: &[(String, Vec<u8>)],
    builtin_exports: &dyn Fn(&str) -> Vec<String>,
) -> Result<Vec<u8>, String> {
    let rt = Runtime::new().map_err(|e| e.to_string())?;
    // Deeply nested sources: a SyntaxError-like RangeError, not a trap.
    #[cfg(target_arch = "wasm32")]
    rt.set_max_stack_size(crate::engine::WASM_STACK_LIMIT);
    rt.set_loader(Stubs, Stubs);
    let context = Context::full(&rt).map_err(|e| e.to_string())?;
    let entry = normalize(entry).ok_or_else(|| format!("{entry}: not a path inside the app"))?;
    context.with(|ctx| {
        let mut dirs = HashSet::new();
        for (path, _) in files {
            let mut d = dirname(path);
            while !d.is_empty() && dirs.insert(d.to_string()) {
                d = dirname(d);
            }
        }
        dirs.insert(String::new());
        let mut c = Compiler {
            ctx: ctx.clone(),
            files: files
                .iter()
                .map(|(p, b)| (p.as_str(), b.as_slice()))
                .collect(),
            dirs,
            builtin_exports,
            out: Vec::new(),
            done: HashSet::new(),
            queue: VecDeque::new(),
            pkg_cache: HashMap::new(),
        };
        c.source(&entry)?;
        let style = match c.kind_of(&entry)? {
            FileKind::Esm => {
                c.want(Target::File(entry.clone()), Form::Esm);
                Style::Module
            }
            FileKind::Json => return Err(format!("{entry}: the entry must be a JavaScript file")),
            FileKind::Cjs => {
                let src = c.source(&entry)?;
                let scan = lexer::scan(src);
                if !scan.cjs && scan.listens {
                    // A service-worker script: global code, no require.
                    let deps = c.deps_of(&entry, &scan, false)?;
                    let code = compile_script(&ctx, &entry, &strip_hashbang(src))
                        .map_err(|e| syntax_error(&ctx, e, &entry, 0))?;
                    c.out.push(OutModule {
                        name: entry.clone(),
                        kind: Kind::Script,
                        deps,
                        code,
                    });
                    Style::ServiceWorker
                } else {
                    c.want(Target::File(entry.clone()), Form::Cjs);
                    Style::CommonJs
                }
            }
        };
        while let Some((key, form)) = c.queue.pop_front() {
            c.process(&key, form)?;
        }
        // Deterministic output: sorted by name.
        let mut names = BTreeSet::new();
        c.out.retain(|m| names.insert(m.name.clone()));
        c.out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(bundle::write(style, &entry, &c.out))
    })
}
