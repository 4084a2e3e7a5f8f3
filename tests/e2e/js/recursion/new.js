// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { function C(n){ depth = n; this.c = new C(n+1) } return new C(0) };
