// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { function g(n, ...r){ depth = n; return g(n+1, ...r) } return g(0, 1, 2, 3, 4, 5, 6, 7, 8, 9) };
