// The workerd counterpart of guests/hello: answers every request with
// 200 text/plain "Hello from Mote!\n" (same body, so the comparison is fair).
export default {
  async fetch(request) {
    return new Response("Hello from Mote!\n", {
      headers: { "content-type": "text/plain" },
    });
  },
};
