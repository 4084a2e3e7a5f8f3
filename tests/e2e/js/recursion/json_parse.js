// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => JSON.parse("[".repeat(1000000) + "]".repeat(1000000));
