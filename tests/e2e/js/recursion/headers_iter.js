// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { function g(n){ depth = n; const h = new Headers({a: "1"}); h.forEach(() => g(n+1)) } return g(0) };
