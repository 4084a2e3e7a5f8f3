// URL and URLSearchParams (WHATWG), parsed and serialized by the Rust `url`
// and `form_urlencoded` crates.
const native = M.native;
const PARTS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];

class URLSearchParams {
  #list = [];
  #url = null;
  constructor(init = '') {
    if (typeof init === 'object' && init !== null) {
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = Array.from(pair);
          if (p.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
          this.#list.push([String(p[0]), String(p[1])]);
        }
      } else {
        for (const k of Object.keys(init)) this.#list.push([k, String(init[k])]);
      }
    } else {
      let s = String(init);
      if (s.startsWith('?')) s = s.slice(1);
      this.#parse(s);
    }
  }
  #parse(s) {
    const flat = native.formParse(s);
    this.#list = [];
    for (let i = 0; i < flat.length; i += 2) this.#list.push([flat[i], flat[i + 1]]);
  }
  #update() {
    if (this.#url) URL._setSearchFromParams(this.#url, this.toString());
  }
  static _attach(params, url, search) {
    params.#url = url;
    params.#parse(search.startsWith('?') ? search.slice(1) : search);
  }
  static _reparse(params, search) { params.#parse(search.startsWith('?') ? search.slice(1) : search); }
  get size() { return this.#list.length; }
  append(name, value) { this.#list.push([String(name), String(value)]); this.#update(); }
  delete(name, value) {
    name = String(name);
    this.#list = this.#list.filter(([k, v]) => !(k === name && (value === undefined || v === String(value))));
    this.#update();
  }
  get(name) { name = String(name); const e = this.#list.find(([k]) => k === name); return e ? e[1] : null; }
  getAll(name) { name = String(name); return this.#list.filter(([k]) => k === name).map(([, v]) => v); }
  has(name, value) { name = String(name); return this.#list.some(([k, v]) => k === name && (value === undefined || v === String(value))); }
  set(name, value) {
    name = String(name); value = String(value);
    const i = this.#list.findIndex(([k]) => k === name);
    if (i < 0) this.#list.push([name, value]);
    else { this.#list[i][1] = value; this.#list = this.#list.filter(([k], j) => j <= i || k !== name); }
    this.#update();
  }
  sort() {
    // Stable sort by UTF-16 code units.
    this.#list = this.#list.map((e, i) => [e, i]).sort((a, b) => (a[0][0] < b[0][0] ? -1 : a[0][0] > b[0][0] ? 1 : a[1] - b[1])).map((x) => x[0]);
    this.#update();
  }
  forEach(cb, thisArg) { for (const [k, v] of this.#list.slice()) cb.call(thisArg, v, k, this); }
  *entries() { for (const [k, v] of this.#list) yield [k, v]; }
  *keys() { for (const [k] of this.#list) yield k; }
  *values() { for (const [, v] of this.#list) yield v; }
  [Symbol.iterator]() { return this.entries(); }
  toString() { return native.formSerialize(this.#list.flat()); }
  get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `URLSearchParams {${this.#list.length ? ' ' + this.#list.map(([k, v]) => `'${k}' => '${v}'`).join(', ') + ' ' : ''}}`;
  }
}

class URL {
  #p;
  #params = null;
  constructor(url, base) {
    if (arguments.length === 0) throw new TypeError('The "url" argument must be specified');
    const p = base === undefined ? native.urlParse(String(url)) : native.urlParse(String(url), String(base));
    if (!p) throw new TypeError(`Invalid URL: ${String(url)}`);
    this.#p = p;
  }
  static canParse(url, base) {
    return !!(base === undefined ? native.urlParse(String(url)) : native.urlParse(String(url), String(base)));
  }
  static parse(url, base) {
    try { return new URL(url, base); } catch { return null; }
  }
  #set(prop, value) {
    this.#p = native.urlSet(this.#p[0], prop, String(value));
    if (this.#params && (prop === 'href' || prop === 'search')) URLSearchParams._reparse(this.#params, this.#p[9]);
  }
  static _setSearchFromParams(url, s) {
    url.#p = native.urlSet(url.#p[0], 'search', s);
    // An empty query leaves no '?' behind.
    if (s === '') url.#p = native.urlSet(url.#p[0], 'search', '');
  }
  get searchParams() {
    if (!this.#params) {
      this.#params = new URLSearchParams();
      URLSearchParams._attach(this.#params, this, this.#p[9]);
    }
    return this.#params;
  }
  toString() { return this.#p[0]; }
  toJSON() { return this.#p[0]; }
  get [Symbol.toStringTag]() { return 'URL'; }
  [Symbol.for('nodejs.util.inspect.custom')](depth, opts, inspect) {
    const o = {};
    for (let i = 0; i < PARTS.length; i++) o[PARTS[i]] = this.#p[i];
    o.searchParams = this.searchParams;
    return 'URL ' + M.inspect(o).replace(/^\{/, '{');
  }
  static _parts(u) { return u.#p; }
  static _set(u, prop, v) { u.#set(prop, v); }
}
PARTS.forEach((name, i) => {
  const desc = { get() { return URL._parts(this)[i]; }, enumerable: true, configurable: true };
  if (name !== 'origin') desc.set = function (v) { URL._set(this, name, v); };
  Object.defineProperty(URL.prototype, name, desc);
});

M.def('URL', URL);
M.def('URLSearchParams', URLSearchParams);
