// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { let b; function g(n){ depth = n; return b.call(null, n+1) } b = g.bind(null); return g(0) };
