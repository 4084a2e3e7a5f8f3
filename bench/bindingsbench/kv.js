// KV latency in bench/bindings: /kv/get reads one key, /kv/put writes one,
// /kv/none does neither (the baseline the KV cost is measured against).
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === '/kv/get') return new Response((await env.KV.get('bench')) ?? 'missing');
    if (path === '/kv/put') {
      await env.KV.put('bench', 'value');
      return new Response('stored');
    }
    return new Response('none');
  },
};
