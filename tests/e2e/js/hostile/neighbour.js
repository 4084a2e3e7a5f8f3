// The well-behaved neighbour of tests/e2e/hostile.rs: answers while another
// app attacks the node, and keeps a KV value written before the attack.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const key = url.searchParams.get('key');
    switch (url.pathname) {
      case '/neighbour/js':
        return new Response('neighbour ok');
      case '/neighbour/put':
        await env.DATA.put(key, url.searchParams.get('value'));
        return new Response('stored');
      case '/neighbour/get':
        return new Response((await env.DATA.get(key)) ?? '(missing)');
      default:
        return new Response('no such path', { status: 404 });
    }
  },
};
