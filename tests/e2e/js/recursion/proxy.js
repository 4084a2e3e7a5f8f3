// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const p = new Proxy({}, { get(t, k, r){ depth++; return r[k] } }); return p.x };
