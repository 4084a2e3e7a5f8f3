// The gateway of the bindings test app (tests/e2e/bindings.rs): each path
// exercises one binding and answers what it saw.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const q = url.searchParams;
    switch (url.pathname) {
      case '/gw/env':
        return Response.json({
          region: env.REGION,
          token: env.TOKEN ?? null,
          processToken: process.env.TOKEN ?? null,
          other: typeof env.OTHER,
          names: Object.keys(env).sort(),
          cache: Object.prototype.toString.call(env.CACHE),
          auth: Object.prototype.toString.call(env.AUTH),
        });
      case '/gw/kv/roundtrip':
        return Response.json(await roundTrip(env.CACHE, q.get('prefix') || 'rt'));
      case '/gw/kv/put': {
        const options = {};
        if (q.has('ttl')) options.expirationTtl = Number(q.get('ttl'));
        if (q.has('expiration')) options.expiration = Number(q.get('expiration'));
        if (q.has('meta')) options.metadata = JSON.parse(q.get('meta'));
        await env.CACHE.put(q.get('key'), q.get('value'), options);
        return new Response('stored');
      }
      case '/gw/kv/get': {
        try {
          const { value, metadata } = await env.CACHE.getWithMetadata(q.get('key'));
          return Response.json({ value, metadata });
        } catch (e) {
          return new Response(`KV error: ${e.message}`, { status: 503 });
        }
      }
      case '/gw/auth': {
        // Through the service binding: method, headers and body pass through.
        const r = await env.AUTH.fetch('/auth/verify?user=' + encodeURIComponent(q.get('user') || ''), {
          method: 'POST',
          headers: { 'x-token': 'let-me-in' },
          body: 'payload',
        });
        return r;
      }
      case '/gw/loop':
        try {
          return await env.SELF.fetch('/gw/loop');
        } catch (e) {
          return new Response(`stopped: ${e.message}`, { status: 508 });
        }
      case '/gw/many': {
        // Outgoing requests per request are limited.
        let done = 0;
        try {
          for (; done < Number(q.get('n')); done++) await (await env.AUTH.fetch('/auth/many')).text();
          return new Response(`${done} calls`);
        } catch (e) {
          return new Response(`${done} calls, then: ${e.message}`);
        }
      }
      case '/gw/both': {
        // Two requests in flight at once.
        const url = q.get('url');
        const answers = await Promise.all([fetch(url + '?n=1'), fetch(url + '?n=2')].map((p) => p.then((r) => r.text())));
        return new Response(answers.join(' + '));
      }
      case '/gw/fetch':
        try {
          const r = await fetch(q.get('url'));
          return new Response(`status ${r.status}: ${await r.text()}`);
        } catch (e) {
          return new Response(`${e.name}: ${e.message}`, { status: 502 });
        }
      default:
        return new Response('no such test', { status: 404 });
    }
  },
};

async function roundTrip(kv, p) {
  const out = {};
  await kv.put(`${p}:text`, 'héllo');
  out.text = await kv.get(`${p}:text`);
  out.textType = await kv.get(`${p}:text`, 'text');
  await kv.put(`${p}:json`, JSON.stringify({ a: [1, 2], b: 'x' }));
  out.json = await kv.get(`${p}:json`, { type: 'json' });
  const bytes = new Uint8Array(256).map((_, i) => i);
  await kv.put(`${p}:bin`, bytes.buffer);
  const back = new Uint8Array(await kv.get(`${p}:bin`, 'arrayBuffer'));
  out.binary = back.length === 256 && back.every((b, i) => b === i);
  await kv.put(`${p}:view`, bytes.subarray(10, 13));
  out.view = Array.from(new Uint8Array(await kv.get(`${p}:view`, 'arrayBuffer')));
  await kv.put(`${p}:empty`, '');
  out.empty = await kv.get(`${p}:empty`);
  await kv.put(`${p}:meta`, 'v', { metadata: { owner: 'ada', n: 1 } });
  out.withMetadata = await kv.getWithMetadata(`${p}:meta`);
  out.noMetadata = await kv.getWithMetadata(`${p}:text`);
  out.missing = await kv.get(`${p}:missing`);
  out.missingWithMetadata = await kv.getWithMetadata(`${p}:missing`);
  await kv.delete(`${p}:text`);
  out.deleted = await kv.get(`${p}:text`);
  // 25 keys under one prefix, listed 10 at a time.
  for (let i = 0; i < 25; i++) await kv.put(`${p}:page:${String(i).padStart(2, '0')}`, String(i), i === 3 ? { metadata: { i } } : {});
  const pages = [];
  let cursor;
  for (;;) {
    const page = await kv.list({ prefix: `${p}:page:`, limit: 10, cursor });
    pages.push(page.keys.map((k) => k.name));
    if (page.keys.some((k) => k.name.endsWith(':03'))) out.listedMetadata = page.keys.find((k) => k.name.endsWith(':03')).metadata;
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  out.pageSizes = pages.map((p) => p.length);
  out.listed = pages.flat().sort();
  try {
    await kv.get('');
    out.emptyKey = 'accepted';
  } catch (e) {
    out.emptyKey = e.message;
  }
  try {
    await kv.get('x', 'stream');
  } catch (e) {
    out.stream = e.message;
  }
  return out;
}
