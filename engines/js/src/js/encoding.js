// TextEncoder, TextDecoder (UTF-8), atob, btoa.
const native = M.native;

class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') { return M.utf8(input); }
  encodeInto(src, dest) {
    const bytes = M.utf8(src);
    // Only whole characters are written.
    let n = Math.min(bytes.length, dest.length);
    while (n > 0 && n < bytes.length && (bytes[n] & 0xc0) === 0x80) n--;
    dest.set(bytes.subarray(0, n));
    let read = 0;
    for (let i = 0; i < n; i++) {
      const b = bytes[i];
      if ((b & 0xc0) !== 0x80) read += b >= 0xf0 ? 2 : 1;
    }
    return { read, written: n };
  }
  get [Symbol.toStringTag]() { return 'TextEncoder'; }
}

const LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8'];
// Length of a truncated UTF-8 sequence at the end of `u8` (0 if none).
function pending(u8) {
  for (let k = 1; k <= 3 && k <= u8.length; k++) {
    const b = u8[u8.length - k];
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > k ? k : 0;
  }
  return 0;
}
class TextDecoder {
  #fatal; #ignoreBOM; #rest = null; #started = false;
  constructor(label = 'utf-8', options = {}) {
    if (!LABELS.includes(String(label).trim().toLowerCase())) {
      throw new RangeError(`The "${label}" encoding is not supported`);
    }
    this.#fatal = !!(options && options.fatal);
    this.#ignoreBOM = !!(options && options.ignoreBOM);
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input, options = {}) {
    let u8 = input === undefined ? new Uint8Array(0) : M.toU8(input, 'The "input" argument');
    if (this.#rest) { u8 = M.concat([this.#rest, u8]); this.#rest = null; }
    const stream = !!(options && options.stream);
    if (stream) {
      const k = pending(u8);
      if (k) { this.#rest = u8.slice(u8.length - k); u8 = u8.subarray(0, u8.length - k); }
    }
    const ignoreBOM = this.#ignoreBOM || this.#started;
    this.#started = stream && (this.#started || u8.length > 0);
    return native.utf8Decode(u8, this.#fatal, ignoreBOM);
  }
  get [Symbol.toStringTag]() { return 'TextDecoder'; }
}

M.def('TextEncoder', TextEncoder);
M.def('TextDecoder', TextDecoder);

M.def('btoa', function btoa(data) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'btoa': 1 argument required");
  const s = String(data);
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) throw new DOMException('Invalid character', 'InvalidCharacterError');
  }
  return native.b64Encode(M.fromLatin1(s), false);
});
M.def('atob', function atob(data) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'atob': 1 argument required");
  const u8 = native.b64Decode(String(data), true);
  if (!u8) throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
  return M.latin1(u8);
});
