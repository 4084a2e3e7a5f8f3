// bench/hostile attacker: reads the request body to its end, then answers
// with its length.
export default {
  async fetch(request) {
    const body = await request.arrayBuffer();
    return new Response(`${body.byteLength}\n`);
  },
};
