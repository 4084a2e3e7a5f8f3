let depth = 0;
function run(fn) {
  depth = 0;
  try { const r = fn(); return 'no error, depth=' + depth + ' ' + String(r).slice(0, 40); }
  catch (e) { return (e && e.name) + ': ' + (e && e.message) + ' depth=' + depth; }
}
async function runAsync(fn) {
  depth = 0;
  try { await fn(); return 'no error, depth=' + depth; }
  catch (e) { return (e && e.name) + ': ' + (e && e.message) + ' depth=' + depth; }
}
export default { async fetch() {
  const r = await (run(() => { const t = new EventTarget(); t.addEventListener("x", () => { depth++; t.dispatchEvent(new Event("x")) }); t.dispatchEvent(new Event("x")); return depth }));
  return new Response('event_dispatch: ' + r);
} };
