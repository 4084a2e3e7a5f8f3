// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { function f(n){ depth = n; return f(n+1)+1 } return f(0) };
