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
  const r = await (run(() => { let a = {}; for (let i = 0; i < 100000; i++) a = {a}; console.log(a); function f(n){ depth = n; console.log(depth % 1000 ? "" : "x"); return f(n+1) } return f(0) }));
  return new Response('console_log: ' + r);
} };
