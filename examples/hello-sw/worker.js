addEventListener("fetch", (event) => {
  event.respondWith(handle(event.request));
});

async function handle(request) {
  const { pathname } = new URL(request.url);
  return new Response(`Hello from a service worker at ${pathname}!\n`, {
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
