// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const o = { toString(){ depth++; return String(o) } }; return String(o) };
