// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const o = { [Symbol.replace](s, r){ depth++; return s.replace(o, r) } }; return "a".replace(o, "b") };
