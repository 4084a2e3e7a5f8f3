// Each route returns what the test compares with expected values; nothing
// here knows the expected answers.
import { hex } from "./lib/hex.js";
import pad from "tiny-pad";

let requestsSeenByThisInstance = 0;

const routes = {
  // ?n=BYTES: a body of n bytes, byte i = i % 251 (a pattern no chunk
  // boundary lines up with).
  big(req) {
    const n = Number(new URL(req.url).searchParams.get("n"));
    // Copied 251 bytes at a time: a byte-by-byte loop costs the interpreter
    // half a second of this service's 1 s CPU limit.
    const body = new Uint8Array(n);
    const period = Uint8Array.from({ length: 251 }, (_, i) => i);
    for (let i = 0; i < n; i += 251) body.set(period.subarray(0, Math.min(251, n - i)), i);
    return new Response(body);
  },
  // [[input, base?], ...] -> parsed components, or the error's name.
  async url(req) {
    const cases = await req.json();
    return Response.json(cases.map(([input, base]) => {
      try {
        const u = base === undefined ? new URL(input) : new URL(input, base);
        return { href: u.href, protocol: u.protocol, username: u.username, password: u.password,
                 host: u.host, hostname: u.hostname, port: u.port, pathname: u.pathname,
                 search: u.search, hash: u.hash, origin: u.origin };
      } catch (e) {
        return { error: e.name };
      }
    }));
  },
  async params(req) {
    const p = new URLSearchParams(new URL(req.url).search);
    p.append("added", "a b&c=d");
    p.sort();
    return Response.json({ entries: [...p], string: p.toString(), all: p.getAll("x") });
  },
  // Bytes -> text -> bytes, and what the text looked like.
  async utf8(req) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    const back = new TextEncoder().encode(text);
    return new Response(back, { headers: { "x-length": String(text.length),
      "x-codepoints": String([...text].length) } });
  },
  async utf8fatal(req) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(await req.arrayBuffer()));
      return new Response("decoded");
    } catch (e) {
      return new Response(e.name);
    }
  },
  async base64(req) {
    const text = await req.text();
    return Response.json({ btoa: btoa(text), atob: atob(btoa(text)) });
  },
  async digest(req) {
    const alg = new URL(req.url).searchParams.get("alg");
    return new Response(hex(await crypto.subtle.digest(alg, await req.arrayBuffer())));
  },
  async hmac(req) {
    const u = new URL(req.url);
    const key = await crypto.subtle.importKey("raw", fromHex(req.headers.get("x-key")),
      { name: "HMAC", hash: u.searchParams.get("hash") }, false, ["sign", "verify"]);
    const data = await req.arrayBuffer();
    const sig = await crypto.subtle.sign("HMAC", key, data);
    const ok = await crypto.subtle.verify("HMAC", key, sig, data);
    const bad = await crypto.subtle.verify("HMAC", key, new Uint8Array(sig.byteLength), data);
    return Response.json({ sig: hex(sig), verifies: ok, zeroVerifies: bad });
  },
  async headers(req) {
    const h = new Headers({ "X-Mixed-Case": "one" });
    h.append("x-mixed-case", "two");
    return new Response(null, { status: 204, headers: {
      "x-got-lower": String(req.headers.get("x-test-header")),
      "x-got-upper": String(req.headers.get("X-TEST-HEADER")),
      "x-has": String(req.headers.has("X-Test-Header")),
      "x-combined": h.get("X-MIXED-CASE"),
    } });
  },
  async random() {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    return Response.json({ random: Math.random(), bytes: hex(bytes), uuid: crypto.randomUUID() });
  },
  // Written to a global by one request; a fresh instance must not see it.
  async state() {
    requestsSeenByThisInstance += 1;
    globalThis.leftBehind = (globalThis.leftBehind || 0) + 1;
    return Response.json({ seen: requestsSeenByThisInstance, global: globalThis.leftBehind });
  },
  async env(req, env) {
    return Response.json({ env: env.GREETING, process: typeof process === "undefined" ? null : process.env.GREETING,
      missing: env.NOT_SET === undefined });
  },
  async console() {
    console.log("log line", { a: 1 }, [1, 2]);
    console.error("error line");
    return new Response("logged");
  },
  async throws() {
    throw new TypeError("boom from the handler");
  },
  async floating() {
    Promise.reject(new Error("nobody awaits this"));
    return new Response("answered anyway");
  },
  async loop() {
    for (;;) {}
  },
  async bomb() {
    const hoard = [];
    for (;;) hoard.push(new Uint8Array(4 << 20).fill(hoard.length));
  },
  async recursion() {
    function deeper(n) { return deeper(n + 1) + 1; }
    try {
      deeper(0);
      return new Response("no error");
    } catch (e) {
      return new Response(`${e.name}: ${e instanceof RangeError}`);
    }
  },
  async timers() {
    const order = [];
    const t0 = Date.now();
    await new Promise(resolve => setTimeout(() => { order.push("timeout"); resolve(); }, 20));
    queueMicrotask(() => order.push("microtask"));
    const cancelled = setTimeout(() => order.push("cancelled"), 1);
    clearTimeout(cancelled);
    await null;
    order.push("after");
    return Response.json({ order, waited: Date.now() - t0 >= 15 });
  },
  async clone() {
    const value = { a: [1, { b: "c" }], d: new Date(0), m: new Map([[1, 2]]) };
    const copy = structuredClone(value);
    return Response.json({ same: copy !== value && copy.a[1].b === "c" && copy.m.get(1) === 2,
      date: copy.d instanceof Date && copy.d.getTime() === 0 });
  },
  async abort() {
    const c = new AbortController();
    let fired = false;
    c.signal.addEventListener("abort", () => { fired = true; });
    c.abort();
    return Response.json({ aborted: c.signal.aborted, fired });
  },
  async blob() {
    const b = new Blob(["ab", new Uint8Array([99])], { type: "text/plain" });
    const f = new FormData();
    f.append("k", "v");
    return Response.json({ size: b.size, type: b.type, text: await b.text(), form: f.get("k") });
  },
  async fetch() {
    try {
      await fetch("http://127.0.0.1:1/");
      return new Response("fetched");
    } catch (e) {
      return new Response(`${e.name}: ${e.message}`, { status: 502 });
    }
  },
  // ctx.waitUntil work runs after the response, before the instance goes.
  async background(req, env, ctx) {
    ctx.waitUntil(new Promise(resolve => setTimeout(() => {
      console.log("background finished");
      resolve();
    }, 30)));
    return new Response("sent");
  },
  // An ES module using a CommonJS package from node_modules.
  async mixed() {
    return Response.json({ padded: pad("7", 3), version: pad.version });
  },
  async redirect() {
    return Response.redirect("https://example.com/elsewhere", 307);
  },
  async echo(req) {
    return new Response(await req.arrayBuffer(), { status: 201, statusText: "Made",
      headers: { "x-method": req.method, "x-url": req.url } });
  },
};

function fromHex(s) {
  return new Uint8Array(s.match(/../g).map(b => parseInt(b, 16)));
}

export default {
  async fetch(request, env, ctx) {
    const name = new URL(request.url).pathname.split("/")[2];
    const route = routes[name];
    if (!route) return new Response(`no test route ${name}\n`, { status: 404 });
    return route(request, env, ctx);
  },
};
