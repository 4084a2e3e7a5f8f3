// A module worker using the Web APIs Mote provides.
interface MyEnv extends Env {
  GREETING: string;
  CACHE: KVNamespace;
  AUTH: Fetcher;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const name = url.searchParams.get('name') ?? 'world';
    ctx.waitUntil(Promise.resolve(console.log('later')));
    ctx.passThroughOnException();

    switch (url.pathname) {
      case '/json': {
        const body = await request.json<{ n: number }>();
        return Response.json({ n: body.n + 1, greeting: env.GREETING });
      }
      case '/bytes': {
        const bytes: Uint8Array = await request.bytes();
        const digest = await crypto.subtle.digest('SHA-256', bytes);
        const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
        return new Response(hex, { headers: { 'content-type': 'text/plain' } });
      }
      case '/hmac': {
        const key = await crypto.subtle.importKey(
          'raw',
          new TextEncoder().encode('secret'),
          { name: 'HMAC', hash: 'SHA-256' },
          false,
          ['sign', 'verify'],
        );
        const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(name));
        const ok: boolean = await crypto.subtle.verify('HMAC', key, sig, new TextEncoder().encode(name));
        return new Response(btoa(String(ok)));
      }
      case '/form': {
        const form = await request.formData();
        const file = form.get('file');
        const size = file instanceof File ? file.size : 0;
        const out = new FormData();
        out.append('size', String(size));
        out.append('blob', new Blob(['x'], { type: 'text/plain' }), 'x.txt');
        return new Response(out);
      }
      case '/timeout': {
        const signal = AbortSignal.timeout(10);
        await new Promise<void>((resolve) => setTimeout(resolve, 20));
        const controller = new AbortController();
        controller.abort(new DOMException('stop', 'AbortError'));
        return new Response(`${signal.aborted} ${controller.signal.aborted} ${performance.now() >= 0}`);
      }
      case '/kv': {
        await env.CACHE.put('k', 'v', { expirationTtl: 60, metadata: { by: name } });
        const text: string | null = await env.CACHE.get('k');
        const json = await env.CACHE.get<{ n: number }>('j', 'json');
        const buffer: ArrayBuffer | null = await env.CACHE.get('b', { type: 'arrayBuffer' });
        const { value, metadata } = await env.CACHE.getWithMetadata<{ by: string }>('k');
        const page = await env.CACHE.list({ prefix: 'k', limit: 10 });
        const names: string[] = page.keys.map((k) => k.name);
        await env.CACHE.delete('k');
        return Response.json({ text, json, size: buffer?.byteLength, value, by: metadata?.by, names, more: page.cursor });
      }
      case '/auth':
        return env.AUTH.fetch('/verify', { headers: { authorization: request.headers.get('authorization') ?? '' } });
      case '/fetch':
        // Rejects with a TypeError unless mote.toml lists the origin in `outbound`.
        return fetch('https://example.com/');
      default: {
        const headers = new Headers({ 'x-id': crypto.randomUUID() });
        headers.append('set-cookie', 'a=1');
        for (const [k, v] of headers) console.debug(k, v);
        const copy = structuredClone({ when: new Date(), tags: new Set(['a']) });
        queueMicrotask(() => reportError(new Error(String(copy.tags.size))));
        const target = new EventTarget();
        target.addEventListener('ping', (e) => console.info((e as CustomEvent<number>).detail), { once: true });
        target.dispatchEvent(new CustomEvent('ping', { detail: 1 }));
        const text = new TextDecoder('utf-8', { fatal: true }).decode(new TextEncoder().encode(`hello ${name}`));
        return new Response(text, { status: 200, headers });
      }
    }
  },
} satisfies ExportedHandler<MyEnv>;
