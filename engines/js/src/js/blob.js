// Blob, File, FormData.
class Blob {
  #bytes; #type;
  constructor(parts = [], options = {}) {
    const chunks = [];
    for (const p of parts) {
      if (p instanceof Blob) chunks.push(p.#bytes);
      else if (p instanceof ArrayBuffer || ArrayBuffer.isView(p)) chunks.push(M.copyU8(p));
      else chunks.push(M.utf8(p));
    }
    this.#bytes = M.concat(chunks);
    const t = options && options.type !== undefined ? String(options.type) : '';
    this.#type = /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
  }
  get size() { return this.#bytes.length; }
  get type() { return this.#type; }
  slice(start = 0, end = this.#bytes.length, type = '') {
    const b = new Blob([], { type });
    b.#bytes = this.#bytes.slice(start, end);
    return b;
  }
  async text() { return M.fromUtf8(this.#bytes); }
  async arrayBuffer() { return this.#bytes.slice().buffer; }
  async bytes() { return this.#bytes.slice(); }
  stream() { throw new TypeError('Blob.stream() is not supported by this runtime'); }
  static _bytes(b) { return b.#bytes; }
  get [Symbol.toStringTag]() { return 'Blob'; }
}
class File extends Blob {
  #name; #lastModified;
  constructor(parts, name, options = {}) {
    if (arguments.length < 2) throw new TypeError('File requires 2 arguments');
    super(parts, options);
    this.#name = String(name);
    this.#lastModified = options.lastModified !== undefined ? Number(options.lastModified) : Date.now();
  }
  get name() { return this.#name; }
  get lastModified() { return this.#lastModified; }
  get [Symbol.toStringTag]() { return 'File'; }
}
M.blobBytes = (b) => Blob._bytes(b);

class FormData {
  #list = [];
  constructor(form) {
    if (form !== undefined) throw new TypeError('FormData from a form element is not supported');
  }
  static #entry(name, value, filename) {
    name = String(name);
    if (value instanceof Blob) {
      if (!(value instanceof File) || filename !== undefined) {
        value = new File([value], filename !== undefined ? String(filename) : value instanceof File ? value.name : 'blob', { type: value.type });
      }
      return [name, value];
    }
    return [name, String(value)];
  }
  append(name, value, filename) { this.#list.push(FormData.#entry(name, value, filename)); }
  delete(name) { name = String(name); this.#list = this.#list.filter(([k]) => k !== name); }
  get(name) { name = String(name); const e = this.#list.find(([k]) => k === name); return e ? e[1] : null; }
  getAll(name) { name = String(name); return this.#list.filter(([k]) => k === name).map(([, v]) => v); }
  has(name) { name = String(name); return this.#list.some(([k]) => k === name); }
  set(name, value, filename) {
    const e = FormData.#entry(name, value, filename);
    const i = this.#list.findIndex(([k]) => k === e[0]);
    if (i < 0) this.#list.push(e);
    else { this.#list[i] = e; this.#list = this.#list.filter(([k], j) => j <= i || k !== e[0]); }
  }
  forEach(cb, thisArg) { for (const [k, v] of this.#list.slice()) cb.call(thisArg, v, k, this); }
  *entries() { for (const [k, v] of this.#list) yield [k, v]; }
  *keys() { for (const [k] of this.#list) yield k; }
  *values() { for (const [, v] of this.#list) yield v; }
  [Symbol.iterator]() { return this.entries(); }
  get [Symbol.toStringTag]() { return 'FormData'; }
}

// multipart/form-data serialization and parsing.
const esc = (s) => s.replace(/\r\n|\r|\n/g, '\r\n').replace(/"/g, '%22');
M.encodeFormData = (fd) => {
  const boundary = '----MoteFormBoundary' + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
  const chunks = [];
  for (const [name, value] of fd) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${esc(name).replace(/\r\n/g, '%0D%0A')}"`;
    if (typeof value === 'string') {
      chunks.push(M.utf8(head + '\r\n\r\n' + value.replace(/\r\n|\r|\n/g, '\r\n') + '\r\n'));
    } else {
      head += `; filename="${esc(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`;
      chunks.push(M.utf8(head), M.blobBytes(value), M.utf8('\r\n'));
    }
  }
  chunks.push(M.utf8(`--${boundary}--\r\n`));
  return { bytes: M.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
};
const indexOf = (hay, needle, from) => {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
};
M.parseFormData = (bytes, contentType) => {
  const fd = new FormData();
  const ct = String(contentType || '').toLowerCase();
  if (ct.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(M.fromUtf8(bytes))) fd.append(k, v);
    return fd;
  }
  if (!ct.startsWith('multipart/form-data')) throw new TypeError('Could not parse content as FormData.');
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(String(contentType));
  if (!m) throw new TypeError('Could not parse content as FormData: no boundary.');
  const delim = M.utf8('--' + (m[1] || m[2]).trim());
  let pos = indexOf(bytes, delim, 0);
  if (pos < 0) throw new TypeError('Could not parse content as FormData.');
  const crlf2 = M.utf8('\r\n\r\n');
  for (;;) {
    pos += delim.length;
    if (bytes[pos] === 45 && bytes[pos + 1] === 45) break; // "--"
    pos += 2; // CRLF
    const headEnd = indexOf(bytes, crlf2, pos);
    if (headEnd < 0) throw new TypeError('Could not parse content as FormData.');
    const head = M.fromUtf8(bytes.subarray(pos, headEnd));
    const next = indexOf(bytes, delim, headEnd + 4);
    if (next < 0) throw new TypeError('Could not parse content as FormData.');
    const body = bytes.subarray(headEnd + 4, next - 2);
    const disp = /content-disposition:[^\r\n]*?\bname="([^"]*)"/i.exec(head);
    const file = /content-disposition:[^\r\n]*?\bfilename="([^"]*)"/i.exec(head);
    const type = /content-type:\s*([^\r\n]*)/i.exec(head);
    if (disp) {
      if (file) fd.append(disp[1], new File([body], file[1], { type: type ? type[1] : '' }));
      else fd.append(disp[1], M.fromUtf8(body));
    }
    pos = next;
  }
  return fd;
};

M.def('Blob', Blob);
M.def('File', File);
M.def('FormData', FormData);
