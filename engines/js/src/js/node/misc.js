// node:events, node:util, node:path, node:querystring, node:url,
// node:string_decoder, node:assert, node:process.
const B = M.builtins;

// events
class EventEmitter {
  constructor() { this._events = Object.create(null); this._maxListeners = undefined; }
  #ev() { if (!this._events) this._events = Object.create(null); return this._events; }
  on(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('The "listener" argument must be of type function');
    const ev = this.#ev();
    if (ev.newListener && name !== 'newListener') this.emit('newListener', name, fn.listener || fn);
    (ev[name] || (ev[name] = [])).push(fn);
    return this;
  }
  addListener(name, fn) { return this.on(name, fn); }
  prependListener(name, fn) { const ev = this.#ev(); (ev[name] || (ev[name] = [])).unshift(fn); return this; }
  once(name, fn) {
    const w = (...args) => { this.removeListener(name, w); return fn.apply(this, args); };
    w.listener = fn;
    return this.on(name, w);
  }
  prependOnceListener(name, fn) {
    const w = (...args) => { this.removeListener(name, w); return fn.apply(this, args); };
    w.listener = fn;
    return this.prependListener(name, w);
  }
  off(name, fn) { return this.removeListener(name, fn); }
  removeListener(name, fn) {
    const list = this.#ev()[name];
    if (!list) return this;
    const i = list.findIndex((l) => l === fn || l.listener === fn);
    if (i >= 0) { list.splice(i, 1); if (!list.length) delete this._events[name]; if (this._events.removeListener) this.emit('removeListener', name, fn); }
    return this;
  }
  removeAllListeners(name) { if (name === undefined) this._events = Object.create(null); else delete this.#ev()[name]; return this; }
  emit(name, ...args) {
    const list = this.#ev()[name];
    if (!list || !list.length) {
      if (name === 'error') { const e = args[0]; throw e instanceof Error ? e : new Error(`Unhandled error. (${M.inspect(e)})`); }
      return false;
    }
    for (const fn of list.slice()) fn.apply(this, args);
    return true;
  }
  listeners(name) { return (this.#ev()[name] || []).map((l) => l.listener || l); }
  rawListeners(name) { return (this.#ev()[name] || []).slice(); }
  listenerCount(name) { return (this.#ev()[name] || []).length; }
  eventNames() { return Reflect.ownKeys(this.#ev()); }
  setMaxListeners(n) { this._maxListeners = n; return this; }
  getMaxListeners() { return this._maxListeners === undefined ? EventEmitter.defaultMaxListeners : this._maxListeners; }
}
EventEmitter.defaultMaxListeners = 10;
EventEmitter.EventEmitter = EventEmitter;
EventEmitter.once = (emitter, name) => new Promise((resolve, reject) => {
  if (typeof emitter.addEventListener === 'function') { emitter.addEventListener(name, (e) => resolve([e]), { once: true }); return; }
  const onError = (e) => { emitter.removeListener(name, on); reject(e); };
  const on = (...args) => { if (name !== 'error') emitter.removeListener('error', onError); resolve(args); };
  emitter.once(name, on);
  if (name !== 'error') emitter.once('error', onError);
});
EventEmitter.errorMonitor = Symbol('events.errorMonitor');
B.events = EventEmitter;

// util
const types = {
  isDate: (v) => v instanceof Date,
  isRegExp: (v) => v instanceof RegExp,
  isMap: (v) => v instanceof Map,
  isSet: (v) => v instanceof Set,
  isWeakMap: (v) => v instanceof WeakMap,
  isWeakSet: (v) => v instanceof WeakSet,
  isPromise: (v) => v instanceof Promise,
  isArrayBuffer: (v) => v instanceof ArrayBuffer,
  isAnyArrayBuffer: (v) => v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer),
  isArrayBufferView: (v) => ArrayBuffer.isView(v),
  isTypedArray: (v) => ArrayBuffer.isView(v) && !(v instanceof DataView),
  isUint8Array: (v) => v instanceof Uint8Array,
  isDataView: (v) => v instanceof DataView,
  isNativeError: (v) => v instanceof Error,
  isAsyncFunction: (v) => typeof v === 'function' && v.constructor && v.constructor.name === 'AsyncFunction',
  isGeneratorFunction: (v) => typeof v === 'function' && v.constructor && /GeneratorFunction$/.test(v.constructor.name),
  isBoxedPrimitive: (v) => v instanceof Number || v instanceof String || v instanceof Boolean,
};
const kCustomPromisify = Symbol.for('nodejs.util.promisify.custom');
function promisify(fn) {
  if (typeof fn !== 'function') throw new TypeError('The "original" argument must be of type function');
  if (fn[kCustomPromisify]) return fn[kCustomPromisify];
  return function (...args) {
    return new Promise((resolve, reject) => fn.call(this, ...args, (err, value) => (err ? reject(err) : resolve(value))));
  };
}
promisify.custom = kCustomPromisify;
function isDeepStrictEqual(a, b, seen = new Map()) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  if (a instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (a instanceof Error && (a.message !== b.message || a.name !== b.name)) return false;
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const x = M.toU8(a), y = M.toU8(b);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  if (a instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !isDeepStrictEqual(v, b.get(k), seen)) return false;
    return true;
  }
  if (a instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !isDeepStrictEqual(a[k], b[k], seen)) return false;
  return true;
}
B.util = {
  format: M.format, inspect: M.inspect, promisify, types, isDeepStrictEqual,
  inherits(ctor, superCtor) {
    Object.defineProperty(ctor, 'super_', { value: superCtor, writable: true, configurable: true });
    Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
  },
  deprecate: (fn) => fn,
  callbackify: (fn) => function (...args) {
    const cb = args.pop();
    fn.apply(this, args).then((v) => cb(null, v), (e) => cb(e));
  },
  debuglog: () => () => {},
  isArray: Array.isArray,
  TextEncoder, TextDecoder,
};

// path (POSIX)
function normalizeArray(parts, allowAbove) {
  const out = [];
  for (const p of parts) {
    if (!p || p === '.') continue;
    if (p === '..') { if (out.length && out[out.length - 1] !== '..') out.pop(); else if (allowAbove) out.push('..'); }
    else out.push(p);
  }
  return out;
}
const path = {
  sep: '/', delimiter: ':',
  normalize(p) {
    if (p === '') return '.';
    const abs = p.startsWith('/');
    const trailing = p.endsWith('/');
    let r = normalizeArray(p.split('/'), !abs).join('/');
    if (!r && !abs) r = '.';
    if (r && trailing) r += '/';
    return (abs ? '/' : '') + r;
  },
  join(...parts) { const j = parts.filter((x) => { if (typeof x !== 'string') throw new TypeError('The "path" argument must be of type string'); return x; }).join('/'); return j ? path.normalize(j) : '.'; },
  resolve(...parts) {
    let r = '';
    for (let i = parts.length - 1; i >= 0 && !r.startsWith('/'); i--) if (parts[i]) r = parts[i] + (r ? '/' + r : '');
    if (!r.startsWith('/')) r = '/' + r;
    const n = normalizeArray(r.split('/'), false).join('/');
    return '/' + n;
  },
  isAbsolute: (p) => p.startsWith('/'),
  dirname(p) {
    if (!p) return '.';
    const s = p.replace(/\/+$/, '');
    if (!s) return '/';
    const i = s.lastIndexOf('/');
    return i < 0 ? '.' : i === 0 ? '/' : s.slice(0, i).replace(/\/+$/, '') || '/';
  },
  basename(p, ext) {
    let b = p.replace(/\/+$/, '');
    b = b.slice(b.lastIndexOf('/') + 1);
    if (ext && b.endsWith(ext) && b !== ext) b = b.slice(0, -ext.length);
    return b;
  },
  extname(p) {
    const b = path.basename(p);
    const i = b.lastIndexOf('.');
    return i <= 0 ? '' : b.slice(i);
  },
  relative(from, to) {
    const f = path.resolve(from).split('/').filter(Boolean), t = path.resolve(to).split('/').filter(Boolean);
    let i = 0;
    while (i < f.length && i < t.length && f[i] === t[i]) i++;
    return [...Array(f.length - i).fill('..'), ...t.slice(i)].join('/');
  },
  parse(p) {
    const root = p.startsWith('/') ? '/' : '';
    const base = path.basename(p), ext = path.extname(p);
    let dir = path.dirname(p);
    if (dir === '.' && !p.includes('/')) dir = '';
    return { root, dir, base, ext, name: ext ? base.slice(0, -ext.length) : base };
  },
  format(o) { const dir = o.dir || o.root || ''; const base = o.base || (o.name || '') + (o.ext || ''); return dir ? (dir.endsWith('/') ? dir + base : dir + '/' + base) : base; },
  toNamespacedPath: (p) => p,
};
path.posix = path;
B.path = path;

// querystring
const qsEscape = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const qsUnescape = (s) => { try { return decodeURIComponent(s); } catch { return s; } };
const stringifyPrimitive = (v) => (typeof v === 'string' ? v : typeof v === 'number' && isFinite(v) ? String(v) : typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : '');
B.querystring = {
  escape: qsEscape, unescape: qsUnescape,
  parse(str, sep = '&', eq = '=', opts = {}) {
    const out = Object.create(null);
    if (typeof str !== 'string' || !str) return out;
    const max = opts.maxKeys === undefined ? 1000 : opts.maxKeys;
    let parts = str.split(sep);
    if (max > 0) parts = parts.slice(0, max);
    for (const part of parts) {
      if (!part) continue;
      const i = part.indexOf(eq);
      const k = qsUnescape((i >= 0 ? part.slice(0, i) : part).replace(/\+/g, ' '));
      const v = i >= 0 ? qsUnescape(part.slice(i + eq.length).replace(/\+/g, ' ')) : '';
      if (!(k in out)) out[k] = v;
      else if (Array.isArray(out[k])) out[k].push(v);
      else out[k] = [out[k], v];
    }
    return out;
  },
  stringify(obj, sep = '&', eq = '=') {
    if (!obj || typeof obj !== 'object') return '';
    return Object.keys(obj).map((k) => {
      const v = obj[k];
      const ks = qsEscape(stringifyPrimitive(k)) + eq;
      return Array.isArray(v) ? v.map((x) => ks + qsEscape(stringifyPrimitive(x))).join(sep) : ks + qsEscape(stringifyPrimitive(v));
    }).filter(Boolean).join(sep);
  },
};
B.querystring.decode = B.querystring.parse;
B.querystring.encode = B.querystring.stringify;

// url
B.url = {
  URL, URLSearchParams,
  parse(s, parseQuery) {
    let u;
    try { u = new URL(s); } catch { u = null; }
    if (!u) {
      const m = /^([^?#]*)(\?[^#]*)?(#.*)?$/.exec(s);
      return { protocol: null, slashes: null, auth: null, host: null, port: null, hostname: null, hash: m[3] || null, search: m[2] || null, query: parseQuery ? B.querystring.parse((m[2] || '').slice(1)) : (m[2] || '').slice(1) || null, pathname: m[1] || null, path: (m[1] || '') + (m[2] || ''), href: s };
    }
    return {
      protocol: u.protocol, slashes: true, auth: u.username ? u.username + (u.password ? ':' + u.password : '') : null,
      host: u.host, port: u.port || null, hostname: u.hostname, hash: u.hash || null, search: u.search || null,
      query: parseQuery ? B.querystring.parse(u.search.slice(1)) : u.search.slice(1) || null,
      pathname: u.pathname, path: u.pathname + u.search, href: u.href,
    };
  },
  format(u) {
    if (u instanceof URL) return u.href;
    if (typeof u === 'string') return u;
    const auth = u.auth ? u.auth + '@' : '';
    const host = u.host || (u.hostname ? u.hostname + (u.port ? ':' + u.port : '') : '');
    const search = u.search || (u.query && typeof u.query === 'object' ? '?' + B.querystring.stringify(u.query) : u.query ? '?' + u.query : '');
    return (u.protocol ? u.protocol + (u.protocol.endsWith(':') ? '' : ':') + '//' : host ? '//' : '') + auth + host + (u.pathname || '') + search + (u.hash || '');
  },
  resolve: (from, to) => { const r = new URL(to, new URL(from, 'resolve://')); return r.protocol === 'resolve:' ? r.pathname + r.search + r.hash : r.href; },
  fileURLToPath(u) { const x = typeof u === 'string' ? new URL(u) : u; if (x.protocol !== 'file:') throw new TypeError('The URL must be of scheme file'); return decodeURIComponent(x.pathname); },
  pathToFileURL: (p) => new URL('file://' + path.resolve(p).split('/').map(encodeURIComponent).join('/')),
  domainToASCII: (d) => { try { return new URL('http://' + d).hostname; } catch { return ''; } },
};

// string_decoder
class StringDecoder {
  constructor(encoding = 'utf8') {
    this.encoding = String(encoding).toLowerCase().replace('-', '');
    if (this.encoding === 'utf8') this._d = new TextDecoder('utf-8');
    this._rest = null;
  }
  write(buf) {
    if (typeof buf === 'string') return buf;
    if (this._d) return this._d.decode(buf, { stream: true });
    let u = M.toU8(buf);
    if (this._rest) { u = M.concat([this._rest, u]); this._rest = null; }
    const unit = this.encoding === 'base64' || this.encoding === 'base64url' ? 3 : this.encoding === 'utf16le' || this.encoding === 'ucs2' ? 2 : 1;
    const keep = u.length % unit;
    if (keep) { this._rest = u.slice(u.length - keep); u = u.subarray(0, u.length - keep); }
    return M.Buffer.from(u).toString(this.encoding);
  }
  end(buf) {
    let s = buf ? this.write(buf) : '';
    if (this._d) s += this._d.decode();
    else if (this._rest) { s += M.Buffer.from(this._rest).toString(this.encoding); this._rest = null; }
    return s;
  }
}
B.string_decoder = { StringDecoder };

// assert
class AssertionError extends Error {
  constructor(options) {
    super(options.message);
    this.name = 'AssertionError';
    this.code = 'ERR_ASSERTION';
    this.actual = options.actual;
    this.expected = options.expected;
    this.operator = options.operator;
    this.generatedMessage = !options.userMessage;
  }
}
const fail = (actual, expected, message, operator, def) => {
  if (message instanceof Error) throw message;
  throw new AssertionError({ message: message !== undefined ? message : def(), userMessage: message !== undefined, actual, expected, operator });
};
function assert(value, message) { assert.ok(value, message); }
Object.assign(assert, {
  AssertionError,
  ok(value, message) { if (!value) fail(value, true, message, '==', () => `The expression evaluated to a falsy value:\n\n  assert.ok(${M.inspect(value)})\n`); },
  equal(a, b, message) { if (!(a == b || (a !== a && b !== b))) fail(a, b, message, '==', () => `${M.inspect(a)} == ${M.inspect(b)}`); },
  notEqual(a, b, message) { if (a == b) fail(a, b, message, '!=', () => `${M.inspect(a)} != ${M.inspect(b)}`); },
  strictEqual(a, b, message) { if (!Object.is(a, b)) fail(a, b, message, 'strictEqual', () => `Expected values to be strictly equal:\n\n${M.inspect(a)} !== ${M.inspect(b)}\n`); },
  notStrictEqual(a, b, message) { if (Object.is(a, b)) fail(a, b, message, 'notStrictEqual', () => `Expected "actual" to be strictly unequal to: ${M.inspect(b)}`); },
  deepStrictEqual(a, b, message) { if (!isDeepStrictEqual(a, b)) fail(a, b, message, 'deepStrictEqual', () => `Expected values to be strictly deep-equal:\n${M.inspect(a)}\n\nshould equal\n\n${M.inspect(b)}`); },
  notDeepStrictEqual(a, b, message) { if (isDeepStrictEqual(a, b)) fail(a, b, message, 'notDeepStrictEqual', () => 'Expected "actual" not to be strictly deep-equal to "expected"'); },
  fail(message = 'Failed') { if (message instanceof Error) throw message; throw new AssertionError({ message, operator: 'fail' }); },
  throws(fn, expected, message) {
    if (typeof expected === 'string') { message = expected; expected = undefined; }
    try { fn(); } catch (e) { check(e, expected, message); return; }
    fail(undefined, expected, message, 'throws', () => 'Missing expected exception.');
  },
  doesNotThrow(fn, message) { try { fn(); } catch (e) { fail(e, undefined, typeof message === 'string' ? message : undefined, 'doesNotThrow', () => `Got unwanted exception.\nActual message: "${e && e.message}"`); } },
  async rejects(p, expected, message) {
    if (typeof expected === 'string') { message = expected; expected = undefined; }
    try { await (typeof p === 'function' ? p() : p); } catch (e) { check(e, expected, message); return; }
    fail(undefined, expected, message, 'rejects', () => 'Missing expected rejection.');
  },
  async doesNotReject(p, message) { try { await (typeof p === 'function' ? p() : p); } catch (e) { fail(e, undefined, message, 'doesNotReject', () => 'Got unwanted rejection.'); } },
  match(s, re, message) { if (!re.test(s)) fail(s, re, message, 'match', () => `The input did not match the regular expression ${re}. Input:\n\n${M.inspect(s)}\n`); },
  doesNotMatch(s, re, message) { if (re.test(s)) fail(s, re, message, 'doesNotMatch', () => `The input was expected to not match the regular expression ${re}.`); },
  ifError(v) { if (v !== null && v !== undefined) throw v; },
});
function check(e, expected, message) {
  if (expected === undefined) return;
  if (typeof expected === 'function') {
    if (expected.prototype !== undefined && e instanceof expected) return;
    if (Error.isPrototypeOf(expected) || expected === Error) throw e;
    if (expected.call({}, e) === true) return;
    fail(e, expected, message, 'throws', () => 'The validation function is expected to return "true".');
  }
  if (expected instanceof RegExp) { if (expected.test(String(e))) return; fail(e, expected, message, 'throws', () => `The input did not match the regular expression ${expected}.`); }
  for (const k of Object.keys(expected)) {
    const ok = expected[k] instanceof RegExp && typeof e[k] === 'string' ? expected[k].test(e[k]) : isDeepStrictEqual(e[k], expected[k]);
    if (!ok) fail(e, expected, message, 'throws', () => `Expected values to be strictly deep-equal: ${k}`);
  }
}
assert.strict = assert;
B.assert = assert;

// process
const env = {};
const process = new EventEmitter();
Object.assign(process, {
  env,
  argv: ['mote', 'service'],
  argv0: 'mote',
  execArgv: [],
  platform: 'linux',
  arch: 'wasm32',
  pid: 1,
  ppid: 0,
  title: 'mote',
  version: 'v22.0.0',
  versions: { node: '22.0.0', quickjs: 'ng', mote: '0.1.0' },
  release: { name: 'node' },
  exitCode: undefined,
  browser: false,
  cwd: () => '/',
  chdir: () => { throw new Error('process.chdir() is not supported'); },
  umask: () => 0o22,
  uptime: () => performance.now() / 1000,
  hrtime: Object.assign((prev) => {
    const ns = BigInt(Math.floor(M.native.now() * 1e6));
    const s = Number(ns / 1000000000n), n = Number(ns % 1000000000n);
    if (!prev) return [s, n];
    let ds = s - prev[0], dn = n - prev[1];
    if (dn < 0) { ds--; dn += 1e9; }
    return [ds, dn];
  }, { bigint: () => BigInt(Math.floor(M.native.now() * 1e6)) }),
  memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
  nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
  emitWarning: (w) => console.warn(typeof w === 'string' ? `Warning: ${w}` : w),
  exit: (code) => { throw new Error(`process.exit(${code === undefined ? '' : code}) is not supported in a service`); },
  abort: () => { throw new Error('process.abort() is not supported in a service'); },
  stdout: { write: (s) => { M.native.print(1, String(s).replace(/\n$/, '')); return true; }, isTTY: false },
  stderr: { write: (s) => { M.native.print(2, String(s).replace(/\n$/, '')); return true; }, isTTY: false },
});
M.setEnv = (flat) => {
  for (const k of Object.keys(env)) delete env[k];
  const obj = {};
  for (let i = 0; i < flat.length; i += 2) { env[flat[i]] = flat[i + 1]; obj[flat[i]] = flat[i + 1]; }
  return obj;
};
B.process = process;
M.def('process', process);
