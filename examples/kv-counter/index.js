// GET /counter -> {"count": N}, one more each time. (Two requests at the
// same moment may read the same value: KV is not a transaction.)
export default {
  async fetch(request, env) {
    const count = Number(await env.COUNTS.get('count')) + 1;
    await env.COUNTS.put('count', String(count));
    return Response.json({ count });
  },
};
