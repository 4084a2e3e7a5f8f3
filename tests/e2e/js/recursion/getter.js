// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const o = { get x(){ depth++; return this.x + 1 } }; return o.x };
