//! The bundle `compile` produces and each request loads.
//!
//! ```text
//! magic    "MOTEJS\0" "2" "\0"          (the trailing version changes with the format
//!                                        and with the QuickJS bytecode version)
//! style    u8                            0 = ES module, 1 = CommonJS, 2 = service-worker script
//! entry    str                           name of the entry module
//! count    u32
//! count times:
//!   name   str                           "src/a.js", "src/a.cjs?esm", "node:buffer"
//!   kind   u8                            0 = ES module bytecode, 1 = CommonJS function bytecode,
//!                                        2 = global script bytecode
//!   ndeps  u32
//!   ndeps times: key str, target str     key "i:<specifier>" (import) or "r:<specifier>" (require)
//!   code   bytes                         QuickJS bytecode (JS_WriteObject)
//! ```
//!
//! `str` and `bytes` are a little-endian u32 length followed by the bytes.

use std::collections::HashMap;
use std::ops::Range;

/// First bytes of every bundle (versioned: a bundle from another engine
/// build is refused, not misread).
pub const MAGIC: &[u8] = b"MOTEJS\x002\0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `export default { fetch }`.
    Module = 0,
    /// `module.exports = { fetch }`.
    CommonJs = 1,
    /// `addEventListener('fetch', ...)` in a classic script.
    ServiceWorker = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Esm = 0,
    Cjs = 1,
    Script = 2,
}

pub struct OutModule {
    pub name: String,
    pub kind: Kind,
    pub deps: Vec<(String, String)>,
    pub code: Vec<u8>,
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend((bytes.len() as u32).to_le_bytes());
    out.extend(bytes);
}

pub fn write(style: Style, entry: &str, modules: &[OutModule]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(style as u8);
    put(&mut out, entry.as_bytes());
    out.extend((modules.len() as u32).to_le_bytes());
    for m in modules {
        put(&mut out, m.name.as_bytes());
        out.push(m.kind as u8);
        out.extend((m.deps.len() as u32).to_le_bytes());
        for (k, v) in &m.deps {
            put(&mut out, k.as_bytes());
            put(&mut out, v.as_bytes());
        }
        put(&mut out, &m.code);
    }
    out
}

pub struct ModuleRec {
    pub kind: Kind,
    pub deps: HashMap<String, String>,
    pub code: Range<usize>,
}

/// A parsed bundle; module code stays in `bytes` and is read on first use.
pub struct Bundle {
    pub style: Style,
    pub entry: String,
    pub modules: HashMap<String, ModuleRec>,
    pub bytes: Vec<u8>,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

const BAD: &str = "the service's bundle is corrupt; redeploy it";

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, String> {
        let v = *self.b.get(self.pos).ok_or(BAD)?;
        self.pos += 1;
        Ok(v)
    }
    fn u32(&mut self) -> Result<usize, String> {
        let s = self.b.get(self.pos..self.pos + 4).ok_or(BAD)?;
        self.pos += 4;
        Ok(u32::from_le_bytes(s.try_into().unwrap()) as usize)
    }
    fn range(&mut self) -> Result<Range<usize>, String> {
        let n = self.u32()?;
        let r = self.pos..self.pos + n;
        if r.end > self.b.len() {
            return Err(BAD.into());
        }
        self.pos = r.end;
        Ok(r)
    }
    fn str(&mut self) -> Result<String, String> {
        let r = self.range()?;
        String::from_utf8(self.b[r].to_vec()).map_err(|_| BAD.to_string())
    }
}

pub fn read(bytes: Vec<u8>) -> Result<Bundle, String> {
    if !bytes.starts_with(MAGIC) {
        return Err("the service's bundle was made by another engine version; redeploy it".into());
    }
    let mut r = Reader {
        b: &bytes,
        pos: MAGIC.len(),
    };
    let style = match r.u8()? {
        0 => Style::Module,
        1 => Style::CommonJs,
        2 => Style::ServiceWorker,
        _ => return Err(BAD.into()),
    };
    let entry = r.str()?;
    let count = r.u32()?;
    let mut modules = HashMap::with_capacity(count);
    for _ in 0..count {
        let name = r.str()?;
        let kind = match r.u8()? {
            0 => Kind::Esm,
            1 => Kind::Cjs,
            2 => Kind::Script,
            _ => return Err(BAD.into()),
        };
        let ndeps = r.u32()?;
        let mut deps = HashMap::with_capacity(ndeps);
        for _ in 0..ndeps {
            let k = r.str()?;
            let v = r.str()?;
            deps.insert(k, v);
        }
        let code = r.range()?;
        modules.insert(name, ModuleRec { kind, deps, code });
    }
    Ok(Bundle {
        style,
        entry,
        modules,
        bytes,
    })
}
