export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    return new Response(`Hello from JavaScript at ${url.pathname}!\n`, {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  },
};
