// Every /api/* request is checked by the auth service first.
//   curl -H 'authorization: Bearer demo-token' http://127.0.0.1:8080/api/orders
export default {
  async fetch(request, env) {
    const verdict = await env.AUTH.fetch('/internal/auth', {
      headers: { authorization: request.headers.get('authorization') || '' },
    });
    if (verdict.status !== 200) return new Response('unauthorized\n', { status: 401 });
    const { user } = await verdict.json();
    return Response.json({ user, path: new URL(request.url).pathname });
  },
};
