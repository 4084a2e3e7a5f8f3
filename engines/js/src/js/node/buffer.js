// node:buffer -- Buffer as a Uint8Array subclass.
const native = M.native;
const ENCODINGS = ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'ascii', 'ucs2', 'ucs-2', 'utf16le', 'utf-16le'];
const norm = (enc) => {
  const e = String(enc || 'utf8').toLowerCase();
  if (!ENCODINGS.includes(e)) throw new TypeError(`Unknown encoding: ${enc}`);
  return e === 'utf-8' ? 'utf8' : e === 'binary' ? 'latin1' : e === 'ucs-2' || e === 'ucs2' || e === 'utf-16le' ? 'utf16le' : e;
};
function encode(str, enc) {
  switch (norm(enc)) {
    case 'utf8': return M.utf8(str);
    case 'hex': {
      const n = str.length >>> 1;
      const out = new Uint8Array(n);
      let i = 0;
      for (; i < n; i++) {
        const b = parseInt(str.substr(i * 2, 2), 16);
        if (Number.isNaN(b)) break;
        out[i] = b;
      }
      return out.subarray(0, i);
    }
    case 'base64': case 'base64url': return native.b64Decode(str, false);
    case 'latin1': case 'ascii': return M.fromLatin1(str);
    case 'utf16le': {
      const out = new Uint8Array(str.length * 2);
      for (let i = 0; i < str.length; i++) { const c = str.charCodeAt(i); out[i * 2] = c & 0xff; out[i * 2 + 1] = c >> 8; }
      return out;
    }
  }
}
function decode(u8, enc) {
  switch (norm(enc)) {
    case 'utf8': return M.fromUtf8(u8);
    case 'hex': return Array.from(u8, (b) => b.toString(16).padStart(2, '0')).join('');
    case 'base64': return native.b64Encode(u8, false);
    case 'base64url': return native.b64Encode(u8, true);
    case 'latin1': return M.latin1(u8);
    case 'ascii': return M.latin1(u8.map((b) => b & 0x7f));
    case 'utf16le': {
      let s = '';
      for (let i = 0; i + 1 < u8.length; i += 2) s += String.fromCharCode(u8[i] | (u8[i + 1] << 8));
      return s;
    }
  }
}

class Buffer extends Uint8Array {
  static from(value, encOrOffset, length) {
    if (typeof value === 'string') return Buffer._wrap(encode(value, encOrOffset));
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
      const off = encOrOffset === undefined ? 0 : Number(encOrOffset);
      return new Buffer(value, off, length === undefined ? value.byteLength - off : Number(length));
    }
    if (ArrayBuffer.isView(value)) return Buffer._wrap(M.copyU8(value));
    if (Array.isArray(value)) return Buffer._wrap(Uint8Array.from(value, (x) => x & 0xff));
    if (value && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data);
    if (value && typeof value.valueOf === 'function' && value.valueOf() !== value) return Buffer.from(value.valueOf(), encOrOffset, length);
    if (value && typeof value[Symbol.toPrimitive] === 'function') return Buffer.from(value[Symbol.toPrimitive]('string'), encOrOffset);
    if (value && typeof value.length === 'number') return Buffer._wrap(Uint8Array.from(value, (x) => x & 0xff));
    throw new TypeError('The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.');
  }
  static _wrap(u8) { return new Buffer(u8.buffer, u8.byteOffset, u8.byteLength); }
  static alloc(size, fill, enc) {
    const b = new Buffer(size);
    if (fill !== undefined && fill !== 0) b.fill(fill, 0, b.length, enc);
    return b;
  }
  static allocUnsafe(size) { return new Buffer(size); }
  static allocUnsafeSlow(size) { return new Buffer(size); }
  static isBuffer(b) { return b instanceof Buffer; }
  static isEncoding(e) { return typeof e === 'string' && ENCODINGS.includes(e.toLowerCase()); }
  static byteLength(s, enc) {
    if (typeof s !== 'string') return M.toU8(s).byteLength;
    return encode(s, enc).length;
  }
  static concat(list, total) {
    const u = M.concat(list.map((x) => M.toU8(x)));
    const b = Buffer._wrap(u);
    return total === undefined ? b : total <= b.length ? b.subarray(0, total) : Buffer.concat([b, Buffer.alloc(total - b.length)]);
  }
  static compare(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
  }
  toString(enc, start = 0, end = this.length) {
    return decode(this.subarray(Math.max(0, start), Math.min(this.length, end)), enc);
  }
  toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
  equals(other) { return Buffer.compare(this, other) === 0; }
  compare(other, ts = 0, te = other.length, ss = 0, se = this.length) {
    return Buffer.compare(this.subarray(ss, se), other.subarray(ts, te));
  }
  slice(start, end) { return this.subarray(start, end); }
  subarray(start, end) { const u = Uint8Array.prototype.subarray.call(this, start, end); return new Buffer(u.buffer, u.byteOffset, u.byteLength); }
  write(str, offset = 0, length, enc) {
    if (typeof offset === 'string') { enc = offset; offset = 0; length = undefined; }
    else if (typeof length === 'string') { enc = length; length = undefined; }
    const bytes = encode(str, enc);
    const n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length);
    this.set(bytes.subarray(0, n), offset);
    return n;
  }
  fill(value, offset = 0, end = this.length, enc) {
    if (typeof offset === 'string') { enc = offset; offset = 0; end = this.length; }
    if (typeof value === 'number') return Uint8Array.prototype.fill.call(this, value & 0xff, offset, end);
    const bytes = typeof value === 'string' ? encode(value, enc) : M.toU8(value);
    if (!bytes.length) return Uint8Array.prototype.fill.call(this, 0, offset, end);
    for (let i = offset, j = 0; i < end; i++, j = (j + 1) % bytes.length) this[i] = bytes[j];
    return this;
  }
  indexOf(value, from = 0, enc) {
    if (typeof value === 'number') return Uint8Array.prototype.indexOf.call(this, value, from);
    const needle = typeof value === 'string' ? encode(value, enc) : M.toU8(value);
    if (from < 0) from = Math.max(0, this.length + from);
    outer: for (let i = from; i <= this.length - needle.length; i++) {
      for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  }
  includes(value, from, enc) { return this.indexOf(value, from, enc) !== -1; }
  copy(target, ts = 0, ss = 0, se = this.length) {
    const src = this.subarray(ss, Math.min(se, ss + target.length - ts));
    target.set(src, ts);
    return src.length;
  }
  #dv() { return new DataView(this.buffer, this.byteOffset, this.byteLength); }
  readUInt8(o = 0) { return this.#dv().getUint8(o); }
  readUInt16BE(o = 0) { return this.#dv().getUint16(o); }
  readUInt16LE(o = 0) { return this.#dv().getUint16(o, true); }
  readUInt32BE(o = 0) { return this.#dv().getUint32(o); }
  readUInt32LE(o = 0) { return this.#dv().getUint32(o, true); }
  readInt8(o = 0) { return this.#dv().getInt8(o); }
  readInt16BE(o = 0) { return this.#dv().getInt16(o); }
  readInt16LE(o = 0) { return this.#dv().getInt16(o, true); }
  readInt32BE(o = 0) { return this.#dv().getInt32(o); }
  readInt32LE(o = 0) { return this.#dv().getInt32(o, true); }
  readBigUInt64BE(o = 0) { return this.#dv().getBigUint64(o); }
  readBigUInt64LE(o = 0) { return this.#dv().getBigUint64(o, true); }
  readFloatBE(o = 0) { return this.#dv().getFloat32(o); }
  readFloatLE(o = 0) { return this.#dv().getFloat32(o, true); }
  readDoubleBE(o = 0) { return this.#dv().getFloat64(o); }
  readDoubleLE(o = 0) { return this.#dv().getFloat64(o, true); }
  writeUInt8(v, o = 0) { this.#dv().setUint8(o, v); return o + 1; }
  writeUInt16BE(v, o = 0) { this.#dv().setUint16(o, v); return o + 2; }
  writeUInt16LE(v, o = 0) { this.#dv().setUint16(o, v, true); return o + 2; }
  writeUInt32BE(v, o = 0) { this.#dv().setUint32(o, v); return o + 4; }
  writeUInt32LE(v, o = 0) { this.#dv().setUint32(o, v, true); return o + 4; }
  writeInt8(v, o = 0) { this.#dv().setInt8(o, v); return o + 1; }
  writeInt16BE(v, o = 0) { this.#dv().setInt16(o, v); return o + 2; }
  writeInt16LE(v, o = 0) { this.#dv().setInt16(o, v, true); return o + 2; }
  writeInt32BE(v, o = 0) { this.#dv().setInt32(o, v); return o + 4; }
  writeInt32LE(v, o = 0) { this.#dv().setInt32(o, v, true); return o + 4; }
  writeDoubleBE(v, o = 0) { this.#dv().setFloat64(o, v); return o + 8; }
  writeDoubleLE(v, o = 0) { this.#dv().setFloat64(o, v, true); return o + 8; }
  [Symbol.for('nodejs.util.inspect.custom')]() {
    const hex = Array.from(this.subarray(0, 50), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return `<Buffer${hex ? ' ' + hex : ''}${this.length > 50 ? ` ... ${this.length - 50} more bytes` : ''}>`;
  }
}
for (const [a, b] of [['readUint8', 'readUInt8'], ['readUint16BE', 'readUInt16BE'], ['readUint16LE', 'readUInt16LE'], ['readUint32BE', 'readUInt32BE'], ['readUint32LE', 'readUInt32LE'], ['writeUint8', 'writeUInt8'], ['writeUint16BE', 'writeUInt16BE'], ['writeUint16LE', 'writeUInt16LE'], ['writeUint32BE', 'writeUInt32BE'], ['writeUint32LE', 'writeUInt32LE']]) {
  Buffer.prototype[a] = Buffer.prototype[b];
}
Object.defineProperty(Buffer, Symbol.species, { get() { return Buffer; } });
Buffer.poolSize = 8192;

M.def('Buffer', Buffer);
M.builtins = M.builtins || {};
M.builtins.buffer = {
  Buffer, Blob, File, atob, btoa,
  constants: { MAX_LENGTH: 2 ** 31 - 1, MAX_STRING_LENGTH: 2 ** 29 - 24 },
  kMaxLength: 2 ** 31 - 1,
  isUtf8: (u) => { try { new TextDecoder('utf-8', { fatal: true }).decode(u); return true; } catch { return false; } },
};
M.Buffer = Buffer;
