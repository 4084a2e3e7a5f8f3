// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const runAsync = async () => { async function f(n){ depth = n; return await f(n+1) } return f(0) };
