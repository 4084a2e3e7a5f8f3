// Headers, Request, Response (Fetch standard semantics, bodies as bytes)
// and fetch(), through the host (the service's `outbound` origins).
//
// Every request and response goes through these constructors, in a fresh
// instance: the common path avoids regular-expression objects made per call
// and remembers the header names it has checked (QuickJS interprets all of
// this; see docs/design/js-tier.md).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const EDGE_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const BAD_VALUE = /[\0\r\n]/;
const isWs = (c) => c === 32 || c === 9 || c === 10 || c === 13;
// Leading and trailing HTTP whitespace removed (the value's own string when
// there is none, the usual case).
const normalizeValue = (v) => {
  v = String(v);
  if (v.length === 0 || (!isWs(v.charCodeAt(0)) && !isWs(v.charCodeAt(v.length - 1)))) return v;
  EDGE_WS.lastIndex = 0;
  return v.replace(EDGE_WS, '');
};
// Checked, lower-cased header names, by the name as given. Bounded: a
// service setting endless distinct names only loses the shortcut.
const checkedNames = new Map();
const checkName = (n) => {
  n = String(n);
  const known = checkedNames.get(n);
  if (known !== undefined) return known;
  if (!TOKEN.test(n)) throw new TypeError(`Invalid header name: "${n}"`);
  const lower = n.toLowerCase();
  if (checkedNames.size < 512) checkedNames.set(n, lower);
  return lower;
};
const checkValue = (v) => {
  v = normalizeValue(v);
  if (BAD_VALUE.test(v)) throw new TypeError(`Invalid header value: "${v}"`);
  return v;
};
// Names most requests and responses carry, checked once at start-up (the
// node snapshots the engine after this) instead of in every instance.
for (const n of ['host', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'authorization',
  'cache-control', 'connection', 'content-length', 'content-type', 'cookie', 'set-cookie', 'location',
  'origin', 'referer', 'x-forwarded-for', 'x-request-id', 'Content-Type', 'Authorization']) checkName(n);

class Headers {
  #list = []; // [lowercase name, value], in insertion order
  #guard = 'none';
  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [k, v] of init.#list) this.#list.push([k, v]);
    } else if (typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const p = Array.from(pair);
        if (p.length !== 2) throw new TypeError('Header pairs must contain exactly two items');
        this.append(p[0], p[1]);
      }
    } else if (typeof init === 'object') {
      for (const k of Object.keys(init)) this.append(k, init[k]);
    } else {
      throw new TypeError('Headers init must be an object or an iterable of pairs');
    }
  }
  #check() { if (this.#guard === 'immutable') throw new TypeError('Headers are immutable'); }
  static _freeze(h) { h.#guard = 'immutable'; return h; }
  static _list(h) { return h.#list; }
  append(name, value) { this.#check(); this.#list.push([checkName(name), checkValue(value)]); }
  delete(name) { this.#check(); name = checkName(name); this.#list = this.#list.filter(([k]) => k !== name); }
  get(name) {
    name = checkName(name);
    const vals = this.#list.filter(([k]) => k === name).map(([, v]) => v);
    return vals.length ? vals.join(', ') : null;
  }
  getSetCookie() { return this.#list.filter(([k]) => k === 'set-cookie').map(([, v]) => v); }
  has(name) { name = checkName(name); return this.#list.some(([k]) => k === name); }
  set(name, value) {
    this.#check();
    name = checkName(name); value = checkValue(value);
    const i = this.#list.findIndex(([k]) => k === name);
    if (i < 0) this.#list.push([name, value]);
    else { this.#list[i] = [name, value]; this.#list = this.#list.filter(([k], j) => j <= i || k !== name); }
  }
  // Sorted and combined, set-cookie kept apart (the Fetch standard's
  // "sort and combine").
  *entries() {
    const names = [...new Set(this.#list.map(([k]) => k))].sort();
    for (const n of names) {
      if (n === 'set-cookie') { for (const v of this.getSetCookie()) yield [n, v]; }
      else yield [n, this.get(n)];
    }
  }
  *keys() { for (const [k] of this.entries()) yield k; }
  *values() { for (const [, v] of this.entries()) yield v; }
  forEach(cb, thisArg) { for (const [k, v] of this.entries()) cb.call(thisArg, v, k, this); }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'Headers'; }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    const o = {};
    for (const [k, v] of this.entries()) o[k] = v;
    return 'Headers ' + M.inspect(o);
  }
}

// BodyInit -> { bytes: Uint8Array | null, type: string | null }
function extractBody(body) {
  if (body === undefined || body === null) return { bytes: null, type: null };
  if (typeof body === 'string') return { bytes: M.utf8(body), type: 'text/plain;charset=UTF-8' };
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return { bytes: M.copyU8(body), type: null };
  if (body instanceof URLSearchParams) return { bytes: M.utf8(body.toString()), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  if (body instanceof Blob) return { bytes: M.blobBytes(body), type: body.type || null };
  if (body instanceof FormData) return M.encodeFormData(body);
  if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) throw new TypeError('ReadableStream bodies are not supported by this runtime');
  return { bytes: M.utf8(String(body)), type: 'text/plain;charset=UTF-8' };
}

// The body mixin, shared by Request and Response.
const bodies = new WeakMap(); // object -> { bytes, used }
function consume(obj) {
  const b = bodies.get(obj);
  if (b.used) return Promise.reject(new TypeError('Body has already been used'));
  b.used = true;
  return Promise.resolve(b.bytes || new Uint8Array(0));
}
const BodyMixin = {
  get bodyUsed() { return bodies.get(this).used; },
  get body() {
    const b = bodies.get(this);
    return b.bytes === null ? null : b.bytes;
  },
  arrayBuffer() { return consume(this).then((u) => u.slice().buffer); },
  bytes() { return consume(this).then((u) => u.slice()); },
  text() { return consume(this).then((u) => M.fromUtf8(u)); },
  json() { return this.text().then((t) => JSON.parse(t)); },
  blob() { return consume(this).then((u) => new Blob([u], { type: this.headers.get('content-type') || '' })); },
  formData() { return consume(this).then((u) => M.parseFormData(u, this.headers.get('content-type'))); },
};
function mixBody(C) {
  for (const k of Object.getOwnPropertyNames(BodyMixin)) {
    Object.defineProperty(C.prototype, k, Object.getOwnPropertyDescriptor(BodyMixin, k));
  }
}
M.bodyBytes = (obj) => bodies.get(obj).bytes;

const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'];
const FORBIDDEN_METHODS = ['CONNECT', 'TRACE', 'TRACK'];
class Request {
  #method; #url; #headers; #signal; #redirect;
  constructor(input, init = {}) {
    init = init || {};
    let body = null, inherited = null;
    if (input instanceof Request) {
      this.#method = input.#method;
      this.#url = input.#url;
      this.#headers = new Headers(input.#headers);
      this.#signal = input.signal;
      this.#redirect = input.#redirect;
      if (init.body === undefined) {
        const b = bodies.get(input);
        if (b.used) throw new TypeError('Cannot construct a Request with a Request whose body has already been used');
        inherited = b.bytes;
      }
    } else {
      let u;
      try { u = new URL(String(input)); } catch { throw new TypeError(`Invalid URL: ${String(input)}`); }
      if (u.username || u.password) throw new TypeError('Request URLs cannot include credentials');
      this.#url = u.href;
      this.#method = 'GET';
      this.#headers = new Headers();
      this.#signal = null; // made on first use: most handlers never look
      this.#redirect = 'follow';
    }
    if (init.method !== undefined) {
      const m = String(init.method);
      if (!TOKEN.test(m)) throw new TypeError(`Invalid method: "${m}"`);
      const up = m.toUpperCase();
      if (FORBIDDEN_METHODS.includes(up)) throw new TypeError(`Forbidden method: "${m}"`);
      this.#method = METHODS.includes(up) ? up : m;
    }
    if (init.headers !== undefined) this.#headers = new Headers(init.headers);
    if (init.signal) this.#signal = init.signal;
    if (init.redirect) this.#redirect = String(init.redirect);
    if (init.body !== undefined && init.body !== null) {
      if (this.#method === 'GET' || this.#method === 'HEAD') throw new TypeError('Request with GET/HEAD method cannot have body.');
      const ex = extractBody(init.body);
      body = ex.bytes;
      if (ex.type && !this.#headers.has('content-type')) this.#headers.set('content-type', ex.type);
    } else {
      body = inherited;
    }
    bodies.set(this, { bytes: body, used: false });
  }
  get method() { return this.#method; }
  get url() { return this.#url; }
  get headers() { return this.#headers; }
  get signal() { return this.#signal ??= new AbortController().signal; }
  get redirect() { return this.#redirect; }
  get cache() { return 'default'; }
  get credentials() { return 'same-origin'; }
  get mode() { return 'cors'; }
  get destination() { return ''; }
  get referrer() { return 'about:client'; }
  get integrity() { return ''; }
  get keepalive() { return false; }
  clone() {
    const b = bodies.get(this);
    if (b.used) throw new TypeError('Cannot clone a Request whose body has already been used');
    const r = new Request(this);
    bodies.set(r, { bytes: b.bytes, used: false });
    return r;
  }
  get [Symbol.toStringTag]() { return 'Request'; }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Request ${M.inspect({ method: this.#method, url: this.#url, headers: this.#headers })}`;
  }
}
mixBody(Request);

const REDIRECTS = [301, 302, 303, 307, 308];
const BAD_STATUS_TEXT = /[^\t\x20-\x7e\x80-\xff]/;
const NULL_BODY = [101, 103, 204, 205, 304];
class Response {
  #status; #statusText; #headers; #type = 'default'; #url = '';
  constructor(body = null, init = {}) {
    init = init || {};
    const status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`The status provided (${init.status}) is outside the range [200, 599].`);
    }
    const statusText = init.statusText === undefined ? '' : String(init.statusText);
    if (statusText !== '' && BAD_STATUS_TEXT.test(statusText)) throw new TypeError('Invalid statusText');
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = new Headers(init.headers);
    let bytes = null;
    if (body !== null && body !== undefined) {
      if (NULL_BODY.includes(status)) throw new TypeError(`Response with null body status (${status}) cannot have body`);
      const ex = extractBody(body);
      bytes = ex.bytes;
      if (ex.type && !this.#headers.has('content-type')) this.#headers.set('content-type', ex.type);
    }
    bodies.set(this, { bytes, used: false });
  }
  static _fromNetwork(status, flat, bytes, url) {
    const headers = new Headers();
    for (let i = 0; i < flat.length; i += 2) headers.append(flat[i], flat[i + 1]);
    const r = new Response(null, { status: status < 200 ? 200 : status, headers });
    r.#status = status;
    r.#url = url;
    r.#type = 'basic';
    if (!NULL_BODY.includes(status)) bodies.set(r, { bytes, used: false });
    return r;
  }
  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('The data is not JSON serializable');
    const r = new Response(text, init);
    if (!(init && init.headers && new Headers(init.headers).has('content-type'))) r.#headers.set('content-type', 'application/json');
    return r;
  }
  static redirect(url, status = 302) {
    const u = new URL(String(url)).href;
    if (!REDIRECTS.includes(status)) throw new RangeError(`Invalid status code: ${status}`);
    const r = new Response(null, { status });
    r.#headers.set('location', u);
    Headers._freeze(r.#headers);
    return r;
  }
  static error() {
    const r = new Response(null, { status: 200 });
    r.#status = 0;
    r.#type = 'error';
    Headers._freeze(r.#headers);
    return r;
  }
  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  get ok() { return this.#status >= 200 && this.#status <= 299; }
  get headers() { return this.#headers; }
  get type() { return this.#type; }
  get url() { return this.#url; }
  get redirected() { return false; }
  clone() {
    const b = bodies.get(this);
    if (b.used) throw new TypeError('Cannot clone a Response whose body has already been used');
    const r = new Response(null, { status: this.#status === 0 ? 200 : this.#status, statusText: this.#statusText, headers: this.#headers });
    r.#status = this.#status;
    r.#type = this.#type;
    bodies.set(r, { bytes: b.bytes, used: false });
    return r;
  }
  get [Symbol.toStringTag]() { return 'Response'; }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `Response ${M.inspect({ status: this.#status, statusText: this.#statusText, headers: this.#headers, bodyUsed: this.bodyUsed })}`;
  }
}
mixBody(Response);

M.def('Headers', Headers);
M.def('Request', Request);
M.def('Response', Response);
M.headerList = (h) => Headers._list(h);

// Requests sent through the host: `fetch` (the service's `outbound`
// origins) and service bindings (`bindings.js`). Each is started at once; the
// engine's event loop waits for the first of them to answer (or the next
// timer) and settles its promise, so concurrent fetches overlap.
const inflight = new Map(); // id -> { resolve, reject, url }
M.send = (request, url) => {
  const flat = [];
  for (const [k, v] of M.headerList(request.headers)) flat.push(k, v);
  const b = bodies.get(request);
  if (b.used) throw new TypeError('The request body has already been used');
  b.used = b.bytes !== null;
  const id = M.native.fetchStart(request.method, url, flat, b.bytes || new Uint8Array(0));
  return new Promise((resolve, reject) => inflight.set(id, { resolve, reject, url }));
};
M.inflight = () => [...inflight.keys()];
M.fetchDone = (id) => {
  const f = inflight.get(id);
  if (!f) return;
  inflight.delete(id);
  try {
    const [status, headers, bytes] = M.native.fetchFinish(id);
    f.resolve(Response._fromNetwork(status, headers, bytes, f.url));
  } catch (e) {
    f.reject(e);
  }
};
M.clearFetches = () => inflight.clear();

M.def('fetch', async function fetch(input, init) {
  const request = new Request(input, init);
  return M.send(request, request.url);
});
