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
  const r = await (run(() => { function t(s, n){ depth = n; return t`${n+1}` } return t`${0}` }));
  return new Response('tagged: ' + r);
} };
