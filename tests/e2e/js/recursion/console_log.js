// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { let a = {}; for (let i = 0; i < 100000; i++) a = {a}; console.log(a); function f(n){ depth = n; console.log(depth % 1000 ? "" : "x"); return f(n+1) } return f(0) };
