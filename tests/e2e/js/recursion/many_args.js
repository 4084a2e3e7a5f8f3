// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const args = new Array(60000).fill(0); function g(n){ depth = n; return g.apply(null, [n+1, ...args]) } return g(0) };
