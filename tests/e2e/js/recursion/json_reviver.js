// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const s = "[".repeat(100000) + "1" + "]".repeat(100000); return JSON.parse(s, (k, v) => { depth++; return v }) };
