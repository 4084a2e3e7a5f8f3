// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { let a = {}; for (let i = 0; i < 1000000; i++) a = {a}; return structuredClone(a) };
