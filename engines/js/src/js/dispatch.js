// Dispatching a request to the service's handler: module workers
// (`export default { fetch }`), CommonJS (`module.exports = { fetch }`) and
// service workers (`addEventListener('fetch', ...)`).
let handler = null; // (request, env, ctx) => Response | Promise<Response>
let waiting = []; // promises given to ctx.waitUntil
// Keep `p` for `M.background`, which reports its rejection once the response
// is out; marked handled now so it is not also reported as unhandled.
const keep = (p) => { const q = Promise.resolve(p); q.catch(() => {}); waiting.push(q); };
let env = {};

class ExecutionContext {
  constructor(k) { if (k !== M) throw new TypeError('Illegal constructor'); }
  waitUntil(p) { keep(p); }
  passThroughOnException() {}
}

class FetchEvent extends Event {
  #request; #responded = null;
  constructor(type, init = {}) {
    super(type, init);
    this.#request = init.request;
  }
  get request() { return this.#request; }
  respondWith(r) {
    if (this.#responded) throw new DOMException('respondWith() was already called', 'InvalidStateError');
    this.#responded = Promise.resolve(r);
  }
  waitUntil(p) { keep(p); }
  passThroughOnException() {}
  static _response(e) { return e.#responded; }
}
M.def('FetchEvent', FetchEvent);

// Service-worker style: the global scope is the event target.
const scope = new EventTarget();
M.def('addEventListener', (type, fn, opts) => scope.addEventListener(type, fn, opts));
M.def('removeEventListener', (type, fn) => scope.removeEventListener(type, fn));
M.def('dispatchEvent', (e) => scope.dispatchEvent(e));
M.def('self', globalThis);

M.setHandler = (style, exports) => {
  let target = exports;
  if (style === 'module') target = exports.default;
  if (style === 'commonjs' && target && typeof target.fetch !== 'function' && target.default && typeof target.default.fetch === 'function') target = target.default;
  if (target && typeof target.fetch === 'function') {
    const obj = target;
    handler = (req, env, ctx) => obj.fetch(req, env, ctx);
    return;
  }
  if (M.listeners(scope, 'fetch').length) {
    handler = (req) => {
      const e = new FetchEvent('fetch', { request: req });
      scope.dispatchEvent(e);
      const r = FetchEvent._response(e);
      if (!r) throw new Error('No fetch listener called event.respondWith()');
      return r;
    };
    return;
  }
  const what = style === 'module' ? '`export default { async fetch(request, env, ctx) { ... } }`'
    : style === 'commonjs' ? '`module.exports = { async fetch(request, env, ctx) { ... } }`'
      : "`addEventListener('fetch', (event) => event.respondWith(...))`";
  throw new TypeError(`The service has no fetch handler: expected ${what}`);
};

M.beginRequest = () => {
  waiting = [];
  M.resetClock();
  env = M.addBindings(M.setEnv(M.native.env()));
};
M.endRequest = () => { M.clearTimers(); M.clearFetches(); waiting = []; };

M.dispatch = (method, url, flatHeaders, body) => {
  const headers = new Headers();
  for (let i = 0; i < flatHeaders.length; i += 2) headers.append(flatHeaders[i], flatHeaders[i + 1]);
  const init = { method, headers };
  if (method !== 'GET' && method !== 'HEAD' && body.length) init.body = body;
  const request = new Request(url, init);
  Headers._freeze(request.headers);
  const ctx = new ExecutionContext(M);
  return new Promise((resolve) => resolve(handler(request, env, ctx))).then((r) => {
    if (!(r instanceof Response)) {
      throw new TypeError(`The fetch handler must return a Response (or a promise of one), got ${r === null ? 'null' : typeof r === 'object' ? M.inspect(r, { depth: 0 }) : typeof r}`);
    }
    if (r.bodyUsed) throw new TypeError('The returned Response\'s body has already been used');
    const flat = [];
    for (const [k, v] of M.headerList(r.headers)) flat.push(k, v);
    const status = r.status === 0 ? 500 : r.status;
    return [status, flat, M.bodyBytes(r)];
  });
};

// Everything given to waitUntil, settled; rejections are logged.
M.background = async () => {
  while (waiting.length) {
    const batch = waiting;
    waiting = [];
    const results = await Promise.allSettled(batch);
    for (const r of results) if (r.status === 'rejected') M.reportError(r.reason);
  }
};
