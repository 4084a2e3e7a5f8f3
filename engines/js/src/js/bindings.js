// The handler's `env` beyond variables and secrets: KV namespaces (the Workers
// KV API) and other services of the app (`env.AUTH.fetch(request)`), by the
// binding names in mote.toml. Every call goes to the host, which knows what
// the service was granted.
const native = M.native;

function valueBytes(value) {
  if (typeof value === 'string') return M.utf8(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  throw new TypeError('KV put() accepts a string, an ArrayBuffer or an ArrayBufferView');
}

function decode(bytes, type) {
  if (type === 'text') return M.fromUtf8(bytes);
  if (type === 'json') return JSON.parse(M.fromUtf8(bytes));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

// The `type` of get(): checked before the call, whether or not the key exists.
function typeOf(options) {
  const type = typeof options === 'string' ? options : (options && options.type) || 'text';
  if (type === 'text' || type === 'json' || type === 'arrayBuffer') return type;
  if (type === 'stream') throw new TypeError('KV get(): type "stream" is not supported; use "arrayBuffer"');
  throw new TypeError(`KV get(): unknown type ${JSON.stringify(type)}: expected "text", "json" or "arrayBuffer"`);
}

class KVNamespace {
  #binding;
  constructor(k, binding) {
    if (k !== M) throw new TypeError('Illegal constructor');
    this.#binding = binding;
  }
  async get(key, options) {
    const type = typeOf(options);
    const entry = native.kvGet(this.#binding, String(key));
    return entry == null ? null : decode(entry[0], type);
  }
  async getWithMetadata(key, options) {
    const type = typeOf(options);
    const entry = native.kvGet(this.#binding, String(key));
    if (entry == null) return { value: null, metadata: null };
    return { value: decode(entry[0], type), metadata: entry[1] == null ? null : JSON.parse(entry[1]) };
  }
  async put(key, value, options = {}) {
    options = options || {};
    const bytes = valueBytes(value);
    const metadata = options.metadata === undefined ? undefined : JSON.stringify(options.metadata);
    native.kvPut(this.#binding, String(key), bytes, options.expiration, options.expirationTtl, metadata);
  }
  async delete(key) {
    native.kvDelete(this.#binding, String(key));
  }
  async list(options = {}) {
    options = options || {};
    const limit = options.limit === undefined ? 1000 : Number(options.limit);
    const [names, expirations, metadata, cursor] = native.kvList(
      this.#binding, String(options.prefix ?? ''), limit, options.cursor ?? undefined);
    const keys = names.map((name, i) => {
      const key = { name };
      if (expirations[i] != null) key.expiration = expirations[i];
      if (metadata[i] != null) key.metadata = JSON.parse(metadata[i]);
      return key;
    });
    return cursor == null ? { keys, list_complete: true } : { keys, list_complete: false, cursor };
  }
  get [Symbol.toStringTag]() { return 'KVNamespace'; }
}

// Another service of the app, called in-process. The callee sees the request
// at http://<binding name, lowercase>.internal/<path>.
class Fetcher {
  #origin;
  constructor(k, binding) {
    if (k !== M) throw new TypeError('Illegal constructor');
    this.#origin = `http://${binding.toLowerCase()}.internal`;
  }
  async fetch(input, init) {
    if (typeof input === 'string' && input.startsWith('/')) input = this.#origin + input;
    const request = new Request(input, init);
    const url = new URL(request.url);
    return M.send(request, this.#origin + url.pathname + url.search);
  }
  get [Symbol.toStringTag]() { return 'Fetcher'; }
}

// Add the service's bindings to `env`.
M.addBindings = (env) => {
  const flat = native.bindings();
  for (let i = 0; i < flat.length; i += 2) {
    env[flat[i]] = flat[i + 1] === 'kv' ? new KVNamespace(M, flat[i]) : new Fetcher(M, flat[i]);
  }
  return env;
};
