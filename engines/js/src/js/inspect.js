// util.inspect and util.format, roughly as Node prints them; console.
const native = M.native;
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const quote = (s) => "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n') + "'";

let breakLength = 80;
function inspect(value, opts) {
  opts = Object.assign({ depth: 2, breakLength, compact: 3 }, typeof opts === 'object' && opts ? opts : {});
  const seen = [];
  const circular = new Map();
  return fmt(value, 0);

  function fmt(v, depth) {
    switch (typeof v) {
      case 'string': return depth === 0 && opts.raw ? v : quote(v);
      case 'number': return Object.is(v, -0) ? '-0' : String(v);
      case 'bigint': return v + 'n';
      case 'boolean': return String(v);
      case 'undefined': return 'undefined';
      case 'symbol': return v.toString();
      case 'function': {
        // Source is stripped from bytecode: a class's `prototype` is the
        // one that is not writable.
        const pd = Object.getOwnPropertyDescriptor(v, 'prototype');
        const base = pd && !pd.writable ? `[class ${v.name || '(anonymous)'}]`
          : `[${v.constructor && v.constructor.name === 'AsyncFunction' ? 'AsyncFunction' : 'Function'}: ${v.name || '(anonymous)'}]`;
        const keys = Object.keys(v);
        if (!keys.length || depth > opts.depth) return base;
        return wrap(base + ' {', keys.map((k) => key(k) + ': ' + fmt(v[k], depth + 1)), '}', depth);
      }
    }
    if (v === null) return 'null';
    if (seen.includes(v)) {
      if (!circular.has(v)) circular.set(v, circular.size + 1);
      return `[Circular *${circular.get(v)}]`;
    }
    if (typeof v[inspect.custom] === 'function') {
      const r = v[inspect.custom](opts.depth - depth, opts, inspect);
      return typeof r === 'string' ? r : fmt(r, depth);
    }
    if (v instanceof Error) {
      const head = `${v.name || 'Error'}: ${v.message}`;
      return v.stack ? `${head}\n${String(v.stack).replace(/\n$/, '')}` : `[${head}]`;
    }
    if (v instanceof Date) return isNaN(v) ? 'Invalid Date' : v.toISOString();
    if (v instanceof RegExp) return v.toString();
    if (v instanceof Promise) return 'Promise { <unknown> }';
    if (v instanceof WeakMap) return 'WeakMap { <items unknown> }';
    if (v instanceof WeakSet) return 'WeakSet { <items unknown> }';
    if (v instanceof Number || v instanceof String || v instanceof Boolean) {
      return `[${v.constructor.name}: ${fmt(v.valueOf(), depth + 1)}]`;
    }
    if (typeof Buffer === 'function' && v instanceof Buffer) {
      const hex = Array.from(v.subarray(0, 50), (b) => b.toString(16).padStart(2, '0')).join(' ');
      return `<Buffer${hex ? ' ' + hex : ''}${v.length > 50 ? ` ... ${v.length - 50} more bytes` : ''}>`;
    }
    if (v instanceof ArrayBuffer) {
      const u = new Uint8Array(v);
      const hex = Array.from(u.subarray(0, 50), (b) => b.toString(16).padStart(2, '0')).join(' ');
      return `ArrayBuffer { [Uint8Contents]: <${hex}${u.length > 50 ? ` ... ${u.length - 50} more bytes` : ''}>, byteLength: ${v.byteLength} }`;
    }
    const ctorName = (o) => {
      const p = Object.getPrototypeOf(o);
      if (p === null) return '[Object: null prototype]';
      return p.constructor && p.constructor.name ? p.constructor.name : 'Object';
    };
    if (depth > opts.depth) {
      return Array.isArray(v) ? '[Array]' : `[${ctorName(v)}]`;
    }
    seen.push(v);
    try {
      let items, open, close = '';
      const extraKeys = (skipIndex) => Object.keys(v).filter((k) => !(skipIndex && /^\d+$/.test(k)))
        .map((k) => key(k) + ': ' + fmt(v[k], depth + 1));
      if (Array.isArray(v)) {
        items = [];
        let holes = 0;
        const n = Math.min(v.length, 100);
        for (let i = 0; i < n; i++) {
          if (!(i in v)) { holes++; continue; }
          if (holes) { items.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`); holes = 0; }
          items.push(fmt(v[i], depth + 1));
        }
        if (holes) items.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
        if (v.length > 100) items.push(`... ${v.length - 100} more items`);
        items.push(...extraKeys(true));
        const name = ctorName(v);
        open = (name === 'Array' ? '' : `${name}(${v.length}) `) + '[';
        close = ']';
        if (!items.length) return open + close;
      } else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        items = Array.from(v.subarray(0, 100), (x) => fmt(x, depth + 1));
        if (v.length > 100) items.push(`... ${v.length - 100} more items`);
        open = `${ctorName(v)}(${v.length}) [`;
        close = ']';
        if (!items.length) return open + close;
      } else if (v instanceof Map) {
        items = Array.from(v, ([k, x]) => fmt(k, depth + 1) + ' => ' + fmt(x, depth + 1));
        items.push(...extraKeys());
        open = `${ctorName(v)}(${v.size}) {`;
        close = '}';
        if (!items.length) return open + close;
      } else if (v instanceof Set) {
        items = Array.from(v, (x) => fmt(x, depth + 1));
        items.push(...extraKeys());
        open = `${ctorName(v)}(${v.size}) {`;
        close = '}';
        if (!items.length) return open + close;
      } else {
        const keys = Object.keys(v);
        const syms = Object.getOwnPropertySymbols(v).filter((s) => Object.getOwnPropertyDescriptor(v, s).enumerable);
        items = keys.map((k) => {
          const d = Object.getOwnPropertyDescriptor(v, k);
          if (d && (d.get || d.set)) return key(k) + ': ' + (d.get && d.set ? '[Getter/Setter]' : d.get ? '[Getter]' : '[Setter]');
          return key(k) + ': ' + fmt(v[k], depth + 1);
        });
        for (const s of syms) items.push(`[${s.toString()}]: ` + fmt(v[s], depth + 1));
        const name = ctorName(v);
        const tag = v[Symbol.toStringTag];
        open = (name === 'Object' ? '' : name + ' ') + (tag && tag !== name ? `[${tag}] ` : '') + '{';
        close = '}';
        if (!items.length) return open + close;
      }
      const ref = circular.has(v) ? `<ref *${circular.get(v)}> ` : '';
      return ref + wrap(open, items, close, depth);
    } finally {
      seen.pop();
    }
  }

  function key(k) { return IDENT.test(k) ? k : quote(k); }

  function wrap(open, items, close, depth) {
    const single = `${open} ${items.join(', ')} ${close}`;
    if (single.length + depth * 2 <= opts.breakLength && !items.some((i) => i.includes('\n'))) return single;
    const ind = '  '.repeat(depth + 1);
    return `${open}\n${ind}${items.join(`,\n${ind}`)}\n${'  '.repeat(depth)}${close}`;
  }
}
inspect.custom = Symbol.for('nodejs.util.inspect.custom');
M.inspect = inspect;

function format(...args) {
  let out = '';
  let i = 0;
  if (typeof args[0] === 'string') {
    const f = args[0];
    i = 1;
    let last = 0;
    for (let p = 0; p < f.length - 1; p++) {
      if (f[p] !== '%') continue;
      const c = f[p + 1];
      let rep;
      if (c === '%') rep = '%';
      else if (i >= args.length && 'sdifjoOc'.includes(c)) continue;
      else if (c === 's') { const a = args[i++]; rep = typeof a === 'string' ? a : typeof a === 'bigint' ? a + 'n' : typeof a === 'object' && a !== null ? inspect(a, { depth: 1 }) : String(a); }
      else if (c === 'd' || c === 'i') { const a = args[i++]; rep = typeof a === 'bigint' ? a + 'n' : String(c === 'i' ? parseInt(a) : Number(a)); }
      else if (c === 'f') rep = String(parseFloat(args[i++]));
      else if (c === 'j') { try { rep = JSON.stringify(args[i++]); } catch { rep = '[Circular]'; } }
      else if (c === 'o' || c === 'O') rep = inspect(args[i++], { depth: c === 'o' ? 4 : 2 });
      else if (c === 'c') { i++; rep = ''; }
      else continue;
      out += f.slice(last, p) + rep;
      last = p + 2;
      p++;
    }
    out += f.slice(last);
  }
  for (; i < args.length; i++) {
    const a = args[i];
    out += (out || i > 0 ? ' ' : '') + (typeof a === 'string' ? a : inspect(a));
  }
  return out;
}
M.format = format;

// One line per call (a multi-line message keeps its newlines within the
// call's output).
// console prints objects on one line (a log line per call; only error
// stacks and the service's own newlines span lines).
const oneLine = (...args) => {
  breakLength = Infinity;
  try { return format(...args); } finally { breakLength = 80; }
};
const out = (fd) => (...args) => native.print(fd, oneLine(...args));
const counts = new Map();
const timers = new Map();
const console = {
  log: out(1), info: out(1), debug: out(1),
  warn: out(2), error: out(2),
  trace: (...args) => {
    const stack = new Error().stack.split('\n').slice(1).join('\n');
    native.print(2, 'Trace' + (args.length ? ': ' + format(...args) : '') + '\n' + stack.replace(/\n$/, ''));
  },
  dir: (v, o) => native.print(1, inspect(v, Object.assign({ breakLength: Infinity }, o))),
  table: (...args) => out(1)(...args),
  assert: (cond, ...args) => { if (!cond) native.print(2, 'Assertion failed' + (args.length ? ': ' + format(...args) : '')); },
  count: (label = 'default') => { const n = (counts.get(label) || 0) + 1; counts.set(label, n); native.print(1, `${label}: ${n}`); },
  countReset: (label = 'default') => counts.delete(label),
  time: (label = 'default') => timers.set(label, native.now()),
  timeLog: (label = 'default', ...args) => native.print(1, format(`${label}: ${(native.now() - timers.get(label)).toFixed(3)}ms`, ...args)),
  timeEnd: (label = 'default') => { native.print(1, `${label}: ${(native.now() - timers.get(label)).toFixed(3)}ms`); timers.delete(label); },
  group: () => {}, groupEnd: () => {}, groupCollapsed: () => {},
};
M.def('console', console);
