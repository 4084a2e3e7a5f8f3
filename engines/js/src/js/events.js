// Event, EventTarget, CustomEvent, AbortController, AbortSignal.
class Event {
  #type; #bubbles; #cancelable; #defaultPrevented = false; #stop = false;
  constructor(type, init = {}) {
    if (arguments.length === 0) throw new TypeError('The "type" argument must be specified');
    this.#type = String(type);
    this.#bubbles = !!init.bubbles;
    this.#cancelable = !!init.cancelable;
    this.timeStamp = M.native.now();
    this.target = null;
    this.currentTarget = null;
  }
  get type() { return this.#type; }
  get bubbles() { return this.#bubbles; }
  get cancelable() { return this.#cancelable; }
  get defaultPrevented() { return this.#defaultPrevented; }
  get srcElement() { return this.target; }
  preventDefault() { if (this.#cancelable) this.#defaultPrevented = true; }
  stopPropagation() {}
  stopImmediatePropagation() { this.#stop = true; }
  composedPath() { return this.currentTarget ? [this.currentTarget] : []; }
  get [Symbol.toStringTag]() { return 'Event'; }
  static _stopped(e) { return e.#stop; }
}
class CustomEvent extends Event {
  constructor(type, init = {}) { super(type, init); this.detail = init.detail === undefined ? null : init.detail; }
}

const listeners = new WeakMap();
class EventTarget {
  constructor() { listeners.set(this, new Map()); }
  addEventListener(type, listener, options) {
    if (listener == null) return;
    const once = typeof options === 'object' && options !== null && !!options.once;
    const signal = typeof options === 'object' && options !== null ? options.signal : undefined;
    if (signal && signal.aborted) return;
    let map = listeners.get(this);
    if (!map) { map = new Map(); listeners.set(this, map); }
    const list = map.get(type) || [];
    if (list.some((l) => l.listener === listener)) return;
    const entry = { listener, once };
    list.push(entry);
    map.set(type, list);
    if (signal) signal.addEventListener('abort', () => this.removeEventListener(type, listener), { once: true });
  }
  removeEventListener(type, listener) {
    const map = listeners.get(this);
    const list = map && map.get(type);
    if (!list) return;
    const i = list.findIndex((l) => l.listener === listener);
    if (i >= 0) list.splice(i, 1);
  }
  dispatchEvent(event) {
    if (!(event instanceof Event)) throw new TypeError('The "event" argument must be an instance of Event');
    const map = listeners.get(this);
    const list = map && map.get(event.type);
    event.target = this;
    event.currentTarget = this;
    if (list) {
      for (const entry of list.slice()) {
        if (entry.once) this.removeEventListener(event.type, entry.listener);
        try {
          if (typeof entry.listener === 'function') entry.listener.call(this, event);
          else if (entry.listener && typeof entry.listener.handleEvent === 'function') entry.listener.handleEvent(event);
        } catch (e) {
          M.reportError(e);
        }
        if (Event._stopped(event)) break;
      }
    }
    const on = this['on' + event.type];
    if (typeof on === 'function' && !(list && list.some((l) => l.listener === on))) {
      try { on.call(this, event); } catch (e) { M.reportError(e); }
    }
    event.currentTarget = null;
    return !event.defaultPrevented;
  }
}
M.listeners = (target, type) => {
  const map = listeners.get(target);
  return (map && map.get(type)) || [];
};
M.reportError = (e) => {
  M.native.print(2, 'Uncaught ' + (e instanceof Error ? `${e.name}: ${e.message}\n${e.stack || ''}`.trimEnd() : M.inspect(e)));
};

class AbortSignal extends EventTarget {
  #aborted = false; #reason = undefined;
  constructor(key) {
    if (key !== M) throw new TypeError('Illegal constructor');
    super();
    this.onabort = null;
  }
  get aborted() { return this.#aborted; }
  get reason() { return this.#reason; }
  throwIfAborted() { if (this.#aborted) throw this.#reason; }
  static _abort(signal, reason) {
    if (signal.#aborted) return;
    signal.#aborted = true;
    signal.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    signal.dispatchEvent(new Event('abort'));
  }
  static abort(reason) { const s = new AbortSignal(M); AbortSignal._abort(s, reason); return s; }
  static timeout(ms) {
    const s = new AbortSignal(M);
    setTimeout(() => AbortSignal._abort(s, new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    return s;
  }
  static any(signals) {
    const s = new AbortSignal(M);
    for (const x of signals) {
      if (x.aborted) { AbortSignal._abort(s, x.reason); return s; }
    }
    for (const x of signals) x.addEventListener('abort', () => AbortSignal._abort(s, x.reason), { once: true });
    return s;
  }
  get [Symbol.toStringTag]() { return 'AbortSignal'; }
}
class AbortController {
  #signal = new AbortSignal(M);
  get signal() { return this.#signal; }
  abort(reason) { AbortSignal._abort(this.#signal, reason); }
  get [Symbol.toStringTag]() { return 'AbortController'; }
}

M.def('Event', Event);
M.def('CustomEvent', CustomEvent);
M.def('EventTarget', EventTarget);
M.def('AbortSignal', AbortSignal);
M.def('AbortController', AbortController);
M.def('reportError', (e) => M.reportError(e));
