// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { function g(n){ depth = n; return [2,1,3].sort((a,b) => g(n+1) + a - b) } return g(0) };
