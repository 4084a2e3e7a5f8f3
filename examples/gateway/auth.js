// Checks a bearer token; answers {"user": ...} or 401.
export default {
  async fetch(request, env) {
    if (request.headers.get('authorization') !== `Bearer ${env.TOKEN}`) {
      return new Response('bad token', { status: 401 });
    }
    return Response.json({ user: 'demo' });
  },
};
