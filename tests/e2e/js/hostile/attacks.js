// The hostile tenant of tests/e2e/hostile.rs: each path is one attack on
// the node. Services of the test's app route their paths here, each with the
// limits that attack meets.
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const q = url.searchParams;
    switch (url.pathname) {
      // CPU: a loop that never yields, and one that yields only to itself.
      case '/spin/js':
        for (;;) {}
      case '/spin/microtasks':
        for (;;) await null;

      // Memory: keep allocating, in big buffers or in many small objects.
      case '/bomb/buffers': {
        const kept = [];
        for (;;) kept.push(new Uint8Array(1 << 20).fill(1));
      }
      case '/bomb/objects': {
        const kept = [];
        for (;;) kept.push({ n: kept.length, text: `item ${kept.length}`.padEnd(64, '.') });
      }
      case '/bomb/after-wait-until': {
        // Work still pending once the handler has failed.
        ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 200)));
        const kept = [];
        for (;;) kept.push(new Uint8Array(1 << 20).fill(1));
      }

      // The stack: unbounded recursion, caught by the handler or not.
      case '/recurse/caught':
        try {
          recurse(0);
          return new Response('the recursion ended', { status: 500 });
        } catch (e) {
          return new Response(`caught ${e.name}: ${e.message}`);
        }
      case '/recurse/uncaught':
        return new Response(String(recurse(0)));

      // Responses: 1 GiB at once, or a body over the response limit.
      case '/respond/gigabyte':
        return new Response(new Uint8Array(2 ** 30));
      case '/respond/bytes':
        return new Response(new Uint8Array(Number(q.get('n'))).fill(120));

      // The log: `lines` writes of `size` bytes to stdout and to stderr.
      case '/flood/js': {
        const out = 'o'.repeat(Number(q.get('size')));
        const err = 'e'.repeat(Number(q.get('size')));
        for (let i = 0; i < Number(q.get('lines')); i++) {
          console.log(out);
          console.error(err);
        }
        return new Response('flooded');
      }

      // A service that calls itself through its own service binding.
      case '/call/self':
        try {
          return await env.SELF.fetch('/call/self');
        } catch (e) {
          return new Response(`stopped: ${e.message}`, { status: 508 });
        }

      // A request body, read to its end.
      case '/sink/js':
        return new Response(`read ${(await request.arrayBuffer()).byteLength} bytes`);

      default:
        return new Response('no such attack', { status: 404 });
    }
  },
};

function recurse(n) {
  return recurse(n + 1) + 1;
}
