// Timers within a request (driven by the engine's event loop), queueMicrotask,
// structuredClone, performance.
const native = M.native;
let timers = new Map(); // id -> { at, fn, args, interval }
let nextId = 1;

function add(fn, ms, args, repeat) {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be a function');
  ms = Math.max(0, Number(ms) || 0);
  const id = nextId++;
  timers.set(id, { at: native.now() + ms, fn, args, interval: repeat ? Math.max(ms, 1) : null, seq: id });
  return id;
}
M.def('setTimeout', function setTimeout(fn, ms, ...args) { return add(fn, ms, args, false); });
M.def('setInterval', function setInterval(fn, ms, ...args) { return add(fn, ms, args, true); });
M.def('clearTimeout', function clearTimeout(id) { timers.delete(typeof id === 'object' && id ? Number(id) : id); });
M.def('clearInterval', function clearInterval(id) { timers.delete(typeof id === 'object' && id ? Number(id) : id); });
M.def('queueMicrotask', function queueMicrotask(fn) {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be a function');
  Promise.resolve().then(() => { try { fn(); } catch (e) { M.reportError(e); } });
});

// The earliest deadline, or undefined when no timer is pending.
M.nextTimer = () => {
  let at;
  for (const t of timers.values()) if (at === undefined || t.at < at) at = t.at;
  return at;
};
// Run the timers that are due, in deadline order.
M.runTimers = () => {
  const now = native.now();
  const due = [...timers.entries()].filter(([, t]) => t.at <= now).sort((a, b) => a[1].at - b[1].at || a[1].seq - b[1].seq);
  for (const [id, t] of due) {
    if (!timers.has(id)) continue;
    if (t.interval !== null) { t.at = now + t.interval; t.seq = nextId++; } else timers.delete(id);
    try { t.fn(...t.args); } catch (e) { M.reportError(e); }
  }
};
M.clearTimers = () => { timers = new Map(); };

let origin = 0;
M.resetClock = () => { origin = native.now(); };
const performance = {
  now: () => native.now() - origin,
  get timeOrigin() { return Date.now() - (native.now() - origin); },
  mark() {}, measure() {},
  toJSON() { return { timeOrigin: this.timeOrigin }; },
};
M.def('performance', performance);

// structuredClone: the HTML structured clone of plain data.
function structuredClone(value, options) {
  const memo = new Map();
  const fail = (what) => { throw new DOMException(`${what} could not be cloned.`, 'DataCloneError'); };
  const clone = (v) => {
    if (typeof v === 'function') fail(v.toString().slice(0, 40));
    if (typeof v === 'symbol') fail(v.toString());
    if (typeof v !== 'object' || v === null) return v;
    if (memo.has(v)) return memo.get(v);
    let out;
    if (Array.isArray(v)) {
      out = new Array(v.length); memo.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    }
    if (v instanceof Date) { out = new Date(v.getTime()); }
    else if (v instanceof RegExp) { out = new RegExp(v.source, v.flags); }
    else if (v instanceof ArrayBuffer) { out = v.slice(0); }
    else if (ArrayBuffer.isView(v)) {
      const buf = memo.has(v.buffer) ? memo.get(v.buffer) : v.buffer.slice(0);
      memo.set(v.buffer, buf);
      const C = typeof Buffer === 'function' && v instanceof Buffer ? Uint8Array : v.constructor;
      out = v instanceof DataView ? new DataView(buf, v.byteOffset, v.byteLength) : new C(buf, v.byteOffset, v.length);
    }
    else if (v instanceof Map) { out = new Map(); memo.set(v, out); for (const [k, x] of v) out.set(clone(k), clone(x)); return out; }
    else if (v instanceof Set) { out = new Set(); memo.set(v, out); for (const x of v) out.add(clone(x)); return out; }
    else if (v instanceof Error) {
      const C = { EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError }[v.name] || Error;
      out = new C(v.message); memo.set(v, out);
      if (v.stack) out.stack = v.stack;
      if ('cause' in v) out.cause = clone(v.cause);
      return out;
    }
    else if (v instanceof Boolean || v instanceof Number || v instanceof String) { out = Object(v.valueOf()); }
    else if (v instanceof Blob) { out = v.slice(0, v.size, v.type); }
    else if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) fail(Object.prototype.toString.call(v));
    else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null && !(typeof proto.constructor === 'function' && proto.constructor.name === 'Object')) {
        // Class instances lose their prototype, as in browsers.
      }
      out = {}; memo.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    }
    memo.set(v, out);
    return out;
  };
  return clone(value);
}
M.def('structuredClone', structuredClone);
