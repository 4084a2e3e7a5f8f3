// The gateway of bench/bindings: every request is checked by the auth
// service through a service binding, and answered with auth's verdict.
export default {
  async fetch(request, env) {
    const verdict = await env.AUTH.fetch('http://auth/check', {
      headers: { authorization: request.headers.get('authorization') || '' },
    });
    return new Response(await verdict.text(), { status: verdict.status });
  },
};
