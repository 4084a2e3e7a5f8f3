// GET /connector -> the upstream's items, reshaped.
export default {
  async fetch(request, env) {
    const upstream = await fetch('http://127.0.0.1:9000/items.json');
    if (!upstream.ok) return new Response(`upstream answered ${upstream.status}\n`, { status: 502 });
    const items = await upstream.json();
    return Response.json({ count: items.length, names: items.map((i) => i.name) });
  },
};
