const { Buffer } = require("buffer");
const crypto = require("node:crypto");
const EventEmitter = require("events");
const util = require("node:util");
const path = require("path");
const querystring = require("querystring");
const { StringDecoder } = require("string_decoder");
const assert = require("node:assert");
const url = require("url");

exports.fetch = async function (request) {
  const results = {};
  const b = Buffer.from("héllo", "utf8");
  results.buffer = {
    hex: b.toString("hex"),
    base64: b.toString("base64"),
    base64url: Buffer.from([251, 255]).toString("base64url"),
    length: b.length,
    concat: Buffer.concat([Buffer.from("ab"), Buffer.from("c")]).toString(),
    u32: Buffer.from([1, 2, 3, 4]).readUInt32BE(0),
    global: typeof globalThis.Buffer === "function",
  };
  results.crypto = {
    sha256: crypto.createHash("sha256").update("abc").digest("hex"),
    sha1b64: crypto.createHash("sha1").update("abc").digest("base64"),
    hmac: crypto.createHmac("sha256", "Jefe").update("what do ya want for nothing?").digest("hex"),
    random: crypto.randomBytes(16).length,
    uuid: /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
    equal: crypto.timingSafeEqual(Buffer.from("abc"), Buffer.from("abc")),
  };
  const emitter = new EventEmitter();
  const heard = [];
  emitter.on("x", (v) => heard.push(v));
  emitter.once("x", (v) => heard.push(v * 10));
  emitter.emit("x", 1);
  emitter.emit("x", 2);
  results.events = heard;
  results.util = {
    format: util.format("%s=%d %j", "n", 42, { a: 1 }),
    inspect: util.inspect({ a: [1, { b: 2 }] }),
    isPromise: util.types.isPromise(Promise.resolve()),
    promisify: await util.promisify((v, cb) => cb(null, v + 1))(1),
  };
  results.path = {
    join: path.join("/a/b", "../c", "./d.js"),
    ext: path.extname("x/y.tar.gz"),
    rel: path.relative("/a/b/c", "/a/d"),
  };
  results.querystring = {
    parse: querystring.parse("a=1&b=x%20y&a=2"),
    stringify: querystring.stringify({ q: "a b", n: 3 }),
  };
  const decoder = new StringDecoder("utf8");
  const euro = Buffer.from("€");
  results.stringDecoder = decoder.write(euro.subarray(0, 1)) + "|" + decoder.write(euro.subarray(1)) + "|" + decoder.end();
  let threw = false;
  try { assert.deepStrictEqual({ a: [1] }, { a: [2] }); } catch (e) { threw = e.name === "AssertionError"; }
  assert.strictEqual(1, 1);
  results.assert = threw;
  results.url = new url.URL("https://example.com/a?b=1").searchParams.get("b");
  results.process = {
    env: process.env.MODE,
    ticked: await new Promise((resolve) => process.nextTick(() => resolve(true))),
  };
  return Response.json(results);
};
