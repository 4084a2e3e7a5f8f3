// Minimal Web-ish shims for the prototype: Headers, Request, Response, console.
class Headers {
  constructor(init) {
    this._m = new Map();
    if (init) {
      const it = init instanceof Headers ? init._m.entries()
        : Array.isArray(init) ? init : Object.entries(init);
      for (const [k, v] of it) this.set(k, v);
    }
  }
  get(k) { const v = this._m.get(String(k).toLowerCase()); return v === undefined ? null : v; }
  set(k, v) { this._m.set(String(k).toLowerCase(), String(v)); }
  has(k) { return this._m.has(String(k).toLowerCase()); }
  entries() { return this._m.entries(); }
  [Symbol.iterator]() { return this._m.entries(); }
}
class Request {
  constructor(method, url, headers) { this.method = method; this.url = url; this.headers = new Headers(headers); }
}
class Response {
  constructor(body, init) {
    init = init || {};
    this.body = body == null ? "" : String(body);
    this.status = init.status || 200;
    this.headers = new Headers(init.headers);
    if (!this.headers.has("content-type")) this.headers.set("content-type", "text/plain;charset=UTF-8");
  }
  static json(v, init) {
    const r = new Response(JSON.stringify(v), init);
    r.headers.set("content-type", "application/json");
    return r;
  }
}
globalThis.Headers = Headers; globalThis.Request = Request; globalThis.Response = Response;
globalThis.console = {
  log: (...a) => __mote_print(1, a.map(String).join(" ")),
  error: (...a) => __mote_print(2, a.map(String).join(" ")),
};
// Math.random: QuickJS seeds its generator once, from the clock, when the
// context is created -- i.e. at snapshot time. Replace it by xorshift128+
// reseeded from wasi:random/insecure-seed at the start of every request.
(() => {
  let s0 = 1n, s1 = 2n;
  const M = (1n << 64n) - 1n;
  globalThis.__mote_seed = (a, b) => { s0 = BigInt.asUintN(64, BigInt(a)) || 1n; s1 = BigInt.asUintN(64, BigInt(b)) || 2n; };
  Math.random = () => {
    let x = s0; const y = s1; s0 = y;
    x = (x ^ (x << 23n)) & M; s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number(((s1 + y) & M) >> 11n) / 9007199254740992;
  };
})();
globalThis.__mote_dispatch = (method, url, headers) => {
  const h = globalThis.__mote_handler;
  return Promise.resolve(h.fetch(new Request(method, url, headers))).then(r => {
    if (!(r instanceof Response)) r = new Response(r);
    return [r.status, Array.from(r.headers), r.body];
  });
};
