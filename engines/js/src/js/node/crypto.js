// node:crypto -- hashes, HMAC, random bytes, timingSafeEqual, webcrypto.
const native = M.native;
const Buffer = M.Buffer;
const ALGS = { sha1: 'sha1', 'sha-1': 'sha1', sha256: 'sha256', 'sha-256': 'sha256', sha384: 'sha384', 'sha-384': 'sha384', sha512: 'sha512', 'sha-512': 'sha512', md5: 'md5' };
const alg = (a) => {
  const x = ALGS[String(a).toLowerCase()];
  if (!x) throw new Error(`Digest method not supported: ${a} (supported: sha1, sha256, sha384, sha512, md5)`);
  return x;
};
const input = (data, enc) => (typeof data === 'string' ? Buffer.from(data, enc) : M.toU8(data, 'The "data" argument'));
const output = (u8, enc) => { const b = Buffer.from(u8); return enc === undefined || enc === 'buffer' ? b : b.toString(enc); };

// What Hash and Hmac share: buffered updates, one digest.
class Digest {
  #chunks = []; #done = false;
  update(data, enc) {
    if (this.#done) throw new Error('Digest already called');
    this.#chunks.push(M.copyU8(input(data, enc)));
    return this;
  }
  digest(enc) {
    if (this.#done) throw new Error('Digest already called');
    this.#done = true;
    return output(this._compute(M.concat(this.#chunks)), enc);
  }
  _chunks() { return this.#chunks; }
}
class Hash extends Digest {
  #alg;
  constructor(a) { super(); this.#alg = alg(a); }
  _compute(data) { return native.digest(this.#alg, data); }
  copy() { const h = new Hash(this.#alg); for (const c of this._chunks()) h.update(c); return h; }
}
class Hmac extends Digest {
  #alg; #key;
  constructor(a, key) {
    super();
    this.#alg = alg(a);
    this.#key = key && typeof key === 'object' && !ArrayBuffer.isView(key) && !(key instanceof ArrayBuffer) && key.export ? key.export() : input(key);
  }
  _compute(data) { return native.hmac(this.#alg, M.copyU8(this.#key), data); }
}
function randomBytes(n, cb) {
  const b = Buffer.from(native.random(n));
  if (cb) { queueMicrotask(() => cb(null, b)); return; }
  return b;
}
function timingSafeEqual(a, b) {
  const x = M.toU8(a), y = M.toU8(b);
  if (x.length !== y.length) {
    const e = new RangeError('Input buffers must have the same byte length');
    e.code = 'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH';
    throw e;
  }
  let d = 0;
  for (let i = 0; i < x.length; i++) d |= x[i] ^ y[i];
  return d === 0;
}
M.builtins.crypto = {
  createHash: (a) => new Hash(a),
  createHmac: (a, key) => new Hmac(a, key),
  hash: (a, data, enc = 'hex') => new Hash(a).update(data).digest(enc),
  randomBytes,
  pseudoRandomBytes: randomBytes,
  randomFillSync: (buf, off = 0, size) => { const u = M.toU8(buf); const n = size === undefined ? u.length - off : size; u.set(native.random(n), off); return buf; },
  randomInt(min, max, cb) {
    if (max === undefined || typeof max === 'function') { cb = max; max = min; min = 0; }
    const range = max - min;
    const r = min + Math.floor((new DataView(native.random(6).buffer).getUint32(0) * 65536 + new DataView(native.random(2).buffer).getUint16(0)) / 2 ** 48 * range);
    if (cb) { queueMicrotask(() => cb(null, r)); return; }
    return r;
  },
  randomUUID: M.randomUUID,
  timingSafeEqual,
  getHashes: () => ['md5', 'sha1', 'sha256', 'sha384', 'sha512'],
  getRandomValues: (a) => crypto.getRandomValues(a),
  webcrypto: crypto,
  subtle: crypto.subtle,
  Hash, Hmac,
};
