// A service-worker script.
addEventListener('fetch', (event) => {
  event.waitUntil(Promise.resolve());
  event.respondWith(handle(event.request));
});

async function handle(request: Request): Promise<Response> {
  const r = new Request(request, { method: 'POST', body: 'x' });
  const clone = r.clone();
  const status: number = (await clone.text()).length === 1 ? 201 : 500;
  return new Response(null, { status }).clone();
}

export {};
