// Shared helpers for the other prelude files, DOMException, Math.random.
const native = M.native;

// Globals are defined like Web IDL's: writable, configurable, not enumerable.
M.def = (name, value) => {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
};

// Any BufferSource (ArrayBuffer, typed array, DataView) as a Uint8Array view
// over the same memory; strings as UTF-8.
M.toU8 = (x, what) => {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer) return new Uint8Array(x);
  throw new TypeError(`${what || 'The argument'} must be an ArrayBuffer or ArrayBufferView`);
};
M.copyU8 = (x) => { const u = M.toU8(x); const c = new Uint8Array(u.length); c.set(u); return c; };
M.concat = (list) => {
  let n = 0;
  for (const a of list) n += a.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const a of list) { out.set(a, o); o += a.length; }
  return out;
};
M.utf8 = (s) => native.utf8Encode(String(s).toWellFormed());
M.fromUtf8 = (u8) => native.utf8Decode(u8, false, true);
M.latin1 = (u8) => {
  let s = '';
  for (let i = 0; i < u8.length; i += 8192) s += String.fromCharCode.apply(null, u8.subarray(i, i + 8192));
  return s;
};
M.fromLatin1 = (s) => {
  const u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i) & 0xff;
  return u;
};

const codes = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
  NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
  SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
  TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
  QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
};
class DOMException extends Error {
  constructor(message = '', name = 'Error') {
    super(message);
    Object.defineProperty(this, 'name', { value: String(name), writable: true, configurable: true });
    this.code = codes[name] || 0;
  }
}
M.def('DOMException', DOMException);

// QuickJS seeds Math.random once, when the context is made (at snapshot
// time); the native generator is reseeded from wasi:random per request.
Object.defineProperty(Math, 'random', { value: function random() { return native.mathRandom(); }, writable: true, configurable: true });
M.def('global', globalThis);
