// A service of another app with a KV namespace of the same name ("cache"):
// it must not see the first app's keys.
export default {
  async fetch(request, env) {
    const key = new URL(request.url).searchParams.get('key');
    return Response.json({ value: await env.CACHE.get(key) });
  },
};
