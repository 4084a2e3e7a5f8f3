// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const o = { valueOf(){ depth++; return o + 1 } }; return o + 1 };
