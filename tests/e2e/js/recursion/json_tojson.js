// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const o = { toJSON(){ depth++; return JSON.stringify(o) } }; return JSON.stringify(o) };
