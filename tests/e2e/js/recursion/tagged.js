// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { function t(s, n){ depth = n; return t`${n+1}` } return t`${0}` };
