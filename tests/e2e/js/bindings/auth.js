// The callee of the gateway's AUTH binding: answers what reached it.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return new Response(JSON.stringify({
      method: request.method,
      url: request.url,
      user: url.searchParams.get('user'),
      token: request.headers.get('x-token'),
      body: await request.text(),
      // Its own bindings only: no SELF, no TOKEN.
      names: Object.keys(env).sort(),
    }), { status: 201, headers: { 'content-type': 'application/json', 'x-auth': 'checked' } });
  },
};
